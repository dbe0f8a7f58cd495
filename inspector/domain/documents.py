"""Evidence documents the site attaches to its responses: PDF, JPEG or PNG,
recognised by their bytes (never by their name), limited in size, stored by
the hash of what is kept. Images are re-encoded without metadata like
evidence photos; a PDF is kept as sent once it is checked to be one, and is
only ever served as a download."""
import hashlib
import re

from . import photos

MAX_BYTES = 10 * 1024 * 1024
KINDS = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}


class DocumentError(ValueError):
    def __init__(self, message, status=400, code="bad_document"):
        super().__init__(message)
        self.status = status
        self.code = code


def _kind(raw):
    if raw.startswith(b"%PDF-"):
        return "pdf"
    if raw.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def check(raw):
    """(kind, bytes to keep) of an acceptable document, else DocumentError."""
    if len(raw) > MAX_BYTES:
        raise DocumentError(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB", 413, "too_large")
    if not raw:
        raise DocumentError("the file is empty", 400, "empty")
    kind = _kind(raw)
    if kind is None:
        raise DocumentError("only PDF, JPEG and PNG files are accepted (recognised by their content, "
                            "not their name)", 415, "not_a_document")
    if kind == "pdf":
        # A real PDF ends with its trailer; a truncated or disguised file does not.
        if b"%%EOF" not in raw[-2048:] or not re.match(rb"%PDF-\d\.\d", raw[:8]):
            raise DocumentError("the file starts like a PDF but is not a complete PDF", 415, "not_a_document")
        return kind, raw
    try:
        jpeg, _thumb, _w, _h = photos.clean(raw)
    except photos.PhotoError as exc:
        raise DocumentError(str(exc), exc.status, exc.code) from exc
    return "jpeg", jpeg


def store(db, data_dir, raw, filename, *, inspection_id=None, link_id=None):
    """Check and keep a document; returns its row (sha256, kind, bytes, filename).
    The upload is recorded in the audit trail, with the link that sent it."""
    kind, kept = check(raw)
    sha256 = hashlib.sha256(kept).hexdigest()
    path = blob_path(data_dir, sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        photos.write_atomically(path, kept)
    name = re.sub(r"[^A-Za-z0-9._ -]+", "_", filename or "")[:120].strip() or f"evidence.{kind}"
    db.conn.execute("INSERT OR IGNORE INTO documents (sha256, kind, bytes, filename) VALUES (?, ?, ?, ?)",
                    [sha256, kind, len(kept), name])
    from . import audit
    audit.record(db, "document.uploaded", inspection_id=inspection_id, link_id=link_id, subject=sha256,
                 device=f"link{link_id}" if link_id else "", after={"filename": name, "kind": kind, "bytes": len(kept)})
    return stored(db, sha256)


def stored(db, sha256):
    return db.conn.execute("SELECT * FROM documents WHERE sha256 = ?", [sha256]).fetchone()


def blob_path(data_dir, sha256):
    return photos.photo_dir(data_dir).parent / "documents" / sha256[:2] / sha256


def attached_to(db, inspection_id, sha256):
    """Whether the document is attached to a response of this inspection."""
    return db.conn.execute("SELECT 1 FROM response_documents WHERE inspection_id = ? AND sha256 = ? "
                           "AND attached = 1", [inspection_id, sha256]).fetchone() is not None
