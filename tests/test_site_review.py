"""The site answers its draft citations through a signed, expiring link: a
bad link shows one plain page and nothing else (a valid one not open yet
says so); the site sees only its own draft citations, suggestions and
released photos; it comments on their factual accuracy, then, once the
committee has decided, submits its corrections; each field saves on its
own; evidence documents are checked by their bytes; the lead reviews each
round; and the lifecycle is enforced by the server."""
import base64
import contextlib
import hashlib
import io
import json
import random
import re
from pathlib import Path

import pikepdf
import pypdf
import pytest
from PIL import Image

from itsdangerous import URLSafeSerializer

from inspector.app import demo
from inspector.app.throttle import TokenBuckets
from inspector.app.views.review import SALT, UPLOAD_COST
from inspector.domain import backups, documents, inspections, review
from inspector.domain.db import connect, database_path
from tests.helpers import (Device, committee_decides, coordinator_id, demo_photo_hashes, forward, push,
                           read_only_db, small_pdf)

# The site's documents: the demo's program (a renewal being prepared) has
# documents of its own, which these tests of the site's evidence leave out.
SITE_DOCUMENTS = "documents WHERE sha256 NOT IN (SELECT sha256 FROM program_documents)"


from test_merge import DEMO_NOTES

PHOTOS = Path(__file__).parent / "fixtures" / "photos"
CITED = ["B1.5", "B2.3", "B7.2.10"]  # the demo's draft citations, in catalog order
PDF = small_pdf("Action plan")


def state_of(db, inspection):
    return inspections.plain(db, inspection)["state"]


def send_to_site(lead, inspection):
    """Send draft citations to site, confirmed: the factual accuracy review opens."""
    assert forward(lead, inspection).status_code == 302


def to_corrections(lead, db, inspection, decisions=None, **kw):
    """Send to committee, and the committee's decision recorded (every draft
    citation confirmed unless ``decisions`` say otherwise): the corrections open."""
    assert forward(lead, inspection).status_code == 302
    committee_decides(db, inspection, coordinator_id(db), decisions, **kw)


def issue(lead, inspection, name="Jane Site", email="jane@northbridge.example", days="7"):
    lead.post(f"/inspections/{inspection}/links", data={"issued_to": name, "email": email, "days": days})
    page = lead.get(f"/inspections/{inspection}/review").get_data(as_text=True)
    return re.search(r'id="link-\d+" value="http://localhost([^"]+)"', page).group(1)  # the newest comes first


@pytest.fixture
def link(as_user, demo_inspection):
    """The demo's citations sent to the site, and a link for it (a path)."""
    lead = as_user("lead")
    send_to_site(lead, demo_inspection)
    return issue(lead, demo_inspection)


@pytest.fixture
def correcting(as_user, db, demo_inspection, link):
    """The same link once the committee has confirmed every draft citation:
    the site's corrections are open (round 1)."""
    to_corrections(as_user("lead"), db, demo_inspection)
    return link


@pytest.fixture
def site(app):
    return app.test_client()  # no account, no session


def form_of(html):
    """The site's save form as a browser would send it: every field as shown."""
    data = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html):
        data.setdefault(name, []).append(value)
    for name, value in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', html):
        data[name] = [value]
    for name, value in re.findall(r'<input type="date" [^>]*name="([^"]+)" value="([^"]*)"', html):
        data[name] = [value]
    data.pop("round", None), data.pop("op_id", None)
    return data


def save(site, link, changes, action="save", html=None):
    data = form_of(html or site.get(link).get_data(as_text=True))
    for key, value in changes.items():
        data[key] = [value]
    data["action"] = [action]
    return site.post(link, data=data)


# --- bad links ---------------------------------------------------------------------------

@pytest.fixture
def make_other_inspection(db):
    """Another inspection, led by the same lead, in its factual accuracy review."""
    from inspector.domain import inspections, team, users

    def make():
        admin, lead = users.by_username(db, "admin")["id"], users.by_username(db, "lead")["id"]
        other = inspections.create(db, "Southfield Children's Hospital", 1, "2026-06-01", "2026-06-02", admin)
        team.add_member(db, other, lead, "lead")
        inspections.set_state(db, other, "factual_accuracy")
        return other
    return make


