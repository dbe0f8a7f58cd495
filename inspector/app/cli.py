"""The `inspector` command: serve, demo, users, catalogs, the audit trail, the database's tables."""
import contextlib
import csv
import json
import os
import secrets
import socket
import signal
import sys
from pathlib import Path

import click

from inspector.app import create_app, default_data_dir, private_data_dir, private_files, server
from inspector.domain import audit, backups, dumps, edition_maps, users
from inspector.domain import catalog as catalog_mod
from inspector.domain.db import connect, database_path, migrations_schema, release

data_option = click.option("--data", "data_dir", type=click.Path(file_okay=False), envvar="INSPECTOR_DATA",
                           default=default_data_dir, show_default="$INSPECTOR_DATA or ~/.local/share/inspector",
                           help="Folder for the SQLite file and the photos.")


def _open(data_dir):
    private_data_dir(data_dir)
    return connect(database_path(data_dir))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """inspector: offline-first field tool for IEC accreditation inspections."""
    private_files()


def _port_free(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As gunicorn binds: a port held only by closed connections (TIME_WAIT) is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _check_port(host, port):
    """For the demo: stop before its logins and links are printed when the
    port is taken, naming the next free one (gunicorn would retry for a
    while and fail after them). `inspector serve` does not ask: a restart
    relies on gunicorn's retries while the old server lets the port go."""
    if _port_free(host, port):
        return
    free = next((p for p in range(port + 1, min(port + 100, 65536)) if _port_free(host, p)), None)
    hint = f" Try --port {free}." if free else ""
    raise click.ClickException(f"port {port} is in use (another program, or inspector already running).{hint}")


def _serve(data_dir, host, port, cert=None, key=None, workers=server.DEFAULT_WORKERS,
           threads=server.DEFAULT_THREADS):
    # Served over https, the session cookie is never sent over plain http.
    config = {"DATA_DIR": str(data_dir), **({"SESSION_COOKIE_SECURE": True} if cert else {})}
    # Once here, before the workers start: the schema is brought up to date
    # and the secret key made. The workers build their own app after the
    # fork, so no connection crosses from one process to another.
    # No mail sender in this process: gunicorn forks it; each worker runs its own.
    release(create_app({**config, "MAIL_SENDER": False}))
    scheme = "https" if cert else "http"
    click.echo(f"inspector is running at {scheme}://{'localhost' if host in ('127.0.0.1', '0.0.0.0') else host}:{port}/"
               f" ({workers} processes x {threads} threads)")
    server.run(config, host=host, port=port, workers=workers, threads=threads, cert=cert, key=key)


tls_options = [
    click.option("--cert", type=click.Path(exists=True, dir_okay=False),
                 help="TLS certificate (PEM): serve https://, which tablets need for offline use."),
    click.option("--key", type=click.Path(exists=True, dir_okay=False), help="The certificate's private key (PEM)."),
]


server_options = [
    click.option("--workers", default=server.DEFAULT_WORKERS, show_default=True, type=click.IntRange(1),
                 help="Server processes."),
    click.option("--threads", default=server.DEFAULT_THREADS, show_default=True, type=click.IntRange(1),
                 help="Threads per process (a slow upload holds one)."),
]


def with_tls(command):
    for option in reversed(tls_options + server_options):
        command = option(command)
    return command


def _check_tls(cert, key):
    if bool(cert) != bool(key):
        raise click.UsageError("--cert and --key go together")


@main.command()
@data_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_tls
def serve(data_dir, host, port, cert, key, workers, threads):
    """Serve the app with gunicorn (https:// with --cert and --key)."""
    _check_tls(cert, key)
    _serve(data_dir, host, port, cert, key, workers, threads)


@main.command()
@data_option
@click.option("--password", envvar="INSPECTOR_DEMO_PASSWORD", help="Password for every demo user, "
              "12 characters or more (default: unchanged on a re-run; a new random one, printed, the first time).")
@click.option("--reset-password", is_flag=True, help="Give every demo user a new random password (printed).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only seed the demo data.")
@with_tls
def demo(data_dir, password, reset_password, host, port, no_serve, cert, key, workers, threads):
    """Seed demo data (users, an inspection, findings) and serve. A re-run keeps
    the demo users' passwords (only their hashes are stored, so it cannot print
    them) unless given --password or --reset-password."""
    from inspector.app.demo import USERS, missing_users, seed
    _check_tls(cert, key)
    if not no_serve:
        _check_port(host, port)  # before the logins and links are printed for a server that cannot start
    db = _open(data_dir)
    keep = not password and not reset_password and not missing_users(db)
    while not password and not keep:  # a new one for every demo user (a random one could hold "lead")
        password = secrets.token_urlsafe(12)
        password = None if any(users.password_problem(password, u) for u, _, _ in USERS) else password
    with _clear_errors():
        summary = seed(db, None if keep else password)
    db.conn.close()
    click.echo(f"Demo data in {Path(data_dir).resolve()}")
    click.echo(f"Inspections: {summary['site']} (FACT, merging findings: {summary['standards']} standards, illustrative "
               f"catalog); {summary['jacie_site']} (JACIE, in its corrections); "
               f"{summary['renewal']['program']} (its FACT renewal being prepared, the one before closed)")
    if keep:
        click.echo("Log in as any of these, password unchanged (use --reset-password for a new one):")
    else:
        click.echo("Log in as any of these (password for all: %s):" % password)
    for username, role in summary["users"]:
        click.echo(f"  {username:<11} {role}")
    from inspector.app.views.review import link_path
    # Built only for its secret key: released, and no mail sender, before the server forks.
    app = create_app({"DATA_DIR": str(data_dir), "MAIL_SENDER": False})
    secret = app.secret_key
    release(app)
    scheme = "https" if cert else "http"
    shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    click.echo("The site's review link (it opens once the lead presses Send draft citations to site):")
    click.echo(f"  {scheme}://{shown_host}:{port}{link_path(summary['link'], secret)}")
    click.echo("The JACIE centre's link (its corrections are open):")
    click.echo(f"  {scheme}://{shown_host}:{port}{link_path(summary['jacie_link'], secret)}")
    click.echo("The program's self-assessment link (its renewal, half done):")
    click.echo(f"  {scheme}://{shown_host}:{port}{link_path(summary['renewal']['link'], secret)}")
    click.echo("Mail the app sends waits in its outbox until a mail server is set (INSPECTOR_SMTP_URL, "
               "INSPECTOR_MAIL_FROM): log in as admin and open Emails to see it. To read it, run a local sink, e.g. "
               "`.venv/bin/python -m aiosmtpd -n -l localhost:8025` (pip install aiosmtpd), and start with "
               "INSPECTOR_SMTP_URL=smtp://localhost:8025 INSPECTOR_MAIL_FROM=inspector@localhost.")
    if not no_serve:
        _serve(data_dir, host, port, cert, key, workers, threads)


@main.group()
def user():
    """Manage users: add, list, disable, enable, change a password.

    \b
    Usernames are kept in one form (NFKC, lower case, no spaces around):
    letters of one script, digits and . _ -; a name that looks like an
    existing one is refused. Passwords: at least 12 characters, not
    containing the username, not a common password."""


def password_options(command):
    """The ways a password may be given, never as a command-line argument."""
    for option in reversed([
        click.option("--password-file", type=click.Path(exists=True, dir_okay=False),
                     help="Read the password from the first line of this file."),
        # Kept only to refuse it clearly: a password in the arguments is seen by
        # anyone on the machine (ps, /proc) and kept in shell history.
        click.option("--password", "password_argument", hidden=True),
    ]):
        command = option(command)
    return command


def _password(password_file, password_argument):
    """The password from --password-file, $INSPECTOR_PASSWORD or a prompt (asked twice)."""
    if password_argument is not None:
        raise click.UsageError("--password on the command line is visible to every user of this machine (ps) "
                               "and kept in shell history: type it at the prompt, or use --password-file FILE "
                               "or $INSPECTOR_PASSWORD.")
    if password_file:
        lines = Path(password_file).read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    if os.environ.get("INSPECTOR_PASSWORD"):
        return os.environ["INSPECTOR_PASSWORD"]
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@contextlib.contextmanager
def _clear_errors():
    # A refusal from the data layer is a message for the admin, not a traceback.
    try:
        yield
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@contextlib.contextmanager
def _unwinding_on_kill():
    """``kill`` (SIGTERM) unwinds like Ctrl-C, so a copy under way removes its
    temporary file (kill -9 cannot be caught: the next run removes it)."""
    def stop(signum, _frame):
        raise SystemExit(128 + signum)
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@user.command("add")
@data_option
@click.argument("username")
@click.option("--role", type=click.Choice(users.ROLES), required=True)
@click.option("--name", "display_name", help="Full name shown in the app.")
@click.option("--email", default="", help="Their email address, where password reset links go.")
@password_options
def user_add(data_dir, username, role, display_name, email, password_file, password_argument):
    """Add a user with a role: admin, lead, inspector or coordinator. The
    password is prompted for, or read from --password-file or
    $INSPECTOR_PASSWORD (on a server with mail, the Users page sends the user
    a link to choose their own instead)."""
    with _clear_errors():
        problem = users.email_problem(email)  # before asking for a password
        if problem:
            raise ValueError(problem)
    password = _password(password_file, password_argument)
    db = _open(data_dir)
    with _clear_errors():
        user_id = users.create(db, username, role, password, display_name, email=email)
    click.echo(f"Added {users.by_id(db, user_id)['username']} ({role}).")


@user.command("list")
@data_option
def user_list(data_dir):
    """List the users: name, role, whether they may log in (active, disabled,
    or no password yet: sent a link to set one), full name, email."""
    for row in users.everyone(_open(data_dir)):
        state = "disabled" if row["disabled_at"] else "active" if row["has_password"] else "no-password"
        click.echo(f"{row['username']:<20} {row['role']:<10} {state:<11} {row['display_name']:<24} {row['email']}"
                   .rstrip())


@user.command("disable")
@data_option
@click.argument("username")
def user_disable(data_dir, username):
    """Stop a user logging in and end their sessions (their work stays)."""
    with _clear_errors():
        users.disable(_open(data_dir), username)
    click.echo(f"Disabled {users.normalise_username(username)}: their sessions have ended.")


@user.command("enable")
@data_option
@click.argument("username")
def user_enable(data_dir, username):
    """Let a disabled user log in again."""
    with _clear_errors():
        users.enable(_open(data_dir), username)
    click.echo(f"Enabled {users.normalise_username(username)}.")


@user.command("password")
@data_option
@click.argument("username")
@password_options
def user_password(data_dir, username, password_file, password_argument):
    """Set a user's password (prompted, --password-file or $INSPECTOR_PASSWORD) and end their sessions."""
    db = _open(data_dir)
    with _clear_errors():
        if users.by_username(db, username) is None:  # before asking for a password
            raise ValueError(f"no user {users.normalise_username(username)!r}")
        users.set_password(db, username, _password(password_file, password_argument))
    click.echo(f"Changed the password of {users.normalise_username(username)}: their sessions have ended.")


@main.group()
def catalog():
    """Load and list checklist editions."""


@catalog.command("import")
@data_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--edition", help="Edition name (default: the file's name).")
@click.option("--scale", type=click.Choice(tuple(catalog_mod.SCALES)), default="fact", show_default=True,
              help="Verdict scale of the edition: fact = Compliant / Not compliant / Not applicable; "
                   "jacie = Compliant / Partially compliant / Uncompliant / Not applicable.")
def catalog_import(data_dir, file, edition, scale):
    """Import a catalog from CSV (code,parent,title,text,guidance,roles) or JSON. All or nothing."""
    db = _open(data_dir)
    try:
        catalog_id = catalog_mod.import_file(db, file, edition, scale=scale)
    except catalog_mod.CatalogError as exc:
        click.echo(f"Error: {exc}", err=True)
        click.echo("Nothing was imported.", err=True)
        sys.exit(1)
    count = catalog_mod.count_standards(db, catalog_id)
    click.echo(f"Imported {count} standards as edition {edition or Path(file).stem!r} "
               f"with the {scale.upper()} verdict scale.")


@catalog.command("list")
@data_option
def catalog_list(data_dir):
    """List the imported editions."""
    for row in catalog_mod.editions(_open(data_dir)):
        label = " (illustrative)" if row["illustrative"] else ""
        click.echo(f"{row['id']:>3}  {row['edition']}{label}: {row['standards']} standards, "
                   f"{row['scale'].upper()} verdicts")


@catalog.command("map")
@data_option
@click.argument("old")
@click.argument("new")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def catalog_map(data_dir, old, new, file):
    """Import the edition map from edition OLD to edition NEW (names, as
    `inspector catalog list` shows them): a CSV with the header
    old_code,new_code, one standard a line. All or nothing: every problem is
    listed with its line number and nothing is stored. A second map for the
    same two editions replaces the first.

    \b
    The earlier citations of a renewal on NEW are found again through it:
      inspector catalog map "IEC 3rd edition (illustrative, not the official text)" \\
        "IEC 3rd edition (illustrative v2, not the official text)" iec3_illustrative_v1_to_v2.csv"""
    db = _open(data_dir)
    try:
        stored, replaced = edition_maps.import_file(db, old, new, file)
    except edition_maps.MapError as exc:
        for problem in exc.problems:
            click.echo(f"Error: {problem}", err=True)
        click.echo("Nothing was imported.", err=True)
        sys.exit(1)
    click.echo(f"Imported the map of {stored} codes from {old!r} to {new!r}"
               + (f", in place of the earlier map of {replaced} codes." if replaced else "."))


@catalog.command("synthetic")
@click.option("--sections", default=12, show_default=True)
@click.option("--per-section", default=15, show_default=True)
@click.option("--children", default=3, show_default=True, help="Sub-standards under every third standard.")
def catalog_synthetic(sections, per_section, children):
    """Write a made-up catalog of any size as CSV to stdout (for benchmarks)."""
    catalog_mod.write_csv(catalog_mod.synthetic_rows(sections, per_section, children), sys.stdout)


@main.command()
@data_option
def rebuild(data_dir):
    """Rebuild findings from the op log, once the log is checked against the
    audit trail: a log changed behind the server's back is refused, not made real."""
    from sync import oplog, protocol
    db = _open(data_dir)
    problems = _evidence_problems(db)
    if problems:
        for line in problems:
            click.echo(line, err=True)
        click.echo("Nothing was rebuilt: the op log does not verify against the audit trail, and a rebuild would "
                   "make the changed log the findings. Restore a backup that verifies (inspector restore).", err=True)
        sys.exit(1)
    protocol.rebuild(db)
    click.echo("Findings rebuilt from %d ops." % oplog.count(db))


@main.group("db")
def db_group():
    """Look into the database: its tables and their rows (secrets left out)."""


@db_group.command("tables")
@data_option
def db_tables(data_dir):
    """List the tables with how many rows each holds."""
    for name, rows, refused in dumps.tables(_existing(data_dir)):
        click.echo(f"{name:<20} {rows:>9}" + ("  (not dumped)" if refused else ""))


@db_group.command("dump")
@data_option
@click.argument("table")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True,
              help="csv: a header, then a line per row; json: an array of objects.")
def db_dump(data_dir, table, fmt):
    """Write every row of TABLE to stdout. Never the secrets: the sessions
    and failed-logins tables are refused, users' password hashes left out."""
    with _clear_errors():
        columns, rows = dumps.dump(_existing(data_dir), table)
    out = sys.stdout
    if fmt == "csv":
        writer = csv.DictWriter(out, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    # One object a line, written as read: an audit trail of a year need not fit in memory.
    out.write("[")
    for n, row in enumerate(rows):
        out.write((",\n " if n else "") + json.dumps(row, ensure_ascii=False))
    out.write("]\n")


def _size(n):
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.0f} kB"


def _report(copied, verb):
    click.echo(f"{verb} the database: {_size(copied.database_bytes)}, {copied.ops} ops, "
               f"audit trail intact ({copied.audit_rows} rows, head {copied.audit_head})")
    for folder, (new, present) in copied.blobs.items():
        click.echo(f"{verb} {folder}/: {new} files ({present} already there)")
    if copied.secret_key:
        click.echo(f"{verb} secret_key: sessions and site-review links signed with it stay valid")


@main.command()
@data_option
@click.argument("dest", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Replace the backup DEST already holds.")
def backup(data_dir, dest, force):
    """Copy the data folder into DEST while the server runs: the database (one
    consistent moment, by SQLite's backup API), then photos/, documents/ and
    secret_key (sessions and review links are signed with it; keep the backup
    as private as the data)."""
    with _clear_errors(), _unwinding_on_kill():
        copied = backups.backup(data_dir, dest, force=force)
    _report(copied, "Copied")
    click.echo(f"Backup in {Path(dest).resolve()}")


@main.command()
@data_option
@click.argument("src", type=click.Path(exists=True, file_okay=False))
@click.option("--force", is_flag=True, help="Replace the database the data folder holds (stop the server first; "
                                            "the old file is kept beside, renamed).")
def restore(data_dir, src, force):
    """Bring the backup in SRC back into the data folder: checked (SQLite's
    integrity check, the audit trail) before it replaces anything."""
    with _clear_errors(), _unwinding_on_kill():
        copied = backups.restore(src, data_dir, force=force)
    _report(copied, "Restored")
    if copied.set_aside:
        click.echo(f"The database it replaced is kept as {copied.set_aside}")
    click.echo(f"Data folder {Path(data_dir).resolve()} is ready: start the server.")


@main.group("audit")
def audit_group():
    """Check the hash-chained audit trail."""


@audit_group.command("verify")
@data_option
@click.option("--head", "head_hash", metavar="HASH",
              help="A head printed earlier (on a final report): prove the history up to it is unchanged.")
def audit_verify(data_dir, head_hash):
    """Walk the audit trail and recompute every hash, then check every op in
    the log against the hash its audit record holds; exit 1 naming the first
    row altered, deleted or inserted out of place, or each op changed, removed
    or added in the log and each op record no server wrote."""
    db = _existing(data_dir)
    result = audit.verify(db, head_hash)
    failed = False
    if head_hash is not None:
        if result.head_row is None:
            click.echo(f"head {head_hash} is not in the audit trail: the history up to it was changed "
                       f"or removed", err=True)
            failed = True
        elif result.head_intact:
            click.echo(f"history up to {head_hash} is intact (row {result.head_row} of {result.rows})")
            if result.rows > result.head_row:
                # Appended rows, forged or not, are what the head cannot vouch for: say which.
                after = result.rows - result.head_row
                click.echo(f"{after} row{'s' * (after != 1)} written after that head (rows {result.head_row + 1} "
                           f"to {result.rows}): each should be a change you expect")
        else:
            click.echo(f"history up to {head_hash} is not intact (row {result.head_row} of {result.rows})",
                       err=True)
            failed = True
    if result.intact:
        click.echo(f"audit trail intact: {result.rows} rows, head {result.head}")
        checked = audit.verify_ops(db)
        if checked.intact:
            click.echo(f"op log matches the audit trail: {checked.ops} ops, each as its record holds it")
        else:
            for line in _op_problems(checked):
                click.echo(line, err=True)
            failed = True
    else:
        click.echo(f"audit trail broken at row {result.broken_at}: {result.reason}", err=True)
        click.echo("op log not checked: the audit trail it is checked against is broken", err=True)
        failed = True
    if failed:
        sys.exit(1)


def _op_problems(checked):
    """What ``audit.verify_ops`` found, as lines: each op named, the first hundred of them."""
    lines = [f"op log does not match the audit trail: {checked.total} problem{'s' * (checked.total != 1)}"]
    lines += [f"  {problem}" for problem in checked.problems]
    if checked.total > len(checked.problems):
        lines.append(f"  ... and {checked.total - len(checked.problems)} more")
    return lines


def _evidence_problems(db):
    """Lines saying why the audit trail or the op log does not verify; none when both do."""
    result = audit.verify(db)
    if not result.intact:
        return [f"audit trail broken at row {result.broken_at}: {result.reason}"]
    checked = audit.verify_ops(db)
    return [] if checked.intact else _op_problems(checked)


@audit_group.command("head")
@data_option
def audit_head(data_dir):
    """Print the audit trail's head hash (what a report prints)."""
    click.echo(audit.head(_existing(data_dir)))


SCHEMA_HEADER = """\
-- The database schema as the {count} migrations in inspector/domain/db.py make it.
-- Generated, do not edit: after adding a migration, run
--     .venv/bin/inspector schema > docs/schema.sql
-- (tests/test_schema.py fails until this file and the migrations agree).
-- Each table in name order, followed by its indexes and triggers.

"""


@main.command("schema")
def schema_command():
    """Print the database schema the migrations make: every CREATE statement,
    table by table (docs/schema.sql is this output)."""
    count, statements = migrations_schema()
    click.echo(SCHEMA_HEADER.format(count=count) + statements, nl=False)


def _existing(data_dir):
    # Checking a folder with no database must not create an empty one and call it intact.
    if not database_path(data_dir).is_file():
        raise click.ClickException(f"no inspector database in {data_dir}")
    return connect(database_path(data_dir))


if __name__ == "__main__":  # pragma: no cover
    main(prog_name=os.path.basename(sys.argv[0]))
