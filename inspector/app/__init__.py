"""The top layer: the Flask app factory. The blueprints (views/), the CLI,
the demo and the production server live beside it; they build on sync/ and
on inspector.domain, and nothing below imports them (tests/test_layout.py)."""
import logging
import os
import secrets
import stat
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask, g

from sync import api as sync_api
from sync import fields as sync_fields

from inspector.app import assets, errors, links, mailer, notices, security
from inspector.app.extensions import csrf, htmx
from inspector.app.views import (account, auth, calendar, checklists, committee, emails, history, inspections, merge,
                                 photos, preparation, program_documents, programs, reports, review, shell, team, users)
from inspector.domain import access, bodies, catalog, db, deadlines, search
from inspector.domain import programs as programs_data

# The package's folder (inspector/): the wheel ships templates/ and static/ in it.
_HERE = Path(__file__).resolve().parent.parent


def _asset_dir(name):
    # In a source checkout templates/ and static/ sit at the top of the repo;
    # in an installed wheel they are packaged as inspector/templates|static.
    # Only a checkout has pyproject.toml beside the package: in site-packages
    # a top-level templates/ would belong to some other package.
    top = _HERE.parent / name
    in_checkout = (_HERE.parent / "pyproject.toml").is_file()
    return top if in_checkout and top.is_dir() else _HERE / name


def default_data_dir():
    return os.environ.get("INSPECTOR_DATA") or str(Path.home() / ".local" / "share" / "inspector")


