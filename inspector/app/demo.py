"""Demo data: the illustrative catalog, one user per role, and two
inspections at different stages of the cycle.

A FACT inspection on its last evening on site: the team's findings are in
(with photos, and two standards where inspectors disagree), the team leader
has settled some of them, written citations, a suggestion, released photos
to the site, and one finding changed after the lead decided.

A JACIE inspection two months on, in its corrections: the centre commented
on the draft deficiencies, the committee confirmed, amended and withdrew
them with due dates (one already overdue), and the centre has submitted one
correction for the lead to review.

Safe to run again: every write goes through the same push path as a tablet,
with stable op ids, and the JACIE inspection is made once."""
import hashlib
import io
import uuid
from datetime import date, timedelta

from PIL import Image, ImageDraw

from inspector.domain import audit, catalog, inspections, photos, review, team, users
from inspector.domain.db import folder_of, transaction
from inspector.app import demo_renewal

SITE = "Northbridge University Hospital, CAR-T program (demo)"
USERS = [
    ("admin", "admin", "Ada Admin"),
    ("lead", "lead", "Lena Lead"),
    ("inspector1", "inspector", "Iris Clinical"),
    ("inspector2", "inspector", "Ivo Processing"),
    ("inspector3", "inspector", "Ines Quality"),
    ("coordinator", "coordinator", "Cora Coordinator"),
]
# Who covers which sections; B1 and D7 are covered twice on purpose.
SECTIONS = {
    "inspector1": ["B1", "B2", "B3", "B6", "B7", "B8"],
    "inspector2": ["C6", "C7", "C8", "C9", "D6", "D7", "D8", "D9"],
    "inspector3": ["B1", "B4", "B9", "B10", "D4", "D7"],
}
# (inspector, standard, verdict, note, photo caption or None)
FINDINGS = [
    ("inspector1", "B1.1", "compliant", "Scope statement signed by the director, current.", None),
    ("inspector1", "B1.3", "compliant", "Organisational chart on the intranet names the director.", None),
    ("inspector1", "B1.5", "not_compliant", "The agreement with one of the two commercial manufacturers expired "
                                            "in March; the renewal is still with the legal team.", None),
    ("inspector1", "B2.2", "compliant", "", None),
    ("inspector1", "B2.3", "not_compliant", "No written agreement with intensive care for transfer at night; "
                                            "the unit relies on an informal email.", "ICU transfer email"),
    ("inspector1", "B7.2.6", "compliant", "Two nurses checked the bag label against the wristband at the "
                                        "bedside (observed once).", None),
    ("inspector1", "B7.2.10", "not_compliant", "Emergency box on ward 7 held an expired adrenaline ampoule.",
     "Emergency box, ward 7"),
    ("inspector1", "B7.3.3", "not_compliant", "ICANS assessed with the adult score only; no tool for the two "
                                            "children treated this year.", None),
    ("inspector1", "B7.3.4", "compliant", "Two doses of tocilizumab in the ward fridge; stock log checked daily.",
     None),
    ("inspector3", "B1.1", "compliant", "Director named in the quality plan.", None),
    ("inspector3", "B1.3", "not_compliant", "The chart in the quality manual is two versions behind the "
                                            "intranet one.", None),
    ("inspector3", "B1.5", "not_compliant", "Manufacturer agreement lapsed; no interim arrangement on file.",
     None),
    ("inspector3", "B4.3", "compliant", "", None),
    ("inspector3", "B4.5", "not_compliant", "Three deviations from May have no root-cause analysis.", None),
    ("inspector3", "D7.4.1", "not_compliant", "Second verifier's signature missing on two of ten thaw records.",
     None),
    ("inspector2", "C7.2.1", "compliant", "Collection parameters match the manufacturer's order form.", None),
    ("inspector2", "D7.2.2", "compliant", "Shipper temperature logs reviewed for the last five receipts.", None),
    ("inspector2", "D8.2", "not_compliant", "Alarm test of dewar 3 not recorded since August.",
     "Dewar 3 alarm panel"),
    ("inspector2", "D7.3.1", "not_applicable", "Thaw is done by the manufacturer's staff at the bedside.", None),
    ("inspector2", "D6.1", "compliant", "", None),
    ("inspector2", "D7.4.1", "compliant", "Two-person check observed at receipt and at thaw.", None),
]
# Standards an inspector means to come back to ("Flag for follow-up"): (inspector, standard).
FLAGS = [("inspector1", "B7.3.3")]  # ask again for the children's neurotoxicity tool
# The lead's decisions so far: (standard, verdict, citation, suggestion, release the photos?)
DECISIONS = [
    ("B1.1", "compliant", "", "", False),
    ("B1.5", "not_compliant", "The written agreement with one commercial manufacturer has lapsed and no interim "
                              "arrangement is documented.", "", False),
    ("B2.3", "not_compliant", "There is no written agreement guaranteeing transfer to intensive care at any hour; "
                              "the unit relies on an informal email.", "", True),
    ("B7.2.10", "not_compliant", "The emergency box on ward 7 held an expired adrenaline ampoule.",
     "Consider a monthly check of the emergency boxes, signed in a log.", True),
    ("B7.3.4", "compliant", "", "Keep the daily tocilizumab stock log: it is a model for other units.", False),
]
# After the lead decided, Iris adds to her note on B2.3: flagged on the merge screen.
LATE = ("inspector1", "B2.3", "note", "No written agreement with intensive care for transfer at night; the unit "
                                      "relies on an informal email. The ICU manager says a draft exists.")
