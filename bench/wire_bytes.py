"""Wire bytes: bytes over the wire to sync N edits vs the JSON of the edits
themselves (a list of {standard, field, value}, written compactly as
JSON.stringify does).

The client here batches like sync/static/sync.js: ops of 200 per POST
/sync/push, each op carrying op_id, device_id, seq, hlc and inspection_id
besides the edit, then one GET /sync/pull (sync.js pulls after every push
round). Bytes are counted on the connection: request line + headers + body
as sent, status line + headers + body as received (the answers compressed
as the server sends them to a browser). The headers are those a Chromium
fetch() from the app's page sends (see browser_headers); a minimal client
(only Host, Content-Type, Content-Length, X-Inspector-Sync, Cookie) is
printed too.

Each figure is measured twice in the same run, on the same server, with the
same edits from a fresh device each time, the two clients taking turns:
- before: the client as it was, plain JSON push bodies and a pull that does
  not name the device (so the server sends the device's own edits back);
- after: sync.js now, push bodies of 1 KB or more gzip-compressed (level 6,
  CompressionStream's), and pulls after the first naming the device.

Two ways a tablet syncs:
- offline then online: N edits queued, then one sync round (the headline);
- online editing: sync.js calls schedule(0) after every edit, so each edit
  is one push of one op plus one pull (measured on 100 edits).

It fails (exit 1) unless every op was applied and stored, the "after" pull
left out every one of the device's own rows and the "before" pull held them.

Run: .venv/bin/python bench/wire_bytes.py [--n 100 1000]
"""
import argparse
import contextlib
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
from tests import helpers as testing
from tests.helpers import HOUR, seeded_device  # noqa: E402

MIN_GZIP = 1024  # as sync.js: smaller bodies go as they are
PUSH_GOAL, ROUND_GOAL = 0.6, 1.6  # issue 15, item 4

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
    """Pushes and pulls like sync.js, with browser-like or minimal headers;
    ``now`` for sync.js today (gzip bodies, the device named in pulls after
    the first), else as it was before."""

    def __init__(self, server, cookie, inspection_id, standard, browser_like, now):
        host, port = server.url.split("://", 1)[1].split(":")
        self.conn = CountingConnection(host, int(port), timeout=60)
        extra = browser_headers(server.url, inspection_id, standard) if browser_like else {}
        self.headers = {**extra, "X-Inspector-Sync": "1", "Cookie": cookie}
        self.inspection_id = inspection_id
        self.now = now
        self.cursor = None   # no pull yet
        self.device_id = None
        self.pushed = []     # op ids the server said it applied

    def push(self, ops):
        body, headers = compact({"ops": ops}), {**self.headers, "Content-Type": "application/json"}
        if self.now and len(body) >= MIN_GZIP:
            body, headers = gzip.compress(body, 6, mtime=0), {**headers, "Content-Encoding": "gzip"}
        result = self.conn.call("POST", "/sync/push", body, headers)
        bad = [r for r in result["results"] if r["status"] != "applied"]
        if bad or len(result["results"]) != len(ops):
            raise RuntimeError(f"ops not applied: {bad[:3]}")
        self.pushed += [r["op_id"] for r in result["results"]]
        return result

    def pull(self):
        device = f"&device={self.device_id}" if self.now and self.cursor is not None and self.device_id else ""
        result = self.conn.call("GET", f"/sync/pull?inspection={self.inspection_id}&cursor={self.cursor or 0}"
                                       f"{device}", headers=self.headers)
        self.cursor = result["cursor"]
        return result

    def measure(self, action):
        before = (self.conn.sent, self.conn.received, self.conn.requests)
        answer = action()
        return (self.conn.sent - before[0], self.conn.received - before[1], self.conn.requests - before[2]), answer


def sync_round(client, ops):
    """sync.js syncNow(): push the outbox in batches of 200, then pull.
    Returns ((sent, received, requests) of the pushes, of the pull), the pull's answer."""
    client.device_id = ops[0]["device_id"]
    push_only, _ = client.measure(lambda: [client.push(b) for b in batches(ops, BATCH)])
    pull_only, answer = client.measure(client.pull)
    return (push_only, pull_only), answer


def echoed(answer, device_id=None):
    """How many rows of the pull answer there are; given ``device_id``, how
    many hold only fields that device wrote (a row with a field from
    elsewhere, here the demo's own findings, comes whole, as it must)."""
    def own(row):
        stamps = [v for k, v in row.items() if k.endswith("_hlc") and v]
        return all(stamp.split(" ")[0].endswith(f":{device_id}") for stamp in stamps)
    return sum(1 for rows in answer.values() if isinstance(rows, list) for row in rows
               if device_id is None or own(row))