def create_app(test_config=None):
    """Build the Flask app. ``test_config`` overrides settings (tests, CLI)."""
    app = Flask(__name__, template_folder=str(_asset_dir("templates")), static_folder=str(_asset_dir("static")))
    app.config.from_mapping(
        DATA_DIR=default_data_dir(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The server ends sessions (idle for a shift, or after a week: see
        # sessions.py); the cookie lives as long as the longest session and
        # is sent again only when the session changes, so a response that
        # does not change it never carries Set-Cookie (and an answer racing
        # another cannot put an older cookie back).
        PERMANENT_SESSION_LIFETIME=timedelta(days=7),
        SESSION_REFRESH_EACH_REQUEST=False,
        # Password checks running at once in one server process (each holds
        # 32 MiB): more logins at the same moment are asked to retry.
        LOGIN_CONCURRENT_CHECKS=4,
        # A page cached in the morning is used all afternoon: a form's token
        # stays valid for the session's life instead of one hour.
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
        # A push body's size once decompressed (sync/api.py): a gzip "bomb" of
        # a few KB stops here instead of filling the memory.
        SYNC_MAX_PUSH_BYTES=int(os.environ.get("INSPECTOR_SYNC_MAX_PUSH_BYTES") or 16 * 1024 * 1024),
        SEND_FILE_MAX_AGE_DEFAULT=0,
        # What one site review link may store: documents, and their bytes as
        # kept. A site answers tens of citations with a few documents each
        # (10 MB at most, most under 2): 200 and 200 MB leave room for that
        # many times over, and bound what a leaked link can fill the disk with.
        REVIEW_LINK_MAX_DOCUMENTS=int(os.environ.get("INSPECTOR_REVIEW_LINK_MAX_DOCUMENTS") or 200),
        REVIEW_LINK_MAX_DOCUMENT_BYTES=int(os.environ.get("INSPECTOR_REVIEW_LINK_MAX_DOCUMENT_BYTES")
                                           or 200 * 1024 * 1024),
        # How fast one review link may send requests (its pages, photos,
        # downloads, saves, uploads): a burst for a page and its photos at
        # once, then a steady rate per second; beyond it, 429 and Retry-After.
        REVIEW_LINK_BURST=int(os.environ.get("INSPECTOR_REVIEW_LINK_BURST") or 60),
        REVIEW_LINK_RATE=float(os.environ.get("INSPECTOR_REVIEW_LINK_RATE") or 2),
        # How long each device keeps the server's answers to what it sent
        # (the page "Sent from this device", sync/static/outbox.js): days,
        # and at most this many answers (a busy inspection sends ~1,000 ops).
        SENT_KEEP_DAYS=int(os.environ.get("INSPECTOR_SENT_KEEP_DAYS") or 90),
        SENT_KEEP_ENTRIES=int(os.environ.get("INSPECTOR_SENT_KEEP_ENTRIES") or 5000),
        # Where mail goes (inspector/app/mailer.py); none: it waits in the outbox.
        SMTP_URL=os.environ.get("INSPECTOR_SMTP_URL", ""),
        MAIL_FROM=os.environ.get("INSPECTOR_MAIL_FROM", ""),
        # A checklist file uploaded in the browser: the bundled one is 76 KB,
        # a full edition with its guidance a few hundred; more is some other file.
        CHECKLIST_MAX_BYTES=int(os.environ.get("INSPECTOR_CHECKLIST_MAX_BYTES") or 2 * 1024 * 1024),
        # "Forgot password?" answers no sooner than this (seconds), whether
        # it sent a link or found no such user: its time tells nothing.
        PASSWORD_HELP_MIN_S=0.4,
    )
    if os.environ.get("INSPECTOR_SECURE_COOKIES") == "1":  # behind an HTTPS proxy
        app.config["SESSION_COOKIE_SECURE"] = True
    # Behind a reverse proxy every request comes from the proxy's address:
    # trust its X-Forwarded-For (only as many hops as configured), or the
    # login limits per client address would count every tablet as one.
    app.config["TRUSTED_PROXIES"] = int(os.environ.get("INSPECTOR_TRUSTED_PROXIES", "0") or 0)
    if test_config:
        app.config.update(test_config)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # the scheme is gunicorn's (FORWARDED_ALLOW_IPS)
    private_data_dir(app.config["DATA_DIR"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.config["DATA_DIR"]))

    db.init_app(app)
    catalog.upgrade_illustrative(app.extensions["inspector_db_keeper"])
    mailer.init_app(app, daily=notices.remind_deadlines)
    csrf.init_app(app)
    htmx.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    errors.init_app(app)
    links.init_app(app)
    for blueprint in (auth.bp, inspections.bp, team.bp, merge.bp, reports.bp, review.bp, preparation.bp, history.bp,
                      photos.bp, shell.bp, committee.bp, calendar.bp, emails.bp, checklists.bp, program_documents.bp,
                      programs.bp, users.bp, account.bp, sync_api.bp):
        app.register_blueprint(blueprint)
    csrf.exempt(sync_api.bp)  # the sync API has its own cross-site defence
    # Templates ask the same capabilities as routes, and read labels from one source.
    app.jinja_env.globals.update(access=access, deficient=catalog.DEFICIENT, search=search, deadlines=deadlines,
                                 field_table=sync_fields.client_table(), jump_key=catalog.JUMP_KEY,
                                 inspection_kinds=programs_data.INSPECTION_KINDS)

    @app.context_processor
    def inspection_words():
        # The verdicts of the inspection the page is about, on its scale, and
        # the words of its accrediting body (bodies.py): no page hard-codes FACT's.
        inspection = g.get("inspection")
        return {"verdict_labels": catalog.SCALES[inspection["scale"] if inspection else "fact"],
                "words": bodies.words(inspection), "body": bodies.of(inspection)}
    return app


def _secret_key(data_dir):
    # Kept in the data folder so sessions survive a restart of the server.
    # Created with its final permissions (never readable by others, not even
    # for a moment) and exclusively: of two processes starting together, one
    # writes it and the other reads it.
    path = data_dir / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
    for _ in range(50):  # the other process may be between creating and writing it
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty: delete it and start again")


def private_files():
    """Files and folders the server and the CLI create (the data folder, the
    database, photos) are readable by their user only: they hold patients'
    evidence and the session key."""
    os.umask(0o077)


def private_data_dir(data_dir):
    """Create the data folder, or tighten one made beforehand (``mkdir`` under
    the usual umask 022 gives 755): the folder and what is at its top (the
    database, the secret key, photos/, documents/) end up readable by their
    user only. The folder's own 700 keeps others out of everything below it."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    for path in (data_dir, *data_dir.iterdir()):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                path.chmod(mode & 0o700)
        except FileNotFoundError:  # a temporary file gone meanwhile, a dangling link
            continue
        except PermissionError:  # another user's: say so, but serve
            logging.getLogger(__name__).warning("%s is open to others and not ours to make private", path)
