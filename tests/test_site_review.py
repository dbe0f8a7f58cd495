"""The site answers its draft citations through a signed, expiring link: a
bad link shows one plain page and nothing else; the site sees only its own
draft citations, suggestions and released photos; each field saves on its
own; evidence documents are checked by their bytes; the lead reviews each
round; and the lifecycle is enforced by the server."""
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from inspector.app import demo

from inspector.domain import review
from tests.helpers import Device, demo_photo_hashes, push

from test_merge import DEMO_NOTES

PHOTOS = Path(__file__).parent / "fixtures" / "photos"
CITED = ["B1.5", "B2.3", "B8.10"]  # the demo's draft citations, in catalog order
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def send_to_site(lead, inspection):
    assert lead.post(f"/inspections/{inspection}/state", data={"direction": "forward"}).status_code == 302


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
    """Another inspection, led by the same lead, with its citations with its site."""
    from inspector.domain import inspections, team, users

    def make():
        admin, lead = users.by_username(db, "admin")["id"], users.by_username(db, "lead")["id"]
        other = inspections.create(db, "Southfield Children's Hospital", 1, "2026-06-01", "2026-06-02", admin)
        team.add_member(db, other, lead, "lead")
        inspections.set_state(db, other, "with_site")
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


def test_a_link_before_the_citations_are_sent_does_not_open(as_user, demo_inspection, site):
    link = issue(as_user("lead"), demo_inspection)  # still merging
    assert site.get(link).status_code == 403


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
                    "B1.3", "D11.4", "Ivo Processing</strong>"):
        assert private not in html
    assert "Lena Lead (team leader)" in html and "Iris Clinical" in html        # the team list, nothing more


def test_the_site_reads_a_released_photo_and_never_an_unreleased_one(db, link, site):
    released = db.conn.execute("SELECT sha256 FROM photo_releases WHERE released = 1").fetchone()[0]
    private = (demo_photo_hashes() - {r[0] for r in db.conn.execute("SELECT sha256 FROM photo_releases")}).pop()
    assert site.get(f"{link}/photos/{released}?size=thumb").status_code == 200
    assert site.get(f"{link}/photos/{private}").status_code == 404


# --- saving, submitting, reviewing ------------------------------------------------------

def test_two_people_on_two_links_never_overwrite_each_others_fields(as_user, demo_inspection, link, site, app, db):
    other = issue(as_user("lead"), demo_inspection, name="Omar Quality", email="omar@northbridge.example")
    omar = app.test_client()
    jane_page, omar_page = site.get(link).get_data(as_text=True), omar.get(other).get_data(as_text=True)
    save(site, link, {"corrective_action-B2.3": "Sign an ICU transfer agreement by June."}, html=jane_page)
    save(omar, other, {"factual_comment-B2.3": "The email was from the ICU director."}, html=omar_page)
    row = db.conn.execute("SELECT corrective_action, factual_comment FROM responses WHERE standard_code = 'B2.3'")
    assert tuple(row.fetchone()) == ("Sign an ICU transfer agreement by June.", "The email was from the ICU director.")
    actors = {r[0] for r in db.conn.execute("SELECT link_id FROM ops WHERE field IN ('corrective_action', "
                                            "'factual_comment')")}
    assert len(actors) == 2 and None not in actors                             # each saved by its own link


def test_the_same_form_sent_twice_saves_once(link, site, db):
    html = site.get(link).get_data(as_text=True)
    for _ in range(2):
        save(site, link, {"corrective_action-B1.5": "Renew the agreement."}, html=html)
    assert db.conn.execute("SELECT count(*) FROM ops WHERE field = 'corrective_action'").fetchone()[0] == 1