SITE_REVIEWER = ("Sam Site (quality manager)", "quality@northbridge.example")
CLOCK_MS = 1_764_000_000_000  # fixed, so a re-run sends identical ops


def missing_users(db):
    """The demo's usernames not in the database yet."""
    return [username for username, _, _ in USERS if users.by_username(db, username) is None]


def seed(db, password):
    """Seed the demo; ``password`` None keeps the users' passwords (every demo user must exist)."""
    catalog_id = catalog.import_bundled(db)
    ids = {}
    for username, role, name in USERS:
        existing = users.by_username(db, username)
        if existing:
            if password is not None:
                users.set_password(db, username, password)
            ids[username] = existing["id"]
        else:
            ids[username] = users.create(db, username, role, password, name, email=f"{username}@inspector.example")
    inspection = inspections.by_site(db, SITE)
    if inspection is None:
        with transaction(db):
            today = date.today()
            inspection_id = inspections.create(db, SITE, catalog_id, (today - timedelta(days=1)).isoformat(),
                                               today.isoformat(), ids["admin"], device="cli")
            team.save(db, inspection_id, {ids["lead"]: ("lead", set()),
                                          **{ids[u]: ("inspector", set(s)) for u, s in SECTIONS.items()}},
                      ids["admin"], device="cli")
            inspections.move(db, inspections.plain(db, inspection_id), "merging", user_id=ids["lead"])
    else:
        inspection_id = inspection[0]
    _record(db, inspection_id, ids)
    # A review link for the site, ready for when the lead sends the draft citations.
    live = review.live_links(db, inspection_id)
    if live:
        link_id = live[0]["id"]
    else:
        with transaction(db):
            link_id = review.issue_link(db, inspection_id, *SITE_REVIEWER, 30, ids["lead"])
            audit.record(db, "link.issued", inspection_id=inspection_id, user_id=ids["lead"], subject=str(link_id),
                         after={"issued_to": SITE_REVIEWER[0], "email": SITE_REVIEWER[1], "days": 30})
    jacie = inspections.by_site(db, JACIE_SITE)
    jacie_id = jacie[0] if jacie else _jacie_inspection(db, catalog_id, ids)
    renewal = demo_renewal.seed(db, catalog_id, ids, _Tablet, _decide, _Form)
    return {"site": SITE, "inspection_id": inspection_id, "standards": catalog.count_standards(db, catalog_id),
            "jacie_site": JACIE_SITE, "jacie_link": dict(review.live_links(db, jacie_id)[0]),
            "users": [(u, r) for u, r, _ in USERS], "link": dict(review.link(db, link_id)), "renewal": renewal}


def demo_photo(caption):
    """A small picture standing in for an evidence photo: the same bytes every run."""
    image = Image.new("RGB", (640, 480), (226, 232, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 60, 600, 420), outline=(11, 83, 148), width=8)
    draw.text((70, 90), caption, fill=(26, 26, 26))
    draw.text((70, 130), "demo evidence photo", fill=(85, 85, 85))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


