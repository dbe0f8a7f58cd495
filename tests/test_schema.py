"""The current schema is readable in one place: docs/schema.sql, made by
`inspector schema` from the migrations, and kept equal to them here."""
import difflib
import sqlite3
from pathlib import Path

import sqlite_utils
from click.testing import CliRunner

from inspector.app.cli import main
from inspector.domain import db as db_module
from inspector.domain.db import schema

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "schema.sql"
REGENERATE = ".venv/bin/inspector schema > docs/schema.sql"


def generated():
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_checked_in_schema_is_what_the_migrations_make():
    made, kept = generated(), SCHEMA_FILE.read_text(encoding="utf-8")
    if made != kept:
        diff = "".join(list(difflib.unified_diff(kept.splitlines(True), made.splitlines(True),
                                                 "docs/schema.sql", "the migrations"))[:40])
        raise AssertionError(f"docs/schema.sql is not what the migrations make: regenerate it with\n"
                             f"    {REGENERATE}\n\n{diff}")


def test_a_new_migration_shows_in_the_schema(monkeypatch):
    """The check above can fail: a migration added later changes the output,
    and its table comes in name order (last, named zz_), its index after it."""
    before = generated()
    monkeypatch.setattr(db_module, "MIGRATIONS", [*db_module.MIGRATIONS, """
        CREATE TABLE zz_later (id INTEGER PRIMARY KEY, inspection_id INTEGER NOT NULL);
        CREATE INDEX zz_later_inspection ON zz_later(inspection_id);
    """])
    after = generated()
    assert after != before
    assert f"the {len(db_module.MIGRATIONS)} migrations" in after
    statements = [s.strip() for s in after.split(";\n") if s.strip().startswith("CREATE")]
    assert statements[-2:] == ["CREATE TABLE zz_later (id INTEGER PRIMARY KEY, inspection_id INTEGER NOT NULL)",
                               "CREATE INDEX zz_later_inspection ON zz_later(inspection_id)"]


def test_the_file_is_the_schema_itself():
    """Run on an empty database, docs/schema.sql makes the same schema: the
    tidying of indents lost nothing."""
    empty = sqlite_utils.Database(sqlite3.connect(":memory:"))
    empty.conn.executescript(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema(empty) == db_module.migrations_schema()[1]
