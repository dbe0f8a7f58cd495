"""Before the visit, the program's journey through its self-assessment link:
the lead issues (and revokes) the link, audited; the program, with no
account, self-assesses the checklist section by section (two people on two
links never overwrite each other), uploads its documents once and links
them to standards (the crosswalk), answers the inspectors' requests for
information, and submits, after which the self-assessment is read only.
Bad links, bad files and writes the rules refuse are each answered."""
import html
import io
import re
import uuid

import pytest
from PIL import Image

from sync import forms
from inspector.domain import audit, documents, inspections, preparation, review, team, users
from inspector.domain.catalog import SCALES
from tests.helpers import Device, push, small_pdf

PDF = small_pdf("Quality manual")


# --- the world: an inspection in Preparing, its lead, and a link for the program ----------

@pytest.fixture
def preparing(db, demo_inspection):
    """A new inspection on the demo's checklist, in Preparing, led by the
    demo's lead with inspector1 on the team."""
    uid = {u: users.by_username(db, u)["id"] for u in ("admin", "lead", "inspector1")}
    catalog_id = inspections.plain(db, demo_inspection)["catalog_id"]
    ins = inspections.create(db, "Eastgate Cell Therapy Program", catalog_id, "2026-12-14", "2026-12-16",
                             uid["admin"], state="preparing")
    team.add_member(db, ins, uid["lead"], "lead")
    team.add_member(db, ins, uid["inspector1"], "inspector")
    return ins


@pytest.fixture
def lead(as_user):
    return as_user("lead")


def issue(lead, inspection, name="Pat Program", email="pat@eastgate.example", days="30"):
    """The lead issues a self-assessment link; its path, as the page shows it to copy."""
    response = lead.post(f"/inspections/{inspection}/links", data={
        "purpose": "self_assessment", "issued_to": name, "email": email, "days": days})
    assert response.status_code == 302 and "/preparation#link-" in response.location
    page = lead.get(f"/inspections/{inspection}/preparation").get_data(as_text=True)
    return re.search(r'id="link-\d+" value="http://localhost([^"]+)"', page).group(1)  # the newest comes first


@pytest.fixture
def link(lead, preparing):
    return issue(lead, preparing)


@pytest.fixture
def program(app):
    return app.test_client()  # no account, no session


def sections(db, inspection):
    return preparation.progress(db, inspections.plain(db, inspection))


def form_of(page):
    """The page's main form as a browser would send it: every field as shown."""
    data = {}

    def add(name, value):
        data.setdefault(html.unescape(name), []).append(html.unescape(value))
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page):
        add(name, value)
    for name, value in re.findall(r'<input type="(?:radio|checkbox)" name="([^"]+)" value="([^"]*)" checked', page):
        add(name, value)
    for name, value in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', page):
        data[html.unescape(name)] = [html.unescape(value)]
    return data


def save(client, path, page, changes, then=None):
    """Save draft on a section's page as shown in ``page``, with ``changes``."""
    data = form_of(page)
    data.update({k: [v] for k, v in changes.items()})
    data["then"] = [then or data["section"][0]]
    return client.post(path, data=data)


def section_path(link, code):
    return f"{link}/sections/{code}"


def assessment(db, inspection):
    return {code: (row["verdict"], row["how"]) for code, row in preparation.self_assessment(db, inspection).items()}


def first_standards(db, inspection, section_index=0, n=2):
    ins = inspections.plain(db, inspection)
    code = sections(db, inspection)[section_index]["code"]
    return code, [s["code"] for s in preparation.section_standards(db, ins, code)[:n]]


# --- the lead issues and revokes links ------------------------------------------------------

