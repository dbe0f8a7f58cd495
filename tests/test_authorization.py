"""Who may open what: every route of the app, for every kind of actor, by
every method it answers, against one table. A route without a row fails
this test, so no new page ships without its rule being written down.

Actors: anonymous; the site by this inspection's review link; the site by
another inspection's link; the program by the self-assessment link of an
inspection in preparation; an inspector on the inspection; an inspector not
on it; its team leader; the leader of another inspection; an admin; the
accrediting body's coordinator (who records the committee's decision)."""
import io
import zipfile

import pytest
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from inspector.app.views.calendar import feed_url
from inspector.domain import documents, inspections, password_links, preparation, review, team, users
from inspector.domain.db import folder_of
from tests.helpers import Device, committee_decides, coordinator_id, log_in_test_client, push, small_pdf
from inspector.app.views.review import link_path

ACTORS = ("anonymous", "site", "other_site", "program", "inspector", "outsider", "lead", "other_lead", "admin", "coordinator")
EVERYONE = set(ACTORS)
USERS = {"inspector", "outsider", "lead", "other_lead", "admin", "coordinator"}
TEAM = {"inspector", "lead"}
TEAM_OR_ADMIN = TEAM | {"admin"}
LEAD = {"lead"}
LEAD_OR_ADMIN = {"lead", "admin"}
SETS_UP = {"lead", "other_lead", "admin"}
# The accrediting body's office (an admin may act as one): the committee's
# decision, and the report once the inspection has reached the committee.
COMMITTEE = {"coordinator", "admin"}
REPORT_READERS = LEAD_OR_ADMIN | {"coordinator"}

