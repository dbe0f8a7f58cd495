"""The pages as an inspector meets them: logging in, finding their inspection,
walking its sections and standards, jumping by code, taking it offline."""
import hashlib
import io
import re
from collections import Counter
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from inspector.app import create_app

from inspector.domain import findings
from tests.helpers import PASSWORD, SYNC, push


# --- reading pages -------------------------------------------------------------

class Page(HTMLParser):
    """What a user (or a screen reader) finds on a page: its form controls and
    their labels, buttons, links, ids, and anything the CSP would block."""

    CONTROLS = ("input", "select", "textarea")

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.controls, self.buttons, self.links, self.inline = [], [], [], []
        self.labels = {}            # label text -> the control it names
        self.dangling = []          # <label for=x> with no element x
        self.ids = Counter()
        self._label = self._button = self._script = None
        self._found = []
        self.feed(html)
        self.close()
        by_id = {c["id"]: c for c in self.controls if "id" in c}
        for text, for_id, wrapped in self._found:
            control = by_id.get(for_id) if for_id else wrapped
            if for_id and control is None:
                self.dangling.append(for_id)
            if control is not None:
                control["labelled"] = True
                self.labels[text] = control

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if "id" in a:
            self.ids[a["id"]] += 1
        self.inline += [f"{tag} {k}=" for k in a if k == "style" or k.startswith("on")]
        # A JSON data block is not run, and CSP does not apply to it.
        if tag == "script" and "src" not in a and a.get("type") != "application/json":
            self.inline.append("inline <script>")
        if tag == "style":
            self.inline.append("inline <style>")
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "label":
            self._label = [a.get("for"), [], None]
        elif tag == "button":
            self._button = []
        elif tag in self.CONTROLS and a.get("type") != "hidden":
            control = dict(a, tag=tag)
            self.controls.append(control)
            if self._label:
                self._label[2] = control

    def handle_data(self, data):
        for parts in (self._label and self._label[1], self._button):
            if parts is not None:
                parts.append(data)

    def handle_endtag(self, tag):
        if tag == "label" and self._label:
            for_id, parts, wrapped = self._label
            self._found.append((" ".join("".join(parts).split()), for_id, wrapped))
            self._label = None
        elif tag == "button" and self._button is not None:
            self.buttons.append(" ".join("".join(self._button).split()))
            self._button = None

    def unlabelled(self):
        return [c for c in self.controls if not c.get("labelled") and not c.get("aria-label")]


def page(response):
    assert response.status_code == 200, response.status_code
    return Page(response.get_data(as_text=True))


def jpeg(color):
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "JPEG")
    return out.getvalue()


def attach_photo(client, device, inspection_id, code, color="red"):
    raw = jpeg(color)
    sha = hashlib.sha256(raw).hexdigest()
    assert client.put(f"/sync/photos/{sha}", data=raw, headers=SYNC).status_code == 201
    result = push(client, [device.op(inspection_id, code, "photo", {"sha256": sha, "attached": True})])
    assert result.json["results"][0]["status"] == "applied"
    return sha


def total_in(db, section):
    return db.conn.execute("SELECT count(*) FROM standards WHERE section_code = ? AND depth > 0 "
                           "AND catalog_id = (SELECT catalog_id FROM inspections ORDER BY id LIMIT 1)",
                           [section]).fetchone()[0]


# --- logging in and out ----------------------------------------------------------

@pytest.fixture
def client(app):
    return app.test_client()


def test_login_form_asks_for_username_and_password(client):
    login_page = page(client.get("/login"))
    assert login_page.labels["Username"]["name"] == "username"
    assert login_page.labels["Password"]["name"] == "password"
    assert login_page.labels["Password"]["type"] == "password"
    assert "Log in" in login_page.buttons


@pytest.mark.parametrize("username, password", [
    ("inspector1", "wrong"),
    ("inspector1", ""),
    ("nobody", PASSWORD),
])
def test_a_wrong_password_shows_an_error_and_logs_nobody_in(client, username, password):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 401
    assert b"Unknown username or wrong password." in response.data
    assert client.get("/").status_code == 302


