"""Wire bytes: bytes over the wire to sync N edits vs the JSON of the edits
themselves (a list of {standard, field, value}, written compactly as
JSON.stringify does).

The client here batches like sync/static/outbox.js: ops of 200 per POST
/sync/push, each op carrying op_id, device_id, seq, hlc and inspection_id
besides the edit, then one GET /sync/pull (outbox.js pulls after every push
round). Bytes are counted on the connection: request line + headers + body
as sent, status line + headers + body as received. The headers are those a
Chromium fetch() from the app's page sends (see BROWSER_HEADERS); a minimal
client (only Host, Content-Type, Content-Length, X-Inspector-Sync, Cookie)
is printed too.

Two ways a tablet syncs:
- offline then online: N edits queued, then one sync round (the headline);
- online editing: outbox.js calls schedule(0) after every edit, so each edit
  is one push of one op plus one pull (measured on 100 edits).

Run: .venv/bin/python bench/wire_bytes.py [--n 100 1000]
"""
import argparse
import gzip
import http.client
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (BATCH, batches, compact, cookie_header, demo_standards, edits,  # noqa: E402
                           live_server, login, ratio)
from inspector.testing import HOUR, seeded_device  # noqa: E402

UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 "
      "Safari/537.36")


def browser_headers(base_url, inspection_id, standard):
    """Headers Chromium adds to outbox.js's fetch(url, {credentials: "same-origin",
    cache: "no-store", headers: {X-Inspector-Sync, Content-Type}}) from a standard's page."""
    return {
        "Host": base_url.split("://", 1)[1], "Connection": "keep-alive",
        "sec-ch-ua-platform": '"Linux"', "User-Agent": UA,
        "sec-ch-ua": '"Chromium";v="156", "Not-A.Brand";v="24"', "sec-ch-ua-mobile": "?0",
        "Cache-Control": "no-cache", "Pragma": "no-cache", "Accept": "*/*",
        "Origin": base_url, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty",
        "Referer": f"{base_url}/inspections/{inspection_id}/standards/{standard}",
        "Accept-Encoding": "gzip, deflate, br, zstd", "Accept-Language": "en-US,en;q=0.9",
    }


class _CountingReader:
    def __init__(self, fp):
        self.fp, self.count = fp, 0

    def _add(self, data):
        self.count += len(data)
        return data

    def readline(self, *args):
        return self._add(self.fp.readline(*args))

    def read(self, *args):
        return self._add(self.fp.read(*args))

    def read1(self, *args):
        return self._add(self.fp.read1(*args))

    def readinto(self, buffer):
        n = self.fp.readinto(buffer)
        self.count += n or 0
        return n

    def __getattr__(self, name):
        return getattr(self.fp, name)


class _CountingResponse(http.client.HTTPResponse):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fp = self.counter = _CountingReader(self.fp)


class CountingConnection(http.client.HTTPConnection):
    """An HTTP/1.1 connection that counts every byte it sends and receives."""
    response_class = _CountingResponse

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent = self.received = self.requests = 0

    def send(self, data):
        self.sent += len(data)
        super().send(data)

    def call(self, method, path, body=None, headers=None):
        self.request(method, path, body=body, headers=headers or {})
        response = self.getresponse()
        data = response.read()
        self.received += response.counter.count
        self.requests += 1
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: HTTP {response.status} {data[:200]!r}")
        return json.loads(decoded(data, response.getheader("Content-Encoding")))


def decoded(data, encoding):
    """The body as sent before compression: the server compresses what the
    browser-like headers accept (the bytes counted are the compressed ones)."""
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "br":
        import brotli
        return brotli.decompress(data)
    return data


class Client:
    """Pushes and pulls like outbox.js, with browser-like or minimal headers."""

    def __init__(self, server, cookie, inspection_id, standard, browser_like):
        host, port = server.url.split("://", 1)[1].split(":")
        self.conn = CountingConnection(host, int(port), timeout=60)
        extra = browser_headers(server.url, inspection_id, standard) if browser_like else {}
        self.headers = {**extra, "X-Inspector-Sync": "1", "Cookie": cookie}
        self.inspection_id = inspection_id
        self.cursor = 0

    def push(self, ops):
        body = compact({"ops": ops})
        result = self.conn.call("POST", "/sync/push", body, {**self.headers, "Content-Type": "application/json"})
        bad = [r for r in result["results"] if r["status"] != "applied"]
        if bad:
            raise RuntimeError(f"ops not applied: {bad[:3]}")
        return result

    def pull(self):
        result = self.conn.call("GET", f"/sync/pull?inspection={self.inspection_id}&cursor={self.cursor}",
                                headers=self.headers)
        self.cursor = result["cursor"]
        return result

    def measure(self, action):
        before = (self.conn.sent, self.conn.received, self.conn.requests)
        action()
        return (self.conn.sent - before[0], self.conn.received - before[1], self.conn.requests - before[2])