# (endpoint, method) -> the actors allowed in. Anyone else must be refused.
RULES = {
    ("auth.login", "GET"): EVERYONE, ("auth.login", "POST"): EVERYONE, ("auth.logout", "POST"): EVERYONE,
    ("static", "GET"): EVERYONE, ("sync.static", "GET"): EVERYONE,
    ("shell.service_worker", "GET"): EVERYONE, ("shell.web_manifest", "GET"): EVERYONE,
    ("inspections.home", "GET"): USERS,
    # Archiving a closed inspection (the world's is in its corrections: the
    # lead and admin are let in and told it is not closed; nothing changes).
    ("inspections.archive", "POST"): LEAD_OR_ADMIN,
    ("shell.sent", "GET"): USERS,  # a frame each device fills from its own store
    ("emails.emails", "GET"): {"admin"},
    # The checklist editions, and importing one (a preview, then the import): the admins.
    ("checklists.listing", "GET"): {"admin"}, ("checklists.upload", "GET"): {"admin"},
    ("checklists.upload", "POST"): {"admin"}, ("checklists.confirm", "POST"): {"admin"},
    # Users: only admins manage them; every user has their own account page.
    ("users.listing", "GET"): {"admin"}, ("users.new_user", "GET"): {"admin"}, ("users.new_user", "POST"): {"admin"},
    ("users.disable", "POST"): {"admin"}, ("users.enable", "POST"): {"admin"}, ("users.send_reset", "POST"): {"admin"},
    ("account.account", "GET"): USERS, ("account.change_password", "POST"): USERS,
    # Anyone may ask for a reset link, and whoever holds a set-password or reset link may open it.
    ("account.forgot_password", "GET"): EVERYONE, ("account.forgot_password", "POST"): EVERYONE,
    ("account.choose_password", "GET"): EVERYONE, ("account.choose_password", "POST"): EVERYONE,
    # One's own deadlines: the feed by its signed address (each user here holds
    # their own; anyone else a forged one), issued or stopped by its user.
    ("calendar.feed", "GET"): USERS, ("calendar.manage", "POST"): USERS,
    # Admins read every inspection (never on a team, so push refuses their ops below).
    ("inspections.inspection", "GET"): TEAM_OR_ADMIN, ("inspections.section", "GET"): TEAM_OR_ADMIN,
    ("inspections.standard", "GET"): TEAM_OR_ADMIN, ("inspections.jump", "GET"): TEAM_OR_ADMIN,
    ("shell.offline_manifest", "GET"): TEAM, ("shell.offline_bundle", "GET"): TEAM,
    # The jump box's word search: catalog text only, and only of an inspection one may read.
    ("inspections.find", "GET"): TEAM_OR_ADMIN, ("shell.search_index", "GET"): TEAM_OR_ADMIN,
    ("photos.photo", "GET"): TEAM,  # an inspector's own evidence photo: its inspector and the team leader
    ("team.new_inspection", "GET"): SETS_UP, ("team.new_inspection", "POST"): SETS_UP,
    ("team.team", "GET"): LEAD_OR_ADMIN, ("team.team", "POST"): LEAD_OR_ADMIN,
    ("merge.merge_screen", "GET"): LEAD, ("merge.arrival_board", "GET"): LEAD_OR_ADMIN,
    ("reports.draft_report", "GET"): REPORT_READERS, ("reports.report_pdf", "GET"): REPORT_READERS,
    ("reports.report_csv", "GET"): REPORT_READERS, ("reports.report_xlsx", "GET"): REPORT_READERS,
    # Past the committee (the world's inspection is in its corrections) the
    # form answers its coordinator that nothing can be recorded: let in, not turned away.
    ("committee.decision", "GET"): COMMITTEE, ("committee.decision", "POST"): COMMITTEE,
    ("review.lead", "GET"): LEAD, ("review.move_state", "POST"): LEAD, ("review.issue_link", "POST"): LEAD,
    ("review.revoke_link", "POST"): LEAD, ("review.review_response", "POST"): LEAD,
    ("review.lead_document", "GET"): LEAD,
    # The program's documents, sent before the visit: the team reads them, and admins.
    ("program_documents.documents_page", "GET"): TEAM_OR_ADMIN, ("program_documents.document", "GET"): TEAM_OR_ADMIN,
    ("history.history", "GET"): LEAD_OR_ADMIN,
    # Programs: those who set up inspections see every one; a team member the
    # program of an inspection they are on (the outsider's is another program).
    ("programs.listing", "GET"): SETS_UP, ("programs.program", "GET"): SETS_UP | TEAM,
    ("review.site", "GET"): {"site"}, ("review.site_save", "POST"): {"site"},
    ("review.site_upload", "POST"): {"site"}, ("review.site_document", "GET"): {"site"},
    ("review.site_photo", "GET"): {"site"},
    # Before the visit: the lead's page of self-assessment links, and the program's pages by its link.
    ("preparation.lead", "GET"): LEAD,
    ("preparation.program", "GET"): {"program"}, ("preparation.program_section", "GET"): {"program"},
    ("preparation.program_section_save", "POST"): {"program"}, ("preparation.program_submit", "POST"): {"program"},
    ("preparation.program_documents", "GET"): {"program"}, ("preparation.program_document", "GET"): {"program"},
    ("preparation.program_document_standards", "POST"): {"program"},
    ("preparation.program_upload", "POST"): {"program"},
    ("sync.push", "POST"): TEAM,      # an op on this inspection: only its team writes it
    ("sync.pull", "GET"): TEAM_OR_ADMIN,
    ("sync.upload_photo", "PUT"): USERS,  # any account may upload; attaching needs the team
}


def routes(app):
    return sorted({(rule.endpoint, method) for rule in app.url_map.iter_rules()
                   for method in rule.methods - {"HEAD", "OPTIONS"}})


def test_every_route_has_a_row(app):
    missing = [route for route in routes(app) if route not in RULES]
    assert not missing, f"routes without an authorisation rule: {missing}"
    assert not [route for route in RULES if route not in routes(app)], "rules for routes that no longer exist"


