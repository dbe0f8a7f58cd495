"""The `inspector` command as an admin uses it: load a checklist, add users,
seed the demo, make a synthetic catalog."""
import csv
import io
import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.security import check_password_hash

from inspector.app.cli import main
from inspector.domain.db import connect, database_path

FIXTURES = Path(__file__).parent / "fixtures" / "catalogs"


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A data folder; INSPECTOR_DATA points elsewhere so --data must win."""
    monkeypatch.setenv("INSPECTOR_DATA", str(tmp_path / "not-this-one"))
    monkeypatch.delenv("INSPECTOR_PASSWORD", raising=False)
    monkeypatch.delenv("INSPECTOR_DEMO_PASSWORD", raising=False)
    return tmp_path / "data"


def run(*args, env=None, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, input=input)


def count(data_dir, sql):
    db = connect(database_path(data_dir))
    try:
        return db.conn.execute(sql).fetchone()[0]
    finally:
        db.conn.close()


def test_help_lists_the_commands():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("serve", "demo", "user", "catalog", "db"):
        assert re.search(rf"^\s+{command}\s", result.output, re.M), command


@pytest.mark.parametrize("command, options", [
    (["serve"], ["--host", "--port", "--data"]),
    (["demo"], ["--password", "--no-serve", "--data"]),
    (["user", "add"], ["--role", "--password", "--data"]),
    (["catalog", "import"], ["--edition", "--data", "FILE"]),
    (["catalog", "synthetic"], ["--sections", "--per-section"]),
    (["db", "dump"], ["--format", "--data", "TABLE"]),
])
def test_each_command_documents_its_options(command, options):
    result = run(*command, "--help")
    assert result.exit_code == 0
    for option in options:
        assert option in result.output


@pytest.mark.parametrize("fixture, problem", [
    ("unknown_parent.csv", "line 4: unknown parent T2"),
    ("unknown_role.json", "index 1: unknown role 'nursing'"),
])
def test_a_bad_catalog_is_refused_with_where_and_why_and_nothing_is_imported(data, fixture, problem):
    result = run("catalog", "import", "--data", data, FIXTURES / fixture)
    assert result.exit_code != 0
    assert problem in result.output
    assert "Nothing was imported" in result.output
    assert count(data, "SELECT count(*) FROM catalogs") == 0
    assert count(data, "SELECT count(*) FROM standards") == 0


@pytest.mark.parametrize("fixture, standards", [("good.csv", 3), ("good.json", 2)])
def test_a_good_catalog_imports_and_says_how_many_standards(data, fixture, standards):
    result = run("catalog", "import", "--data", data, FIXTURES / fixture, "--edition", "IEC 3 (ours)")
    assert result.exit_code == 0, result.output
    assert f"Imported {standards} standards as edition 'IEC 3 (ours)'" in result.output
    listing = run("catalog", "list", "--data", data)
    assert "IEC 3 (ours)" in listing.output
    assert not (data.parent / "not-this-one").exists()


@pytest.mark.parametrize("scale, verdicts", [
    (None, ["compliant", "not_compliant", "not_applicable"]),
    ("fact", ["compliant", "not_compliant", "not_applicable"]),
    ("jacie", ["compliant", "partially_compliant", "not_compliant", "not_applicable"]),
])
def test_the_importer_takes_the_editions_verdict_scale(data, scale, verdicts):
    from inspector.domain import catalog
    args = ["--scale", scale] if scale else []
    result = run("catalog", "import", "--data", data, FIXTURES / "good.csv", "--edition", "E", *args)
    assert result.exit_code == 0, result.output
    assert f"with the {(scale or 'fact').upper()} verdict scale" in result.output
    stored = count(data, "SELECT scale FROM catalogs WHERE edition = 'E'")
    assert list(catalog.SCALES[stored]) == verdicts
    assert f"{(scale or 'fact').upper()} verdicts" in run("catalog", "list", "--data", data).output


def test_an_unknown_scale_is_refused_and_nothing_imported(data):
    result = run("catalog", "import", "--data", data, FIXTURES / "good.csv", "--scale", "lenient")
    assert result.exit_code != 0 and "lenient" in result.output
    # refused while reading the options: the data folder was not even opened
    assert not (data / "inspector.sqlite3").exists()


def test_the_data_folder_can_come_from_the_environment(tmp_path):
    folder = tmp_path / "from-env"
    result = run("catalog", "import", FIXTURES / "good.csv", env={"INSPECTOR_DATA": str(folder)})
    assert result.exit_code == 0, result.output
    assert count(folder, "SELECT count(*) FROM catalogs") == 1


def test_an_admin_adds_a_user_with_the_password_from_the_environment(data):
    env = {"INSPECTOR_PASSWORD": "s3cret-passphrase"}
    result = run("user", "add", "--data", data, "maria", "--role", "lead", "--name", "Maria Lead", env=env)
    assert result.exit_code == 0, result.output
    assert "Added maria (lead)" in result.output
    again = run("user", "add", "--data", data, "maria", "--role", "inspector", env=env)
    assert again.exit_code != 0
    assert "user 'maria' exists already" in again.output
    db = connect(database_path(data))
    user = db.conn.execute("SELECT * FROM users").fetchall()
    db.conn.close()
    assert [(u["username"], u["role"], u["display_name"]) for u in user] == [("maria", "lead", "Maria Lead")]
    assert check_password_hash(user[0]["password_hash"], "s3cret-passphrase")


def test_a_password_can_be_typed_at_the_prompt(data):
    result = run("user", "add", "--data", data, "ivo", "--role", "inspector",
                 input="typed-passphrase\ntyped-passphrase\n")
    assert result.exit_code == 0, result.output
    stored = count(data, "SELECT password_hash FROM users WHERE username = 'ivo'")
    assert check_password_hash(stored, "typed-passphrase")


def test_an_unknown_role_is_refused(data):
    result = run("user", "add", "--data", data, "bob", "--role", "boss", env={"INSPECTOR_PASSWORD": "x"})
    assert result.exit_code != 0
    assert "'boss' is not one of 'admin', 'lead', 'inspector'" in result.output
    assert not database_path(data).exists() or count(data, "SELECT count(*) FROM users") == 0


DEMO_USERS = ["admin", "lead", "inspector1", "inspector2", "inspector3", "coordinator"]


def demo_counts(data_dir):
    return {table: count(data_dir, f"SELECT count(*) FROM {table}")
            for table in ("users", "catalogs", "standards", "inspections", "members", "assignments", "ops",
                          "findings")}


def test_the_demo_prints_the_logins_and_can_be_run_twice(data):
    first = run("demo", "--data", data, "--no-serve", "--password", "demo-passphrase")
    assert first.exit_code == 0, first.output
    assert "password for all: demo-passphrase" in first.output
    for username in DEMO_USERS:
        assert re.search(rf"^\s+{username}\s", first.output, re.M), username
    before = demo_counts(data)
    # Four inspections: FACT's merging, JACIE's in its corrections, and a
    # program's earlier (closed) inspection and its renewal being prepared.
    assert before["users"] == len(DEMO_USERS) and before["inspections"] == 4 and before["ops"] > 0

    second = run("demo", "--data", data, "--no-serve", "--password", "demo-passphrase")
    assert second.exit_code == 0, second.output
    assert demo_counts(data) == before


def test_the_demo_prints_a_site_link_that_opens_once_the_citations_are_sent(data):
    from inspector.app import create_app
    from tests.helpers import forward, log_in_test_client, user_id
    result = run("demo", "--data", data, "--no-serve", "--password", "demo-passphrase", "--port", "8080")
    assert result.exit_code == 0, result.output
    path = re.search(r"http://localhost:8080(/review/\d+/\S+)", result.output).group(1)
    again = run("demo", "--data", data, "--no-serve", "--password", "demo-passphrase", "--port", "8080")
    assert path in again.output                           # the same link while it is valid
    app = create_app({"DATA_DIR": str(data), "TESTING": True, "WTF_CSRF_ENABLED": False})
    site = app.test_client()
    waiting = site.get(path)                              # the lead has not sent the draft citations yet
    assert waiting.status_code == 409 and "This link will open when they do." in waiting.get_data(as_text=True)
    lead = log_in_test_client(app.test_client(), user_id(data, "lead"))
    inspection = re.search(r"/review/(\d+)/", path).group(1)
    assert forward(lead, inspection).status_code == 302   # Send draft citations to site, confirmed
    page = site.get(path).get_data(as_text=True)
    assert "Draft citations" in page and "Sam Site" in page


def test_a_demo_without_a_password_prints_a_generated_one_that_works(data):
    result = run("demo", "--data", data, "--no-serve")
    assert result.exit_code == 0, result.output
    password = re.search(r"password for all: (\S+?)\)", result.output).group(1)
    assert len(password) >= 8
    db = connect(database_path(data))
    hashes = dict(db.conn.execute("SELECT username, password_hash FROM users").fetchall())
    db.conn.close()
    assert sorted(hashes) == sorted(DEMO_USERS)
    assert all(check_password_hash(h, password) for h in hashes.values())


def test_a_demo_run_again_keeps_its_password_unless_asked_to_reset_it(data):
    def hashes():
        db = connect(database_path(data))
        try:
            return dict(db.conn.execute("SELECT username, password_hash FROM users").fetchall())
        finally:
            db.conn.close()
    first = run("demo", "--data", data, "--no-serve")
    password = re.search(r"password for all: (\S+?)\)", first.output).group(1)
    before = hashes()
    again = run("demo", "--data", data, "--no-serve")
    assert again.exit_code == 0, again.output
    assert "password unchanged (use --reset-password" in again.output and password not in again.output
    assert hashes() == before  # nothing stored in plain text, nothing reset
    reset = run("demo", "--data", data, "--no-serve", "--reset-password")
    new = re.search(r"password for all: (\S+?)\)", reset.output).group(1)
    assert new != password and all(check_password_hash(h, new) for h in hashes().values())


def test_a_synthetic_catalog_imports(data, tmp_path):
    result = run("catalog", "synthetic", "--sections", 3, "--per-section", 4)
    assert result.exit_code == 0
    assert result.output.startswith("code,parent,title,text,guidance,roles\n")
    path = tmp_path / "synthetic.csv"
    path.write_text(result.output)
    imported = run("catalog", "import", "--data", data, path)
    assert imported.exit_code == 0, imported.output
    # 3 sections x 4 standards, plus 3 sub-standards under each one's 3rd.
    assert "Imported 21 standards as edition 'synthetic'" in imported.output


# --- users: names, the password policy, and managing accounts -------------------------

GOOD = "correct horse battery"


def add(data, username, role="inspector", password=GOOD, *extra):
    return run("user", "add", "--data", data, username, "--role", role, *extra,
               env={"INSPECTOR_PASSWORD": password})


@pytest.mark.parametrize("password, why", [
    ("a", "at least 12 characters"),
    ("maria", "at least 12 characters"),
    ("maria-maria-maria", "must not contain the username"),
    ("xxMARIAxxxxxxx", "must not contain the username"),
    ("password1234", "too common"),
    ("123456789012", "too common"),
])
def test_a_weak_password_is_refused_with_the_reason_even_for_an_admin(data, password, why):
    result = add(data, "maria", "admin", password)
    assert result.exit_code != 0 and why in result.output
    assert "Traceback" not in result.output
    assert count(data, "SELECT count(*) FROM users") == 0


def test_usernames_are_normalised(data):
    assert add(data, " Maria ").exit_code == 0
    assert count(data, "SELECT username FROM users") == "maria"


@pytest.mark.parametrize("username, why", [
    (" admin", "exists already"),
    ("Admin", "exists already"),
    ("ＡＤＭＩＮ", "exists already"),          # fullwidth letters: NFKC makes them "admin"
    ("\u0430dmin", "mixes scripts"),       # a Cyrillic a before Latin letters
    ("\u0430\u0441\u0435", "looks like an existing user"),  # all Cyrillic, reads "ace"
    ("ad min", "letters, digits"),
    ("admin\u200b", "letters, digits"),    # a zero-width space
    ("", "a username is required"),
])
def test_a_name_like_an_existing_one_or_unsafe_is_refused_clearly(data, username, why):
    assert add(data, "admin", "admin").exit_code == 0
    assert add(data, "ace").exit_code == 0
    result = add(data, username)
    assert result.exit_code != 0 and why in result.output, result.output
    assert "Traceback" not in result.output
    assert count(data, "SELECT count(*) FROM users") == 2


def test_a_password_on_the_command_line_is_refused_because_ps_shows_it(data):
    result = run("user", "add", "--data", data, "maria", "--role", "lead", "--password", GOOD)
    assert result.exit_code != 0 and "ps" in result.output
    assert not database_path(data).exists() or count(data, "SELECT count(*) FROM users") == 0


def test_a_password_can_come_from_a_file(data, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text(GOOD + "\n")
    result = run("user", "add", "--data", data, "maria", "--role", "lead", "--password-file", secret)
    assert result.exit_code == 0, result.output
    assert check_password_hash(count(data, "SELECT password_hash FROM users"), GOOD)


def test_an_admin_lists_disables_enables_and_resets_users(data):
    assert add(data, "maria", "lead").exit_code == 0
    assert add(data, "ivo").exit_code == 0
    listing = run("user", "list", "--data", data)
    assert listing.exit_code == 0
    assert re.search(r"^ivo\s+inspector\s+active", listing.output, re.M), listing.output
    assert re.search(r"^maria\s+lead\s+active", listing.output, re.M)

    assert run("user", "disable", "--data", data, "Maria").exit_code == 0
    assert re.search(r"^maria\s+lead\s+disabled", run("user", "list", "--data", data).output, re.M)
    assert run("user", "enable", "--data", data, "maria").exit_code == 0
    assert re.search(r"^maria\s+lead\s+active", run("user", "list", "--data", data).output, re.M)

    weak = run("user", "password", "--data", data, "maria", env={"INSPECTOR_PASSWORD": "short"})
    assert weak.exit_code != 0 and "at least 12 characters" in weak.output
    changed = run("user", "password", "--data", data, "maria", input="a new long passphrase\n" * 2)
    assert changed.exit_code == 0, changed.output
    assert check_password_hash(count(data, "SELECT password_hash FROM users WHERE username = 'maria'"),
                               "a new long passphrase")
    assert run("user", "disable", "--data", data, "nobody").output.count("no user 'nobody'") == 1
    actions = [r[0] for r in connect(database_path(data)).conn.execute("SELECT action FROM audit ORDER BY id")]
    assert actions[-3:] == ["user.disabled", "user.enabled", "user.password_changed"]


def test_run_demo_installs_only_what_the_app_needs():
    """`./run demo` installs the package alone; the test tools (Playwright,
    pytest, ...) are the `test` extra that `./run test` installs."""
    script = (Path(__file__).parent.parent / "run").read_text()
    demo = script.split("  demo)", 1)[1].split(";;", 1)[0]
    test = script.split("  test)", 1)[1].split(";;", 1)[0]
    assert re.search(r"^\s+setup$", demo, re.M) and re.search(r"^\s+setup test$", test, re.M)


# --- looking into the database ------------------------------------------------------

@pytest.fixture
def seeded(seeded_db, data):
    """A copy of the seeded demo, with a live session (a cookie's token hashed)."""
    from inspector.domain import sessions
    from tests.helpers import copy_data_dir
    copy_data_dir(seeded_db, data)
    db = connect(database_path(data))
    sessions.start(db, 1)
    db.conn.close()
    return data


def test_db_tables_lists_the_tables_with_their_rows(seeded):
    result = run("db", "tables", "--data", seeded)
    assert result.exit_code == 0, result.output
    listed = dict(re.findall(r"^(\w+) +(\d+)", result.output, re.M))
    assert listed["users"] == str(len(DEMO_USERS)) and listed["standards"] == str(count(seeded, "SELECT count(*) FROM standards"))
    assert re.search(r"^sessions +1  \(not dumped\)$", result.output, re.M)
    assert "sqlite_sequence" not in listed


def test_db_dump_writes_a_table_as_csv_or_json(seeded):
    as_csv = run("db", "dump", "members", "--data", seeded)
    as_json = run("db", "dump", "members", "--data", seeded, "--format", "json")
    assert as_csv.exit_code == as_json.exit_code == 0, as_csv.output + as_json.output
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert rows == [{k: str(v) for k, v in row.items()} for row in json.loads(as_json.stdout)]
    db = connect(database_path(seeded))
    assert [(int(r["inspection_id"]), int(r["user_id"]), r["team_role"]) for r in rows] == [
        tuple(r) for r in db.conn.execute("SELECT inspection_id, user_id, team_role FROM members ORDER BY 1, 2")]


def test_db_dump_leaves_out_password_hashes_and_refuses_sessions(seeded):
    db = connect(database_path(seeded))
    secrets = [r[0] for r in db.conn.execute("SELECT password_hash FROM users")]
    secrets += [r[0] for r in db.conn.execute("SELECT id FROM sessions")]
    users = run("db", "dump", "users", "--data", seeded, "--format", "json")
    assert users.exit_code == 0, users.output
    assert [u["username"] for u in json.loads(users.stdout)] == DEMO_USERS
    assert "password_hash" not in users.stdout
    for table in ("sessions", "login_failures"):
        refused = run("db", "dump", table, "--data", seeded)
        assert refused.exit_code == 1 and refused.stdout == ""
        assert f"the {table} table is not dumped" in refused.output
    every = "".join(run("db", "dump", name, "--data", seeded).stdout
                    for name in re.findall(r"^(\w+) ", run("db", "tables", "--data", seeded).output, re.M))
    assert "Iris Clinical" in every and not [s for s in secrets if s in every]


@pytest.mark.parametrize("table", ["nope", "sqlite_sequence", "users; DROP TABLE users", "Users"])
def test_db_dump_refuses_a_table_it_does_not_know(seeded, table):
    result = run("db", "dump", table, "--data", seeded)
    assert result.exit_code == 1 and result.stdout == ""
    assert f"no table {table!r}: choose one of assignments, audit," in result.output
    assert count(seeded, "SELECT count(*) FROM users") == len(DEMO_USERS)


def test_db_commands_never_make_a_database(data):
    result = run("db", "tables", "--data", data)
    assert result.exit_code == 1 and "no inspector database" in result.output
    assert not database_path(data).exists()


def test_catalog_imports_and_user_changes_at_the_command_line_are_in_the_audit_trail(data):
    assert run("catalog", "import", "--data", data, FIXTURES / "good.csv", "--edition", "IEC 3").exit_code == 0
    assert add(data, "maria", "lead").exit_code == 0
    for command in ("disable", "enable"):
        assert run("user", command, "--data", data, "maria").exit_code == 0
    assert run("user", "password", "--data", data, "maria", env={"INSPECTOR_PASSWORD": "a new long passphrase"}
               ).exit_code == 0
    db = connect(database_path(data))
    try:
        made = [(r["action"], r["subject"], r["user_id"], r["device"]) for r in db.conn.execute(
            "SELECT * FROM audit WHERE action LIKE 'catalog.%' OR action LIKE 'user.%' ORDER BY id")]
        imported = json.loads(db.conn.execute("SELECT after FROM audit WHERE action = 'catalog.imported'").fetchone()[0])
    finally:
        db.conn.close()
    assert made == [("catalog.imported", "IEC 3", None, "cli"), ("user.created", "maria", None, "cli"),
                    ("user.disabled", "maria", None, "cli"), ("user.enabled", "maria", None, "cli"),
                    ("user.password_changed", "maria", None, "cli")]
    assert imported == {"catalog_id": 1, "source": "good.csv", "scale": "fact", "illustrative": False, "rows": 5}
    assert run("audit", "verify", "--data", data).exit_code == 0


def test_a_catalog_import_and_its_audit_record_commit_together(data):
    data.mkdir()
    db = connect(database_path(data))
    db.conn.execute("CREATE TRIGGER trail_refuses BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'no'); END")
    db.conn.close()
    assert run("catalog", "import", "--data", data, FIXTURES / "good.csv").exit_code != 0
    assert count(data, "SELECT count(*) FROM catalogs") == 0 and count(data, "SELECT count(*) FROM standards") == 0


# --- the first run talks ------------------------------------------------------------------

def test_a_busy_port_is_reported_with_the_next_free_one_before_anything_is_served(data):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("demo", "--data", data, "--port", str(port), "--password", "demo-passphrase")
    assert result.exit_code == 1
    assert f"port {port} is in use" in result.output and re.search(r"Try --port \d+\.", result.output)
    assert "running at" not in result.output and "Log in as" not in result.output  # nothing promised


def test_run_demo_help_installs_nothing_and_a_first_run_says_what_it_installs(tmp_path):
    import shutil
    import subprocess
    script = tmp_path / "run"
    shutil.copy(Path(__file__).parent.parent / "run", script)
    helped = subprocess.run(["bash", str(script), "demo", "--help"], capture_output=True, text=True, timeout=30)
    assert helped.returncode == 0 and "Usage: ./run demo" in helped.stdout and "--port N" in helped.stdout
    assert not (tmp_path / ".venv").exists()
    # A first run says what it installs and how long it takes before it starts
    # (here a Python that cannot make the virtual environment stops it at once).
    first = subprocess.run(["bash", str(script), "demo"], capture_output=True, text=True, timeout=30,
                           env={**os.environ, "PYTHON": "false"})
    assert first.returncode != 0
    assert "First run: installing the app into .venv" in first.stdout and "minutes" in first.stdout
