"""The lead's pages at the size of a real inspection: the merge screen for 6
inspectors x 150 standards (every inspector has a verdict and a note on
every standard, half the standards decided), and the draft report as PDF.

Baseline, in the same run: rendering one standard page of the same
inspection (the page an inspector opens most). Prints medians and ratios.

    .venv/bin/python -m bench merge_render [--repeat N]
"""
import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import PASSWORD, median_time, ratio  # noqa: E402
from inspector.domain import catalog, inspections, team, users
from inspector.app import create_app
from tests import helpers as testing
from inspector.domain.db import connect, database_path  # noqa: E402
from sync import protocol  # noqa: E402

INSPECTORS = 6
SECTIONS, PER_SECTION = 10, 15  # 150 standards


def applied(answer):
    """Fail loudly unless every op was applied: a page rendered over refused
    ops would measure an empty inspection."""
    refused = [r for r in answer["results"] if r["status"] != "applied"]
    if refused:
        raise SystemExit(f"benchmark data not stored: {refused[:3]}")


def build(data_dir):
    db = connect(database_path(data_dir))
    users.PASSWORD_METHOD = "pbkdf2:sha256:1"
    catalog_id = catalog.import_rows(db, catalog.check([("row", r) for r in catalog.synthetic_rows(
        SECTIONS, PER_SECTION, children=0)]), "synthetic 150", "bench")
    admin = users.create(db, "admin", "admin", PASSWORD)
    lead = users.create(db, "lead", "lead", PASSWORD, "Lena Lead")
    people = [users.create(db, f"inspector{n}", "inspector", PASSWORD, f"Inspector {n}")
              for n in range(INSPECTORS)]
    inspection_id = inspections.create(db, "Bench site", catalog_id, "2026-01-01", "2026-01-02", admin)
    team.save(db, inspection_id, {lead: ("lead", set()), **{p: ("inspector", set()) for p in people}}, admin)
    codes = [code for code, _ in catalog.standards_in_sections(db, catalog_id)]
    rng = random.Random(3)
    now = protocol.now_ms() - 3_600_000
    for n, person in enumerate(people):
        device, ops = f"bench{n}", []
        for i, code in enumerate(codes):
            for field, value in (("verdict", rng.choice(["compliant", "compliant", "not_compliant",
                                                         "not_applicable"])),
                                 ("note", " ".join(rng.choice(["record", "signed", "missing", "log", "seen"])
                                                   for _ in range(rng.randint(5, 40))))):
                ops.append({"op_id": f"{device}-{len(ops):06d}", "device_id": device, "seq": len(ops),
                            "hlc": f"{now + len(ops):015d}:00000:{device}", "inspection_id": inspection_id,
                            "standard": code, "field": field, "value": value})
        for start in range(0, len(ops), 500):
            applied(protocol.push(db, users.by_id(db, person), {"ops": ops[start:start + 500]}))
    ops = []
    for i, code in enumerate(codes[::2]):
        for field, value in (("decision_verdict", "not_compliant"), ("decision_basis", 10 ** 6),
                             ("citation", f"Citation text for {code}: the record was not signed.")):
            ops.append({"op_id": f"lead-{len(ops):06d}", "device_id": "leadtab", "seq": len(ops),
                        "hlc": f"{now + len(ops):015d}:00000:leadtab", "inspection_id": inspection_id,
                        "standard": code, "field": field, "value": value})
    applied(protocol.push(db, users.by_id(db, lead), {"ops": ops}))
    db.conn.close()
    return inspection_id, codes


def bench_app(data_dir):
    """The app on a data folder made by ``build`` (CSRF off: the test client posts nothing)."""
    return create_app({"DATA_DIR": str(data_dir), "TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="inspector-bench-") as tmp:
        inspection_id, codes = build(Path(tmp))
        app = bench_app(tmp)
        client = testing.log_in_test_client(app.test_client(), 2)  # the lead
        merge_url = f"/inspections/{inspection_id}/merge"
        standard_url = f"/inspections/{inspection_id}/standards/{codes[len(codes) // 2]}"

        def get(url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response

        size = len(get(merge_url).data)
        get(standard_url)
        base_s, _ = median_time(lambda: get(standard_url), args.repeat * 4)
        merge_s, _ = median_time(lambda: get(merge_url), args.repeat)
        pdf = get(f"/inspections/{inspection_id}/report.pdf").data
        pdf_s, _ = median_time(lambda: get(f"/inspections/{inspection_id}/report.pdf"), max(3, args.repeat // 5))
        print(f"  merge screen: {INSPECTORS} inspectors x {len(codes)} standards, {size:,} bytes")
        print(f"  draft report PDF: {len(pdf):,} bytes, {len(codes) // 2} citations")
        print(f"merge render: merge screen {merge_s * 1000:.1f} ms, standard page {base_s * 1000:.2f} ms, "
              f"ratio {ratio(merge_s, base_s):.1f}; draft report PDF {pdf_s * 1000:.0f} ms, "
              f"ratio {ratio(pdf_s, base_s):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