def test_password_guessing_is_slowed_down_per_username(client, db):
    for _ in range(5):
        assert client.post("/login", data={"username": "inspector1", "password": "guess"}).status_code == 401
    # Even the right password waits now, so guessing gains nothing.
    blocked = client.post("/login", data={"username": "inspector1", "password": PASSWORD})
    assert blocked.status_code == 429
    assert b"Too many failed attempts" in blocked.data
    assert client.post("/login", data={"username": "inspector2", "password": PASSWORD}).status_code == 302
    db.conn.execute("UPDATE login_failures SET at = at - 301")  # five minutes later
    assert client.post("/login", data={"username": "inspector1", "password": PASSWORD}).status_code == 302
    assert db.conn.execute("SELECT count(*) FROM login_failures").fetchone()[0] == 0


def test_logging_in_sets_an_httponly_samesite_session_cookie(client):
    response = client.post("/login", data={"username": "inspector1", "password": PASSWORD})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie
    assert re.search(r"SameSite=(Lax|Strict)", cookie)


def test_logout_is_a_post_and_ends_the_session(as_user):
    client = as_user("inspector1")
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302 and response.location == "/login"
    assert client.get("/").status_code == 302


# --- CSRF, with the protection the tests usually switch off -----------------------

@pytest.fixture
def csrf_client(app):
    app = create_app({"DATA_DIR": app.config["DATA_DIR"], "TESTING": True, "SECRET_KEY": "test",
                      "WTF_CSRF_ENABLED": True})
    return app.test_client()


