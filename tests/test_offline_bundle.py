"""Taking an inspection offline in one request: the bundle holds exactly the
pages and photos the asker may open, each byte for byte what a GET of its
URL by the same user answers, compressed as one stream; its forms' tokens
stay valid; nobody else gets anything."""
import gzip
import re
from datetime import datetime, timezone

import brotli
import flask
import pytest
from flask_wtf.csrf import validate_csrf
from itsdangerous.timed import TimestampSigner

from inspector.app import create_app, offline
from inspector.app.views import reports as reports_view

from inspector.domain import team
from tests.helpers import log_in_test_client, user_id


def bundle_of(client, inspection_id, encoding="br"):
    """(response, package, entries) of the asker's bundle, decoded."""
    response = client.get(f"/inspections/{inspection_id}/offline-bundle", headers={"Accept-Encoding": encoding})
    assert response.status_code == 200, response.status_code
    decode = {"br": brotli.decompress, "gzip": gzip.decompress}[response.headers["Content-Encoding"]]
    raw = decode(response.data)
    assert int(response.headers["X-Inspector-Bundle-Size"]) == len(raw)
    package, entries = offline.unframe(raw)
    return response, package, entries


@pytest.fixture
def frozen_signatures(monkeypatch):
    """Signed values (the forms' CSRF token, the session cookie) carry the
    second they were signed in: hold the clock still, so two renders of one
    page in different seconds are comparable byte for byte."""
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: 1_790_000_000)
    # The report page says when it was made (a copy stored for offline use is that moment's).
    monkeypatch.setattr(reports_view, "now", lambda: datetime(2026, 12, 8, 19, 6, tzinfo=timezone.utc))


@pytest.mark.parametrize("username", ["inspector1", "lead"])
def test_every_entry_is_byte_identical_to_a_get_of_its_url(as_user, demo_inspection, frozen_signatures, username):
    client = as_user(username)
    client.get("/")  # a page first, as in the browser: the session holds its form secret
    _, package, entries = bundle_of(client, demo_inspection)
    assert [e["url"] for e in entries] == package["pages"] + package["photos"]  # nothing missing
    assert package == client.get(f"/inspections/{demo_inspection}/offline-manifest").json
    for entry in entries:
        direct = client.get(entry["url"])
        assert entry["status"] == direct.status_code == 200, entry["url"]
        assert entry["body"] == direct.data, entry["url"]
        # A photo's Expires is "now + max-age": the second it was answered in.
        stored = {k: v for k, v in entry["headers"] if k != "Expires"}
        assert stored == {k: v for k, v in direct.headers.items()
                          if k.lower() not in offline.NOT_STORED_HEADERS and k != "Expires"}
    pages = [e for e in entries if dict(e["headers"])["Content-Type"].startswith("text/html")]
    assert any(e["url"].endswith("/search-index") for e in entries)  # the jump box's word search, offline
    assert all(dict(e["headers"])["X-Inspector-User"] == str(user_id(client.application.config["DATA_DIR"],
                                                                     username)) for e in pages)
    assert any(e["url"].startswith("/photos/") and dict(e["headers"])["Content-Type"] == "image/jpeg"
               for e in entries)  # the thumbnails travel in it too