def bad_link_cases(db, link, other_inspection):
    token = link.rsplit("/", 1)[1]
    link_id = json.loads(__import__("base64").urlsafe_b64decode(token.split(".")[0] + "==").decode())["l"]
    return {
        "tampered": link[:-3] + ("abc" if not link.endswith("abc") else "xyz"),
        "garbage": link.rsplit("/", 1)[0] + "/not-a-token",
        "another inspection": f"/review/{other_inspection}/{token}",
        "expired": (link, lambda: db.conn.execute("UPDATE review_links SET expires_at = '2020-01-01T00:00:00Z' "
                                                   "WHERE id = ?", [link_id])),
        "revoked": (link, lambda: review.revoke_link(db, link_id)),
        # The genuine token spelled otherwise: itsdangerous skipped the
        # non-ASCII characters, and the route saw %2E as ".".
        "non-ASCII in the signature": f"{link[:-3]}%C3%A9{link[-3:]}",
        "zero-width space after it": link + "%E2%80%8B",
        "a letter replaced by é": f"{link[:-3]}%C3%A9{link[-2:]}",
        "dot as %2E": link.replace(".", "%2E"),
        "dot as %2e": link.replace(".", "%2e"),
        "a letter percent-encoded": f"{link[:-1]}%{ord(link[-1]):02X}",
        "inspection id percent-encoded": f"/review/%{ord(link.split('/')[2][0]):02X}{link.split('/')[2][1:]}/{token}",
        "inspection id with a leading 0": f"/review/0{link.split('/')[2]}/{token}",
    }


SPELLINGS = ["non-ASCII in the signature", "zero-width space after it", "a letter replaced by é", "dot as %2E",
             "dot as %2e", "a letter percent-encoded", "inspection id percent-encoded", "inspection id with a leading 0"]


@pytest.mark.parametrize("case", ["tampered", "garbage", "another inspection", "expired", "revoked", *SPELLINGS])
def test_a_bad_link_shows_one_plain_page_and_nothing_else(db, link, site, case, make_other_inspection):
    target = bad_link_cases(db, link, make_other_inspection())[case]
    if isinstance(target, tuple):
        target, spoil = target
        spoil()
    plain = site.get("/review/1/not-a-token").data  # the one page every bad link gets
    for response in (site.get(target), site.post(target, data={"action": "save"}),
                     site.get(target + "/documents/" + "0" * 64), site.get(target + "/photos/" + "0" * 64)):
        html = response.get_data(as_text=True)
        assert response.status_code == 403
        assert "ask the lead inspector for a new link" in html
        assert response.data == plain                                            # no hint which case it was
        for leak in ("Northbridge", "Citation", "B1.5", "Iris", "expired", "revoked", "signature"):
            assert leak not in html, (case, leak)


def test_a_link_before_the_citations_are_sent_says_it_opens_when_they_are(as_user, demo_inspection, site):
    link = issue(as_user("lead"), demo_inspection)  # still merging
    for response in (site.get(link), site.post(link, data={"action": "save"})):
        html = response.get_data(as_text=True)
        assert response.status_code == 409
        assert "The inspection team has not sent its draft citations yet. This link will open when they do." in html
        assert "ask the lead inspector for a new link" not in html                 # not a dead link
        for leak in ("Northbridge", "B1.5", "Iris", "There is no written agreement"):
            assert leak not in html


# --- what the site sees -----------------------------------------------------------------

def test_the_site_sees_only_its_draft_citations_suggestions_and_released_photos(db, link, site):
    html = site.get(link).get_data(as_text=True)
    assert re.findall(r'Citation (\d+): <span class="code">([^<]+)</span>', html) == [
        (str(n), code) for n, code in enumerate(CITED, 1)]
    assert "There is no written agreement guaranteeing transfer to intensive care" in html
    assert "Consider a monthly check of the emergency boxes" in html            # a suggestion
    shown = set(re.findall(r"/photos/([0-9a-f]{64})", html))
    released = {r[0] for r in db.conn.execute("SELECT sha256 FROM photo_releases WHERE released = 1")}
    assert shown == released and len(shown) == 2
    assert not (demo_photo_hashes() - released) & set(re.findall(r"[0-9a-f]{64}", html))  # the dewar photo stays private
    for note in DEMO_NOTES + [f[3] for f in demo.FINDINGS if f[3]]:
        assert note not in html                                                 # never an inspector's note
    for private in ("Merge findings", "Arrival board", "Changed since you decided", "data-user-id", "Log out",
                    "B1.3", "D7.4.1", "Ivo Processing</strong>"):
        assert private not in html
    assert "Lena Lead (team leader)" in html and "Iris Clinical" in html        # the team list, nothing more


def test_the_site_reads_a_released_photo_and_never_an_unreleased_one(db, link, site):
    released = db.conn.execute("SELECT sha256 FROM photo_releases WHERE released = 1").fetchone()[0]
    private = (demo_photo_hashes() - {r[0] for r in db.conn.execute("SELECT sha256 FROM photo_releases")}).pop()
    assert site.get(f"{link}/photos/{released}?size=thumb").status_code == 200
    assert site.get(f"{link}/photos/{private}").status_code == 404