def csrf_token(client, path="/login"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def test_login_without_the_form_token_is_refused(csrf_client):
    csrf_client.get("/login")
    response = csrf_client.post("/login", data={"username": "inspector1", "password": PASSWORD})
    assert response.status_code == 400
    assert csrf_client.get("/").status_code == 302


def test_login_with_the_token_from_the_login_page_works(csrf_client):
    token = csrf_token(csrf_client)
    response = csrf_client.post("/login", data={"username": "inspector1", "password": PASSWORD,
                                                  "csrf_token": token})
    assert response.status_code == 302
    assert csrf_client.get("/").status_code == 200


def test_logout_without_the_form_token_is_refused(csrf_client):
    csrf_client.post("/login", data={"username": "inspector1", "password": PASSWORD,
                                     "csrf_token": csrf_token(csrf_client)})
    assert csrf_client.post("/logout").status_code == 400
    assert csrf_client.get("/").status_code == 200
    assert csrf_client.post("/logout", data={"csrf_token": csrf_token(csrf_client, "/")}).status_code == 302


# --- headers and inline code ----------------------------------------------------

PAGES = ["/", "/inspections/{i}", "/inspections/{i}/sections/B1", "/inspections/{i}/standards/B1.3"]


@pytest.mark.parametrize("path", ["/login", *PAGES])
def test_pages_send_a_strict_csp_and_hold_no_inline_code(as_user, demo_inspection, path):
    response = as_user("inspector1").get(path.format(i=demo_inspection))
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert page(response).inline == []


# --- logging in lands where you were going ---------------------------------------

@pytest.mark.parametrize("path", PAGES + ["/inspections/{i}/jump?code=B1.3"])
def test_a_page_asks_for_login_then_comes_back(client, demo_inspection, path):
    path = path.format(i=demo_inspection)
    response = client.get(path)
    assert response.status_code == 302
    to = urlsplit(response.location)
    assert to.path == "/login" and parse_qs(to.query)["next"] == [path]
    response = client.post(response.location, data={"username": "inspector1", "password": PASSWORD})
    assert response.location == path


@pytest.mark.parametrize("next_", [
    "//evil.example", "//evil.example/login", "https://evil.example/", "/\\evil.example",
    "\\\\evil.example", "/\t/evil.example", "javascript:alert(1)", "evil.example",
])
def test_login_never_sends_you_off_site(client, next_):
    response = client.post("/login", query_string={"next": next_},
                           data={"username": "inspector1", "password": PASSWORD})
    assert response.status_code == 302
    assert response.location == "/"


# --- home, inspection, section, standard --------------------------------------------

def test_inspection_page_has_offline_button_and_jump_box(as_user, demo_inspection):
    inspection = page(as_user("inspector1").get(f"/inspections/{demo_inspection}"))
    assert "Make available offline" in inspection.buttons
    assert inspection.labels["Go to standard"]["name"] == "code"


def my_sections(html):
    mine = html.split("<summary>Other sections</summary>")[0]
    return re.findall(r'<li class="section-row" data-section="([^"]+)"', mine)


def progress(html, section):
    row = re.search(rf'data-section="{section}".*?</li>', html, re.S).group(0)
    text = " ".join(re.sub(r"<[^>]+>", " ", row.split("</progress>")[1].split('<span class="marks">')[0]).split())
    return text


@pytest.mark.parametrize("username, sections", [
    ("inspector1", ["B1", "B2", "B3", "B6", "B7", "B8"]),
    ("inspector2", ["C6", "C7", "C8", "C9", "D6", "D7", "D8", "D9"]),
    ("inspector3", ["B1", "B4", "B9", "B10", "D4", "D7"]),
])
def test_inspection_page_lists_my_sections_first(as_user, demo_inspection, username, sections):
    html = as_user(username).get(f"/inspections/{demo_inspection}").get_data(as_text=True)
    assert sorted(my_sections(html)) == sorted(sections)


@pytest.mark.parametrize("username, section, mine, team", [
    ("inspector1", "B1", 3, 3),
    ("inspector3", "B1", 3, 3),
    ("inspector2", "D7", 3, 3),
    ("inspector3", "D7", 1, 3),
    ("inspector2", "D6", 1, 1),
    ("inspector1", "B3", 0, 0),
])
def test_inspection_page_shows_progress_for_me_and_the_team(as_user, db, demo_inspection, username, section,
                                                            mine, team):
    html = as_user(username).get(f"/inspections/{demo_inspection}").get_data(as_text=True)
    total = total_in(db, section)
    assert progress(html, section) == f"{mine} / {total} assessed by me, {team} / {total} by the team"


def verdict_badges(html):
    return dict(re.findall(r'data-standard="([^"]+)".*?<span class="verdict-badge"[^>]*>([^<]*)</span>',
                           html, re.S))


@pytest.mark.parametrize("username, expected", [
    ("inspector1", {"B1.1": "Compliant", "B1.2": "Not assessed", "B1.3": "Compliant", "B1.5": "Not compliant"}),
    ("inspector3", {"B1.1": "Compliant", "B1.2": "Not assessed", "B1.3": "Not compliant", "B1.7": "Not assessed"}),
])
def test_section_page_lists_its_standards_with_my_verdict(as_user, db, demo_inspection, username, expected):
    html = as_user(username).get(f"/inspections/{demo_inspection}/sections/B1").get_data(as_text=True)
    badges = verdict_badges(html)
    assert len(badges) == total_in(db, "B1")
    assert {code: badges[code] for code in expected} == expected
    assert 'for="jump-code"' in html


def test_standard_page_shows_the_standard_and_my_finding(as_user, db, demo_inspection):
    std = db.conn.execute("SELECT * FROM standards WHERE code = 'B2.3' AND catalog_id = (SELECT catalog_id FROM inspections ORDER BY id LIMIT 1)").fetchone()
    response = as_user("inspector1").get(f"/inspections/{demo_inspection}/standards/B2.3")
    html, standard = unescape(response.get_data(as_text=True)), page(response)
    for text in (std["code"], std["title"], std["text"], std["guidance"]):
        assert text in html
    radios = {label: c["value"] for label, c in standard.labels.items() if c.get("type") == "radio"}
    assert radios == {"Compliant": "compliant", "Not compliant": "not_compliant",
                      "Not applicable": "not_applicable"}
    assert "checked" in standard.labels["Not compliant"] and "checked" not in standard.labels["Compliant"]
    assert standard.labels["Note"]["tag"] == "textarea"
    assert "No written agreement with intensive care for transfer at night" in html
    camera, pictures = standard.labels["Take photo"], standard.labels["Choose photos"]
    assert (camera["type"], camera["capture"]) == ("file", "environment")
    assert pictures["type"] == "file" and "multiple" in pictures and "capture" not in pictures
    assert standard.labels["Go to standard"]["name"] == "code"


def test_a_photo_only_finding_links_its_full_image_and_is_not_called_empty(as_user, demo_inspection, device):
    client = as_user("inspector2")
    sha = attach_photo(client, device, demo_inspection, "D7.2.2", color="green")
    html = client.get(f"/inspections/{demo_inspection}/standards/D7.2.2").get_data(as_text=True)
    assert "Nothing recorded yet" not in html
    assert f'href="/photos/{sha}"' in html  # the thumbnail opens the full image
    assert client.get(f"/photos/{sha}").status_code == 200
    empty = client.get(f"/inspections/{demo_inspection}/standards/D7.2.1").get_data(as_text=True)
    assert "Nothing recorded yet" in empty


@pytest.mark.parametrize("code, prev, next_", [
    ("B1.5", "B1.4", "B1.5.1"),
    ("B1.1", None, "B1.2"),
    ("B1.7", "B1.6", "B2.1"),
    ("D10.3", "D10.2", None),
    ("B7.3.3.3", "B7.3.3.2", "B7.3.4"),  # four levels deep, and back up
])
def test_standard_page_links_to_previous_and_next(as_user, demo_inspection, code, prev, next_):
    html = as_user("inspector1").get(f"/inspections/{demo_inspection}/standards/{code}").get_data(as_text=True)
    found = dict(re.findall(r'rel="(prev|next)" href="[^"]*/standards/([^"]+)"', html))
    assert found.get("prev") == prev and found.get("next") == next_


@pytest.mark.parametrize("path", ["/sections/Z9", "/standards/Z9.9", "/standards/B1", "/sections/B1.3"])
def test_unknown_codes_are_404(as_user, demo_inspection, path):
    assert as_user("inspector1").get(f"/inspections/{demo_inspection}{path}").status_code == 404


# --- the jump box -------------------------------------------------------------

@pytest.mark.parametrize("typed, goes_to", [
    ("B4.2", "/standards/B4.2"),
    ("b4.2", "/standards/B4.2"),
    (" b 4.2 ", "/standards/B4.2"),
    ("d7.4.1.1", "/standards/D7.4.1.1"),
    ("B4", "/sections/B4"),
    ("b 4", "/sections/B4"),
])
def test_jump_box_goes_to_the_standard_or_section(as_user, demo_inspection, typed, goes_to):
    response = as_user("inspector1").get(f"/inspections/{demo_inspection}/jump", query_string={"code": typed})
    assert response.status_code == 302
    assert response.location == f"/inspections/{demo_inspection}{goes_to}"


@pytest.mark.parametrize("typed, message", [
    ("Z9.9", "Z9.9"),
    ("B4.99", "B4.99"),
    ("<b>Z9</b>", "&lt;b&gt;Z9&lt;/b&gt;"),  # (words that some standard holds go to the search page)
    ("", "Type a standard"),
])
def test_jump_box_with_an_unknown_code_goes_back_and_says_so(as_user, demo_inspection, typed, message):
    client = as_user("inspector1")
    came_from = f"http://localhost/inspections/{demo_inspection}/sections/B1"
    response = client.get(f"/inspections/{demo_inspection}/jump", query_string={"code": typed},
                          headers={"Referer": came_from})
    assert response.location == came_from
    html = client.get(came_from).get_data(as_text=True)
    assert re.search(r'<p class="flash" role="alert">[^<]*' + re.escape(message), html)


def test_jump_box_never_goes_back_off_site(as_user, demo_inspection):
    response = as_user("inspector1").get(f"/inspections/{demo_inspection}/jump", query_string={"code": "Z9"},
                                         headers={"Referer": "http://localhost.evil.example/"})
    assert response.location == f"/inspections/{demo_inspection}"


# --- every control has a label ---------------------------------------------------

@pytest.fixture
def photo_on_b13(as_user, demo_inspection, device):
    return attach_photo(as_user("inspector1"), device, demo_inspection, "B1.3")


@pytest.mark.parametrize("username, path", [
    (None, "/login"),
    ("inspector1", "/"),
    ("inspector1", "/inspections/{i}"),
    ("inspector1", "/inspections/{i}/sections/B1"),
    ("inspector1", "/inspections/{i}/standards/B1.3"),
    ("admin", "/"),
    ("admin", "/inspections/new"),
    ("admin", "/inspections/{i}/team"),
    ("lead", "/inspections/new"),
    ("lead", "/inspections/{i}/team"),
])
def test_every_control_has_a_label(app, as_user, demo_inspection, photo_on_b13, username, path):
    client = as_user(username) if username else app.test_client()
    html = page(client.get(path.format(i=demo_inspection)))
    assert html.unlabelled() == []
    assert html.dangling == []
    assert [i for i, n in html.ids.items() if n > 1] == []


def test_photo_captions_are_labelled(as_user, demo_inspection, photo_on_b13):
    standard = page(as_user("inspector1").get(f"/inspections/{demo_inspection}/standards/B1.3"))
    assert standard.labels["Caption"]["id"].startswith("caption-")


# --- taking an inspection offline ---------------------------------------------------

def test_offline_manifest_lists_exactly_my_sections_and_their_standards(as_user, db, demo_inspection):
    client = as_user("inspector2")
    manifest = client.get(f"/inspections/{demo_inspection}/offline-manifest").json
    sections = ["C6", "C7", "C8", "C9", "D6", "D7", "D8", "D9"]
    standards = [r[0] for r in db.conn.execute(
        f"SELECT code FROM standards WHERE section_code IN ({','.join('?' * len(sections))}) AND depth > 0 "
        f"AND catalog_id = (SELECT catalog_id FROM inspections ORDER BY id LIMIT 1)",
        sections)]
    base = f"/inspections/{demo_inspection}"
    expected = (["/", "/sent", base] + [f"{base}?only={key}" for key in findings.FILTERS] + [f"{base}/sections/{s}" for s in sections]
                + [f"{base}/standards/{c}" for c in standards] + [f"{base}/program-documents", f"{base}/search-index"])
    assert sorted(manifest["pages"]) == sorted(expected)
    for url in manifest["pages"]:
        assert client.get(url).status_code == 200, url


def test_offline_manifest_lists_my_photos(as_user, demo_inspection, device):
    client = as_user("inspector2")
    before = client.get(f"/inspections/{demo_inspection}/offline-manifest").json["photos"]
    assert len(before) == 1  # the demo's dewar alarm panel on D8.2
    sha = attach_photo(client, device, demo_inspection, "D7.2.1", color="blue")
    manifest = client.get(f"/inspections/{demo_inspection}/offline-manifest").json
    assert manifest["photos"] == before + [f"/photos/{sha}?size=thumb"]
    for url in manifest["photos"]:
        assert client.get(url).status_code == 200


def test_offline_manifest_maps_typed_codes_to_pages_for_the_jump_box(as_user, demo_inspection):
    manifest = as_user("inspector2").get(f"/inspections/{demo_inspection}/offline-manifest").json
    base = f"/inspections/{demo_inspection}"
    assert manifest["jump_url"] == f"{base}/jump"
    assert manifest["jump"]["D7"] == f"{base}/sections/D7"
    assert manifest["jump"]["D7.2.3"] == f"{base}/standards/D7.2.3"
    assert manifest["jump"]["D7.4.1.1"] == f"{base}/standards/D7.4.1.1"
    assert "B4.2" not in manifest["jump"]  # not one of inspector2's sections: not taken offline


# --- what the scripts take from the page ------------------------------------------

def test_scripts_read_verdict_labels_and_markup_from_the_page(as_user, demo_inspection, device):
    """The rules and markup the page's scripts need are rendered by the
    server, never repeated in JavaScript: the verdict labels, and the photo
    item a photo added on the tablet is cloned from."""
    import json

    from inspector.domain.catalog import SCALES

    client = as_user("inspector2")
    attach_photo(client, device, demo_inspection, "D7.2.3", color="blue")
    html = client.get(f"/inspections/{demo_inspection}/standards/D7.2.3").get_data(as_text=True)
    labels = re.search(r'<script type="application/json" id="verdict-labels" data-none="([^"]+)">(.*?)</script>',
                       html, re.S)
    assert json.loads(labels.group(2)) == SCALES["fact"] and labels.group(1) == "Not assessed"

    def shape(li):  # the markup without what differs per photo
        li = re.sub(r'\s(data-sha256|data-attached-hlc|data-caption-hlc|src|href)="[^"]*"', "", li)
        li = re.sub(r'(<textarea[^>]*>)[^<]*', r'\1', li)
        return re.sub(r'(alt="Photo|"caption-)[^"]*"', r'\1"', li)
    rendered = re.search(r'<ul class="photo-list" data-photo-list>\s*(<li.*?</li>)', html, re.S).group(1)
    template = re.search(r"<template data-photo-item>(<li.*?</li>)</template>", html, re.S).group(1)
    assert shape(rendered) == shape(template)


def test_responses_that_do_not_change_the_session_set_no_cookie(as_user, demo_inspection):
    """The session is the server's: a cookie is sent again only when it
    changes, so answers racing each other never put an older one back."""
    client = as_user("inspector1")
    client.get("/")  # the first page puts the form token in the session
    for path in ("/", f"/inspections/{demo_inspection}", f"/sync/pull?inspection={demo_inspection}"):
        response = client.get(path, headers=SYNC)
        assert response.status_code == 200 and "Set-Cookie" not in response.headers, path


def test_json_answers_carry_no_content_security_policy_and_pages_do(as_user, demo_inspection):
    client = as_user("inspector1")
    pulled = client.get(f"/sync/pull?inspection={demo_inspection}", headers=SYNC)
    assert pulled.is_json and "Content-Security-Policy" not in pulled.headers
    assert pulled.headers["X-Content-Type-Options"] == "nosniff"
    assert "script-src 'self'" in client.get("/").headers["Content-Security-Policy"]


def test_htmx_attributes_are_valid_html_data_attributes():
    """The Nu HTML checker rejects unknown attributes such as `hx-boost`:
    htmx reads the same attributes with a `data-` prefix."""
    from pathlib import Path
    templates = Path(__file__).parent.parent / "templates"
    bare = [(str(p.relative_to(templates)), m) for p in templates.rglob("*.html")
            for m in re.findall(r"(?<![\w-])hx-[a-z-]+=", p.read_text())]
    assert bare == []


def test_the_project_says_its_license():
    from pathlib import Path
    root = Path(__file__).parent.parent
    assert "Apache License" in (root / "LICENSE").read_text()
    assert 'license = "Apache-2.0"' in (root / "pyproject.toml").read_text()
    assert "Apache License 2.0" in (root / "README.md").read_text()


def test_the_manifest_offers_a_rich_install(client):
    from pathlib import Path
    from PIL import Image
    manifest = client.get("/manifest.webmanifest").get_json()
    assert manifest["id"] == "/" and manifest["description"]
    assert {i["purpose"] for i in manifest["icons"]} == {"any", "maskable"}
    assert {s["form_factor"] for s in manifest["screenshots"]} == {"narrow", "wide"}
    static = Path(__file__).parent.parent
    for image in manifest["icons"] + manifest["screenshots"]:
        with Image.open(static / image["src"].lstrip("/")) as im:
            assert "%dx%d" % im.size == image["sizes"], image["src"]


def test_text_follows_the_browsers_font_size_setting():
    """The root size is a percentage of the browser's, never a fixed px size."""
    from pathlib import Path
    css = (Path(__file__).parent.parent / "static" / "css" / "app.css").read_text()
    roots = re.findall(r":root\s*\{[^}]*?font-size:\s*([^;]+);", css)
    assert roots and all(size.endswith("%") for size in roots)