class _Tablet:
    """Ops from one user's demo device, with stable ids and stamps."""

    def __init__(self, db, inspection_id, username, user_id):
        self.db, self.inspection_id, self.username, self.user_id = db, inspection_id, username, user_id
        self.device = f"demo-{username}"
        self.ops = []

    def op(self, standard, field, value, key=""):
        seq = len(self.ops)
        self.ops.append({
            "op_id": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                    f"demo/{self.inspection_id}/{self.username}/{standard}/{field}/{key}")),
            "device_id": self.device, "seq": seq, "hlc": f"{CLOCK_MS + seq:015d}:00000:{self.device}",
            "inspection_id": self.inspection_id, "standard": standard, "field": field, "value": value,
        })

    def push(self):
        from sync.protocol import push
        push(self.db, users.by_id(self.db, self.user_id), {"ops": self.ops})
        sent, self.ops = [op["op_id"] for op in self.ops], []
        return sent


def _record(db, inspection_id, ids):
    from sync import oplog
    data_dir = folder_of(db)  # photos go into the photo store beside the database
    tablets = {u: _Tablet(db, inspection_id, u, ids[u]) for u in ("inspector1", "inspector2", "inspector3", "lead")}
    hashes = {}
    for username, code, verdict, note, caption in FINDINGS:
        tablet = tablets[username]
        tablet.op(code, "verdict", verdict)
        if note:
            tablet.op(code, "note", note)
        if caption:
            raw = demo_photo(caption)
            with transaction(db):
                sha = photos.store(db, data_dir, ids[username], hashlib.sha256(raw).hexdigest(), raw)["sha256"]
            hashes[code] = sha
            tablet.op(code, "photo", {"sha256": sha, "attached": True})
            tablet.op(code, "caption", {"sha256": sha, "text": caption}, key=sha)
    for username, code in FLAGS:
        tablets[username].op(code, "flag", True)
    sent = [op_id for username in ("inspector1", "inspector2", "inspector3") for op_id in tablets[username].push()]
    # The lead decided having seen every finding above (the same basis on a re-run).
    basis = oplog.newest_seq_of(db, sent)
    _decide(tablets["lead"], DECISIONS, basis, hashes)
    username, code, field, value = LATE
    late = _Tablet(db, inspection_id, username, ids[username])
    late.device = f"demo-{username}-evening"
    late.op(code, field, value, key="late")
    late.ops[0]["hlc"] = f"{CLOCK_MS + 10_000:015d}:00000:{late.device}"
    late.push()


def _decide(lead, decisions, basis, hashes=None):
    """The lead's decisions (DECISIONS' shape) from the lead's tablet, each with
    the basis of findings seen, and the photos released where asked."""
    hashes = hashes or {}
    for code, verdict, citation, suggestion, release in decisions:
        lead.op(code, "decision_verdict", verdict)
        lead.op(code, "decision_basis", basis)
        if citation:
            lead.op(code, "citation", citation)
        if suggestion:
            lead.op(code, "suggestion", suggestion)
        if release and code in hashes:
            lead.op(code, "release_photo", {"sha256": hashes[code], "released": True}, key=hashes[code])
    lead.push()


# --- the JACIE inspection, in its corrections -----------------------------------------

JACIE_SITE = "Riverside Centre for Cell Therapy (JACIE demo)"
JACIE_REVIEWER = ("Rosa Riverside (quality manager)", "quality@riverside.example")
# (inspector, standard, verdict, note)
JACIE_FINDINGS = [
    ("inspector1", "B2.3", "partially_compliant", "Transfer to intensive care agreed by phone, not in writing."),
    ("inspector1", "B3.1", "compliant", ""),
    ("inspector3", "B4.5", "not_compliant", "Two deviations closed without a root cause."),
    ("inspector2", "D8.2", "partially_compliant", "Alarm tests logged monthly, not weekly as the SOP says."),
    ("inspector2", "D7.4.1", "compliant", ""),
]
# The lead's decisions, as DECISIONS: (standard, verdict, deficiency text, recommendation, release photos?)
JACIE_DECISIONS = [
    ("B2.3", "partially_compliant", "There is no written agreement for transfer to intensive care.", "", False),
    ("B3.1", "compliant", "", "Keep the yearly toxicity training records together.", False),
    ("B4.5", "not_compliant", "Deviations are closed without an investigation of their root cause.", "", False),
    ("D8.2", "partially_compliant", "Dewar alarm tests are not done at the frequency the procedure sets.", "",
     False),
    ("D7.4.1", "compliant", "", "", False),
]