@pytest.fixture
def world(app, db, demo_inspection):
    """The demo through the factual accuracy review and the committee (every
    draft citation confirmed) into its corrections, a document the site
    attached, and a second inspection in its factual accuracy review with its
    own lead, inspector and site link; a coordinator."""
    uid = {u: users.by_username(db, u)["id"] for u in ("admin", "lead", "inspector1")}
    # Words only the team may read: inspector1's note on B1.5 and the caption
    # of a photo of theirs, the one the lead released to the site.
    released = db.conn.execute("SELECT sha256 FROM photo_releases WHERE released = 1").fetchone()[0]
    author = log_in_test_client(app.test_client(), uid["inspector1"])
    device = Device()
    assert [r["status"] for r in push(author, [
        device.op(demo_inspection, "B1.5", "note", NOTE),
        device.op(demo_inspection, "B1.5", "caption", {"sha256": released, "text": CAPTION})]).json["results"]] \
        == ["applied", "applied"]
    uid["lead2"] = users.create(db, "lead2", "lead", "x-long-password", "Luca Lead")
    uid["inspector4"] = users.create(db, "inspector4", "inspector", "x-long-password", "Olga Outside")
    other = inspections.create(db, "Southfield Hospital", 1, "2026-06-01", "2026-06-02", uid["admin"])
    team.add_member(db, other, uid["lead2"], "lead")
    team.add_member(db, other, uid["inspector4"], "inspector")
    uid["coordinator"] = coordinator_id(db)
    # A user no actor is, for the admins' actions on users, and a reset link of theirs.
    uid["spare"] = users.create(db, "spare", "inspector", "x-long-password", "Sol Spare", email="sol@example.org")
    password_token = password_links.issue(db, users.by_id(db, uid["spare"]), "reset_password")
    inspections.set_state(db, other, "factual_accuracy")
    inspections.set_state(db, demo_inspection, "committee")
    committee_decides(db, demo_inspection, uid["coordinator"])
    link = review.issue_link(db, demo_inspection, "Sam Site", "sam@example.org", 7, uid["lead"])
    other_link = review.issue_link(db, other, "Olu Site", "olu@example.org", 7, uid["lead2"])
    # An inspection in preparation, its program's self-assessment link and a document it uploaded.
    prep = inspections.create(db, "Eastgate Program", 1, "2026-12-14", "2026-12-16", uid["admin"], state="preparing")
    team.add_member(db, prep, uid["lead"], "lead")
    prep_link = review.issue_link(db, prep, "Pat Program", "pat@example.org", 7, uid["lead"], purpose="self_assessment")
    prep_path = link_path(review.link(db, prep_link), app.secret_key)
    assert app.test_client().post(f"{prep_path}/upload", data={
        "attach": "new", "document-new": (io.BytesIO(small_pdf("Manual")), "m.pdf")},
        content_type="multipart/form-data").status_code == 302
    prep_document = db.conn.execute("SELECT sha256 FROM program_documents WHERE inspection_id = ?",
                                    [prep]).fetchone()[0]
    site = app.test_client()
    path = link_path(review.link(db, link), app.secret_key)
    assert site.post(f"{path}/documents", data={"citation": "B1.5", "round": "1",
                                                "document": (io.BytesIO(small_pdf()), "p.pdf")},
                     content_type="multipart/form-data").status_code == 302
    document = db.conn.execute("SELECT sha256 FROM response_documents WHERE inspection_id = ? AND attached = 1",
                               [demo_inspection]).fetchone()[0]
    # A document the program sent before the visit, described as its link does.
    kind, kept = documents.check(small_pdf("Quality manual"))
    program_document = documents.store(db, folder_of(db), kind, kept, "manual.pdf", inspection_id=demo_inspection)
    preparation.add_document(db, demo_inspection, program_document["sha256"], "Quality manual", "1", None)
    own = db.conn.execute("SELECT sha256 FROM finding_photos WHERE standard_code = 'B2.3'").fetchone()[0]
    tokens = {"site": path.rsplit("/", 1)[1],
              "other_site": link_path(review.link(db, other_link), app.secret_key).rsplit("/", 1)[1],
              "program": prep_path.rsplit("/", 1)[1]}
    feeds = {}
    with app.test_request_context():
        for who, user in uid.items():
            users.new_calendar_nonce(db, user)
            feeds[who] = feed_url(users.by_id(db, user)).split("localhost", 1)[1]
    return {"inspection": demo_inspection, "program": inspections.plain(db, demo_inspection)["program_id"],
            "uid": uid, "tokens": tokens, "document": document, "program_document": program_document["sha256"],
            "released": released, "own_photo": own, "link": link, "feeds": feeds, "prep": prep,
            "prep_document": prep_document, "password_token": password_token}


# The world's user behind each actor that has an account.
ACCOUNTS = {"inspector": "inspector1", "outsider": "inspector4", "lead": "lead", "other_lead": "lead2",
            "admin": "admin", "coordinator": "coordinator"}


