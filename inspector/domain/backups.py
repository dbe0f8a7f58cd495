"""Backups of a data folder, taken while the server runs, and restoring one.

A backup is a folder shaped like a data folder: ``inspector.sqlite3`` (one
file, copied by SQLite's online backup API, so it is one consistent moment
however many writers are at work), ``photos/`` and ``documents/`` (stored by
hash), and ``secret_key`` (sessions and site-review links are signed with it;
without it every session ends and every review link stops working).

The blobs are copied after the database: a blob the copied database refers
to was on disk before the copy began, so it is in the backup; a blob written
meanwhile is copied too or not, and is harmless either way.
"""
import contextlib
import os
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from . import audit, chain
from .db import MIGRATIONS, database_path

BLOB_FOLDERS = ("photos", "documents")
SECRET_KEY = "secret_key"


class BackupError(ValueError):
    """A backup or restore refused, with the reason for the admin."""


@dataclass
class Copied:
    """What a backup or restore copied."""
    database_bytes: int = 0
    ops: int = 0
    audit_rows: int = 0
    audit_head: str = ""
    blobs: dict = field(default_factory=dict)  # folder -> (copied now, already there)
    secret_key: bool = False
    set_aside: Path = None  # the database a forced restore replaced


def holds_database(folder):
    return database_path(folder).is_file()


def _copy_database(source, target):
    """Copy the SQLite file ``source`` into a new file ``target`` with the
    backup API (a consistent snapshot while others write), as one file."""
    target.unlink(missing_ok=True)  # what a run killed mid-copy (kill -9) left
    with contextlib.closing(sqlite3.connect(str(source), timeout=30)) as src, \
            contextlib.closing(sqlite3.connect(str(target))) as dst:
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)  # in one step: one read transaction, writers carry on (WAL)
        # One self-contained file: no -wal beside it to lose on the way.
        dst.execute("PRAGMA journal_mode=DELETE")
        _fsync(target)


def check(path):
    """(ops, audit verification) of the database at ``path``; BackupError
    if SQLite finds it damaged, its audit trail is broken or its op log does
    not match the trail."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        conn.row_factory = sqlite3.Row
        try:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as exc:  # not a database at all
            raise BackupError(f"{path} is damaged: {exc}") from exc
        if problems != ["ok"]:
            raise BackupError(f"{path} is damaged: " + "; ".join(problems[:5]))
        result = audit.verify(sqlite_utils.Database(conn))
        if not result.intact:
            raise BackupError(f"{path}: audit trail broken at row {result.broken_at}: {result.reason}")
        # A copy from before the op log was sealed is sealed when it is next opened.
        if conn.execute("PRAGMA user_version").fetchone()[0] > MIGRATIONS.index(chain.seal_op_log):
            checked = audit.verify_ops(sqlite_utils.Database(conn))
            if not checked.intact:
                more = f" (and {checked.total - 1} more)" if checked.total > 1 else ""
                raise BackupError(f"{path}: the op log does not match the audit trail: {checked.problems[0]}{more}")
        ops = conn.execute("SELECT count(*) FROM ops").fetchone()[0]
    return ops, result


def _copy_blobs(source_root, target_root, copied):
    """Copy the files of each blob folder not already in the target."""
    for folder in BLOB_FOLDERS:
        new = present = 0
        source = Path(source_root) / folder
        for path in sorted(source.rglob("*")) if source.is_dir() else ():
            if not path.is_file() or path.name.endswith(".tmp"):  # a write in progress
                continue
            target = Path(target_root) / folder / path.relative_to(source)
            if target.exists():  # stored by hash: same name, same bytes
                present += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".copying.tmp")
            try:
                shutil.copyfile(path, tmp)
                _fsync(tmp)
                os.replace(tmp, target)
            except BaseException:  # a full disk, Ctrl-C, kill
                tmp.unlink(missing_ok=True)
                raise
            new += 1
        copied.blobs[folder] = (new, present)


def _copy_secret_key(source_root, target_root, copied, replace):
    source, target = Path(source_root) / SECRET_KEY, Path(target_root) / SECRET_KEY
    if not source.is_file() or (target.exists() and not replace):
        return
    tmp = target.with_name(SECRET_KEY + ".copying.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(source.read_bytes())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    copied.secret_key = True


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(data_dir, dest, force=False):
    """Copy the data folder ``data_dir`` into ``dest`` while the server runs."""
    source = database_path(data_dir)
    if not source.is_file():
        raise BackupError(f"no inspector database in {data_dir}")
    dest = Path(dest)
    if holds_database(dest) and not force:
        raise BackupError(f"{dest} already holds a backup; pass --force to replace it")
    if dest.resolve() == Path(data_dir).resolve():
        raise BackupError("the backup must go to another folder than the data folder")
    dest.mkdir(parents=True, exist_ok=True)
    copied = Copied()
    tmp = dest / "inspector.sqlite3.copying.tmp"
    try:
        _copy_database(source, tmp)
        copied.ops, result = check(tmp)
        copied.audit_rows, copied.audit_head = result.rows, result.head
        copied.database_bytes = tmp.stat().st_size
        os.replace(tmp, database_path(dest))
    except BaseException:  # a damaged copy, a full disk, Ctrl-C, kill (cli.py makes SIGTERM unwind)
        tmp.unlink(missing_ok=True)
        raise
    _copy_blobs(data_dir, dest, copied)  # after the database: see the module's docstring
    _copy_secret_key(data_dir, dest, copied, replace=True)
    return copied


def restore(src, data_dir, force=False):
    """Bring the backup in ``src`` back into ``data_dir``. Refuses a data folder
    that holds a database unless ``force``; then that database is kept beside,
    renamed. Stop the server first: it would go on writing to the old file."""
    src, data_dir = Path(src), Path(data_dir)
    if not holds_database(src):
        raise BackupError(f"no backup in {src} (no {database_path(src).name})")
    target = database_path(data_dir)
    if target.is_file() and not force:
        raise BackupError(f"{data_dir} already holds a database; stop the server and pass --force to replace it "
                          f"(the current one is kept beside it, renamed)")
    data_dir.mkdir(parents=True, exist_ok=True)
    copied = Copied()
    tmp = data_dir / "inspector.sqlite3.restoring.tmp"
    try:
        _copy_database(database_path(src), tmp)
        copied.ops, result = check(tmp)
    except sqlite3.DatabaseError as exc:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"{database_path(src)} is damaged: {exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    copied.audit_rows, copied.audit_head = result.rows, result.head
    copied.database_bytes = tmp.stat().st_size
    # The blobs first: once the database is in place, everything it names is there.
    _copy_blobs(src, data_dir, copied)
    if target.is_file():
        try:
            copied.set_aside = _set_aside(target)
        except BackupError:
            tmp.unlink(missing_ok=True)
            raise
    _copy_secret_key(src, data_dir, copied, replace=force)
    os.replace(tmp, target)
    _fsync(data_dir)
    return copied


def _set_aside(target):
    """Rename the database a forced restore replaces, with its WAL folded in
    first: a -wal left beside the restored file would be replayed into it."""
    with contextlib.closing(sqlite3.connect(str(target), timeout=5)) as conn:
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            # Leaving WAL mode needs the only connection: a running server holds others.
            mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.OperationalError as exc:
            mode = str(exc)
        if mode != "delete":
            raise BackupError(f"{target} is in use ({mode}): stop the server before restoring")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = target.with_name(f"{target.name}.before-restore-{stamp}")
    os.replace(target, aside)
    for suffix in ("-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    return aside