def sync_round(client, ops):
    """outbox.js syncNow(): push the outbox in batches of 200, then pull."""
    push_only = client.measure(lambda: [client.push(b) for b in batches(ops, BATCH)])
    pull_only = client.measure(client.pull)
    return push_only, pull_only


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000], help="edit counts (default 100 1000)")
    parser.add_argument("--online", type=int, default=100, help="edits for the one-push-per-edit case")
    args = parser.parse_args(argv)

    lines = []
    with live_server() as (server, summary):
        inspection_id = summary["inspection_id"]
        standards = demo_standards(server.data_dir, inspection_id)
        opener = login(server.url, "inspector1")
        cookie = cookie_header(opener)
        print(f"wire bytes: inspector1, {len(standards)} standards, batches of {BATCH}, "
              f"session cookie {len(cookie)} bytes")
        # Clocks from half a day back, each run's an hour on from the last, so
        # every run's ops are newer than the last and none is more than the
        # day ahead of the server's clock that the server accepts.
        start, step = int(time.time() * 1000) - 12 * HOUR, HOUR
        seed_value = 100
        for n in args.n:
            edit_list = edits(standards, n, seed_value=seed_value)
            edits_bytes = len(compact(edit_list))
            figures = {}
            for browser_like in (True, False):
                seed_value += 1
                client = Client(server, cookie, inspection_id, standards[0], browser_like)
                client.pull()  # the tablet is up to date before the edits
                device = seeded_device(seed_value, clock_ms=start + (seed_value - 100) * step)
                ops = [device.op(inspection_id, e["standard"], e["field"], e["value"]) for e in edit_list]
                figures[browser_like] = sync_round(client, ops), len(compact({"ops": ops}))
                client.conn.close()
            ((push_sent, push_recv, pushes), (pull_sent, pull_recv, _)), body_bytes = figures[True]
            ((min_sent, _, _), _), _ = figures[False]
            print(f"  N={n}: edits JSON {edits_bytes} B ({edits_bytes / n:.0f} B/edit); "
                  f"push bodies {body_bytes} B ({ratio(body_bytes, edits_bytes):.2f}x)")
            print(f"    {pushes} push request(s): sent {push_sent} B ({push_sent / n:.0f} B/edit), "
                  f"received {push_recv} B; minimal-header client sent {min_sent} B "
                  f"(ratio {ratio(min_sent, edits_bytes):.2f})")
            print(f"    then 1 pull: sent {pull_sent} B, received {pull_recv} B (the client's own edits echoed back)")
            line = (f"wire bytes N={n}: request {push_sent} B, response {push_recv} B, edits JSON {edits_bytes} B, "
                    f"ratio {ratio(push_sent, edits_bytes):.2f} (with the pull after it: sent "
                    f"{push_sent + pull_sent} B, received {push_recv + pull_recv} B)")
            print(line)
            lines.append(line)

        # Online editing: every edit is its own sync round (push of 1 op + pull).
        n = args.online
        edit_list = edits(standards, n, seed_value=999)
        edits_bytes = len(compact(edit_list))
        client = Client(server, cookie, inspection_id, standards[0], True)
        client.pull()
        device = seeded_device(999, clock_ms=start + (seed_value - 99) * step)  # newer than every run above
        sent = received = requests = 0
        for e in edit_list:
            op = device.op(inspection_id, e["standard"], e["field"], e["value"])
            for s, r, q in sync_round(client, [op]):
                sent, received, requests = sent + s, received + r, requests + q
        client.conn.close()
        line = (f"wire bytes online (1 push + 1 pull per edit), N={n}: {requests} requests, sent {sent} B "
                f"({sent / n:.0f} B/edit), received {received} B, edits JSON {edits_bytes} B, "
                f"ratio {ratio(sent, edits_bytes):.2f}")
        print(line)
        lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