def client_for(app, world, actor):
    who = ACCOUNTS.get(actor)
    client = app.test_client()
    return log_in_test_client(client, world["uid"][who]) if who else client


def request_for(endpoint, method, world, actor):
    """(path, keyword arguments) for one route, as the actor would send it."""
    i = world["inspection"]
    token = world["tokens"].get(actor, "not-a-link")  # only the site holds a link
    who = ACCOUNTS.get(actor)
    feed = world["feeds"][who] if who else world["feeds"]["lead"][:-3] + "abc"  # a forged one
    site = f"/review/{i}/{token}"
    prepare = f"/prepare/{world['prep']}/{token}"
    paths = {
        "auth.login": "/login", "auth.logout": "/logout", "static": "/static/css/app.css",
        "sync.static": "/sync/static/clock.js", "shell.service_worker": "/sw.js",
        "shell.web_manifest": "/manifest.webmanifest", "inspections.home": "/", "shell.sent": "/sent",
        "inspections.archive": f"/inspections/{i}/archive",
        "inspections.inspection": f"/inspections/{i}", "inspections.section": f"/inspections/{i}/sections/B1",
        "inspections.standard": f"/inspections/{i}/standards/B1.5",
        "inspections.jump": f"/inspections/{i}/jump?code=B1.5",
        "shell.offline_manifest": f"/inspections/{i}/offline-manifest",
        "shell.offline_bundle": f"/inspections/{i}/offline-bundle",
        "inspections.find": f"/inspections/{i}/search?q=icu", "shell.search_index": f"/inspections/{i}/search-index",
        "photos.photo": f"/photos/{world['own_photo']}", "team.new_inspection": "/inspections/new",
        "team.team": f"/inspections/{i}/team", "merge.merge_screen": f"/inspections/{i}/merge",
        "merge.arrival_board": f"/inspections/{i}/arrivals", "reports.draft_report": f"/inspections/{i}/report",
        "reports.report_pdf": f"/inspections/{i}/report.pdf", "reports.report_csv": f"/inspections/{i}/report.csv",
        "reports.report_xlsx": f"/inspections/{i}/report.xlsx", "review.lead": f"/inspections/{i}/review",
        "review.move_state": f"/inspections/{i}/state", "review.issue_link": f"/inspections/{i}/links",
        "review.revoke_link": f"/inspections/{i}/links/{world['link']}/revoke",
        "review.review_response": f"/inspections/{i}/responses/B1.5/review",
        "review.lead_document": f"/inspections/{i}/documents/{world['document']}",
        "program_documents.documents_page": f"/inspections/{i}/program-documents",
        "program_documents.document": f"/inspections/{i}/program-documents/{world['program_document']}",
        "history.history": f"/inspections/{i}/history", "committee.decision": f"/inspections/{i}/committee",
        "calendar.feed": feed, "calendar.manage": "/calendar", "emails.emails": "/emails",
        "checklists.listing": "/checklists", "checklists.upload": "/checklists/import",
        "checklists.confirm": "/checklists/import/confirm",
        "programs.listing": "/programs", "programs.program": f"/programs/{world['program']}",
        "review.site": site, "review.site_save": site, "review.site_upload": f"{site}/documents",
        "review.site_document": f"{site}/documents/{world['document']}",
        "review.site_photo": f"{site}/photos/{world['released']}",
        "preparation.lead": f"/inspections/{i}/preparation", "preparation.program": prepare,
        "preparation.program_section": f"{prepare}/sections/B1",
        "preparation.program_section_save": f"{prepare}/sections/B1",
        "preparation.program_submit": f"{prepare}/submit", "preparation.program_documents": f"{prepare}/documents",
        "preparation.program_document": f"{prepare}/documents/{world['prep_document']}",
        "preparation.program_document_standards": f"{prepare}/documents/{world['prep_document']}/standards",
        "preparation.program_upload": f"{prepare}/upload",
        "sync.push": "/sync/push", "sync.pull": f"/sync/pull?inspection={i}",
        "sync.upload_photo": f"/sync/photos/{'0' * 64}",
        "users.listing": "/users", "users.new_user": "/users/new",
        "users.disable": f"/users/{world['uid']['spare']}/disable",
        "users.enable": f"/users/{world['uid']['spare']}/enable",
        "users.send_reset": f"/users/{world['uid']['spare']}/password-link",
        "account.account": "/account", "account.change_password": "/account/password",
        "account.forgot_password": "/forgot-password", "account.choose_password": f"/password/{world['password_token']}",
    }
    kwargs = {"headers": {"X-Inspector-Sync": "1"}}
    if endpoint == "sync.push":
        kwargs["json"] = {"ops": [Device().op(i, "B2.5", "note", "authorisation check")]}
    elif method == "POST":
        kwargs["data"] = {"direction": "back", "reason": "check", "action": "save", "round": "1",
                          "outcome": "accepted", "issued_to": "X", "email": "x@example.org", "days": "3"}
    return paths[endpoint], kwargs


