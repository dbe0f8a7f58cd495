"""The cycle after the visit, as FACT and JACIE run it (issue 21): the draft
citations go to the site for factual accuracy only; the accrediting body's
committee confirms, amends or withdraws each and sets when its correction is
due; the site then submits corrections with evidence, round by round, which
the lead accepts or sends back; the lead closes the inspection. Each test
follows one part of that journey as its people meet it."""
import io
import json
import re
import uuid

import pytest

from inspector.domain import access, inspections, review, team, users
from sync import forms
from tests.helpers import FAR_DUE, Device, committee_decides, coordinator_id, forward, push, small_pdf

from test_site_review import form_of, issue, link_id_of, save, send_to_site, state_of, to_corrections

CITED = ["B1.5", "B2.3", "B7.2.10"]  # the demo's draft citations, in catalog order
AMENDED = "The written agreement with one commercial manufacturer lapsed for six weeks before its renewal."


@pytest.fixture
def site(app):
    return app.test_client()  # no account, no session


@pytest.fixture
def lead(as_user):
    return as_user("lead")


@pytest.fixture
def coordinator(db, as_user):
    """The accrediting body's coordinator, logged in."""
    coordinator_id(db)
    return as_user("cora")


@pytest.fixture
def link(lead, demo_inspection):
    """The demo's draft citations sent to the site, and a link for it (a path)."""
    send_to_site(lead, demo_inspection)
    return issue(lead, demo_inspection)


def moves(db, inspection_id):
    """The inspection's moves in the audit trail, oldest first: (from, to, by, reason)."""
    rows = db.conn.execute("SELECT user_id, before, after FROM audit WHERE inspection_id = ? "
                           "AND action = 'state.moved' ORDER BY id", [inspection_id])
    return [(json.loads(r["before"])["state"], json.loads(r["after"])["state"], r["user_id"],
             json.loads(r["after"]).get("reason")) for r in rows]


def committee_decisions(db, inspection_id):
    """{code: (decision, amended text, due date)} as the committee's record holds them."""
    return {r["standard_code"]: (r["decision"], r["text"], r["due_on"]) for r in db.conn.execute(
        "SELECT * FROM committee_decisions WHERE inspection_id = ?", [inspection_id])}


def decision_form(decisions, held="2027-01-15", outcome="deferred"):
    """The committee's form, its box ticked: its date and outcome, and {code: (decision, amended text, due date)}."""
    form = {"committee_date": held, "outcome": outcome, "confirm": "yes"}
    for code, (decision, text, due) in decisions.items():
        form.update({f"decision-{code}": decision, f"text-{code}": text, f"due-{code}": due})
    return form


def article(html, code):
    """The part of a page about one citation."""
    start = html.index(f'id="cit-{code}"')
    end = html.find("</article>", start)
    return html[start:end if end != -1 else None]


def answer(db, inspection_id, code, round_):
    for r in review.rounds(db, inspection_id).get(code, []):
        if r["round"] == round_:
            return r
    return None


# --- the lifecycle ----------------------------------------------------------------------

PATHS = {
    "fact": ["preparing", "on_site", "merging", "factual_accuracy", "committee", "corrections", "closed"],
    "jacie": ["preparing", "on_site", "merging", "factual_accuracy", "committee", "corrections", "closed"],
    # The program auditing itself: no site to send a draft to, no committee.
    "internal": ["preparing", "on_site", "merging", "corrections", "closed"],
}


