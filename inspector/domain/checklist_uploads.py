"""Checklist files waiting between their preview and their import.

The preview and the import are two requests, which two server processes
(gunicorn's workers) may answer: nothing is kept in a process's memory. The
file waits in the data folder, named by its SHA-256, which the preview's
form carries back; the import reads it by that name, checks the bytes still
hash to it and checks the rows again. The admin does not choose the file
twice (a browser never fills a file control in again), and a form changed
in between can only name a file that was uploaded and is checked again.
"""
import hashlib
import os
import re
import tempfile
import time
from pathlib import Path

FOLDER = "checklist-uploads"
# An upload never imported (the admin closed the page) is deleted a day
# later, when the next one arrives.
KEEP_SECONDS = 24 * 3600
_DIGEST = re.compile(r"[0-9a-f]{64}\Z")


def keep(data_folder, raw):
    """Keep an uploaded file; its SHA-256 (hex), which names it."""
    folder = Path(data_folder) / FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    _prune(folder)
    digest = hashlib.sha256(raw).hexdigest()
    path = folder / digest
    if not path.exists():
        # Written beside it, then renamed: a reader never finds half a file.
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
        os.replace(temporary, path)
    return digest


def read(data_folder, digest):
    """The bytes kept under ``digest``, or None (not a digest, gone, or changed)."""
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        return None
    try:
        raw = (Path(data_folder) / FOLDER / digest).read_bytes()
    except FileNotFoundError:
        return None
    return raw if hashlib.sha256(raw).hexdigest() == digest else None


def discard(data_folder, digest):
    if isinstance(digest, str) and _DIGEST.match(digest):
        (Path(data_folder) / FOLDER / digest).unlink(missing_ok=True)


def _prune(folder):
    old = time.time() - KEEP_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < old:
                path.unlink()
        except FileNotFoundError:  # another process pruned it first
            continue
