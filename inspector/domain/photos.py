"""Evidence photos: verify, clean and store them by hash.

Photos taken in hospitals can show patients, so the server never keeps what
the device sent as is: it checks the bytes hash to the name they were sent
under, that they are really a JPEG or PNG within size and pixel limits, turns
them upright by their EXIF orientation, and re-encodes them without any
metadata (GPS, camera, time). The blob is stored under the hash the client
computed, which is the name ops use to attach it.
"""
import hashlib
import io
import os
import re
import warnings
from pathlib import Path

from PIL import ExifTags, Image, UnidentifiedImageError

from .db import joined_transaction

MAX_BYTES = 15 * 1024 * 1024          # a 2048 px JPEG is well under 2 MB
MAX_PIXELS = 40_000_000               # a 12 MP camera photo is 12_000_000
ALLOWED_FORMATS = {"JPEG", "PNG"}
THUMB_SIZE = 320
QUALITY = 88
SHA256 = re.compile(r"^[0-9a-f]{64}\Z")
# Keep a few of Pillow's 16 MiB pixel blocks for reuse (off by default): a
# 12 MP photo page-faulted 36-48 MB of fresh memory on every upload. Eight
# blocks bound what stays held at 128 MiB per process.
Image.core.set_blocks_max(8)


class PhotoError(ValueError):
    """A photo the server refuses; ``status`` is the HTTP status to answer."""

    def __init__(self, message, status=400, code="bad_photo"):
        super().__init__(message)
        self.status = status
        self.code = code


def photo_dir(data_dir):
    return Path(data_dir) / "photos"


def blob_path(data_dir, sha256, thumb=False):
    return photo_dir(data_dir) / sha256[:2] / f"{sha256}{'.thumb' if thumb else ''}.jpg"


def size_text(n):
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    return f"{n / 1024:.3g} KB" if n >= 1024 else f"{n} bytes"


def _check_size(raw):
    if len(raw) > MAX_BYTES:
        raise PhotoError(f"the photo is larger than {size_text(MAX_BYTES)}; it is not stored, and sending "
                         f"it again will not help: downscale it first", 413, "too_large")


def clean(raw):
    """Return (jpeg_bytes, thumb_bytes, width, height) of a checked, upright,
    metadata-free copy of ``raw``; raise PhotoError if it is not acceptable."""
    _check_size(raw)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=sorted(ALLOWED_FORMATS))
            if image.format not in ALLOWED_FORMATS:
                raise PhotoError("only JPEG and PNG photos are accepted", 415, "not_an_image")
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise PhotoError(f"the photo has {width}x{height} pixels, more than the "
                                 f"{MAX_PIXELS // 1_000_000} megapixel limit", 413, "too_many_pixels")
            image.load()
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError("the photo is a decompression bomb (too many pixels)", 413, "too_many_pixels") from exc
    except UnidentifiedImageError as exc:
        raise PhotoError("the file is not a JPEG or PNG image", 415, "not_an_image") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise PhotoError("the image is damaged or truncated", 400, "damaged_image") from exc
    method = _transpose_of(image)
    # Full-size images first, then the small ones, freed smallest first: see
    # _upright_and_thumbnail. The order is what keeps this fast.
    return _upright_and_thumbnail(image, method)


