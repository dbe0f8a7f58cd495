"""Demo data: the illustrative catalog, one user per role, and an inspection
with the team on it, sections assigned, and some findings already recorded,
including standards where two inspectors disagree. Safe to run again."""
import uuid
from datetime import date, timedelta

from . import catalog, inspections, team, users
from .db import transaction

SITE = "Northbridge University Hospital, CAR-T program (demo)"
USERS = [
    ("admin", "admin", "Ada Admin"),
    ("lead", "lead", "Lena Lead"),
    ("inspector1", "inspector", "Iris Clinical"),
    ("inspector2", "inspector", "Ivo Processing"),
    ("inspector3", "inspector", "Ines Quality"),
]
# Who covers which sections; B1 and D3 are covered twice on purpose.
SECTIONS = {
    "inspector1": ["B1", "B2", "B4", "B5", "B6", "B7"],
    "inspector2": ["C1", "D1", "D2", "D3"],
    "inspector3": ["B1", "B3", "B8", "D3"],
}
# (inspector, standard, verdict, note)
FINDINGS = [
    ("inspector1", "B1.1", "compliant", "Director's appointment letter seen, signed and current."),
    ("inspector1", "B1.2", "compliant", ""),
    ("inspector1", "B1.3", "not_compliant", "No written ICU transfer agreement; only an informal email."),
    ("inspector3", "B1.1", "compliant", "Org chart matches the named director."),
    ("inspector3", "B1.3", "compliant", "ICU access described in the quality plan, section 4."),
    ("inspector2", "D3.1", "compliant", "Identifier follows the bag from receipt to the bedside."),
    ("inspector2", "D3.2", "not_compliant", "Second signature missing on two of ten thaw records."),
    ("inspector3", "D3.2", "not_compliant", "Hand-off log lacks a second verifier for night shifts."),
    ("inspector3", "D3.3", "not_applicable", ""),
    ("inspector2", "D2.1", "compliant", "Shipper temperature logs reviewed for the last five receipts."),
]


def seed(db, password):
    catalog_id = catalog.import_bundled(db)
    ids = {}
    for username, role, name in USERS:
        existing = users.by_username(db, username)
        if existing:
            users.set_password(db, username, password)
            ids[username] = existing["id"]
        else:
            ids[username] = users.create(db, username, role, password, name)
    inspection = inspections.by_site(db, SITE)
    if inspection is None:
        with transaction(db):
            today = date.today()
            inspection_id = inspections.create(db, SITE, catalog_id, today.isoformat(),
                                               (today + timedelta(days=1)).isoformat(), ids["admin"])
            team.save(db, inspection_id, {ids["lead"]: ("lead", set()),
                                          **{ids[u]: ("inspector", set(s)) for u, s in SECTIONS.items()}})
    else:
        inspection_id = inspection[0]
    _record_findings(db, inspection_id, ids)
    total = catalog.count_standards(db, catalog_id)
    return {"site": SITE, "inspection_id": inspection_id, "standards": total,
            "users": [(u, r) for u, r, _ in USERS]}


def _record_findings(db, inspection_id, ids):
    # Through the same push path as a tablet, with stable op ids, so running
    # the demo twice records nothing twice.
    from sync.protocol import push
    now_ms = 1_764_000_000_000  # fixed, so a re-run sends identical ops
    by_user = {}
    for n, (username, code, verdict, note) in enumerate(FINDINGS):
        device = f"demo-{username}"
        for field, value in (("verdict", verdict), ("note", note)):
            if field == "note" and not note:
                continue
            seq = len(by_user.setdefault(username, []))
            by_user[username].append({
                "op_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo/{inspection_id}/{username}/{code}/{field}")),
                "device_id": device, "seq": seq, "hlc": f"{now_ms:015d}:{seq:05d}:{device}",
                "inspection_id": inspection_id, "standard": code, "field": field, "value": value,
            })
    for username, ops in by_user.items():
        push(db, users.by_id(db, ids[username]), {"ops": ops})