def refused(response, endpoint, method):
    if RULES[(endpoint, method)] == EVERYONE:
        # Open to all: logging in answers 401 to a wrong password and logging
        # out goes back to the login page; neither turns anyone away.
        return response.status_code in (403, 404)
    if endpoint.startswith(("review.site", "preparation.program")):
        return response.status_code == 403
    if response.status_code in (302, 303) and "/login" in response.location:
        return True
    return response.status_code in (401, 403, 404)


@pytest.mark.parametrize("endpoint, method", sorted(RULES))
def test_each_actor_is_let_in_or_refused_as_the_table_says(app, world, endpoint, method):
    wrong = []
    for actor in ACTORS:
        path, kwargs = request_for(endpoint, method, world, actor)
        response = client_for(app, world, actor).open(path, method=method, **kwargs)
        assert response.status_code < 500, (endpoint, method, actor, response.status_code)
        allowed = actor in RULES[(endpoint, method)]
        if refused(response, endpoint, method) == allowed:
            wrong.append((actor, response.status_code, "refused" if allowed else "let in"))
    assert not wrong, f"{endpoint} {method}: {wrong}"


# --- what only the team reads -------------------------------------------------------------

# An inspector's note and photo caption are the team's (access.can_read_private_notes):
# no page anyone outside the team is let into carries their words.
NOTE = "Private-note-7f3a: the ICU nurse said the agreement was never signed"
CAPTION = "Private-caption-9c1e: unlabelled bag in the second freezer"
OUTSIDE_THE_TEAM = set(ACTORS) - TEAM


def readable(response):
    """The text a reader gets from an answer: a PDF's or a spreadsheet's words too."""
    data = response.get_data()
    if data.startswith(b"%PDF"):
        try:
            return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
        except PdfReadError:  # the site's own test document: a bare PDF skeleton
            pass
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as sheet:
            return "".join(sheet.read(name).decode("utf-8", "replace") for name in sheet.namelist())
    return data.decode("utf-8", "replace")


@pytest.mark.parametrize("endpoint", sorted(endpoint for endpoint, method in RULES if method == "GET"))
def test_no_page_outside_the_team_carries_an_inspectors_note_or_caption(app, world, endpoint):
    leaks = []
    for actor in sorted(OUTSIDE_THE_TEAM & RULES[(endpoint, "GET")]):
        path, kwargs = request_for(endpoint, "GET", world, actor)
        text = readable(client_for(app, world, actor).get(path, **kwargs))
        leaks += [(actor, words[:20]) for words in (NOTE, CAPTION) if words[:40] in text]
    assert not leaks, f"{endpoint}: {leaks}"


def test_the_history_tells_an_admin_that_a_note_changed_and_the_lead_what_it_says(app, world):
    path = f"/inspections/{world['inspection']}/history"
    lead = client_for(app, world, "lead").get(path).get_data(as_text=True)
    admin = client_for(app, world, "admin").get(path).get_data(as_text=True)
    assert NOTE[:40] in lead and CAPTION[:40] in lead  # the check above can fail: the words are there to find
    assert NOTE[:20] not in admin and CAPTION[:20] not in admin
    assert "Iris Clinical changed the note on B1.5" in admin
    assert "Iris Clinical changed a photo&#39;s caption on B1.5" in admin
    assert admin.count("private to the inspection team") >= 4  # before and after of each