def test_submit_then_more_information_then_accepted_keeps_every_round(as_user, demo_inspection, link, site, db):
    for code in CITED:
        save(site, link, {f"corrective_action-{code}": f"Plan for {code}", f"target_date-{code}": "2027-03-31"})
    save(site, link, {}, action="submit")
    lead = as_user("lead")
    assert db.conn.execute("SELECT state FROM inspections").fetchone()[0] == "site_responded"
    page = lead.get(f"/inspections/{demo_inspection}/review").get_data(as_text=True)
    assert "Plan for B2.3" in page and "2027-03-31" in page                      # beside its citation
    # Submitted: the site can no longer change that round.
    save(site, link, {"corrective_action-B2.3": "changed after submitting"})
    assert "changed after submitting" not in lead.get(f"/inspections/{demo_inspection}/review").get_data(as_text=True)

    lead.post(f"/inspections/{demo_inspection}/responses/B2.3/review",
              data={"round": "1", "outcome": "more_info", "comment": "Please send the signed agreement."})
    assert db.conn.execute("SELECT state FROM inspections").fetchone()[0] == "with_site"
    html = site.get(link).get_data(as_text=True)
    assert "More information needed" in html and "Please send the signed agreement." in html
    assert 'name="round-B2.3" value="2"' in html                                 # a second round opens
    save(site, link, {"corrective_action-B2.3": "Agreement signed on 2 March, attached."}, action="submit")
    assert db.conn.execute("SELECT state FROM inspections").fetchone()[0] == "site_responded"
    lead.post(f"/inspections/{demo_inspection}/responses/B2.3/review", data={"round": "2", "outcome": "accepted"})
    rounds = review.rounds(db, demo_inspection)["B2.3"]
    assert [(r["round"], r["response"]["corrective_action"], r["review"]["outcome"]) for r in rounds] == [
        (1, "Plan for B2.3", "more_info"), (2, "Agreement signed on 2 March, attached.", "accepted")]


# --- evidence documents -----------------------------------------------------------------

def upload(site, link, name, data, code="B1.5"):
    return site.post(f"{link}/documents", data={"citation": code, "round": "1", "document": (io.BytesIO(data), name)},
                     content_type="multipart/form-data")


def gps_jpeg():
    return (PHOTOS / "gps_upright.jpg").read_bytes()


def test_a_pdf_is_kept_and_served_only_as_a_download(link, site, db, as_user, demo_inspection):
    assert upload(site, link, "plan.pdf", PDF).status_code == 302
    sha = db.conn.execute("SELECT sha256 FROM documents").fetchone()[0]
    response = site.get(f"{link}/documents/{sha}")
    assert response.status_code == 200 and response.data == PDF and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'attachment; filename="plan.pdf"'
    assert as_user("lead").get(f"/inspections/{demo_inspection}/documents/{sha}").status_code == 200
    assert as_user("inspector1").get(f"/inspections/{demo_inspection}/documents/{sha}").status_code == 404


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
    assert db.conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 0
    assert db.conn.execute("SELECT count(*) FROM ops WHERE field = 'evidence'").fetchone()[0] == 0


def test_an_evidence_image_loses_its_gps_and_camera_data(link, site, db, app):
    raw = gps_jpeg()
    assert b"GPS" in raw or Image.open(io.BytesIO(raw)).getexif()
    assert upload(site, link, "ward.jpg", raw).status_code == 302
    sha, kind = db.conn.execute("SELECT sha256, kind FROM documents").fetchone()
    kept = site.get(f"{link}/documents/{sha}").data
    assert kind == "jpeg" and kept != raw
    assert not Image.open(io.BytesIO(kept)).getexif()


# --- the lifecycle ----------------------------------------------------------------------

