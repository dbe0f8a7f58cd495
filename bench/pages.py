"""The inspector's pages at the size of a real inspection (6 inspectors x
150 standards, every standard assessed by every inspector, half decided):
the inspection page, a section page and a standard page, as the Flask test
client renders them (no HTTP), medians of --repeat.

Baseline, in the same run: the login page (a template and no query), so the
ratio is what the page's own queries and markup cost on top of Flask.

    .venv/bin/python -m bench pages [--repeat N]
"""
import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import median_time  # noqa: E402
from bench.merge_render import bench_app, build  # noqa: E402
from tests import helpers as testing


def median_ms(client, url, repeat):
    """Median ms of GETs of ``url`` (after one to warm up), each answered 200."""
    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    get()
    return median_time(get, repeat)[0] * 1000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=60)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
        inspection_id, codes = build(Path(tmp))
        app = bench_app(tmp)
        anonymous = app.test_client()
        inspector = testing.log_in_test_client(app.test_client(), 3)  # the first inspector
        base = median_ms(anonymous, "/login", args.repeat)
        figures = {name: median_ms(inspector, url, args.repeat) for name, url in (
            ("inspection", f"/inspections/{inspection_id}"),
            ("section", f"/inspections/{inspection_id}/sections/S5"),
            ("standard", f"/inspections/{inspection_id}/standards/{codes[len(codes) // 2]}"))}
        print("pages: " + ", ".join(f"{name} {ms:.2f} ms (ratio {ms / base:.1f})" for name, ms in figures.items())
              + f"; login page {base:.2f} ms, ratio to it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
