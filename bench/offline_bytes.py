"""Offline bytes: what a tablet downloads to take an inspection of the
illustrative catalog (200+ standards) offline, vs the size of the catalog
CSV itself.

Runs the real server on a demo-seeded temporary data folder and does what
the "Make available offline" button (static/js/app.js makeOffline) and the
service worker's install do: GET /inspections/ID/offline-manifest, then
every page and photo it lists (4 at a time, as app.js), plus the app shell
(GET /sw.js, and every URL of the SHELL list the server wrote into it).
Counts response body bytes (what the browser stores; HTTP headers are not
counted). Two users: inspector1 (six assigned sections) and lead (no
assigned section, so every section).

Baseline: the bundled catalog CSV file's size
(ratio = offline bytes / catalog bytes).

Run: .venv/bin/python bench/offline_bytes.py
"""
import argparse
import json
import re
import urllib.parse
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import live_server, login, ratio  # noqa: E402
from inspector.catalog import bundled_catalog_path  # noqa: E402


def fetch(opener, url):
    with opener.open(url, timeout=60) as response:
        if urllib.parse.urlsplit(response.geturl()).path == "/login":
            raise RuntimeError(f"{url} redirected to the login page")
        return len(response.read())


def shell_urls(opener, base_url):
    sw = opener.open(base_url + "/sw.js", timeout=30).read()
    match = re.search(rb"const SHELL = (\[.*?\]);", sw)
    if not match:
        raise RuntimeError("no SHELL list in /sw.js")
    return json.loads(match.group(1)), len(sw)


def take_offline(server, inspection_id, username):
    opener = login(server.url, username)
    start = time.perf_counter()
    raw = opener.open(f"{server.url}/inspections/{inspection_id}/offline-manifest", timeout=60).read()
    manifest = json.loads(raw)
    urls = manifest["pages"] + manifest["photos"]
    with ThreadPoolExecutor(4) as pool:  # app.js runs 4 workers
        sizes = list(pool.map(lambda u: fetch(opener, server.url + u), urls))
    shell, sw_bytes = shell_urls(opener, server.url)
    shell_bytes = sw_bytes + sum(fetch(opener, server.url + u) for u in shell)
    elapsed = time.perf_counter() - start
    pages = sizes[:len(manifest["pages"])]
    photo_bytes = sum(sizes[len(manifest["pages"]):])
    return {"user": username, "pages": len(pages), "page_bytes": sum(pages), "largest": max(pages),
            "photos": len(manifest["photos"]), "photo_bytes": photo_bytes, "manifest_bytes": len(raw),
            "shell_files": len(shell) + 1, "shell_bytes": shell_bytes, "seconds": elapsed}


def main(argv=None):
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    catalog = bundled_catalog_path()
    catalog_bytes = catalog.stat().st_size
    lines = []
    with live_server() as (server, summary):
        print(f"offline bytes: inspection {summary['inspection_id']} ({summary['standards']} standards), "
              f"catalog {catalog.name} {catalog_bytes} B")
        for username in ("inspector1", "lead"):
            r = take_offline(server, summary["inspection_id"], username)
            total = r["page_bytes"] + r["photo_bytes"] + r["shell_bytes"] + r["manifest_bytes"]
            print(f"  {username}: {r['pages']} pages {r['page_bytes']} B (largest {r['largest']} B), "
                  f"{r['photos']} photos {r['photo_bytes']} B, shell {r['shell_files']} files "
                  f"{r['shell_bytes']} B, manifest {r['manifest_bytes']} B, fetched in {r['seconds']:.1f} s")
            line = (f"offline bytes {username}: {r['pages']} pages, total {total} B, "
                    f"{r['page_bytes'] / r['pages']:.0f} B/page, catalog {catalog_bytes} B, "
                    f"ratio {ratio(total, catalog_bytes):.1f} (pages only {ratio(r['page_bytes'], catalog_bytes):.1f})")
            print(line)
            lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