@pytest.mark.parametrize("body", sorted(PATHS))
def test_each_body_goes_through_its_steps_in_order_each_move_in_the_audit_trail(db, as_user, lead, coordinator,
                                                                                 body):
    lead_id = users.by_username(db, "lead")["id"]
    i = inspections.create(db, f"A {body} inspection", 1, "2026-09-01", "2026-09-02", lead_id, body=body,
                           scale="fact")
    team.add_member(db, i, lead_id, "lead")
    inspections.set_state(db, i, "preparing")
    page = lead.get(f"/inspections/{i}/review").get_data(as_text=True)
    shown = re.findall(r'<span class="stage(?: current)?"(?: aria-current="step")?>([^<]+)</span>', page)
    assert shown == [access.STATE_LABELS[s] for s in PATHS[body]]           # the steps of its body, in order
    while state_of(db, i) != "closed":
        if state_of(db, i) == "committee":
            assert forward(lead, i).status_code == 400                         # the committee's step is not the lead's
            recorded = coordinator.post(f"/inspections/{i}/committee",
                                        data=decision_form({}, outcome="accredited"))
            assert recorded.status_code == 302
        else:
            assert forward(lead, i).status_code == 302
    coordinator_user = users.by_username(db, "cora")["id"]
    assert moves(db, i) == [(a, b, coordinator_user if a == "committee" else lead_id, None)
                            for a, b in zip(PATHS[body], PATHS[body][1:])]


def test_a_step_back_needs_a_reason_and_the_trail_keeps_it(db, lead, demo_inspection):
    send_to_site(lead, demo_inspection)
    forward(lead, demo_inspection)                                              # Send to committee
    assert state_of(db, demo_inspection) == "committee"
    assert lead.post(f"/inspections/{demo_inspection}/state", data={"direction": "back", "reason": "  "}
                     ).status_code == 303
    assert state_of(db, demo_inspection) == "committee"                        # no reason, no move
    why = "The site's comment on B2.3 needs an answer first"
    lead.post(f"/inspections/{demo_inspection}/state", data={"direction": "back", "reason": why})
    assert state_of(db, demo_inspection) == "factual_accuracy"
    back, to, _, reason = moves(db, demo_inspection)[-1]
    assert (back, to, reason) == ("committee", "factual_accuracy", why)


# --- findings are frozen once the draft leaves the team -------------------------------