# --- saving, submitting, reviewing ------------------------------------------------------

@pytest.mark.usefixtures("correcting")
def test_two_people_on_two_links_never_overwrite_each_others_fields(as_user, demo_inspection, link, site, app, db):
    other = issue(as_user("lead"), demo_inspection, name="Omar Quality", email="omar@northbridge.example")
    omar = app.test_client()
    jane_page, omar_page = site.get(link).get_data(as_text=True), omar.get(other).get_data(as_text=True)
    save(site, link, {"corrective_action-B2.3": "Signed an ICU transfer agreement."}, html=jane_page)
    save(omar, other, {"target_date-B2.3": "2027-06-30"}, html=omar_page)
    row = db.conn.execute("SELECT corrective_action, target_date FROM responses WHERE inspection_id = ? "
                          "AND standard_code = 'B2.3'", [demo_inspection])
    assert tuple(row.fetchone()) == ("Signed an ICU transfer agreement.", "2027-06-30")
    actors = {r[0] for r in db.conn.execute("SELECT link_id FROM ops WHERE inspection_id = ? AND field IN "
                                            "('corrective_action', 'target_date')", [demo_inspection])}
    assert len(actors) == 2 and None not in actors                             # each saved by its own link


def test_the_same_form_sent_twice_saves_once(link, site, db, demo_inspection):
    html = site.get(link).get_data(as_text=True)
    for _ in range(2):
        save(site, link, {"factual_comment-B1.5": "The agreement was renewed in April."}, html=html)
    assert db.conn.execute("SELECT count(*) FROM ops WHERE inspection_id = ? AND field = 'factual_comment'",
                           [demo_inspection]).fetchone()[0] == 1


@pytest.mark.usefixtures("correcting")
def test_submit_then_more_information_then_accepted_keeps_every_round(as_user, demo_inspection, link, site, db):
    for code in CITED:
        save(site, link, {f"corrective_action-{code}": f"Plan for {code}", f"target_date-{code}": "2027-03-31"})
    save(site, link, {}, action="submit")
    lead = as_user("lead")
    assert review.unanswered(db, inspections.plain(db, demo_inspection)) == []
    page = lead.get(f"/inspections/{demo_inspection}/review").get_data(as_text=True)
    assert "Plan for B2.3" in page and "2027-03-31" in page                      # beside its citation
    # Submitted: the site can no longer change that round.
    save(site, link, {"corrective_action-B2.3": "changed after submitting"})
    assert "changed after submitting" not in lead.get(f"/inspections/{demo_inspection}/review").get_data(as_text=True)

    lead.post(f"/inspections/{demo_inspection}/responses/B2.3/review",
              data={"round": "1", "outcome": "more_info", "comment": "Please send the signed agreement."})
    html = site.get(link).get_data(as_text=True)
    assert "More information needed" in html and "Please send the signed agreement." in html
    assert 'name="round-B2.3" value="2"' in html                                 # a second round opens
    save(site, link, {"corrective_action-B2.3": "Agreement signed on 2 March, attached."}, action="submit")
    lead.post(f"/inspections/{demo_inspection}/responses/B2.3/review", data={"round": "2", "outcome": "accepted"})
    # Nothing moves the inspection by itself: the lead closes it.
    assert state_of(db, demo_inspection) == "corrections"
    rounds = review.rounds(db, demo_inspection)["B2.3"]
    assert [(r["round"], r["response"]["corrective_action"], r["review"]["outcome"]) for r in rounds] == [
        (1, "Plan for B2.3", "more_info"), (2, "Agreement signed on 2 March, attached.", "accepted")]


# --- evidence documents -----------------------------------------------------------------

def upload(site, link, name, data, code="B1.5"):
    return site.post(f"{link}/documents", data={"citation": code, "round": "1", "document": (io.BytesIO(data), name)},
                     content_type="multipart/form-data")


def gps_jpeg():
    return (PHOTOS / "gps_upright.jpg").read_bytes()


