"""Server mix: which WSGI server serves this app's real traffic best.

Each candidate is started as a real process on loopback, on its own copy of
a demo-seeded data folder, and driven from outside by 8 client processes at
once for a bounded time (keep-alive connections, as a browser holds them):

- 4 writers, each a tablet of inspector1's, pushing small batches (3 ops:
  verdicts and notes on the standards of inspector1's sections) to
  POST /sync/push, as outbox.js does after an edit;
- 4 readers, as the lead, in turn pulling (GET /sync/pull), and loading a
  standard page, a section page and the inspection page.

Printed per candidate: requests/s, p50/p95/p99 of every request and of the
pushes alone ("edit"), and requests/s as a ratio to Werkzeug's (Flask's
development server, the baseline) measured in the same run. Every push must
answer 200 with every op applied or superseded, and the server's log must
hold every op sent: a server that drops or fails writes is not fast.

Candidates: werkzeug (threaded), waitress (8 threads), granian (1 worker,
8 blocking threads), gunicorn gthread (2 workers x 4 threads, what
`inspector serve` runs) and gunicorn sync (4 workers; fast, but a slow upload
holds a whole worker). The ones not installed are skipped: install them with
`pip install -e ".[bench]"`.

Run: .venv/bin/python -m bench server_mix [--seconds 8] [--only gunicorn-gthread,werkzeug]
"""
import argparse
import contextlib
import http.client
import importlib.util
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PASSWORD, cookie_header, login, seeded_data_dir  # noqa: E402
from tests.helpers import SYNC, copy_data_dir, free_port, read_only_db, seeded_device  # noqa: E402

WRITERS = READERS = 4
OPS_PER_PUSH = 3
WERKZEUG = """
import sys
from inspector.app import create_app
create_app({"DATA_DIR": sys.argv[1]}).run(host="127.0.0.1", port=int(sys.argv[2]), threaded=True)
"""


