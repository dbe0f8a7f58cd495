"""The production server: gunicorn with threaded workers, run from
`inspector serve` (no gunicorn command line or config file to keep beside it).

Why gunicorn's gthread workers (bench/server_mix.py; figures in docs/decisions.md): they
served the real mix of pushes, pulls and pages fastest with the shortest
tail, and a slow tablet upload holds one thread, not a whole worker. SQLite
has one writer at a time whatever the server does, so a few processes with
a few threads each are enough; more only queue on the write lock.
"""
import os

from gunicorn.app.base import BaseApplication

DEFAULT_WORKERS = 2
DEFAULT_THREADS = 4


class InspectorServer(BaseApplication):
    """gunicorn serving ``create_app(config)``, built in each worker after the
    fork, so no worker shares a database connection with another."""

    def __init__(self, config, options):
        self.app_config = config
        self.options = options
        super().__init__()

    def load_config(self):
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self):
        from inspector.app import create_app
        return create_app(self.app_config)


def options(host, port, workers=DEFAULT_WORKERS, threads=DEFAULT_THREADS, cert=None, key=None):
    """gunicorn settings for one SQLite writer and slow tablet uploads."""
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        # Tablets on hospital Wi-Fi upload slowly: a request is not killed for
        # taking long (gthread's timeout watches the worker, not a request).
        "timeout": 60,
        # A stop lets uploads under way finish, but not for ever.
        "graceful_timeout": 10,
        # The sync loop pushes, then pulls: keep its connection for the pull.
        "keepalive": 5,
        "umask": 0o077,
        **({"certfile": cert, "keyfile": key} if cert else {}),
        # Behind the README's proxy on this machine, X-Forwarded-Proto says
        # the page was https (gunicorn trusts it from 127.0.0.1 only).
        "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"),
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
    }


def run(config, **kw):
    """Serve until stopped (SIGTERM: finish requests under way; SIGINT: at once)."""
    InspectorServer(config, options(**kw)).run()
