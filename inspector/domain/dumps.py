"""Whole tables for operators (`inspector db tables`, `inspector db dump`),
read through sqlite-utils. Secrets never leave: two tables are refused
whole, and a user's password hash is left out of the users table."""
from sqlite_utils.db import quote_identifier

# Tables never dumped, with the reason the operator is told.
REFUSED = {
    "sessions": "its ids are the hashes of the tokens in live session cookies",
    "login_failures": "it holds the hashes of the usernames and addresses of failed logins",
}
# Columns never dumped, per table.
WITHHELD = {"users": {"password_hash"}}


def table_names(db):
    """Every table of the app, by name (SQLite's own, such as sqlite_sequence, left out)."""
    return sorted(name for name in db.table_names() if not name.startswith("sqlite_"))


def tables(db):
    """[(name, rows, why it is refused or None)] for every table of the app."""
    return [(name, db[name].count, REFUSED.get(name)) for name in table_names(db)]


def dump(db, table):
    """(columns, rows) of ``table`` for an operator: the columns it may see
    and an iterator of its rows as dicts, in primary key order. ValueError
    for a table that does not exist or is refused."""
    if table in REFUSED:
        raise ValueError(f"the {table} table is not dumped: {REFUSED[table]}")
    if table not in table_names(db):
        dumpable = ", ".join(name for name in table_names(db) if name not in REFUSED)
        raise ValueError(f"no table {table!r}: choose one of {dumpable}")
    columns = [c.name for c in db[table].columns if c.name not in WITHHELD.get(table, ())]
    order = ", ".join(quote_identifier(key) for key in db[table].pks)
    return columns, db[table].rows_where(select=", ".join(quote_identifier(c) for c in columns), order_by=order)