def check_stored(server, op_ids):
    """Fail loudly unless every op the server acknowledged is in its log."""
    with contextlib.closing(testing.read_only_db(server.data_dir)) as conn:
        found = 0
        for start in range(0, len(op_ids), 500):
            chunk = op_ids[start:start + 500]
            found += conn.execute(f"SELECT count(*) FROM ops WHERE op_id IN ({','.join('?' * len(chunk))}) "
                                  "AND status = 'applied'", chunk).fetchone()[0]
    if found != len(op_ids):
        raise RuntimeError(f"only {found} of {len(op_ids)} acknowledged ops are in the server's log")


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

        def one_round(edit_list, now, browser_like):
            nonlocal seed_value
            seed_value += 1
            client = Client(server, cookie, inspection_id, standards[0], browser_like, now)
            client.pull()  # the tablet is up to date before the edits (its store's first, whole pull)
            device = seeded_device(seed_value, clock_ms=start + (seed_value - 100) * step)
            ops = [device.op(inspection_id, e["standard"], e["field"], e["value"]) for e in edit_list]
            figures, answer = sync_round(client, ops)
            client.conn.close()
            check_stored(server, client.pushed)
            if now and echoed(answer, device.device_id):
                raise RuntimeError(f"the pull after the push sent back {echoed(answer, device.device_id)} rows "
                                   "holding only the device's own edits")
            if not now and not echoed(answer):
                raise RuntimeError("the baseline pull sent nothing back: it measures nothing")
            return figures, len(compact({"ops": ops}))

        for n in args.n:
            edit_list = edits(standards, n, seed_value=seed_value)
            edits_bytes = len(compact(edit_list))
            got = {}
            # The two clients take turns (before, after, before, after): each
            # round writes into the same growing server, so neither always goes first.
            for now in (False, True, False, True):
                got.setdefault(now, []).append(one_round(edit_list, now, True))
            minimal = one_round(edit_list, True, False)[0][0][0]
            print(f"  N={n}: edits JSON {edits_bytes} B ({edits_bytes / n:.0f} B/edit); "
                  f"push bodies as JSON {got[False][0][1]} B ({ratio(got[False][0][1], edits_bytes):.2f}x)")
            figures = {}
            for now, label in ((False, "before"), (True, "after")):
                # The second of each client's two rounds (the first warmed the server alike).
                ((push_sent, push_recv, pushes), (pull_sent, pull_recv, _)), _ = got[now][-1]
                whole = push_sent + push_recv + pull_sent + pull_recv
                figures[now] = push_sent, whole
                print(f"    {label}: {pushes} push request(s) sent {push_sent} B ({push_sent / n:.0f} B/edit), "
                      f"received {push_recv} B; the pull after it sent {pull_sent} B, received {pull_recv} B; "
                      f"round {whole} B")
            print(f"    after, minimal-header client: pushes sent {minimal} B")
            (push_before, round_before), (push_after, round_after) = figures[False], figures[True]
            line = (f"wire bytes N={n}: push / edits JSON ratio {ratio(push_after, edits_bytes):.2f} "
                    f"(before {ratio(push_before, edits_bytes):.2f}, goal <= {PUSH_GOAL}); "
                    f"round (push + pull, both ways) / edits JSON ratio {ratio(round_after, edits_bytes):.2f} "
                    f"(before {ratio(round_before, edits_bytes):.2f}, goal <= {ROUND_GOAL}); "
                    f"edits JSON {edits_bytes} B")
            print(line)
            lines.append(line)

        # Online editing: every edit is its own sync round (push of 1 op + pull).
        n = args.online
        edit_list = edits(standards, n, seed_value=999)
        edits_bytes = len(compact(edit_list))
        totals = {}
        for now in (False, True):
            seed_value += 1
            client = Client(server, cookie, inspection_id, standards[0], True, now)
            client.pull()
            device = seeded_device(seed_value, clock_ms=start + (seed_value - 99) * step)  # newer than every run
            sent = received = requests = 0
            for e in edit_list:
                op = device.op(inspection_id, e["standard"], e["field"], e["value"])
                for s, r, q in sync_round(client, [op])[0]:
                    sent, received, requests = sent + s, received + r, requests + q
            client.conn.close()
            check_stored(server, client.pushed)
            totals[now] = sent, received, requests
        (sent_b, received_b, _), (sent, received, requests) = totals[False], totals[True]
        line = (f"wire bytes online (1 push + 1 pull per edit), N={n}: {requests} requests, sent {sent} B "
                f"({sent / n:.0f} B/edit), received {received} B (before {received_b} B), edits JSON "
                f"{edits_bytes} B, ratio {ratio(sent + received, edits_bytes):.2f} both ways "
                f"(before {ratio(sent_b + received_b, edits_bytes):.2f})")
        print(line)
        lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