@pytest.mark.usefixtures("correcting")
def test_a_pdf_is_kept_and_served_only_as_a_download(link, site, db, as_user, demo_inspection):
    assert upload(site, link, "plan.pdf", PDF).status_code == 302
    sha = db.conn.execute(f"SELECT sha256 FROM {SITE_DOCUMENTS}").fetchone()[0]
    response = site.get(f"{link}/documents/{sha}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "Action plan 1" in pypdf.PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert response.headers["Content-Disposition"] == 'attachment; filename="plan.pdf"'
    assert as_user("lead").get(f"/inspections/{demo_inspection}/documents/{sha}").status_code == 200
    assert as_user("inspector1").get(f"/inspections/{demo_inspection}/documents/{sha}").status_code == 404


@pytest.mark.usefixtures("correcting")
@pytest.mark.parametrize("name, data, status", [
    ("plan.pdf", b"MZ\x90\x00 this is a program, not a PDF", 415),
    ("notes.pdf", b"<html><script>alert(1)</script></html>", 415),
    ("page.html", b"<!doctype html><title>x</title>", 415),
    ("cut.pdf", b"%PDF-1.4\n1 0 obj << >> endobj\n", 415),
    ("huge.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024) + b"\n%%EOF", 413),
    ("empty.pdf", b"", 400),
])
def test_a_document_that_is_not_what_it_says_is_refused_and_nothing_kept(link, site, db, name, data, status):
    response = upload(site, link, name, data)
    assert response.status_code == status
    assert "Nothing was saved" in response.get_data(as_text=True)
    assert db.conn.execute(f"SELECT count(*) FROM {SITE_DOCUMENTS}").fetchone()[0] == 0
    assert db.conn.execute("SELECT count(*) FROM ops WHERE field = 'evidence'").fetchone()[0] == 0


@pytest.mark.usefixtures("correcting")
def test_an_evidence_image_loses_its_gps_and_camera_data(link, site, db, app):
    raw = gps_jpeg()
    assert b"GPS" in raw or Image.open(io.BytesIO(raw)).getexif()
    assert upload(site, link, "ward.jpg", raw).status_code == 302
    sha, kind = db.conn.execute(f"SELECT sha256, kind FROM {SITE_DOCUMENTS}").fetchone()
    kept = site.get(f"{link}/documents/{sha}").data
    assert kind == "jpeg" and kept != raw
    assert not Image.open(io.BytesIO(kept)).getexif()


def stored_files(app):
    """The document files in the data folder, but the demo program's own (see SITE_DOCUMENTS)."""
    folder = Path(app.config["DATA_DIR"]) / "documents"
    program = {r[0] for r in read_only_rows(app, "SELECT sha256 FROM program_documents", all_rows=True)}
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in program) if folder.is_dir() else []


def nothing_stored(app, db):
    """No document row, file, evidence op or upload record, and nothing counted against a link."""
    return (db.conn.execute(f"SELECT count(*) FROM {SITE_DOCUMENTS}").fetchone()[0] == 0 and stored_files(app) == []
            and db.conn.execute("SELECT count(*) FROM ops WHERE field = 'evidence'").fetchone()[0] == 0
            and db.conn.execute("SELECT count(*) FROM audit WHERE action = 'document.uploaded' AND subject NOT IN "
                                "(SELECT sha256 FROM program_documents)").fetchone()[0] == 0
            and db.conn.execute("SELECT sum(documents_uploaded) + sum(document_bytes) FROM review_links"
                                ).fetchone()[0] == 0)


# --- evidence documents are what they claim ---------------------------------------------

@pytest.mark.usefixtures("correcting")
@pytest.mark.parametrize("name, data", [
    ("page.pdf", b"%PDF-1.7\n<!doctype html><html><script>alert(document.cookie)</script></html>\n%%EOF\n"),
    ("noise.pdf", b"%PDF-1.7\n" + random.Random(20).randbytes(2 * 1024 * 1024) + b"\n%%EOF\n"),
    ("no-pages.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"),
])
def test_a_pdf_that_does_not_parse_is_refused_beside_its_upload_control(link, site, db, app, name, data):
    response = upload(site, link, name, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 415
    error = re.search(r'<p class="error" id="document-error-B1.5" role="alert">(.+?)</p>', html)
    assert error and "could not be read as one. Nothing was saved" in error.group(1)
    assert 'aria-describedby="document-error-B1.5"' in html                     # the control names its error
    assert nothing_stored(app, db)


def locked_pdf():
    pdf = pikepdf.open(io.BytesIO(small_pdf()))
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    return out.getvalue()


@pytest.mark.usefixtures("correcting")
@pytest.mark.parametrize("case, status, words", [
    ("locked", 415, "protected by a password"),
    ("too many parts", 413, "made of too many parts"),
])
def test_a_pdf_that_cannot_be_checked_is_refused(link, site, db, app, monkeypatch, case, status, words):
    if case == "too many parts":
        monkeypatch.setattr(documents, "MAX_PDF_OBJECTS", 3)   # small_pdf() has 5: a 50,000-part file is slow to make
    response = upload(site, link, "plan.pdf", locked_pdf() if case == "locked" else PDF)
    assert response.status_code == status and words in response.get_data(as_text=True)
    assert nothing_stored(app, db)


def armed_pdf():
    """A real PDF that acts when opened: JavaScript on open, on a page and in
    the name tree, a launch action, a link chained to a script, an embedded
    program (in the name tree and as an attachment), an XFA form, an author."""
    Dictionary, Name, String, Array = pikepdf.Dictionary, pikepdf.Name, pikepdf.String, pikepdf.Array
    pdf = pikepdf.open(io.BytesIO(small_pdf("Signed agreement")))
    script = pdf.make_indirect(Dictionary(Type=Name.Action, S=Name.JavaScript,
                                          JS=String("app.launchURL('https://evil.example/')")))
    program = pdf.make_indirect(Dictionary(Type=Name.Filespec, F=String("invoice.exe"),
                                           EF=Dictionary(F=pdf.make_stream(b"MZ not really a program"))))
    pdf.Root.OpenAction = script
    pdf.Root.AA = Dictionary(WC=script)
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("run"), script])),
                                EmbeddedFiles=Dictionary(Names=Array([String("invoice.exe"), program])))
    pdf.Root.AcroForm = Dictionary(Fields=Array(), XFA=pdf.make_stream(b"<xdp:xdp/>"))
    pdf.docinfo["/Author"] = "A. Person"
    page = pdf.pages[0].obj
    page.AA = Dictionary(O=script)
    page.Annots = Array([
        pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[72, 600, 300, 620],
                                     A=Dictionary(S=Name.URI, URI=String("https://fact.example/"), Next=script))),
        pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[72, 500, 300, 520],
                                     A=Dictionary(S=Name.Launch, F=String("cmd.exe")))),
        pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.FileAttachment, Rect=[72, 400, 90, 420],
                                     FS=program)),
    ])
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def everything_in(pdf):
    """(every dictionary key, every action type, every annotation type) in the file."""
    keys, actions, annotations = set(), set(), set()

    def walk(obj):
        if isinstance(obj, pikepdf.Array):
            for item in obj:
                if isinstance(item, (pikepdf.Array, pikepdf.Dictionary)) and not item.is_indirect:
                    walk(item)
        elif isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
            keys.update(obj.keys())
            if isinstance(obj.get("/A"), pikepdf.Dictionary):
                actions.add(str(obj.A.get("/S")))
            if obj.get("/Type") == "/Annot":
                annotations.add(str(obj.get("/Subtype")))
            for value in obj.values():
                if isinstance(value, (pikepdf.Array, pikepdf.Dictionary)) and not value.is_indirect:
                    walk(value)
    for obj in pdf.objects:
        walk(obj)
    return keys, actions, annotations