def test_the_lead_issues_a_self_assessment_link_and_revokes_it_both_audited(db, lead, preparing, program, as_user):
    page = lead.get(f"/inspections/{preparing}").get_data(as_text=True)
    assert f'href="/inspections/{preparing}/preparation"' in page  # reachable from the inspection page
    path = issue(lead, preparing)
    assert path.startswith(f"/prepare/{preparing}/")
    row = db.conn.execute("SELECT * FROM review_links WHERE inspection_id = ?", [preparing]).fetchone()
    assert row["purpose"] == "self_assessment"
    assert program.get(path).status_code == 200
    # The site's review page of the same inspection lists no self-assessment link, and the other way round.
    assert "/prepare/" not in lead.get(f"/inspections/{preparing}/review").get_data(as_text=True)

    assert lead.post(f"/inspections/{preparing}/links/{row['id']}/revoke").location.endswith(
        f"/inspections/{preparing}/preparation#links")
    assert program.get(path).status_code == 403
    trail = [(e.action, e.description) for e in audit.history(db, preparing)]
    assert any(a == "link.issued" and "issued a self-assessment link to Pat Program (pat@eastgate.example)" in t
               for a, t in trail)
    assert any(a == "link.revoked" and "revoked the self-assessment link of Pat Program" in t for a, t in trail)
    assert any(a == "link.opened" and "(self-assessment link) opened the self-assessment link" in t
               for a, t in trail)
    # Only the lead: an inspector of the team does not see the page.
    assert as_user("inspector1").get(f"/inspections/{preparing}/preparation").status_code == 404


def test_no_self_assessment_link_is_issued_once_the_visit_is_over(db, lead, preparing):
    inspections.set_state(db, preparing, "merging")
    response = lead.post(f"/inspections/{preparing}/links", data={
        "purpose": "self_assessment", "issued_to": "Pat", "email": "pat@x.example", "days": "3"})
    assert response.status_code == 409
    assert not db.conn.execute("SELECT 1 FROM review_links WHERE inspection_id = ?", [preparing]).fetchone()
    assert "Issue self-assessment link" not in lead.get(f"/inspections/{preparing}/preparation").get_data(
        as_text=True)


# --- bad links ------------------------------------------------------------------------------

@pytest.fixture
def site_link(db, demo_inspection, as_user):
    """A site review link of the demo inspection, sent its draft citations."""
    from tests.helpers import forward
    lead = as_user("lead")
    assert forward(lead, demo_inspection).status_code == 302
    lead.post(f"/inspections/{demo_inspection}/links", data={"issued_to": "Sam", "email": "s@x.example",
                                                            "days": "7"})
    page = lead.get(f"/inspections/{demo_inspection}/review").get_data(as_text=True)
    return re.search(r'id="link-\d+" value="http://localhost([^"]+)"', page).group(1)


def _link_id(path):
    import base64
    import json
    token = path.rsplit("/", 1)[1]
    return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["l"]


@pytest.mark.parametrize("case", ["forged", "expired", "revoked", "another inspection",
                                  "a site review link on the self-assessment pages",
                                  "a self-assessment link on the site review pages"])
def test_a_bad_link_gets_the_one_bad_link_page(case, db, link, site_link, demo_inspection, preparing, program):
    token, site_token = link.rsplit("/", 1)[1], site_link.rsplit("/", 1)[1]
    if case == "forged":
        path = link[:-3] + ("abc" if not link.endswith("abc") else "xyz")
    elif case == "expired":
        db.conn.execute("UPDATE review_links SET expires_at = '2020-01-01T00:00:00Z' WHERE id = ?", [_link_id(link)])
        path = link
    elif case == "revoked":
        review.revoke_link(db, _link_id(link))
        path = link
    elif case == "another inspection":
        path = f"/prepare/{demo_inspection}/{token}"
    elif case == "a site review link on the self-assessment pages":
        path = f"/prepare/{demo_inspection}/{site_token}"
    else:
        path = f"/review/{preparing}/{token}"
    for url in (path, f"{path}/documents") if path.startswith("/prepare/") else (path,):
        response = program.get(url)
        assert response.status_code == 403, url
        assert "cannot be used" in response.get_data(as_text=True)
    if path.startswith("/prepare/"):
        code, (std, _) = first_standards(db, preparing)
        response = program.post(f"{path}/sections/{code}", data={"standard": std, f"self_verdict-{std}": "compliant"})
        assert response.status_code == 403
        assert not preparation.self_assessment(db, preparing)
    # The genuine ones still open their own pages.
    assert program.get(site_link).status_code == 200
    assert program.get(link).status_code == (403 if case in ("expired", "revoked") else 200)


