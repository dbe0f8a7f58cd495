"""Search: the jump box's word search (inspector.domain.search.rank, the rule the
server answers with online) over every section and standard of the bundled
catalog, per query, median of --repeat, the queries interleaved with the
baseline's.

Baseline, in the same run: SQLite's LIKE '%word%' on code, title and text
(every word, no accents or prefix rule, no ranking) over the same rows in
an in-memory table: what a plain "contains" search would cost.

Fails if the rule finds nothing where the demo catalog holds the words
(ICU, tocilizumab), so it cannot time work that was not done.

    .venv/bin/python -m bench search [--repeat N]
"""
import argparse
import csv
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from inspector.domain import search
from inspector.domain.catalog import bundled_catalog_path  # noqa: E402

QUERIES = ("ICU", "tocilizumab", "B4.2", "intensive care", "donor consent", "the")
MUST_FIND = {"ICU": {"B2.3", "B7.3.7"}, "tocilizumab": {"B7.3.4", "B7.2.11"}}


def like(conn, query):
    words = query.split()
    where = " AND ".join("(code LIKE ? OR title LIKE ? OR text LIKE ?)" for _ in words)
    return conn.execute(f"SELECT code FROM entries WHERE {where}",  # noqa: S608 (bench only)
                        [f"%{w}%" for w in words for _ in range(3)]).fetchall()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    with open(bundled_catalog_path(), newline="", encoding="utf-8") as f:
        entries = [{"code": r["code"], "title": r["title"], "text": r["text"]} for r in csv.DictReader(f)]
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE entries (code, title, text)")
    conn.executemany("INSERT INTO entries VALUES (:code, :title, :text)", entries)

    search._words.cache_clear()
    start = time.perf_counter()
    found = {q: [e["code"] for e in search.rank(q, entries)] for q in QUERIES}
    cold = (time.perf_counter() - start) / len(QUERIES)
    for query, codes in MUST_FIND.items():
        if not codes <= set(found[query]):
            sys.exit(f"search: {query!r} found {found[query][:10]}, not {sorted(codes)}: the rule did not run")

    rule, base = [], []
    for _ in range(args.repeat):
        for query in QUERIES:  # interleaved: the machine is noisy
            t = time.perf_counter()
            search.rank(query, entries)
            rule.append(time.perf_counter() - t)
            t = time.perf_counter()
            like(conn, query)
            base.append(time.perf_counter() - t)
    rule_ms, base_ms = statistics.median(rule) * 1000, statistics.median(base) * 1000
    print("  found: " + ", ".join(f"{q} {len(c)}" for q, c in found.items()))
    print(f"search: rank {rule_ms:.2f} ms/query over {len(entries)} entries, SQLite LIKE {base_ms:.2f} ms, "
          f"ratio {rule_ms / base_ms:.1f}; first queries (texts split then) {cold * 1000:.1f} ms/query")
    return 0


if __name__ == "__main__":
    sys.exit(main())