@pytest.mark.usefixtures("correcting")
def test_a_pdf_is_stored_without_what_could_act_when_opened(link, site, db, app):
    raw = armed_pdf()
    with pikepdf.open(io.BytesIO(raw)) as pdf:                                   # the test's PDF is armed
        assert {"/OpenAction", "/JS", "/EF", "/XFA"} <= everything_in(pdf)[0]
    assert upload(site, link, "agreement.pdf", raw).status_code == 302
    sha = db.conn.execute(f"SELECT sha256 FROM {SITE_DOCUMENTS}").fetchone()[0]
    [path] = stored_files(app)
    kept = path.read_bytes()
    assert path.name == sha == hashlib.sha256(kept).hexdigest()                  # named by what is stored
    assert db.conn.execute("SELECT value FROM ops WHERE field = 'evidence'").fetchone()[0].count(sha) == 1
    served = site.get(f"{link}/documents/{sha}")
    assert served.data == kept and served.headers["Content-Disposition"] == 'attachment; filename="agreement.pdf"'
    with pikepdf.open(io.BytesIO(kept)) as pdf:
        keys, actions, annotations = everything_in(pdf)
        assert not keys & {"/OpenAction", "/AA", "/JS", "/JavaScript", "/Names", "/EmbeddedFiles", "/EF",
                           "/AcroForm", "/XFA", "/Next"}
        assert actions == {"/URI"} and annotations == {"/Link"}                 # the plain link stays
        assert "/Author" not in pdf.docinfo
    assert b"invoice.exe" not in kept and b"evil.example" not in kept
    assert "Signed agreement 1" in pypdf.PdfReader(io.BytesIO(kept)).pages[0].extract_text()
    # The same file again is the same stored file, under the same hash.
    assert upload(site, link, "agreement.pdf", raw).status_code == 302
    assert stored_files(app) == [path] and db.conn.execute(f"SELECT count(*) FROM {SITE_DOCUMENTS}").fetchone()[0] == 1


# --- uploads are checked before they are stored -----------------------------------------

def _submit_b15(site, link, lead, inspection, db):
    # B1.5 alone: the others left unanswered, as the site confirms it means to.
    save(site, link, {"corrective_action-B1.5": "Renew the agreement."}, action="submit_anyway")