def test_the_bundle_is_small_on_the_wire_and_gzip_without_brotli(as_user, demo_inspection):
    client = as_user("inspector1")
    br, _, entries = bundle_of(client, demo_inspection, "br")
    gz, _, same = bundle_of(client, demo_inspection, "gzip")
    assert [e["url"] for e in same] == [e["url"] for e in entries]
    assert br.headers["Content-Encoding"] == "br" and gz.headers["Content-Encoding"] == "gzip"
    assert int(br.headers["Content-Length"]) == len(br.data)  # the worker's progress reads it
    pages = sum(e["length"] for e in entries)
    # The goal: 40 KB for inspector1's package, against its pages' own bytes.
    assert len(br.data) <= 40 * 1024 and len(br.data) < pages / 20, (len(br.data), pages)
    assert len(gz.data) < pages / 10
    assert br.headers["Cache-Control"] == "no-store" and "Accept-Encoding" in br.headers["Vary"]
    plain = client.get(f"/inspections/{demo_inspection}/offline-bundle", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and offline.unframe(plain.data)[1][0]["url"] == "/"


def test_an_inspector_gets_only_their_sections_of_this_inspection(app, as_user, db, demo_inspection):
    client = as_user("inspector2")
    _, package, entries = bundle_of(client, demo_inspection)
    mine = set(team.sections_of(db, demo_inspection, user_id(app.config["DATA_DIR"], "inspector2")))
    assert mine == {"C6", "C7", "C8", "C9", "D6", "D7", "D8", "D9"}
    base = f"/inspections/{demo_inspection}"
    sections = {m.group(1) for e in entries if (m := re.fullmatch(rf"{base}/sections/(\w+)", e["url"]))}
    assert sections == mine
    standards = [e["url"].rsplit("/", 1)[1] for e in entries if e["url"].startswith(f"{base}/standards/")]
    assert standards and all(code.split(".")[0] in mine for code in standards)
    assert all(e["url"] in ("/", "/sent", base) or e["url"].startswith((f"{base}/", f"{base}?only=", "/photos/"))
               for e in entries)
    assert not any("/merge" in e["url"] or "/report" in e["url"] for e in entries)  # the lead's pages
    everything = b"".join(e["body"] for e in entries if e["url"] != "/")
    assert f"{base}/standards/B4.2".encode() not in everything  # another's standard: no link to it, no index entry


def test_the_forms_tokens_in_the_bundle_stay_valid(app, demo_inspection):
    """A session with no form secret yet (a client whose first request is the
    bundle): the pages sign their tokens with the secret that the bundle's
    own answer puts in the cookie, so a form posted from a cached page works."""
    csrf_app = create_app({"DATA_DIR": app.config["DATA_DIR"], "TESTING": True, "SECRET_KEY": "test",
                           "WTF_CSRF_ENABLED": True})
    client = log_in_test_client(csrf_app.test_client(), user_id(app.config["DATA_DIR"], "inspector1"))
    with client.session_transaction() as session:
        assert "csrf_token" not in session
    _, _, entries = bundle_of(client, demo_inspection)
    tokens = set(re.findall(rb'name="csrf_token" value="([^"]+)"', b"".join(e["body"] for e in entries)))
    assert tokens
    with client.session_transaction() as session:
        secret = session["csrf_token"]
    for token in tokens:
        with csrf_app.test_request_context():
            flask.session["csrf_token"] = secret
            validate_csrf(token.decode())  # raises if the token is not this session's
    assert client.post("/logout", data={"csrf_token": tokens.pop().decode()}).status_code == 302
    assert client.get("/").status_code == 302  # logged out: the token from the bundle was taken


def test_the_bundle_works_under_a_path_prefix(as_user, demo_inspection):
    """Served under /inspector/ (a proxy's SCRIPT_NAME): the pages' URLs carry
    the prefix, and each is rendered, not a 404 left out of the bundle."""
    client = as_user("inspector1")
    response = client.get(f"/inspections/{demo_inspection}/offline-bundle", base_url="http://localhost/inspector/",
                          headers={"Accept-Encoding": "gzip"})
    package, entries = offline.unframe(gzip.decompress(response.data))
    assert package["pages"][0] == "/inspector/" and len(entries) == len(package["pages"] + package["photos"])
    assert all(e["url"].startswith("/inspector/") and e["status"] == 200 for e in entries)


def test_the_leads_stored_draft_report_says_when_it_was_made(as_user, demo_inspection, frozen_signatures):
    """Issue 24 item 14: the lead presents the stored copy without a network;
    it says it is a copy of that moment, and that later decisions are not in it."""
    _, _, entries = bundle_of(as_user("lead"), demo_inspection)
    report = next(e for e in entries if e["url"] == f"/inspections/{demo_inspection}/report")["body"].decode()
    assert re.search(r'data-snapshot data-inspection="\d+"\s+data-taken-at="1796756760000"', report)
    assert '<time datetime="2026-12-08T19:06:00Z" data-local-time>8 Dec 2026, 19:06 UTC</time>' in report
    assert "decisions made after that are not in it" in report