def _jacie_inspection(db, catalog_id, ids):
    """A JACIE inspection taken through the cycle to its corrections, each
    step by the path the app itself takes (ops, the committee's record)."""
    from sync import forms
    from inspector.domain import committee
    today = date.today()
    with transaction(db):
        inspection_id = inspections.create(
            db, JACIE_SITE, catalog_id, (today - timedelta(days=61)).isoformat(),
            (today - timedelta(days=60)).isoformat(), ids["admin"], device="cli", body="jacie")
        team.save(db, inspection_id, {ids["lead"]: ("lead", set()), ids["inspector1"]: ("inspector", {"B2", "B3"}),
                                      ids["inspector2"]: ("inspector", {"D7", "D8"}),
                                      ids["inspector3"]: ("inspector", {"B4"})}, ids["admin"], device="cli")
    tablets = {u: _Tablet(db, inspection_id, u, ids[u]) for u in ("inspector1", "inspector2", "inspector3", "lead")}
    for username, code, verdict, note in JACIE_FINDINGS:
        tablets[username].op(code, "verdict", verdict)
        if note:
            tablets[username].op(code, "note", note)
    sent = [op_id for u in ("inspector1", "inspector2", "inspector3") for op_id in tablets[u].push()]
    from sync import oplog
    basis = oplog.newest_seq_of(db, sent)
    _decide(tablets["lead"], JACIE_DECISIONS, basis)

    def move(state):
        with transaction(db):
            inspections.move(db, inspections.plain(db, inspection_id), state, user_id=ids["lead"])

    move("merging")
    move("factual_accuracy")
    with transaction(db):
        link_id = review.issue_link(db, inspection_id, *JACIE_REVIEWER, 90, ids["lead"])
        audit.record(db, "link.issued", inspection_id=inspection_id, user_id=ids["lead"], subject=str(link_id),
                     after={"issued_to": JACIE_REVIEWER[0], "email": JACIE_REVIEWER[1], "days": 90})
    link = review.link(db, link_id)
    comment = {"citation": ["B4.5"], "round-B4.5": "0", "factual_comment-B4.5":
               "One of the two deviations did have a root cause analysis: it is filed under DEV-2026-014."}
    forms.write(db, forms.site_answers(_Form(comment), inspection_id, submit=True), link=link)
    move("committee")
    ins = inspections.plain(db, inspection_id)
    cited, _ = review.citations(db, ins)
    held = today - timedelta(days=20)
    decided, errors = committee.check(ins, cited, _Form({
        "committee_date": held.isoformat(), "outcome": "deferred",
        "decision-B2.3": "confirmed", "due-B2.3": (today + timedelta(days=40)).isoformat(),
        "decision-B4.5": "amended", "due-B4.5": (today - timedelta(days=5)).isoformat(),
        "text-B4.5": "One deviation of two was closed without an investigation of its root cause.",
        "decision-D8.2": "withdrawn"}))
    assert not errors, errors
    with transaction(db):
        committee.record(db, ins, ids["coordinator"], decided)
    # The centre has answered one deficiency; the lead is to review it.
    forms.write(db, forms.site_answers(_Form({
        "citation": ["B2.3"], "round-B2.3": "1", "corrective_action-B2.3":
        "A written agreement with the intensive care unit was signed on 2 November; copy attached.",
        "target_date-B2.3": ""}), inspection_id, submit=True), link=link)
    return inspection_id


class _Form(dict):
    """A dict with the two methods the server's form readers ask of a request form."""

    def getlist(self, key):
        value = self.get(key, [])
        return value if isinstance(value, list) else [value]

    def get(self, key, default=None, type=None):
        value = super().get(key, default)
        return type(value) if type is not None and value is not None else value