def _send_b15_back(site, link, lead, inspection, db):
    _submit_b15(site, link, lead, inspection, db)
    lead.post(f"/inspections/{inspection}/responses/B1.5/review",
              data={"round": "1", "outcome": "more_info", "comment": "Send the signed copy."})


def _withdraw_b15(site, link, lead, inspection, db):
    db.conn.execute("UPDATE committee_decisions SET decision = 'withdrawn', due_on = NULL "
                    "WHERE inspection_id = ? AND standard_code = 'B1.5'", [inspection])


def _state(state):
    return lambda site, link, lead, inspection, db: inspections.set_state(db, inspection, state)


# case: (citation, round, what happens first, status, refusal code, shown beside B1.5's upload control)
REFUSED_UPLOADS = {
    "no citation": ("", "1", None, 400, "not_a_citation", False),
    "not a citation": ("B1.3", "1", None, 400, "not_a_citation", False),
    "no round": ("B1.5", "", None, 409, "round_closed", True),
    "a round not open yet": ("B1.5", "2", None, 409, "round_closed", True),
    "a closed round": ("B1.5", "1", _send_b15_back, 409, "round_closed", True),
    "a submitted round": ("B1.5", "1", _submit_b15, 409, "submitted", False),
    "a withdrawn citation": ("B1.5", "1", _withdraw_b15, 400, "not_a_citation", False),
    # Evidence of corrections: not while the draft is reviewed for factual accuracy or is with the committee.
    "in the factual accuracy review": ("B1.5", "0", _state("factual_accuracy"), 409, "inspection_state", False),
    "with the committee": ("B1.5", "1", _state("committee"), 409, "inspection_state", False),
    "the inspection is closed": ("B1.5", "1", _state("closed"), 409, "inspection_state", False),
}