def candidates(port, data):
    py = sys.executable
    return {
        "werkzeug": (None, [py, "-c", WERKZEUG, str(data), str(port)]),
        "waitress": ("waitress", [py, "-m", "waitress", "--host=127.0.0.1", f"--port={port}", "--threads=8",
                                  "--call", "inspector:create_app"]),
        "granian": ("granian", [py, "-m", "granian", "--interface", "wsgi", "--factory", "--workers", "1",
                                "--blocking-threads", "8", "--host", "127.0.0.1", "--port", str(port),
                                "--log-level", "warning", "inspector:create_app"]),
        "gunicorn-gthread": (None, [py, "-m", "inspector.app.cli", "serve", "--data", str(data), "--host", "127.0.0.1",
                                    "--port", str(port), "--workers", "2", "--threads", "4"]),
        "gunicorn-sync": (None, [py, "-m", "gunicorn", "--workers", "4", "--worker-class", "sync",
                                 "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                                 "inspector:create_app()"]),
    }


@contextlib.contextmanager
def running(argv, data, port):
    env = {**os.environ, "INSPECTOR_DATA": str(data)}
    log = open(data / "server.log", "ab")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{argv[:4]} did not start; see {log.name}")
                time.sleep(0.1)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def client(role, index, port, cookie, plan, until, out):
    """One client process: requests in a loop until ``until``; puts
    (kind, latency s, ok, ops sent) per request on ``out``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie, "Accept-Encoding": "gzip, br"}
    results, sent = [], 0
    device = seeded_device(f"server-mix-{index}-{port}")
    i = 0
    while time.time() < until:
        i += 1
        if role == "writer":
            ops = [device.op(plan["inspection"], plan["standards"][(index * 7 + i * OPS_PER_PUSH + k)
                                                                  % len(plan["standards"])],
                             "verdict" if k % 2 else "note",
                             "compliant" if k % 2 else f"Seen on round {i} by tablet {index}.")
                   for k in range(OPS_PER_PUSH)]
            body = json.dumps({"ops": ops})
            start = time.perf_counter()
            conn.request("POST", "/sync/push", body=body,
                         headers={**headers, **SYNC, "Content-Type": "application/json"})
            response = conn.getresponse()
            answer = response.read()
            elapsed = time.perf_counter() - start
            ok = response.status == 200 and all(
                r["status"] in ("applied", "superseded") for r in json.loads(answer)["results"])
            sent += OPS_PER_PUSH
            results.append(("edit", elapsed, ok))
        else:
            url = plan["reads"][i % len(plan["reads"])]
            start = time.perf_counter()
            conn.request("GET", url, headers={**headers, **(SYNC if url.startswith("/sync/") else {})})
            response = conn.getresponse()
            response.read()
            results.append(("read", time.perf_counter() - start, response.status == 200))
    out.put((results, sent))


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def measure(name, argv, data, port, plan, seconds):
    with running(argv, data, port):
        base = f"http://127.0.0.1:{port}"
        writer_cookie = cookie_header(login(base, "inspector1", PASSWORD))
        reader_cookie = cookie_header(login(base, "lead", PASSWORD))
        with contextlib.closing(read_only_db(data)) as db:
            before = db.execute("SELECT count(*) FROM ops").fetchone()[0]
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        until = time.time() + 1 + seconds
        procs = [ctx.Process(target=client, args=("writer", i, port, writer_cookie, plan, until, out))
                 for i in range(WRITERS)]
        procs += [ctx.Process(target=client, args=("reader", i, port, reader_cookie, plan, until, out))
                  for i in range(READERS)]
        for proc in procs:
            proc.start()
        collected = [out.get(timeout=seconds + 120) for _ in procs]
        for proc in procs:
            proc.join()
        with contextlib.closing(read_only_db(data)) as db:
            after = db.execute("SELECT count(*) FROM ops").fetchone()[0]
    results = [r for rs, _ in collected for r in rs]
    sent = sum(s for _, s in collected)
    failed = sum(1 for r in results if not r[2])
    if failed or after - before != sent:
        raise SystemExit(f"{name}: {failed} requests failed; {sent} ops pushed, {after - before} in the log")
    edits = [r[1] for r in results if r[0] == "edit"]
    every = [r[1] for r in results]
    return {"name": name, "rps": len(results) / seconds, "requests": len(results), "ops": sent,
            **{f"p{p}": percentile(every, p) * 1000 for p in (50, 95, 99)},
            **{f"edit_p{p}": percentile(edits, p) * 1000 for p in (50, 95, 99)}}


def the_plan(data):
    with contextlib.closing(read_only_db(data)) as db:
        inspection = db.execute("SELECT id FROM inspections ORDER BY id").fetchone()[0]
        standards = [r[0] for r in db.execute(
            "SELECT s.code FROM standards s JOIN inspections i ON i.catalog_id = s.catalog_id "
            "JOIN assignments a ON a.inspection_id = i.id AND a.section_code = s.section_code "
            "JOIN users u ON u.id = a.user_id AND u.username = 'inspector1' "
            "WHERE i.id = ? AND s.depth > 0 ORDER BY s.position", [inspection])]
        section = db.execute("SELECT section_code FROM assignments WHERE inspection_id = ? ORDER BY 1",
                             [inspection]).fetchone()[0]
    reads = [f"/sync/pull?inspection={inspection}&cursor=0", f"/inspections/{inspection}/standards/{standards[3]}",
             f"/inspections/{inspection}/sections/{section}", f"/inspections/{inspection}"]
    return {"inspection": inspection, "standards": standards, "reads": reads}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8, help="measured seconds per candidate")
    parser.add_argument("--only", help="comma-separated candidates (default: all installed)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
        seeded, _ = seeded_data_dir(tmp)
        names = list(candidates(0, seeded))
        if args.only:
            names = [n for n in names if n in args.only.split(",")]
        print(f"server mix: {WRITERS} writers pushing {OPS_PER_PUSH} ops, {READERS} readers pulling and "
              f"loading pages, {args.seconds:g} s per candidate, on {os.cpu_count()} CPUs")
        rows = []
        for index, name in enumerate(names):
            port = free_port()
            data = copy_data_dir(seeded / "inspector.sqlite3", Path(tmp) / f"data-{index}")
            module, argv_ = candidates(port, data)[name]
            if module and importlib.util.find_spec(module) is None:
                print(f"  {name:<17} skipped: not installed (pip install -e '.[bench]')")
                continue
            plan = the_plan(data)
            row = measure(name, argv_, data, port, plan, args.seconds)
            rows.append(row)
            print(f"  {name:<17} {row['rps']:7.0f} req/s  p50 {row['p50']:5.1f}  p95 {row['p95']:6.1f}  "
                  f"p99 {row['p99']:6.1f} ms   edit p50 {row['edit_p50']:5.1f}  p95 {row['edit_p95']:6.1f}  "
                  f"p99 {row['edit_p99']:6.1f} ms  ({row['requests']} requests, {row['ops']} ops, all applied)",
                  flush=True)
    base = next((r for r in rows if r["name"] == "werkzeug"), None)
    if base:
        ratios = ", ".join(f"{r['name']} {r['rps'] / base['rps']:.2f}" for r in rows if r is not base)
        best = min(rows, key=lambda r: r["edit_p99"])
        print(f"server mix: ratio to werkzeug's req/s ({base['rps']:.0f}): {ratios}; "
              f"shortest edit p99: {best['name']} ({best['edit_p99']:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
