"""A year of worldwide inspections, generated through the app's own write path.

Per inspection: a lead and 6 inspectors drawn from a worldwide pool, the
sections shared out between the inspectors, every inspector's verdict and
note on each of the 150 standards, 20 small photos per inspector uploaded
(``inspector.domain.photos.store``: checked, re-encoded, stored by hash) and
attached with a caption, then the inspection moved to merging and the lead's
decisions on half the standards (verdict, basis, a citation where deficient,
a photo released) and a review link issued to the site. Ops are built by ``tests.helpers.Device`` (UUIDv7 ids,
HLC stamps spread over the past year) and applied by
``sync.protocol.apply_batch``, one batch per inspector, so the database holds
exactly what the app would hold after those pushes: the log, the registers,
the audit chain.

Only the durability of the build is relaxed (this is a cache, rebuilt if
lost): ``synchronous=OFF`` on the generator's connection, blobs written
without fsync, a photo's rows and audit record in the inspection's one
transaction instead of one each.

The build is incremental and deterministic (inspection k draws from
``random.Random(k)``): ``build(data_dir, upto)`` continues a folder from the
inspections it already holds, so 10% -> 50% -> 100% builds each inspection once.
"""
import contextlib
import hashlib
import io
import random
import time
from pathlib import Path

from PIL import Image, ImageDraw

from bench._common import PASSWORD
from inspector.domain import audit, catalog, inspections, photos, review, team, users
from tests import helpers as testing
from inspector.domain.db import connect, database_path, transaction
from sync import protocol

INSPECTIONS = 500          # a year's worldwide inspections (the issue's "at least 500")
TEAM = 6                   # inspectors per inspection
SECTIONS, PER_SECTION = 10, 15  # 150 standards
PHOTOS = 20                # per inspector per inspection
POOL_INSPECTORS, POOL_LEADS = 300, 60
DAY = 86_400_000
EDITION = "synthetic 150 (a year)"
SITE = "Year site {:04d}"
WORDS = ("record", "signed", "missing", "training", "director", "thaw", "log", "second", "verifier", "shift",
         "temperature", "chain", "identity", "policy", "current", "reviewed", "audit", "label", "bag", "the")
VERDICTS = ("compliant", "compliant", "compliant", "not_compliant", "not_applicable")


class NotApplied(SystemExit):
    """The generator's ops were not all applied: the data would not be a year's."""


def _applied(answer, who):
    refused = [r for r in answer["results"] if r["status"] != "applied"]
    if refused:
        raise NotApplied(f"year data not stored ({who}): {len(refused)} ops refused, e.g. {refused[:2]}")