def test_the_lead_moves_forward_and_back_with_a_reason(as_user, demo_inspection, db):
    lead = as_user("lead")
    html = lead.get(f"/inspections/{demo_inspection}/review").get_data(as_text=True)
    assert "Send draft citations to site" in html
    send_to_site(lead, demo_inspection)
    assert db.conn.execute("SELECT state FROM inspections").fetchone()[0] == "with_site"
    lead.post(f"/inspections/{demo_inspection}/state", data={"direction": "back", "reason": ""})
    assert db.conn.execute("SELECT state FROM inspections").fetchone()[0] == "with_site"  # no reason, no move
    lead.post(f"/inspections/{demo_inspection}/state", data={"direction": "back", "reason": "One more citation"})
    assert db.conn.execute("SELECT state FROM inspections").fetchone()[0] == "merging"
    page = as_user("inspector1").get(f"/inspections/{demo_inspection}").get_data(as_text=True)
    assert 'aria-current="step">Merging findings' in page                    # everyone on the inspection sees it


@pytest.mark.parametrize("username", ["inspector1", "admin"])
def test_only_the_lead_moves_the_lifecycle_or_issues_links(as_user, demo_inspection, db, username):
    client = as_user(username)
    assert client.post(f"/inspections/{demo_inspection}/state", data={"direction": "forward"}).status_code == 404
    assert client.post(f"/inspections/{demo_inspection}/links", data={"issued_to": "x", "email": "x@y.z",
                                                                        "days": "3"}).status_code == 404
    assert db.conn.execute("SELECT state FROM inspections").fetchone()[0] == "merging"
    assert db.conn.execute("SELECT count(*) FROM review_links").fetchone()[0] == 1  # the demo's own


def test_final_freezes_findings_decisions_and_responses(as_user, demo_inspection, link, site, db):
    save(site, link, {"corrective_action-B1.5": "Renew."}, action="submit")
    for code in CITED[1:]:
        save(site, link, {f"corrective_action-{code}": "Plan."}, action="submit")
    lead = as_user("lead")
    lead.post(f"/inspections/{demo_inspection}/state", data={"direction": "forward"})  # Finalize report
    assert db.conn.execute("SELECT state FROM inspections").fetchone()[0] == "final"
    finding = push(as_user("inspector1"), [Device().op(demo_inspection, "B2.1", "note", "late")]).json["results"][0]
    decision = push(lead, [Device().op(demo_inspection, "B2.3", "citation", "late")]).json["results"][0]
    assert [(r["status"], r["code"]) for r in (finding, decision)] == [("rejected", "inspection_state")] * 2
    html = site.get(link).get_data(as_text=True)
    assert "The report is final" in html and "Submit response" not in html
    before = db.conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    save(site, link, {"factual_comment-B1.5": "too late"}, html=html)
    assert db.conn.execute("SELECT count(*) FROM ops").fetchone()[0] == before


def test_a_link_cannot_write_through_the_sync_api(as_user, demo_inspection, link, site):
    op = Device().op(demo_inspection, "B1.5", "corrective_action", {"round": 1, "text": "by the API"})
    assert site.post("/sync/push", json={"ops": [op]}, headers={"X-Inspector-Sync": "1"}).status_code == 401
    result = push(as_user("lead"), [op]).json["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "not_this_inspection")


def test_the_history_tells_the_sites_review_in_plain_words(as_user, demo_inspection, link, site, db):
    from inspector.domain import audit
    upload(site, link, "plan.pdf", PDF)
    save(site, link, {"corrective_action-B1.5": "Renew the agreement."}, action="submit")
    as_user("lead").post(f"/inspections/{demo_inspection}/links/1/revoke")
    told = [e.description for e in audit.history(db, demo_inspection)]
    for words in ("Lena Lead moved the inspection from Merging findings to With the site",
                  "Lena Lead issued a review link to Jane Site (jane@northbridge.example)",
                  "Jane Site (review link) opened the review link",
                  "Jane Site (review link) uploaded the evidence document plan.pdf",
                  "Jane Site (review link) attached evidence to citation B1.5",
                  "Jane Site (review link) wrote the corrective action plan for citation B1.5",
                  "Jane Site (review link) submitted the response to citation B1.5",
                  "Lena Lead revoked the review link of Sam Site (quality manager)"):
        assert any(t.startswith(words) for t in told), words
    assert audit.verify(db).broken_at is None