# --- self-assessing, section by section -----------------------------------------------------

def test_the_program_self_assesses_a_standard_and_progress_counts_it(db, app, link, preparing, program, lead):
    overview = program.get(link).get_data(as_text=True)
    all_sections = sections(db, preparing)
    total = sum(s["total"] for s in all_sections)
    assert f"0 of {total} standards self-assessed" in overview
    code, (std, _) = first_standards(db, preparing)
    page = program.get(section_path(link, code)).get_data(as_text=True)
    # The body's scale labels the radio buttons; every control has its label.
    for label in SCALES[inspections.plain(db, preparing)["scale"]].values():
        assert f"<span>{label}</span>" in page
    assert f'<label for="self_how-{std}">How we comply with {std}</label>' in page
    assert f'<legend>Self-assessed verdict for {std}</legend>' in page
    response = save(program, section_path(link, code), page,
                    {f"self_verdict-{std}": "compliant", f"self_how-{std}": "SOP-12 covers it, signed 2026."})
    assert response.status_code == 302
    assert assessment(db, preparing)[std] == ("compliant", "SOP-12 covers it, signed 2026.")
    assert f"1 of {total} standards self-assessed" in program.get(link).get_data(as_text=True)
    assert f"1 of {all_sections[0]['total']}" in lead.get(f"/inspections/{preparing}/preparation").get_data(
        as_text=True)
    # The ops are the link's, in the log.
    logged = db.conn.execute("SELECT field, link_id, user_id FROM ops WHERE inspection_id = ? ORDER BY seq",
                             [preparing]).fetchall()
    assert [(r["field"], r["user_id"]) for r in logged] == [("self_verdict", None), ("self_how", None)]
    assert all(r["link_id"] == _link_id(link) for r in logged)


def test_save_and_go_to_the_next_section(db, link, preparing, program):
    code, (std, _) = first_standards(db, preparing)
    following = sections(db, preparing)[1]["code"]
    page = program.get(section_path(link, code)).get_data(as_text=True)
    assert f"Save and go to {following}" in page and 'rel="next"' in page
    response = save(program, section_path(link, code), page, {f"self_how-{std}": "Yes."}, then=following)
    assert response.location.endswith(section_path(link, following))


def test_two_links_two_sections_interleaved_saves_both_kept(db, lead, link, preparing, program, app):
    other_link = issue(lead, preparing, "Kim Quality", "kim@eastgate.example")
    other = app.test_client()
    first, (a1, a2) = first_standards(db, preparing, 0)
    second, (b1, _) = first_standards(db, preparing, 1)
    # Both open their pages before either saves; then they save in turn, twice.
    page_a = program.get(section_path(link, first)).get_data(as_text=True)
    page_b = other.get(section_path(other_link, second)).get_data(as_text=True)
    page_a2 = other.get(section_path(other_link, first)).get_data(as_text=True)  # Kim also has section one open
    save(program, section_path(link, first), page_a, {f"self_verdict-{a1}": "compliant", f"self_how-{a1}": "Pat's"})
    save(other, section_path(other_link, second), page_b, {f"self_verdict-{b1}": "not_compliant",
                                                           f"self_how-{b1}": "Kim's"})
    # Kim's stale page of section one: only the standard Kim changed is sent, Pat's answer stays.
    save(other, section_path(other_link, first), page_a2, {f"self_how-{a2}": "Kim's too"})
    page_a = program.get(section_path(link, first)).get_data(as_text=True)
    save(program, section_path(link, first), page_a, {f"self_how-{a1}": "Pat's, revised"})
    assert assessment(db, preparing) == {a1: ("compliant", "Pat's, revised"), a2: (None, "Kim's too"),
                                         b1: ("not_compliant", "Kim's")}