@pytest.mark.usefixtures("correcting")
@pytest.mark.parametrize("case", list(REFUSED_UPLOADS))
def test_an_upload_the_link_may_not_make_is_refused_before_anything_is_stored(
        case, link, site, db, app, as_user, demo_inspection):
    code, round_, before, status, reason, beside = REFUSED_UPLOADS[case]
    if before:
        before(site, link, as_user("lead"), demo_inspection, db)
    form = {"citation": code, "round": round_}
    response = site.post(f"{link}/documents", data={**form, "document": (io.BytesIO(PDF), "plan.pdf")},
                         content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert "The file was not attached" in html and "Nothing was saved from this file." in html
    assert ('id="document-error-B1.5"' in html) == beside
    answer = site.post(f"{link}/documents", data={**form, "document": (io.BytesIO(PDF), "plan.pdf")},
                       content_type="multipart/form-data", headers={"Accept": "application/json"})
    assert (answer.status_code, answer.json["error"]) == (status, reason)
    assert nothing_stored(app, db)


@pytest.mark.usefixtures("correcting")
@pytest.mark.parametrize("limit", ["documents", "bytes"])
def test_a_link_stores_no_more_than_its_quota(limit, app, link, site, db, as_user, demo_inspection):
    first, second = small_pdf("Plan 1"), small_pdf("Plan 2")
    kept = len(documents.check(first)[1])
    app.config.update({"documents": {"REVIEW_LINK_MAX_DOCUMENTS": 1},
                       "bytes": {"REVIEW_LINK_MAX_DOCUMENT_BYTES": kept + kept // 2}}[limit])
    assert upload(site, link, "plan-1.pdf", first).status_code == 302
    refused = upload(site, link, "plan-2.pdf", second)
    assert refused.status_code == 403
    assert re.search(r'id="document-error-B1.5" role="alert"><strong>The file was not attached.</strong> This link '
                     r'has attached its limit of', refused.get_data(as_text=True))
    assert db.conn.execute(f"SELECT count(*) FROM {SITE_DOCUMENTS}").fetchone()[0] == len(stored_files(app)) == 1
    counted = db.conn.execute("SELECT documents_uploaded, document_bytes FROM review_links WHERE documents_uploaded > 0")
    assert [tuple(r) for r in counted] == [(1, kept)]
    # Another person's link of the same inspection has a quota of its own.
    other = issue(as_user("lead"), demo_inspection, name="Omar Quality", email="omar@northbridge.example")
    assert upload(app.test_client(), other, "plan-2.pdf", second).status_code == 302


def test_a_link_sending_too_fast_is_answered_429_with_retry_after(new_app, tmp_path, as_user, demo_inspection):
    fast = new_app(tmp_path / "fast", REVIEW_LINK_BURST=3, REVIEW_LINK_RATE=0.01)
    lead = as_user("lead", app=fast)
    send_to_site(lead, demo_inspection)
    link, other = issue(lead, demo_inspection), issue(lead, demo_inspection, name="Omar", email="omar@x.example")
    site = fast.test_client()
    assert [site.get(link).status_code for _ in range(3)] == [200] * 3
    # One token more in 100 s; an upload costs the whole burst (3 tokens): 300 s.
    for response, wait in ((site.get(link), "100"), (upload(site, link, "plan.pdf", PDF), "300")):
        html = response.get_data(as_text=True)
        assert response.status_code == 429 and response.headers["Retry-After"] == wait
        assert "<h1>Too many attempts</h1>" in html and f"wait {wait} seconds" in html  # the app's error page
        assert "Log in" not in html                                                     # the site has no account
    answer = site.get(f"{link}/photos/{'0' * 64}", headers={"Accept": "application/json"})
    assert answer.status_code == 429 and answer.json["error"] == "too_many_requests"
    assert site.get(other).status_code == 200                                          # each link its own bucket
    assert read_only_rows(fast, f"SELECT count(*) FROM {SITE_DOCUMENTS}") == 0


def read_only_rows(app, sql, all_rows=False):
    """The first value of ``sql``'s answer (every row, with ``all_rows``), read without writing."""
    with contextlib.closing(read_only_db(app.config["DATA_DIR"])) as conn:
        return conn.execute(sql).fetchall() if all_rows else conn.execute(sql).fetchone()[0]


def test_a_token_bucket_refills_at_its_rate():
    now = [0.0]
    buckets = TokenBuckets(rate=0.5, burst=2, clock=lambda: now[0])
    assert [buckets.take("a"), buckets.take("a"), buckets.take("a"), buckets.take("b")] == [0, 0, 2, 0]
    now[0] += 1.9
    assert buckets.take("a") == 1                     # not quite a token yet: try again within a second
    now[0] += 0.2
    assert buckets.take("a") == 0 and buckets.take("a") == 2
    now[0] += 10
    assert buckets.take("a", cost=2) == 0 and buckets.take("a", cost=2) == 4   # a costly request waits longer


def test_an_upload_counts_as_several_requests(new_app, tmp_path, as_user, demo_inspection):
    fast = new_app(tmp_path / "fast", REVIEW_LINK_BURST=UPLOAD_COST + 1, REVIEW_LINK_RATE=0.01)
    lead = as_user("lead", app=fast)
    send_to_site(lead, demo_inspection)
    link, site = issue(lead, demo_inspection), fast.test_client()
    db = connect(database_path(fast.config["DATA_DIR"]))
    to_corrections(lead, db, demo_inspection)             # evidence is attached to corrections
    db.conn.close()
    assert upload(site, link, "plan.pdf", PDF).status_code == 302
    assert site.get(link).status_code == 200          # what is left of the burst: one page
    assert upload(site, link, "plan.pdf", PDF).status_code == 429


# --- a link opens its own row and no other ------------------------------------------------

def test_a_token_never_opens_the_link_that_took_its_id_after_a_restore(app, app_on, tmp_path, as_user,
                                                                      demo_inspection):
    lead = as_user("lead")
    send_to_site(lead, demo_inspection)
    backups.backup(app.config["DATA_DIR"], tmp_path / "backup")
    jane = issue(lead, demo_inspection)                                   # issued after the backup
    backups.restore(tmp_path / "backup", tmp_path / "restored")
    restored = app_on(tmp_path / "restored")                              # the same key signs the links
    omar = issue(as_user("lead", app=restored), demo_inspection, name="Omar Other", email="omar@x.example")
    assert link_id_of(jane) == link_id_of(omar)                           # the restored database reuses the id
    site = restored.test_client()
    assert site.get(jane).status_code == 403
    assert "this link was issued to Omar Other" in site.get(omar).get_data(as_text=True)


def link_id_of(path):
    token = path.rsplit("/", 1)[1]
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==").decode())["l"]


def test_a_token_without_the_links_nonce_is_refused(app, link, site):
    """Tokens made before links had nonces (signed, genuine, but naming only
    the inspection and the link) open nothing: the lead sends the new address."""
    inspection, link_id = int(link.split("/")[2]), link_id_of(link)
    old = URLSafeSerializer(app.secret_key, salt=SALT).dumps({"i": inspection, "l": link_id})
    assert site.get(link).status_code == 200
    assert site.get(f"/review/{inspection}/{old}").status_code == 403


# --- the lifecycle ----------------------------------------------------------------------

def test_the_lead_moves_forward_and_back_with_a_reason(as_user, demo_inspection, db):
    lead = as_user("lead")
    html = lead.get(f"/inspections/{demo_inspection}/review").get_data(as_text=True)
    assert "Send draft citations to site" in html
    send_to_site(lead, demo_inspection)
    assert state_of(db, demo_inspection) == "factual_accuracy"
    lead.post(f"/inspections/{demo_inspection}/state", data={"direction": "back", "reason": ""})
    assert state_of(db, demo_inspection) == "factual_accuracy"  # no reason, no move
    lead.post(f"/inspections/{demo_inspection}/state", data={"direction": "back", "reason": "One more citation"})
    assert state_of(db, demo_inspection) == "merging"
    page = as_user("inspector1").get(f"/inspections/{demo_inspection}").get_data(as_text=True)
    assert 'aria-current="step">Merging findings' in page                    # everyone on the inspection sees it


@pytest.mark.parametrize("username", ["inspector1", "admin"])
def test_only_the_lead_moves_the_lifecycle_or_issues_links(as_user, demo_inspection, db, username):
    client = as_user(username)
    assert client.post(f"/inspections/{demo_inspection}/state", data={"direction": "forward"}).status_code == 404
    assert client.post(f"/inspections/{demo_inspection}/links", data={"issued_to": "x", "email": "x@y.z",
                                                                        "days": "3"}).status_code == 404
    assert state_of(db, demo_inspection) == "merging"
    assert db.conn.execute("SELECT count(*) FROM review_links WHERE inspection_id = ?",
                           [demo_inspection]).fetchone()[0] == 1                  # the demo's own


@pytest.mark.usefixtures("correcting")
def test_closing_freezes_findings_decisions_and_responses(as_user, demo_inspection, link, site, db):
    save(site, link, {"corrective_action-B1.5": "Renewed.", "corrective_action-B2.3": "Signed."},
         action="submit_anyway")                                                 # B7.2.10 left open
    lead = as_user("lead")
    for code in ("B1.5", "B2.3"):
        lead.post(f"/inspections/{demo_inspection}/responses/{code}/review", data={"round": "1", "outcome": "accepted"})
    html = site.get(link).get_data(as_text=True)                                # B7.2.10 still takes an answer
    assert 'name="corrective_action-B7.2.10"' in html
    assert forward(lead, demo_inspection).status_code == 302                    # Close inspection, confirmed
    assert state_of(db, demo_inspection) == "closed"
    finding = push(as_user("inspector1"), [Device().op(demo_inspection, "B2.1", "note", "late")]).json["results"][0]
    decision = push(lead, [Device().op(demo_inspection, "B2.3", "citation", "late")]).json["results"][0]
    assert [(r["status"], r["code"]) for r in (finding, decision)] == [("rejected", "inspection_state")] * 2
    page = site.get(link).get_data(as_text=True)
    assert "The inspection is closed" in page and "Submit response" not in page and "Attach to" not in page
    before = db.conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    save(site, link, {"corrective_action-B7.2.10": "too late", "target_date-B7.2.10": "2027-01-01"}, html=html,
         action="submit")
    assert db.conn.execute("SELECT count(*) FROM ops").fetchone()[0] == before


def test_a_link_cannot_write_through_the_sync_api(as_user, demo_inspection, link, site):
    op = Device().op(demo_inspection, "B1.5", "corrective_action", {"round": 1, "text": "by the API"})
    assert site.post("/sync/push", json={"ops": [op]}, headers={"X-Inspector-Sync": "1"}).status_code == 401
    result = push(as_user("lead"), [op]).json["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "not_this_inspection")


@pytest.mark.usefixtures("correcting")
def test_the_history_tells_the_sites_review_in_plain_words(as_user, demo_inspection, link, site, db):
    from inspector.domain import audit
    upload(site, link, "plan.pdf", PDF)
    save(site, link, {"corrective_action-B1.5": "Renew the agreement."}, action="submit_anyway")
    as_user("lead").post(f"/inspections/{demo_inspection}/links/1/revoke")
    told = [e.description for e in audit.history(db, demo_inspection)]
    for words in ("Lena Lead moved the inspection from Merging findings to Factual accuracy review",
                  "Lena Lead moved the inspection from Factual accuracy review to Committee review",
                  "Cora Coordinator moved the inspection from Committee review to Corrections",
                  "Lena Lead issued a review link to Jane Site (jane@northbridge.example)",
                  "Jane Site (review link) opened the review link",
                  "Jane Site (review link) uploaded the evidence document plan.pdf",
                  "Jane Site (review link) attached evidence to citation B1.5",
                  "Jane Site (review link) wrote the explanation of correction for citation B1.5",
                  "Jane Site (review link) submitted the response to citation B1.5",
                  "Lena Lead revoked the review link of Sam Site (quality manager)"):
        assert any(t.startswith(words) for t in told), words
    assert audit.verify(db).broken_at is None