def _write_unsynced(path, data):
    # The app's write_atomically fsyncs each blob; the generator's store is a
    # cache, so the same bytes are written without it (120k fsyncs otherwise).
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def small_photo(rng, label):
    """A small JPEG (128x96, about 1.7 KB) that no other call makes."""
    image = Image.new("RGB", (128, 96), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x, y = rng.randrange(100), rng.randrange(70)
        draw.rectangle((x, y, x + rng.randrange(10, 40), y + rng.randrange(10, 30)),
                       fill=tuple(rng.randrange(256) for _ in range(3)))
    draw.text((4, 4), label, fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def _setup(db):
    """The catalog, an admin and the worldwide pool of inspectors and leads (once)."""
    catalog_id = catalog.import_rows(db, catalog.check([("row", r) for r in catalog.synthetic_rows(
        SECTIONS, PER_SECTION, children=0)]), EDITION, "bench year")
    users.create(db, "admin", "admin", PASSWORD)
    for n in range(POOL_LEADS):
        users.create(db, f"lead{n:03d}", "lead", PASSWORD, f"Lead {n:03d}")
    for n in range(POOL_INSPECTORS):
        users.create(db, f"insp{n:03d}", "inspector", PASSWORD, f"Inspector {n:03d}")
    return catalog_id


def _ids(db):
    by_name = {r["username"]: r["id"] for r in users.everyone(db)}
    return (by_name["admin"], [by_name[f"lead{n:03d}"] for n in range(POOL_LEADS)],
            [by_name[f"insp{n:03d}"] for n in range(POOL_INSPECTORS)])


def year_start_ms():
    """Midnight UTC a year and a week before today: every stamp (the last
    lead's three days after its inspection began) is in the past, and the
    same all day."""
    return (protocol.now_ms() // DAY - 372) * DAY


def plan(k, total=INSPECTIONS):
    """Who inspects inspection k (0-based) and when: (lead index, inspector indices, first ms)."""
    rng = random.Random(k)
    return (rng.randrange(POOL_LEADS), rng.sample(range(POOL_INSPECTORS), TEAM),
            year_start_ms() + k * (365 * DAY // total))


def _one_inspection(db, data_dir, k, total, catalog_id, admin, leads, pool, codes, sections):
    rng = random.Random(10_000 + k)
    lead_n, people_n, start = plan(k, total)
    lead, people = leads[lead_n], [pool[n] for n in people_n]
    day = time.strftime("%Y-%m-%d", time.gmtime(start / 1000))
    inspection_id = inspections.create(db, SITE.format(k + 1), catalog_id, day, day, admin)
    team.save(db, inspection_id, {lead: ("lead", set()), **{
        p: ("inspector", {s for i, s in enumerate(sections) if i % TEAM == n}) for n, p in enumerate(people)}},
        admin)
    attached = {}
    for n, person in enumerate(people):
        user = users.by_id(db, person)
        device = testing.Device(f"y{k:04d}i{n}", start + n * 3_600_000, random.Random(k * 100 + n))
        raws = [small_photo(rng, f"{k}/{n}/{p}") for p in range(PHOTOS)]
        with transaction(db):  # the uploads' rows and audit records, in one commit
            hashes = [photos.store(db, data_dir, person, hashlib.sha256(raw).hexdigest(), raw)["sha256"]
                      for raw in raws]
        ops = []
        for code in codes:
            ops.append(device.op(inspection_id, code, "verdict", rng.choice(VERDICTS)))
            ops.append(device.op(inspection_id, code, "note", " ".join(
                rng.choice(WORDS) for _ in range(rng.randint(4, 40))).capitalize() + "."))
        for sha in hashes:
            code = rng.choice(codes)
            attached.setdefault(code, []).append(sha)
            ops.append(device.op(inspection_id, code, "photo", {"sha256": sha, "attached": True}))
            ops.append(device.op(inspection_id, code, "caption", {"sha256": sha, "text": f"Evidence for {code}"}))
        _applied(protocol.apply_batch(db, protocol.Actor(user=user), ops), f"inspection {k + 1} inspector {n}")
    lead_user = users.by_id(db, lead)
    ins = inspections.for_user(db, lead_user, inspection_id)
    with transaction(db):
        inspections.move(db, ins, "merging", user_id=lead)
    basis = protocol.oplog.last_seq(db)
    device = testing.Device(f"y{k:04d}lead", start + 3 * DAY, random.Random(k * 100 + 99))
    ops = []
    for code in codes[::2]:
        verdict = rng.choice(VERDICTS)
        ops.append(device.op(inspection_id, code, "decision_verdict", verdict))
        ops.append(device.op(inspection_id, code, "decision_basis", basis))
        if verdict == "not_compliant":
            ops.append(device.op(inspection_id, code, "citation", f"Citation for {code}: the record was not signed."))
            for sha in attached.get(code, [])[:1]:
                ops.append(device.op(inspection_id, code, "release_photo", {"sha256": sha, "released": True}))
    _applied(protocol.apply_batch(db, protocol.Actor(user=lead_user), ops), f"inspection {k + 1} lead")
    with transaction(db):  # as the lead's page issues one (views/review.py)
        to, email = f"Quality manager, site {k + 1}", f"quality{k + 1}@example.org"
        link_id = review.issue_link(db, inspection_id, to, email, 30, lead)
        audit.record(db, "link.issued", inspection_id=inspection_id, user_id=lead, subject=str(link_id),
                     after={"issued_to": to, "email": email, "days": 30})
    return inspection_id


def built(data_dir):
    """How many of the year's inspections the folder holds (0 if none)."""
    path = database_path(data_dir)
    if not path.exists():
        return 0
    with contextlib.closing(testing.read_only_db(data_dir)) as conn:
        made = conn.execute("SELECT count(*) FROM inspections WHERE site_name LIKE 'Year site %'").fetchone()[0]
        # The review link is an inspection's last step: one without it was cut short.
        done = conn.execute("SELECT count(*) FROM review_links").fetchone()[0]
    if made != done:
        raise SystemExit(f"{data_dir} holds a partly built inspection: build it again from the start")
    return made


def build(data_dir, upto, total=INSPECTIONS, log=print):
    """Bring ``data_dir`` to ``upto`` of the ``total`` inspections; returns seconds taken."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    have = built(data_dir)
    users.PASSWORD_METHOD = testing.CHEAP_PASSWORD_METHOD
    real_write, photos.write_atomically = photos.write_atomically, _write_unsynced
    db = connect(database_path(data_dir))
    try:
        db.conn.execute("PRAGMA synchronous=OFF")
        if have == 0 and not db["catalogs"].count:
            _setup(db)
        catalog_id = catalog.edition_by_name(db, EDITION)["id"]
        admin, leads, pool = _ids(db)
        codes = [code for code, _ in catalog.standards_in_sections(db, catalog_id)]
        sections = [s["code"] for s in catalog.sections(db, catalog_id)]
        for k in range(have, upto):
            _one_inspection(db, data_dir, k, total, catalog_id, admin, leads, pool, codes, sections)
            if (k + 1) % 25 == 0 or k + 1 == upto:
                log(f"  built {k + 1}/{total} inspections, {time.perf_counter() - start:.0f} s")
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.conn.close()
        photos.write_atomically = real_write
    return time.perf_counter() - start