def test_submitting_makes_the_self_assessment_read_only(db, link, preparing, program, lead):
    code, (std, _) = first_standards(db, preparing)
    page = program.get(section_path(link, code)).get_data(as_text=True)
    save(program, section_path(link, code), page, {f"self_verdict-{std}": "compliant"})
    assert "Submit self-assessment" in program.get(link).get_data(as_text=True)
    assert program.post(f"{link}/submit").status_code == 302
    ins = inspections.plain(db, preparing)
    assert ins["self_assessment_submitted_at"]
    assert any(e.action == "self_assessment.submitted" for e in audit.history(db, preparing))
    assert "Submitted" in lead.get(f"/inspections/{preparing}/preparation").get_data(as_text=True)
    overview = program.get(link).get_data(as_text=True)
    assert "The self-assessment is read only." in overview and "Submit self-assessment" not in overview
    page = program.get(section_path(link, code)).get_data(as_text=True)
    assert 'class="verdicts" disabled' in page and "readonly" in page
    # A page shown before the submission, sent after it: refused, nothing changes.
    response = save(program, section_path(link, code), page.replace(" disabled", ""),
                    {f"self_verdict-{std}": "not_compliant", f"self_how-{std}": "late"})
    assert "can no longer change" in program.get(response.location).get_data(as_text=True)
    assert assessment(db, preparing)[std] == ("compliant", "")
    # Submitted once: a second submission is refused, the first date kept.
    response = program.post(f"{link}/submit")
    assert response.status_code == 303
    assert inspections.plain(db, preparing)["self_assessment_submitted_at"] == ins["self_assessment_submitted_at"]


# --- documents and the crosswalk --------------------------------------------------------------

def upload(client, link, content=PDF, name="manual.pdf", **fields):
    data = {"attach": "new", "title-new": "Quality manual", "version-new": "3.1", "standards": "", **fields,
            "document-new": (io.BytesIO(content), name)}
    return client.post(f"{link}/upload", data=data, content_type="multipart/form-data")


