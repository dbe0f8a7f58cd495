"""The home page (the inspections list) at an office's size: 300
inspections over three years, through every stage (live review links in the
factual accuracy review, corrections waiting for the lead's review), the
demo's lead leading each and inspector1 on each, as the Flask test client
renders it (no HTTP), medians of --repeat: its first page (PAGE_SIZE cards)
and its last, the same list searched ("Program 01": 10 cards) and the
archived filter.

Baseline, in the same run: the login page (a template and no query). It
fails unless the page counts every inspection and runs as many statements
for 300 inspections as for 30 (no query per card).

    .venv/bin/python -m bench home_list [--repeat N] [--count N]
"""
import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import seeded_data_dir  # noqa: E402
from bench.merge_render import bench_app  # noqa: E402
from bench.pages import median_ms  # noqa: E402
from inspector.app.views.inspections import PAGE_SIZE  # noqa: E402
from inspector.domain import users  # noqa: E402
from inspector.domain.db import connect, database_path  # noqa: E402
from tests import helpers as testing  # noqa: E402


def statements(app, client):
    with testing.statements_run(testing.app_connection(app)) as run:
        client.get("/")
    return len(run)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
        data, _ = seeded_data_dir(tmp)
        db = connect(database_path(data))
        lead, inspector, admin = (users.by_username(db, u)["id"] for u in ("lead", "inspector1", "admin"))
        testing.many_inspections(db, args.count // 10, admin, lead, inspector)
        app = bench_app(data)
        client = testing.log_in_test_client(app.test_client(), lead)
        few = statements(app, client)
        testing.many_inspections(db, args.count - args.count // 10, admin, lead, inspector, first=args.count // 10)
        many = statements(app, client)
        html = client.get("/").get_data(as_text=True)
        cards, total = len(re.findall(r'class="card-link"', html)), int(re.search(r"of (\d+) inspections", html)[1])
        assert total >= args.count and cards == min(total, PAGE_SIZE), (cards, total)
        assert many == few, (few, many)
        base = median_ms(app.test_client(), "/login", args.repeat)
        figures = {name: median_ms(client, url, args.repeat) for name, url in (
            ("lead", "/"), ("last page", f"/?page={-(-total // PAGE_SIZE)}"), ("searched", "/?q=Program+01"),
            ("archived", "/?stage=archived"))}
        figures["admin"] = median_ms(testing.log_in_test_client(app.test_client(), admin), "/", args.repeat)
        figures["inspector1"] = median_ms(testing.log_in_test_client(app.test_client(), inspector), "/", args.repeat)
        size = len(client.get("/").get_data())
        print(f"home list: {total} inspections, {cards} cards a page ({size // 1024} KB), {many} statements "
              f"(as for {args.count // 10}); "
              + ", ".join(f"{name} {ms:.1f} ms (ratio {ms / base:.1f})" for name, ms in figures.items())
              + f"; login page {base:.2f} ms, ratio to it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
