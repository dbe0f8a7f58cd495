"""Evidence documents the site attaches to its responses: PDF, JPEG or PNG,
recognised by their bytes (never by their name), limited in size, stored by
the hash of what is kept. Images are re-encoded without metadata like
evidence photos. A PDF must parse (pikepdf, on qpdf) and is kept as its pages
under a new catalog, without what could act when it is opened (JavaScript,
actions on open or on events, launch actions, embedded files, forms and
their XFA) and without its document metadata; it is only ever served as a
download.

The site never names a document by the hash of what it sent: the server
answers the upload with the stored row, and the evidence op names that row's
hash (the hash of the cleaned file)."""
import hashlib
import io
import re

import pikepdf

from . import photos
from .access import Refusal
from .photos import size_text

MAX_BYTES = 10 * 1024 * 1024
KINDS = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
# Every object of a PDF is checked: a scanned or written 1,000-page document
# has a few thousand to a few tens of thousands. 50,000 small objects take
# about 1.6 s of a core to check, and a file of 150,000 as long to refuse
# (measured on the development machine); a file made to stall it goes no further.
MAX_PDF_OBJECTS = 50_000
# Actions that only move within the document or follow a link the reader shows
# first; every other kind (JavaScript, Launch, SubmitForm, ImportData, GoToR,
# GoToE, Rendition, RichMediaExecute...) is removed wherever it is found.
SAFE_ACTIONS = ("/GoTo", "/URI", "/Named")
# Keys removed from every dictionary: scripts and actions run on events
# (/AA, /OpenAction), embedded files (/EF, the /EmbeddedFiles tree), XFA forms,
# rich media, and XMP metadata (author, software, dates: like a photo's EXIF).
REMOVED_KEYS = {"/AA", "/OpenAction", "/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/XFA",
                "/RichMediaContent", "/Metadata"}
# Annotations whose purpose is to carry a file, a script or media.
REMOVED_ANNOTATIONS = ("/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound", "/3D")


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
        return kind, clean_pdf(raw)
    try:
        jpeg, _thumb, _w, _h = photos.clean(raw)
    except photos.PhotoError as exc:
        raise DocumentError(str(exc), exc.status, exc.code) from exc
    return "jpeg", jpeg


def store(db, data_dir, kind, kept, filename, *, inspection_id=None, link_id=None):
    """Keep a document that ``check`` accepted (its kind and the bytes to keep);
    returns its row (sha256, kind, bytes, filename). The upload is recorded in
    the audit trail, with the link that sent it."""
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


def clean_pdf(raw):
    """The bytes to keep of a PDF: its pages under a new catalog (none of the
    original's outline, forms, name trees, open action or metadata), with
    every active or embedded part removed. DocumentError if it does not
    parse, has no page, or is too complex to check."""
    try:
        with pikepdf.open(io.BytesIO(raw)) as pdf:
            objects = list(pdf.objects)
            if len(objects) > MAX_PDF_OBJECTS:
                raise DocumentError(f"the PDF is made of too many parts (more than {MAX_PDF_OBJECTS:,}): print it "
                                    f"to a new PDF, or split it in two", 413, "too_complex")
            if len(pdf.pages) == 0:
                raise ValueError("no pages")
            pdf.trailer.Root = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Catalog,
                                                                    Pages=pdf.Root.Pages))
            if "/Info" in pdf.trailer:
                del pdf.trailer["/Info"]
            for page in pdf.pages:
                annotations = page.obj.get("/Annots")
                if isinstance(annotations, pikepdf.Array):
                    page.obj.Annots = pikepdf.Array(
                        [a for a in annotations if not isinstance(a, pikepdf.Dictionary)
                         or a.get("/Subtype") not in REMOVED_ANNOTATIONS])
            for obj in objects:
                _disarm(obj)
            out = io.BytesIO()
            # Only what the new catalog reaches is written. Streams are copied
            # as they are, never decoded: a compressed bomb stays a few bytes.
            # A deterministic /ID: the same upload is kept under the same hash.
            pdf.save(out, encryption=False, deterministic_id=True,
                     stream_decode_level=pikepdf.StreamDecodeLevel.none)
    except DocumentError:
        raise
    except pikepdf.PasswordError as exc:
        raise DocumentError("the PDF is protected by a password: send it without one", 415,
                            "not_a_document") from exc
    except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
        # qpdf repairs what it can; what it cannot read at all, or a "PDF"
        # with no page in it, is not a document. (RuntimeError: RecursionError
        # too, from a structure nested deeper than Python's stack.)
        raise DocumentError("the file starts like a PDF but could not be read as one", 415,
                            "not_a_document") from exc
    return out.getvalue()


_CONTAINERS = (pikepdf.ObjectType.array, pikepdf.ObjectType.dictionary)


def _direct_container(value):
    return isinstance(value, pikepdf.Object) and value._type_code in _CONTAINERS and not value.is_indirect


def _disarm(obj):
    """Remove active content from ``obj`` and the direct objects inside it
    (indirect ones are visited on their own, from the document's object list)."""
    kind = obj._type_code if isinstance(obj, pikepdf.Object) else None
    if kind == pikepdf.ObjectType.array:
        for item in obj:
            if _direct_container(item):
                _disarm(item)
        return
    if kind not in (pikepdf.ObjectType.dictionary, pikepdf.ObjectType.stream):
        return
    keys = obj.keys()
    for key in keys & REMOVED_KEYS:
        del obj[key]
    if "/A" in keys:
        action = obj.get("/A")
        if not isinstance(action, pikepdf.Dictionary) or action.get("/S") not in SAFE_ACTIONS:
            del obj["/A"]
        elif "/Next" in action:
            del action["/Next"]  # a safe action may chain to any other: the chain goes
    for key in keys - REMOVED_KEYS:
        value = obj.get(key)
        if _direct_container(value):
            _disarm(value)


def quota_refusal(link, kept_bytes, quota):
    """Why ``link`` may not store ``kept_bytes`` more of documents under its
    ``quota`` (documents, bytes kept), or None: every document it stored
    counts, by the size kept (whatever the link's purpose)."""
    max_documents, max_bytes = quota
    if link["documents_uploaded"] + 1 > max_documents:
        return Refusal("quota_documents", f"This link has attached its limit of {max_documents} documents: "
                                          f"ask the lead inspector if you need to send more.")
    if link["document_bytes"] + kept_bytes > max_bytes:
        return Refusal("quota_bytes", f"This link has attached its limit of {size_text(max_bytes)} of documents: "
                                      f"ask the lead inspector if you need to send more.")
    return None