def test_a_document_is_uploaded_once_and_linked_to_standards(db, link, preparing, program):
    code, (s1, s2) = first_standards(db, preparing)
    _, (s3, _) = first_standards(db, preparing, 1)
    response = upload(program, link, standards=f"{s1.lower()}, {s2}")  # codes typed as the jump box takes them
    assert response.status_code == 302
    [doc] = preparation.documents(db, preparing)
    assert (doc["title"], doc["version"], doc["standards"]) == ("Quality manual", "3.1", [s1, s2])
    page = program.get(f"{link}/documents").get_data(as_text=True)
    assert "Quality manual" in page and "version 3.1" in page and f'value="{s1}" checked' in page
    # Each standard's form shows the document linked to it.
    section = program.get(section_path(link, code)).get_data(as_text=True)
    assert f'name="linked-{s1}" value="{doc["sha256"]}" checked' in section
    # The document's list of standards: one unticked, another typed.
    response = program.post(f"{link}/documents/{doc['sha256']}/standards",
                            data={"was-standard": [s1, s2], "standard": [s2], "add": s3})
    assert response.status_code == 302
    assert preparation.documents(db, preparing)[0]["standards"] == [s2, s3]
    # Linked from a standard's own form (the select of documents uploaded), unlinked there too.
    section = program.get(section_path(link, code)).get_data(as_text=True)
    data = form_of(section)
    data[f"add-{s1}"] = [doc["sha256"]]
    data[f"linked-{s2}"] = []
    data["then"] = [code]
    program.post(section_path(link, code), data=data)
    assert preparation.documents(db, preparing)[0]["standards"] == [s1, s3]
    download = program.get(f"{link}/documents/{doc['sha256']}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.headers["Content-Disposition"].startswith("attachment")


def test_codes_typed_that_are_not_standards_are_shown_next_to_the_control(db, link, preparing, program):
    upload(program, link)
    [doc] = preparation.documents(db, preparing)
    response = program.post(f"{link}/documents/{doc['sha256']}/standards", data={"add": "B1.1, Z9.99"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    key = doc["sha256"][:12]
    assert re.search(rf'id="add-{key}" name="add" value="B1.1, Z9.99"[^>]*aria-describedby="add-error-{key}"', page)
    assert re.search(rf'id="add-error-{key}" role="alert">Not standards of this checklist: Z9.99', page)
    assert preparation.documents(db, preparing)[0]["standards"] == []  # nothing half done


def test_a_document_uploaded_from_a_standards_form_keeps_what_was_typed(db, link, preparing, program):
    code, (std, other) = first_standards(db, preparing)
    data = form_of(program.get(section_path(link, code)).get_data(as_text=True))
    data.update({f"self_how-{other}": ["Typed before the upload"], "attach": [std], f"title-{std}": ["Training SOP"],
                 f"version-{std}": ["2"], f"document-{std}": [(io.BytesIO(PDF), "sop.pdf")]})
    response = program.post(f"{link}/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 302 and response.location.endswith(f"#std-{std}")
    assert assessment(db, preparing)[other] == (None, "Typed before the upload")
    [doc] = preparation.documents(db, preparing)
    assert (doc["title"], doc["version"], doc["standards"]) == ("Training SOP", "2", [std])


def bomb_png():
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, "PNG")  # 64 megapixels in a few kilobytes
    return out.getvalue()


@pytest.mark.parametrize("case, content, name, status, says", [
    ("a text file named .pdf", b"These are our minutes, honestly a PDF.\n" * 10, "minutes.pdf", 415,
     "Only PDF, JPEG and PNG files are accepted"),
    ("oversize", b"%PDF-1.7\n" + b"0" * documents.MAX_BYTES, "huge.pdf", 413, "larger than 10 MB"),
    ("a decompression-bomb PNG", None, "plan.png", 413, "more than the 40 megapixel limit"),
    ("over quota", PDF, "second.pdf", 403, "limit of 1 documents"),
])
def test_a_bad_upload_is_answered_next_to_its_control_and_nothing_typed_is_lost(
        case, content, name, status, says, db, app, link, preparing, program):
    code, (std, other) = first_standards(db, preparing)
    if case == "over quota":
        app.config["REVIEW_LINK_MAX_DOCUMENTS"] = 1
        assert upload(program, link, small_pdf("First")).status_code == 302
    before = len(preparation.documents(db, preparing))
    data = form_of(program.get(section_path(link, code)).get_data(as_text=True))
    data.update({f"self_how-{other}": ["Typed before the upload"], "attach": [std], f"title-{std}": ["Floor plan"],
                 f"version-{std}": ["7"], f"document-{std}": [(io.BytesIO(content or bomb_png()), name)]})
    response = program.post(f"{link}/upload", data=data, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[:300]
    error = re.search(rf'<p class="error" id="document-error-{re.escape(std)}" role="alert">(.*?)</p>', page, re.S)
    assert error and says in error.group(1), case
    assert f'aria-describedby="document-error-{std}" aria-invalid="true"' in page
    # What was typed is kept: the title and version on the page, the text saved as a draft.
    assert f'id="title-{std}" name="title-{std}" maxlength="200" value="Floor plan"' in page
    assert 'value="7"' in page
    assert "Typed before the upload" in page
    assert assessment(db, preparing)[other] == (None, "Typed before the upload")
    assert len(preparation.documents(db, preparing)) == before


# --- requests for information -----------------------------------------------------------------

def raise_request(as_user, inspection, code, text="The training records of the night-shift nurses"):
    request_id = str(uuid.uuid4())
    result = push(as_user("inspector1"), [Device().op(inspection, code, "rfi", {"id": request_id, "text": text})])
    assert result.json["results"][0]["status"] == "applied", result.json
    return request_id


def test_the_program_answers_a_request_for_information_with_text_and_a_document(
        db, as_user, link, preparing, program):
    code, (std, _) = first_standards(db, preparing)
    request_id = raise_request(as_user, preparing, std)
    overview = program.get(link).get_data(as_text=True)
    assert "night-shift nurses" in overview and "(open)" in overview
    page = program.get(section_path(link, code)).get_data(as_text=True)
    assert f'<label for="rfi_answer-{request_id}">Your answer</label>' in page
    save(program, section_path(link, code), page, {f"rfi_answer-{request_id}": "Attached: the 2026 records."})
    data = form_of(program.get(section_path(link, code)).get_data(as_text=True))
    slot = f"rfi-{request_id}"
    data.update({"attach": [slot], f"title-{slot}": ["Night-shift training"],
                 f"document-{slot}": [(io.BytesIO(PDF), "training.pdf")]})
    response = program.post(f"{link}/upload", data=data, content_type="multipart/form-data")
    assert response.location.endswith(f"#rfi-{request_id}")
    [asked] = preparation.requests(db, preparing)
    assert asked["answer"] == "Attached: the 2026 records." and asked["answered"]
    assert [d["filename"] for d in asked["documents"]] == ["training.pdf"]
    assert not preparation.open_requests(db, preparing)
    page = program.get(section_path(link, code)).get_data(as_text=True)
    assert "Answered</span>" in page and "training.pdf" in page
    assert "(answered)" in program.get(link).get_data(as_text=True)


# --- the rules the program's writes are checked by ---------------------------------------------

def _write(db, inspection, path, code, field, value):
    link = review.link(db, _link_id(path))
    _, refused = forms.write(db, [{"inspection_id": inspection, "standard": code, "field": field, "value": value,
                                   "op_id": str(uuid.uuid4())}], link=link)
    return refused[0]["code"] if refused else "applied"


def test_a_crosswalk_names_a_document_of_this_inspection_and_an_answer_a_request_of_it(
        db, as_user, app, lead, link, preparing, demo_inspection, program):
    code, (std, _) = first_standards(db, preparing)
    # A document stored on the server, but for another inspection (the site's evidence, say).
    with app.app_context():
        foreign = documents.store(db, app.config["DATA_DIR"], "pdf", small_pdf("Elsewhere"), "x.pdf")["sha256"]
    assert _write(db, preparing, link, std, "crosswalk", {"sha256": foreign, "linked": True}) == "unknown_document"
    unknown = str(uuid.uuid4())
    assert _write(db, preparing, link, std, "rfi_answer", {"id": unknown, "text": "Here"}) == "unknown_request"
    # A request of another inspection is no request of this one; nor is one on another standard.
    elsewhere = raise_request(as_user, preparing, std)
    other_std = first_standards(db, preparing, 1)[1][0]
    assert _write(db, preparing, link, other_std, "rfi_answer", {"id": elsewhere, "text": "x"}) == "unknown_request"
    assert _write(db, preparing, link, std, "rfi_document",
                  {"id": elsewhere, "sha256": foreign, "attached": True}) == "unknown_document"
    assert _write(db, preparing, link, std, "rfi_answer", {"id": elsewhere, "text": "Here"}) == "applied"
    assert not db.conn.execute("SELECT 1 FROM crosswalk WHERE inspection_id = ?", [preparing]).fetchone()


def test_what_the_link_writes_follows_the_inspections_state(db, as_user, link, preparing, program):
    code, (std, _) = first_standards(db, preparing)
    request_id = raise_request(as_user, preparing, std)
    upload(program, link)
    sha = preparation.documents(db, preparing)[0]["sha256"]
    # Preparing: everything.
    assert _write(db, preparing, link, std, "self_verdict", "compliant") == "applied"
    # On site: no more self-assessment; answers, documents and links to standards still.
    inspections.set_state(db, preparing, "on_site")
    assert _write(db, preparing, link, std, "self_how", "late") == "inspection_state"
    assert _write(db, preparing, link, std, "rfi_answer", {"id": request_id, "text": "On site"}) == "applied"
    assert _write(db, preparing, link, std, "crosswalk", {"sha256": sha, "linked": True}) == "applied"
    page = program.get(section_path(link, code)).get_data(as_text=True)
    assert "The self-assessment is read only." in page and f'name="rfi_answer-{request_id}"' in page
    assert upload(program, link, small_pdf("On site")).status_code == 302
    # After the visit: nothing, and the link's pages are closed.
    inspections.set_state(db, preparing, "merging")
    assert _write(db, preparing, link, std, "rfi_answer", {"id": request_id, "text": "After"}) == "inspection_state"
    assert program.get(link).status_code == 403
    assert upload(program, link, small_pdf("After")).status_code == 403
    assert [r["answer"] for r in preparation.requests(db, preparing)] == ["On site"]
