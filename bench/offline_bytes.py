"""Offline bytes: what a tablet downloads to take the demo inspection
(illustrative catalog, 239 standards) offline, before and after the bundle.

Runs the real server (`inspector serve`) on a demo-seeded temporary data
folder and logs in through the form, as inspector1 (six assigned sections)
and as the lead (no assigned section: every section, and the merge screens).
Both ways send Chromium's Accept-Encoding, so every answer comes compressed
as the browser gets it:

- before (baseline, same run): what the service worker did until now, one
  request per URL: GET /inspections/ID/offline-manifest, then every page and
  photo it lists, 4 at a time, each compressed on its own;
- after: one GET /inspections/ID/offline-bundle, the whole package
  compressed as one stream (inspector/app/offline.py).

Bytes are the compressed bodies as they cross the wire (response headers are
printed beside them: per-page requests pay them once per page). The rounds
interleave the two ways, so the machine's noise hits both. Fails loudly if
the bundle misses a page or photo of the package, or if a page in it is not
the page the server answers on its own URL (form tokens aside: they are
signed afresh each second). The app shell (sw.js and its SHELL list) is the
same either way and is printed apart.

Run: .venv/bin/python bench/offline_bytes.py [--rounds 3]
"""
import argparse
import json
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import brotli

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import live_server, login, ratio  # noqa: E402
from inspector.app import offline

ACCEPT_ENCODING = "gzip, deflate, br, zstd"  # Chromium's, on https:// and localhost
GOALS = {"inspector1": 40 * 1024, "lead": 80 * 1024}
TOKEN = re.compile(rb'(name="csrf_token" value="[^".]+)\.[^"]+"')


def get(opener, url):
    """(compressed body, header bytes, decoded body) of a GET as the browser sends it."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": ACCEPT_ENCODING})
    with opener.open(request, timeout=120) as response:
        if urllib.parse.urlsplit(response.geturl()).path == "/login":
            raise RuntimeError(f"{url} redirected to the login page")
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
        body = response.read()
        header_bytes = sum(len(k) + len(v) + 4 for k, v in response.headers.items())
        encoding = response.headers.get("Content-Encoding")
    decoded = brotli.decompress(body) if encoding == "br" else body
    if encoding not in (None, "br"):
        raise RuntimeError(f"{url}: unexpected Content-Encoding {encoding}")
    return body, header_bytes, decoded


def per_page(opener, base, inspection_id):
    """Before: the manifest, then each URL on its own (4 at a time)."""
    start = time.perf_counter()
    manifest_body, manifest_headers, raw = get(opener, f"{base}/inspections/{inspection_id}/offline-manifest")
    manifest = json.loads(raw)
    urls = manifest["pages"] + manifest["photos"]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda u: get(opener, base + u), urls))
    return {"seconds": time.perf_counter() - start, "requests": 1 + len(urls),
            "wire": len(manifest_body) + sum(len(a[0]) for a in answers),
            "headers": manifest_headers + sum(a[1] for a in answers),
            "decoded": sum(len(a[2]) for a in answers), "bodies": dict(zip(urls, (a[2] for a in answers))),
            "manifest": manifest}


def bundle(opener, base, inspection_id):
    """After: the one request."""
    start = time.perf_counter()
    body, headers, raw = get(opener, f"{base}/inspections/{inspection_id}/offline-bundle")
    seconds = time.perf_counter() - start
    manifest, entries = offline.unframe(raw)
    return {"seconds": seconds, "requests": 1, "wire": len(body), "headers": headers, "decoded": len(raw),
            "manifest": manifest, "entries": entries}


def check(before, after, username):
    """Fail loudly unless the bundle holds every URL of the package, each as
    the server answers it on its own."""
    wanted = before["manifest"]["pages"] + before["manifest"]["photos"]
    got = [e["url"] for e in after["entries"]]
    if got != wanted or after["manifest"] != before["manifest"]:
        missing = sorted(set(wanted) - set(got))
        raise SystemExit(f"FAILED: {username}'s bundle holds {len(got)} of {len(wanted)} URLs; "
                         f"missing {missing[:5]}")
    for entry in after["entries"]:
        own = before["bodies"][entry["url"]]
        if entry["status"] != 200 or TOKEN.sub(rb"\1", entry["body"]) != TOKEN.sub(rb"\1", own):
            raise SystemExit(f"FAILED: {username}'s bundle entry {entry['url']} differs from the page itself")


def shell_bytes(opener, base):
    sw_body, _, sw = get(opener, base + "/sw.js")
    match = re.search(rb"const SHELL = (\[.*?\]);", sw)
    if not match:
        raise RuntimeError("no SHELL list in /sw.js")
    urls = json.loads(match.group(1))
    return 1 + len(urls), len(sw_body) + sum(len(get(opener, base + u)[0]) for u in urls)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    lines, failed_goals = [], []
    with live_server() as (server, summary):
        inspection_id = summary["inspection_id"]
        print(f"offline bytes: inspection {inspection_id} ({summary['standards']} standards), "
              f"{args.rounds} rounds, before and after interleaved")
        for username in ("inspector1", "lead"):
            opener = login(server.url, username)
            runs = {"before": [], "after": []}
            for round_no in range(args.rounds):
                order = ("before", "after") if round_no % 2 == 0 else ("after", "before")
                for way in order:
                    fn = per_page if way == "before" else bundle
                    runs[way].append(fn(opener, server.url, inspection_id))
                check(runs["before"][-1], runs["after"][-1], username)
            b, a = runs["before"][-1], runs["after"][-1]
            pages = len(b["manifest"]["pages"])
            photos = len(b["manifest"]["photos"])
            t_before = statistics.median(r["seconds"] for r in runs["before"])
            t_after = statistics.median(r["seconds"] for r in runs["after"])
            print(f"  {username}: {pages} pages + {photos} photos, {b['decoded']} B uncompressed")
            print(f"    before: {b['requests']} requests, {b['wire']} B compressed bodies "
                  f"(+ {b['headers']} B of response headers), {t_before:.2f} s (median)")
            print(f"    after:  {a['requests']} request,  {a['wire']} B compressed bundle "
                  f"(+ {a['headers']} B of response headers), {t_after:.2f} s (median); "
                  f"every URL present and equal to its page")
            print(f"    seconds per round, before {[round(r['seconds'], 2) for r in runs['before']]}, "
                  f"after {[round(r['seconds'], 2) for r in runs['after']]} (localhost: time is the server's)")
            goal = GOALS[username]
            met = a["wire"] <= goal
            if not met:
                failed_goals.append(username)
            line = (f"offline bytes {username}: before {b['requests']} requests {b['wire'] / 1024:.1f} KB, "
                    f"after 1 request {a['wire'] / 1024:.1f} KB, ratio {ratio(a['wire'], b['wire']):.3f} "
                    f"(goal <= {goal // 1024} KB: {'met' if met else 'NOT met'}; "
                    f"time {ratio(t_after, t_before):.2f}x)")
            print(line)
            lines.append(line)
        files, shell = shell_bytes(login(server.url, "inspector1"), server.url)
        print(f"  the app shell, either way (stored at the worker's install): {files} files, {shell} B compressed")
    if failed_goals:
        print(f"goal not met for {', '.join(failed_goals)}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