def test_findings_are_refused_once_the_draft_is_with_the_site_and_the_page_says_why(db, as_user, lead,
                                                                                     demo_inspection):
    inspector = as_user("inspector1")
    page = inspector.get(f"/inspections/{demo_inspection}/standards/B2.1").get_data(as_text=True)
    assert "read-only" not in page                                              # merging: still open
    send_to_site(lead, demo_inspection)
    result = push(inspector, [Device().op(demo_inspection, "B2.1", "verdict", "compliant")]).json["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "inspection_state")
    page = inspector.get(f"/inspections/{demo_inspection}/standards/B2.1").get_data(as_text=True)
    assert '<fieldset class="read-only" disabled aria-describedby="read-only-why">' in page
    assert ('id="read-only-why">Read only. The inspection is factual accuracy review: findings can no longer '
            'change.</p>') in page


# --- the factual accuracy review ------------------------------------------------------

def test_in_the_factual_accuracy_review_the_site_writes_only_factual_accuracy_comments(db, link, site, lead,
                                                                                       demo_inspection):
    html = site.get(link).get_data(as_text=True)
    assert "Make no changes for the inspection until the committee's decision." in html
    assert 'name="factual_comment-B2.3"' in html and 'name="round-B2.3" value="0"' in html
    assert "corrective_action" not in html and 'type="file"' not in html and "Attach to" not in html
    assert "Send comments" in html
    comment = "The informal email is from the ICU director, who signs the agreements of the unit."
    save(site, link, {"factual_comment-B2.3": comment}, action="submit", html=html)
    sent = answer(db, demo_inspection, "B2.3", 0)["response"]
    assert (sent["factual_comment"], sent["submitted"]) == (comment, 1)
    assert comment in article(lead.get(f"/inspections/{demo_inspection}/review").get_data(as_text=True), "B2.3")
    # A corrective action now, by the form or as an op: refused, nothing stored.
    save(site, link, {"corrective_action-B1.5": "We renewed it."})
    assert answer(db, demo_inspection, "B1.5", 0) is None
    op = {"op_id": str(uuid.uuid4()), "inspection_id": demo_inspection, "standard": "B1.5",
          "field": "corrective_action", "value": {"round": 0, "text": "We renewed it."}}
    _, refused = forms.write(db, [op], link=review.link(db, link_id_of(link)))
    assert [r["code"] for r in refused] == ["inspection_state"]


def test_the_lead_amends_a_citation_until_it_goes_to_the_committee(db, link, site, lead, demo_inspection):
    amended = push(lead, [Device().op(demo_inspection, "B1.5", "citation", AMENDED)]).json["results"][0]
    assert amended["status"] == "applied"
    assert AMENDED in article(site.get(link).get_data(as_text=True), "B1.5")  # the site reads the new text
    assert forward(lead, demo_inspection).status_code == 302                   # Send to committee, confirmed
    assert state_of(db, demo_inspection) == "committee"
    late = push(lead, [Device().op(demo_inspection, "B1.5", "citation", "Too late.")]).json["results"][0]
    assert (late["status"], late["code"]) == ("rejected", "inspection_state")
    assert "Make no changes for the inspection until then." in site.get(link).get_data(as_text=True)


# --- irreversible steps ask first -------------------------------------------------------

def _merging(db, lead, site, inspection):
    """The demo as it is: merging."""


def _factual_accuracy(db, lead, site, inspection):
    send_to_site(lead, inspection)
    link = issue(lead, inspection)
    save(site, link, {"factual_comment-B1.5": "The renewal was signed in April."}, action="submit")
    return link


def _corrections(db, lead, site, inspection):
    link = _factual_accuracy(db, lead, site, inspection)
    to_corrections(lead, db, inspection)
    save(site, link, {"corrective_action-B1.5": "Renewed: copy attached."}, action="submit_anyway")


# state: (how to get there, the question, what is listed as still open, the next state)
STEPS = {
    "merging": (_merging, "Send draft citations to site?",
                ["2 disagreements not decided: B1.3, D7.4.1.", "Findings changed since you decided: B2.3."],
                "factual_accuracy"),
    "factual_accuracy": (_factual_accuracy, "Send to committee?",
                         ["The site has sent no factual accuracy comment on 2 citations: B2.3, B7.2.10."],
                         "committee"),
    "corrections": (_corrections, "Close inspection?",
                    ["3 corrections not accepted: B1.5, B2.3, B7.2.10.", "Submitted responses not reviewed: B1.5."],
                    "closed"),
}


@pytest.mark.parametrize("state", list(STEPS))
def test_an_irreversible_step_shows_what_is_open_and_moves_nothing_until_confirmed(db, lead, site,
                                                                                    demo_inspection, state):
    arrive, question, still_open, after = STEPS[state]
    arrive(db, lead, site, demo_inspection)
    assert state_of(db, demo_inspection) == state
    before = len(moves(db, demo_inspection))
    asked = forward(lead, demo_inspection, confirmed=False)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and f"<h1>{question}</h1>" in html
    listed = re.findall(r"<li>([^<]*)</li>", html[html.index('id="open-h"'):])
    assert listed == still_open
    assert '<input type="hidden" name="confirmed" value="yes">' in html
    assert state_of(db, demo_inspection) == state and len(moves(db, demo_inspection)) == before  # nothing moved
    assert forward(lead, demo_inspection).status_code == 302
    assert state_of(db, demo_inspection) == after


# --- the committee --------------------------------------------------------------------

def test_only_a_coordinator_or_an_admin_records_the_committee_and_only_while_it_has_the_inspection(
        db, as_user, lead, coordinator, demo_inspection):
    page = f"/inspections/{demo_inspection}/committee"
    form = decision_form({code: ("confirmed", "", FAR_DUE) for code in CITED})
    send_to_site(lead, demo_inspection)
    assert coordinator.get(page).status_code == 404                            # not with the committee yet
    assert coordinator.post(page, data=form).status_code == 404
    assert coordinator.get(f"/inspections/{demo_inspection}/report").status_code == 404
    forward(lead, demo_inspection)                                              # Send to committee
    for username in ("lead", "inspector1"):
        assert as_user(username).post(page, data=form).status_code == 404
    assert state_of(db, demo_inspection) == "committee" and committee_decisions(db, demo_inspection) == {}
    assert coordinator.get(page).status_code == 200
    assert coordinator.get(f"/inspections/{demo_inspection}/report").status_code == 200
    assert "Northbridge" in coordinator.get("/").get_data(as_text=True)       # on the coordinator's home page
    assert as_user("admin").post(page, data=form).status_code == 302           # an admin acting as coordinator
    assert state_of(db, demo_inspection) == "corrections"
    again = coordinator.post(page, data=decision_form({code: ("withdrawn", "", "") for code in CITED}))
    assert again.status_code == 400 and "The inspection is not with the committee." in again.get_data(as_text=True)
    assert committee_decisions(db, demo_inspection) == dict.fromkeys(CITED, ("confirmed", "", FAR_DUE))


def test_a_committee_form_with_something_missing_shows_each_error_beside_its_field_and_records_nothing(
        db, lead, coordinator, demo_inspection):
    send_to_site(lead, demo_inspection)
    forward(lead, demo_inspection)
    audit_rows = db.conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    form = {"committee_date": "", "outcome": "",
            "decision-B1.5": "confirmed", "due-B1.5": "",                       # no due date
            "decision-B2.3": "amended", "text-B2.3": "  ", "due-B2.3": FAR_DUE}  # no amended text; B7.2.10 undecided
    response = coordinator.post(f"/inspections/{demo_inspection}/committee", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Nothing was recorded" in html
    beside = {"committee_date": r'name="committee_date"[^>]*aria-describedby="committee_date-error">\s*'
                                r'<p class="error" id="committee_date-error">Give the date the committee met.</p>',
              "outcome": r'aria-describedby="outcome-error">.*?</select>\s*'
                         r'<p class="error" id="outcome-error">Choose the committee&#39;s outcome.</p>',
              "due": r'name="due-B1.5"[^>]*aria-describedby="due-error-B1.5">\s*'
                     r'<p class="error" id="due-error-B1.5">Give the date the correction of B1.5 is due.</p>',
              "text": r'aria-describedby="text-error-B2.3">\s*</textarea>\s*'
                      r'<p class="error" id="text-error-B2.3">Write the amended text of B2.3.</p>'}
    for field, pattern in beside.items():
        assert re.search(pattern, html, re.S), field
    assert "Confirm, amend or withdraw B7.2.10." in article_fieldset(html, "B7.2.10")
    early = coordinator.post(f"/inspections/{demo_inspection}/committee", data=decision_form(
        {code: ("confirmed", "", "2027-01-14") for code in CITED}, held="2027-01-15"))
    assert early.status_code == 400
    assert "The correction of B1.5 cannot be due before the committee met." in early.get_data(as_text=True)
    unticked = {k: v for k, v in decision_form({code: ("confirmed", "", FAR_DUE) for code in CITED}).items()
                if k != "confirm"}
    response = coordinator.post(f"/inspections/{demo_inspection}/committee", data=unticked)
    assert response.status_code == 400 and re.search(
        r'aria-describedby="confirm-error">.*?</label>\s*<p class="error" id="confirm-error">Tick the box',
        response.get_data(as_text=True), re.S)
    assert state_of(db, demo_inspection) == "committee" and committee_decisions(db, demo_inspection) == {}
    assert db.conn.execute("SELECT count(*) FROM audit").fetchone()[0] == audit_rows


def article_fieldset(html, code):
    start = html.index(f'id="cit-{code}"')
    return html[start:html.index("</fieldset>", start)]


def test_recording_the_committee_writes_its_decision_and_the_site_sees_what_is_due_when(
        db, link, site, lead, coordinator, demo_inspection):
    forward(lead, demo_inspection)                                              # Send to committee
    recorded = coordinator.post(f"/inspections/{demo_inspection}/committee", data=decision_form({
        "B1.5": ("confirmed", "", "2027-03-31"), "B2.3": ("amended", AMENDED, "2027-04-30"),
        "B7.2.10": ("withdrawn", "", "")}, held="2027-01-15", outcome="deferred"))
    assert recorded.status_code == 302
    assert committee_decisions(db, demo_inspection) == {
        "B1.5": ("confirmed", "", "2027-03-31"), "B2.3": ("amended", AMENDED, "2027-04-30"),
        "B7.2.10": ("withdrawn", "", None)}
    row = inspections.plain(db, demo_inspection)
    cora = users.by_username(db, "cora")["id"]
    assert (row["state"], row["committee_date"], row["outcome"], row["decided_by"]) == (
        "corrections", "2027-01-15", "deferred", cora)
    trail = [(r["action"], r["subject"], r["user_id"]) for r in db.conn.execute(
        "SELECT action, subject, user_id FROM audit WHERE inspection_id = ? AND action LIKE 'committee.%' "
        "ORDER BY id", [demo_inspection])]
    assert sorted(trail[:3]) == [("committee.citation", code, cora) for code in CITED]
    assert trail[3:] == [("committee.decided", "deferred", cora)]
    assert moves(db, demo_inspection)[-1] == ("committee", "corrections", cora, None)

    html = site.get(link).get_data(as_text=True)
    assert re.findall(r'Citation \d+: <span class="code">([^<]+)</span>', html) == ["B1.5", "B2.3"]  # B7.2.10 withdrawn
    assert 'id="cit-B7.2.10"' not in html and 'name="corrective_action-B7.2.10"' not in html
    b23 = article(html, "B2.3")
    assert f'<p class="citation-text">{AMENDED}</p>' in b23 and "Amended by the committee. The draft said:" in b23
    assert 'correction due <time datetime="2027-04-30">2027-04-30</time>' in b23
    assert "Accreditation deferred" in html


# --- corrections ------------------------------------------------------------------------

@pytest.fixture
def correcting(db, link, lead, demo_inspection):
    """The committee confirmed every draft citation: the corrections are open."""
    to_corrections(lead, db, demo_inspection)
    return link


def test_evidence_is_attached_next_to_its_citation_and_nothing_typed_is_lost(db, correcting, site, lead,
                                                                             demo_inspection):
    link = correcting
    html = site.get(link).get_data(as_text=True)
    assert "Do not upload patient-identifiable information." in html
    b15 = article(html, "B1.5")
    for control in ('<label for="corrective_action-B1.5">Explanation of correction</label>',
                    '<label for="target_date-B1.5">Target date</label>', 'name="document-B1.5"',
                    f'formaction="{link}/documents">Attach to B1.5</button>'):
        assert control in b15, control
    assert 'name="attach" value="B1.5"' in b15
    data = form_of(html)
    explanation = "The agreement was renewed on 3 April; the signed copy is attached."
    data.update({"corrective_action-B1.5": [explanation], "corrective_action-B2.3": ["Typed further down the page."],
                 "target_date-B2.3": ["2027-02-28"], "attach": ["B1.5"],
                 "document-B1.5": (io.BytesIO(small_pdf("Signed agreement")), "agreement.pdf")})
    response = site.post(f"{link}/documents", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    b15_round, b23_round = answer(db, demo_inspection, "B1.5", 1), answer(db, demo_inspection, "B2.3", 1)
    assert b15_round["response"]["corrective_action"] == explanation
    assert [d["filename"] for d in b15_round["documents"]] == ["agreement.pdf"]
    assert (b23_round["response"]["corrective_action"], b23_round["response"]["target_date"]) == (
        "Typed further down the page.", "2027-02-28")
    b15 = article(site.get(link).get_data(as_text=True), "B1.5")
    assert explanation in b15 and "agreement.pdf" in b15
    seen_by_lead = article(lead.get(f"/inspections/{demo_inspection}/review").get_data(as_text=True), "B1.5")
    assert explanation in seen_by_lead and "agreement.pdf" in seen_by_lead


def test_submitting_with_a_citation_unanswered_asks_first_then_sends_only_the_answered(db, correcting, site,
                                                                                       demo_inspection):
    link = correcting
    asked = save(site, link, {"corrective_action-B1.5": "Renewed on 3 April."}, action="submit")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200
    assert "2 citations still have no answer:</strong>\n    B2.3, B7.2.10." in html
    assert 'value="submit_anyway"' in html and "Your response is submitted" not in html
    first = answer(db, demo_inspection, "B1.5", 1)["response"]
    assert (first["corrective_action"], first["submitted"]) == ("Renewed on 3 April.", 0)  # kept, not sent
    save(site, link, {}, action="submit_anyway", html=html)
    assert answer(db, demo_inspection, "B1.5", 1)["response"]["submitted"] == 1
    assert review.unanswered(db, inspections.plain(db, demo_inspection)) == ["B2.3", "B7.2.10"]
    page = site.get(link).get_data(as_text=True)
    assert 'name="corrective_action-B2.3"' in page and "readonly" not in article(page, "B2.3")  # still open


def test_a_correction_overdue_is_shown_until_accepted_after_a_round_of_more_information(db, link, site, lead,
                                                                                       demo_inspection):
    forward(lead, demo_inspection)                                              # Send to committee
    committee_decides(db, demo_inspection, coordinator_id(db), {"B1.5": ("confirmed", "", "2020-02-01")},
                      held="2020-01-10")
    html = site.get(link).get_data(as_text=True)
    overdue = '<span class="badge overdue">Overdue</span>'
    assert overdue in article(html, "B1.5") and overdue not in article(html, "B2.3")
    assert overdue in article(lead.get(f"/inspections/{demo_inspection}/review").get_data(as_text=True), "B1.5")

    save(site, link, {"corrective_action-B1.5": "Renewed."}, action="submit_anyway")
    lead.post(f"/inspections/{demo_inspection}/responses/B1.5/review",
              data={"round": "1", "outcome": "more_info", "comment": "Please attach the signed agreement."})
    html = site.get(link).get_data(as_text=True)
    b15 = article(html, "B1.5")
    assert "More information needed" in b15 and "Please attach the signed agreement." in b15
    assert 'name="round-B1.5" value="2"' in b15 and overdue in b15
    data = form_of(html)
    data.update({"corrective_action-B1.5": ["Signed agreement attached."], "attach": ["B1.5"],
                 "document-B1.5": (io.BytesIO(small_pdf("Signed agreement")), "signed.pdf")})
    assert site.post(f"{link}/documents", data=data, content_type="multipart/form-data").status_code == 302
    save(site, link, {}, action="submit_anyway")
    lead.post(f"/inspections/{demo_inspection}/responses/B1.5/review", data={"round": "2", "outcome": "accepted"})
    html = site.get(link).get_data(as_text=True)
    assert overdue not in article(html, "B1.5") and "correction accepted" in article(html, "B1.5")
    assert [(r["round"], r["review"]["outcome"], [d["filename"] for d in r["documents"]])
            for r in review.rounds(db, demo_inspection)["B1.5"]] == [(1, "more_info", []),
                                                                     (2, "accepted", ["signed.pdf"])]


def team_form(lead, inspection_id):
    """The Team page's form as it stands: each member's role and sections, no reviewer ticked."""
    html = lead.get(f"/inspections/{inspection_id}/team").get_data(as_text=True)
    data = {}
    for select in re.findall(r'<select id="member-\d+" name="(member-\d+)">(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([a-z]*)" selected>', select[1])
        data[select[0]] = chosen.group(1) if chosen else ""
    data.update({name: "1" for name in re.findall(r'name="(assign-[^"]+)" value="1"[^>]*\schecked', html)})
    return data


def test_an_inspector_the_lead_names_reviews_corrections_and_no_other_inspector_does(
        db, correcting, site, lead, as_user, demo_inspection):
    save(site, correcting, {"corrective_action-B1.5": "Renewed: copy attached."}, action="submit_anyway")
    ines, iris = as_user("inspector3"), as_user("inspector1")
    review_page = f"/inspections/{demo_inspection}/review"
    assert ines.get(review_page).status_code == 404                  # not named yet
    refused = ines.post(f"/inspections/{demo_inspection}/responses/B1.5/review", data={"round": "1",
                                                                                       "outcome": "accepted"})
    assert refused.status_code == 404 and answer(db, demo_inspection, "B1.5", 1)["review"] is None

    ines_id = users.by_username(db, "inspector3")["id"]
    form = team_form(lead, demo_inspection)
    lead.post(f"/inspections/{demo_inspection}/team", data={**form, f"reviewer-{ines_id}": "1"})
    assert {m["username"]: m["reviews_corrections"] for m in team.members(db, demo_inspection)}["inspector3"] == 1
    assert team_form(lead, demo_inspection) == form                  # the team and its sections unchanged
    history = lead.get(f"/inspections/{demo_inspection}/history").get_data(as_text=True)
    assert "named Ines Quality to review the site&#39;s corrections" in history

    page = ines.get(f"/inspections/{demo_inspection}").get_data(as_text=True)
    assert "Review the site's corrections</a>" in page
    assert ">1 correction to review</a>: B1.5" in ines.get("/").get_data(as_text=True)  # her home card
    assert "correction to review" not in iris.get("/").get_data(as_text=True)
    page = ines.get(review_page).get_data(as_text=True)
    assert "The team leader named you to review" in page
    assert "Issue review link" not in page and "/review/" not in page.replace(review_page, "")  # no link, no token
    assert ines.post(f"/inspections/{demo_inspection}/responses/B1.5/review",
                     data={"round": "1", "outcome": "more_info", "comment": "Attach the signed copy."}
                     ).status_code == 302
    assert answer(db, demo_inspection, "B1.5", 1)["review"]["outcome"] == "more_info"

    # Another inspector, through the page or by push, is refused with a reason.
    assert iris.get(review_page).status_code == 404
    op = Device().op(demo_inspection, "B1.5", "review_outcome", {"round": 1, "outcome": "accepted"})
    result = push(iris, [op]).json["results"][0]
    assert (result["status"], result["code"]) == ("rejected", "not_reviewer")

    lead.post(f"/inspections/{demo_inspection}/team", data=form)     # the lead takes it back
    assert ines.get(review_page).status_code == 404


def test_close_inspection_when_every_correction_is_accepted(db, correcting, site, lead, demo_inspection):
    link = correcting
    save(site, link, {f"corrective_action-{code}": f"Corrected {code}." for code in CITED}, action="submit")
    for code in CITED:
        lead.post(f"/inspections/{demo_inspection}/responses/{code}/review", data={"round": "1", "outcome": "accepted"})
    asked = forward(lead, demo_inspection, confirmed=False).get_data(as_text=True)
    assert "<h1>Close inspection?</h1>" in asked and "Nothing is left open." in asked
    assert forward(lead, demo_inspection).status_code == 302
    assert state_of(db, demo_inspection) == "closed"
    assert "The inspection is closed: the responses can no longer change." in site.get(link).get_data(as_text=True)


# --- the body's words -----------------------------------------------------------------

def test_a_jacie_inspection_speaks_of_deficiencies_and_recommendations_to_the_centre(db, app, lead, site):
    lead_id = users.by_username(db, "lead")["id"]
    i = inspections.create(db, "Riverside test centre", 1, "2026-09-01", "2026-09-02", lead_id, body="jacie")
    team.add_member(db, i, lead_id, "lead")
    inspections.set_state(db, i, "merging")
    device = Device()
    decided = push(lead, [device.op(i, "B2.3", "decision_verdict", "partially_compliant"),
                          device.op(i, "B2.3", "citation", "There is no written agreement for transfer to ICU."),
                          device.op(i, "B1.1", "decision_verdict", "compliant"),
                          device.op(i, "B1.1", "suggestion", "Keep the training records together.")]).json
    assert {r["status"] for r in decided["results"]} == {"applied"}
    send_to_site(lead, i)
    html = site.get(issue(lead, i)).get_data(as_text=True)
    assert "<h1>Draft deficiencies</h1>" in html and 'Deficiency 1: <span class="code">B2.3</span>' in html
    assert '<h2 id="suggestions-h">Recommendations</h2>' in html
    assert "Citation" not in html and "Suggestions" not in html