def _upright_and_thumbnail(image, method):
    """Encode ``image`` turned by ``method`` and its thumbnail; return
    (jpeg_bytes, thumb_bytes, width, height).

    Pillow's block cache (set_blocks_max above) hands out freed pixel blocks
    last in, first out, and resizes a block that does not fit (a realloc:
    shrinking a 16 MiB block for a thumbnail gives its pages back, growing it
    again for the next photo page-faults them anew). Allocating the full-size
    images first, the thumbnail's small ones after, and freeing in the
    reverse order puts every block back where the next photo of the same size
    asks for it: a 12 MP photo faulted 33 MB of fresh pages per upload
    before (8.5k page faults; 3k, a whole image, at 2048 px), none now."""
    full = image.convert("RGB") if image.mode not in ("RGB", "L") else image  # JPEG: no alpha, no palette
    upright = full.transpose(method) if method is not None else full
    # Pillow's JPEG writer copies some of ``info`` into the file even when not
    # asked to (the COM comment, where a camera or app may have typed a
    # patient's name): drop all of it, so only pixels are written.
    upright.info = {}
    out = io.BytesIO()
    upright.save(out, "JPEG", quality=QUALITY, optimize=False)
    # The thumbnail from a box-reduced copy of the upright pixels (one read of
    # the full image, a few hundred pixels written), then a small resize to
    # exactly THUMB_SIZE.
    factor = max(1, max(upright.size) // THUMB_SIZE)
    thumb = upright.reduce(factor) if factor > 1 else upright.copy()
    thumb.thumbnail((THUMB_SIZE, THUMB_SIZE))
    thumb.info = {}
    thumb_out = io.BytesIO()
    thumb.save(thumb_out, "JPEG", quality=80)
    width, height = upright.size
    del thumb, upright, full  # smallest first; the decoded image goes last, with clean()'s frame
    return out.getvalue(), thumb_out.getvalue(), width, height


# EXIF Orientation -> the transpose that shows the picture upright.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _transpose_of(image):
    """The transpose that turns ``image`` upright by its EXIF orientation, or
    None. Unlike ImageOps.exif_transpose this never re-serialises the EXIF
    block (which raises on malformed EXIF, and which is thrown away anyway);
    an orientation that cannot be read counts as upright."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # noqa: BLE001 - malformed EXIF must not refuse or crash the upload
        orientation = 1
    return _TRANSPOSE.get(orientation) if isinstance(orientation, int) else None


def store(db, data_dir, user_id, sha256, raw):
    """Verify and store a photo sent under ``sha256``. Idempotent: a blob
    already stored is only recorded as uploaded by this user too.

    The slow part (decoding, turning, re-encoding: about 0.3 s for a camera
    photo) and the blob writes happen before the write lock is taken; only
    the rows are written in a transaction, so pushes never queue behind
    uploads (24 large uploads at once had pushes wait 740 ms, median)."""
    # Size first: a body sent without Content-Length and cut at the server's
    # limit would otherwise look like a damaged upload, which the client
    # retries for ever, instead of one that is too large.
    _check_size(raw)
    if hashlib.sha256(raw).hexdigest() != sha256:
        raise PhotoError("the bytes received do not match the sha256 in the address "
                         "(a truncated or altered upload); send it again", 400, "hash_mismatch")
    cleaned = None
    if stored(db, sha256) is None:
        # Two uploads of one photo at once both get here and write the same
        # bytes under the same name (atomically); the row is inserted once.
        jpeg, thumb, width, height = clean(raw)
        path = blob_path(data_dir, sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, jpeg)
        write_atomically(blob_path(data_dir, sha256, thumb=True), thumb)
        cleaned = (len(jpeg), width, height)
    from . import audit
    with joined_transaction(db):
        if cleaned is not None:
            db.conn.execute("INSERT OR IGNORE INTO photos (sha256, bytes, width, height) VALUES (?, ?, ?, ?)",
                            [sha256, *cleaned])
        if db.conn.execute("INSERT OR IGNORE INTO photo_uploads (sha256, user_id) VALUES (?, ?)",
                           [sha256, user_id]).rowcount:
            audit.record(db, "photo.uploaded", user_id=user_id, subject=sha256,
                         after={"bytes": stored(db, sha256)["bytes"]})
    return stored(db, sha256)


def stored(db, sha256):
    """The verified photo's row (bytes, width, height), or None."""
    return db.conn.execute("SELECT * FROM photos WHERE sha256 = ?", [sha256]).fetchone()


def uploaded_by(db, sha256, user_id):
    return db.conn.execute("SELECT 1 FROM photo_uploads WHERE sha256 = ? AND user_id = ?",
                           [sha256, user_id]).fetchone() is not None


def uploaded_among(db, user_id, hashes):
    """Which of ``hashes`` this user has uploaded (and the server verified)."""
    hashes = sorted(set(hashes))
    if not hashes:
        return set()
    marks = ",".join("?" * len(hashes))
    return {r[0] for r in db.conn.execute(
        f"SELECT sha256 FROM photo_uploads WHERE user_id = ? AND sha256 IN ({marks})", [user_id, *hashes])}


def write_atomically(path, data):
    # A crash mid-write must never leave a half photo under a verified name.
    tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
