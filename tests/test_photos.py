"""Evidence photos: what the server keeps of an upload (upright, no metadata,
a thumbnail), what it refuses and how, who may read a photo, and that photo
bytes and notes never reach the log.

Uploads go through the real endpoint PUT /sync/photos/<sha256>; a few checks
call inspector.domain.photos directly. The fixture JPEGs come from
tests/fixtures/make_photos.py (run it to recreate them).
"""
import hashlib
import importlib.util
import io
import logging
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageFile, ImageOps, ImageStat
from PIL.PngImagePlugin import PngInfo

from inspector.domain import photos
from tests.helpers import SYNC, Device, demo_photo_hashes, push

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
_spec = importlib.util.spec_from_file_location("make_photos", HERE / "fixtures" / "make_photos.py")
make_photos = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_photos)

ROTATED = HERE / "fixtures" / "photos" / "gps_rotated.jpg"
UPRIGHT = HERE / "fixtures" / "photos" / "gps_upright.jpg"
STANDARD = "B2.1"  # in a section of inspector1's, not of inspector2's


# --- helpers -----------------------------------------------------------------

def sha(raw):
    return hashlib.sha256(raw).hexdigest()


def upload(client, raw, name=None, **kw):
    return client.put(f"/sync/photos/{name or sha(raw)}", data=raw, headers=SYNC, **kw)


def png_bytes(size=(64, 48), colour=(0, 128, 0), mode="RGB"):
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, "PNG")
    return out.getvalue()


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width, height):
    """A real, complete 1-bit greyscale PNG of width x height black pixels.
    It is a few tens of KB, but Pillow would decode it to width*height bytes
    (20000x20000 -> 400 MB). Built row by row, so making it costs no memory."""
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def declared_size_png(width, height):
    """A small PNG whose IHDR is patched to declare width x height."""
    raw = bytearray(png_bytes((1, 1)))
    assert raw[12:16] == b"IHDR"
    raw[16:24] = struct.pack(">II", width, height)
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])))
    return bytes(raw)


DEMO_PHOTOS = demo_photo_hashes()  # the demo's own evidence photos, already stored


def photo_rows(db, digest=None):
    """Verified photos: this one, or all of them beside the demo's."""
    if digest is None:
        return sum(1 for r in db.conn.execute("SELECT sha256 FROM photos") if r[0] not in DEMO_PHOTOS)
    return db.conn.execute("SELECT count(*) FROM photos WHERE sha256 = ?", [digest]).fetchone()[0]


def stored_files(data_dir):
    """Files in the photo store beside the demo's photos (temp files included)."""
    folder = photos.photo_dir(data_dir)
    return sorted(p.relative_to(folder) for p in folder.rglob("*")
                  if p.is_file() and p.name.split(".")[0] not in DEMO_PHOTOS) if folder.exists() else []


def assert_nothing_stored(db, data_dir, digest):
    assert photo_rows(db, digest) == 0
    assert db.conn.execute("SELECT count(*) FROM photo_uploads WHERE sha256 = ?", [digest]).fetchone()[0] == 0
    assert not photos.blob_path(data_dir, digest).exists()
    assert not photos.blob_path(data_dir, digest, thumb=True).exists()
    assert stored_files(data_dir) == [], "a refused photo left files (or temp files) behind"


def attach(client, inspection_id, digest, attached=True, device=None):
    op = (device or Device()).op(inspection_id, STANDARD, "photo", {"sha256": digest, "attached": attached})
    response = push(client, [op])
    assert response.status_code == 200, response.json
    return response.json["results"][0]


def is_red(pixel):
    r, g, b = pixel[:3]
    return r > 200 and g < 60 and b < 60


def is_white(pixel):
    return all(c > 200 for c in pixel[:3])


# --- the fixtures themselves ---------------------------------------------------

def test_fixture_files_are_what_the_tests_and_browser_tests_expect(tmp_path):
    # Regenerating gives valid files under the same names.
    written = make_photos.main(tmp_path)
    assert sorted(p.name for p in written) == ["gps_rotated.jpg", "gps_upright.jpg"]
    for path, orientation in ((ROTATED, 6), (UPRIGHT, 1)):
        assert path.exists(), "run tests/fixtures/make_photos.py"
        assert path.stat().st_size < 60_000
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.size == (640, 480)
            exif = image.getexif()
            assert exif[0x0112] == orientation
            assert exif[0x010F] == make_photos.MAKE
            gps = exif.get_ifd(0x8825)
            assert gps[1] == "N" and gps[2] == (51, 30, 26.0) and gps[4] == (0, 7, 39.0)
            assert exif.get_ifd(0x8769)[0x9003] == make_photos.DATETIME
            assert is_red(image.getpixel((10, 10))) and is_white(image.getpixel((630, 10)))


# --- what is stored ------------------------------------------------------------

def test_a_rotated_jpeg_with_gps_is_stored_upright_without_any_metadata(as_user, data_dir, db):
    raw = ROTATED.read_bytes()
    assert b"Exif" in raw and make_photos.MAKE.encode() in raw  # the fixture does carry it
    digest = sha(raw)
    response = upload(as_user("inspector1"), raw)
    assert response.status_code == 201, response.json
    assert response.json == {"sha256": digest, "width": 480, "height": 640,
                             "bytes": photos.blob_path(data_dir, digest).stat().st_size}

    stored = photos.blob_path(data_dir, digest).read_bytes()
    for marker in (b"Exif", make_photos.MAKE.encode(), make_photos.MODEL.encode(), b"2026:03:14", b"FixtureCam"):
        assert marker not in stored, marker
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert len(image.getexif()) == 0
        assert "exif" not in image.info and "comment" not in image.info and "xmp" not in image.info
        assert image.getexif().get_ifd(0x8825) == {}
        # Displayed upright: 480 wide, 640 tall, and the block drawn in the
        # stored top-left corner is now top-right (orientation 6 = turn 90 CW).
        assert image.size == (480, 640)
        rgb = image.convert("RGB")
        assert is_red(rgb.getpixel((470, 10))) and is_red(rgb.getpixel((400, 100)))
        for corner in ((10, 10), (10, 630), (470, 630)):
            assert not is_red(rgb.getpixel(corner)), corner
        # the stored bottom edge (blue bar) is now the left edge
        r, g, b = rgb.getpixel((10, 320))
        assert b > 200 and r < 60

    thumb = photos.blob_path(data_dir, digest, thumb=True)
    assert thumb.exists()
    with Image.open(thumb) as small:
        assert max(small.size) <= photos.THUMB_SIZE and small.size[1] > small.size[0]
        assert len(small.getexif()) == 0 and "exif" not in small.info
        assert is_red(small.convert("RGB").getpixel((small.size[0] - 5, 5)))
    assert b"Exif" not in thumb.read_bytes()

    row = db.conn.execute("SELECT width, height, bytes FROM photos WHERE sha256 = ?", [digest]).fetchone()
    assert tuple(row) == (480, 640, len(stored))


def test_an_upright_jpeg_keeps_its_shape_and_loses_its_gps(as_user, data_dir):
    raw = UPRIGHT.read_bytes()
    response = upload(as_user("inspector1"), raw)
    assert response.status_code == 201, response.json
    stored = photos.blob_path(data_dir, sha(raw)).read_bytes()
    assert b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (640, 480) and len(image.getexif()) == 0
        assert is_red(image.convert("RGB").getpixel((10, 10)))


def test_a_jpeg_comment_is_not_kept():
    # Pillow copies a JPEG's COM marker into any JPEG it saves from it unless
    # told otherwise; a camera or app may have put a patient's name there.
    raw = make_photos.jpeg_bytes(orientation=6, comment=b"patient J. Smith bed 4")
    jpeg, thumb, width, height = photos.clean(raw)
    assert (width, height) == (480, 640)
    for blob in (jpeg, thumb):
        assert b"Smith" not in blob
        with Image.open(io.BytesIO(blob)) as image:
            assert "comment" not in image.info


def test_a_png_is_accepted_and_stored_as_a_clean_jpeg(as_user, data_dir, db):
    image = Image.new("RGBA", (300, 200), (0, 0, 255, 255))
    info = PngInfo()
    info.add_text("Comment", "patient J. Smith")
    exif = make_photos.exif(orientation=1)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, exif=exif)
    raw = out.getvalue()
    response = upload(as_user("inspector1"), raw)
    assert response.status_code == 201, response.json
    assert (response.json["width"], response.json["height"]) == (300, 200)
    stored = photos.blob_path(data_dir, sha(raw)).read_bytes()
    assert b"Smith" not in stored and b"Exif" not in stored and b"FixtureCam" not in stored
    with Image.open(io.BytesIO(stored)) as clean:
        assert clean.format == "JPEG" and clean.mode == "RGB" and len(clean.getexif()) == 0
    assert photos.blob_path(data_dir, sha(raw), thumb=True).exists()
    assert photo_rows(db, sha(raw)) == 1


@pytest.mark.parametrize("orientation, red_corner", [
    (1, "top-left"), (2, "top-right"), (3, "bottom-right"), (4, "bottom-left"),
    (5, "top-left"), (6, "top-right"), (7, "bottom-right"), (8, "bottom-left"),
])
def test_every_exif_orientation_is_turned_upright(orientation, red_corner):
    jpeg, _, width, height = photos.clean(make_photos.jpeg_bytes(orientation=orientation))
    assert (width, height) == ((640, 480) if orientation < 5 else (480, 640))
    with Image.open(io.BytesIO(jpeg)) as image:
        rgb = image.convert("RGB")
        corners = {"top-left": (5, 5), "top-right": (width - 6, 5),
                   "bottom-left": (5, height - 6), "bottom-right": (width - 6, height - 6)}
        assert [name for name, xy in corners.items() if is_red(rgb.getpixel(xy))] == [red_corner]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_gives_the_pixels_of_imageops_exif_transpose(orientation):
    """The photo and its thumbnail face the way Pillow's reference turns them,
    pixel for pixel up to JPEG re-encoding (a wrong turn or flip differs by
    tens of levels on average, not a few)."""
    raw = make_photos.jpeg_bytes(orientation=orientation, quality=95)
    with Image.open(io.BytesIO(raw)) as source:
        expected = ImageOps.exif_transpose(source).convert("RGB")
    jpeg, thumb, width, height = photos.clean(raw)
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.size == expected.size == (width, height)
        assert max(ImageStat.Stat(ImageChops.difference(image.convert("RGB"), expected)).mean) < 3
    with Image.open(io.BytesIO(thumb)) as small:
        assert max(small.size) == photos.THUMB_SIZE
        reference = expected.resize(small.size, Image.Resampling.LANCZOS)
        assert max(ImageStat.Stat(ImageChops.difference(small.convert("RGB"), reference)).mean) < 6


def test_malformed_exif_never_crashes_the_upload(as_user, data_dir):
    """Values of the wrong type in EXIF used to make ImageOps.exif_transpose
    raise (TypeError, struct.error...) while re-encoding the EXIF that is
    thrown away anyway: a 500 the tablet retries for ever."""
    raw = bytearray(make_photos.jpeg_bytes(orientation=6))
    # Make the Model tag (ASCII) claim type RATIONAL: readable, but it cannot
    # be written back as it was.
    start = raw.index(b"Exif\0\0") + 6
    tiff = bytes(raw[start:])
    endian = "<" if tiff[:2] == b"II" else ">"
    (ifd0,) = struct.unpack(endian + "I", tiff[4:8])
    (count,) = struct.unpack(endian + "H", tiff[ifd0:ifd0 + 2])
    for n in range(count):
        entry = start + ifd0 + 2 + 12 * n
        tag, kind = struct.unpack(endian + "HH", raw[entry:entry + 4])
        if tag == 0x0110:
            raw[entry + 2:entry + 4] = struct.pack(endian + "H", 5)  # RATIONAL
            break
    else:
        pytest.fail("no Model tag in the fixture")
    raw = bytes(raw)
    response = upload(as_user("inspector1"), raw)
    assert response.status_code == 201, response.json
    stored = photos.blob_path(data_dir, sha(raw)).read_bytes()
    assert b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (480, 640)


# --- refusals ----------------------------------------------------------------

def test_a_text_file_named_jpg_is_refused_415(as_user, data_dir, db):
    raw = b"patient list\nJ. Smith bed 4\n" * 20
    response = upload(as_user("inspector1"), raw)
    assert response.status_code == 415
    assert response.json["error"] == "not_an_image"
    assert "JPEG or PNG" in response.json["message"]
    assert_nothing_stored(db, data_dir, sha(raw))


def test_a_gif_is_refused_415_only_jpeg_and_png(as_user, data_dir, db):
    out = io.BytesIO()
    Image.new("P", (40, 30), 1).save(out, "GIF")
    raw = out.getvalue()
    assert raw.startswith(b"GIF8")
    response = upload(as_user("inspector1"), raw)
    assert response.status_code == 415
    assert "JPEG" in response.json["message"] and "PNG" in response.json["message"]
    assert_nothing_stored(db, data_dir, sha(raw))


@pytest.mark.parametrize("fmt", ["WEBP", "BMP", "TIFF"])
def test_other_image_formats_are_refused_415(as_user, data_dir, db, fmt):
    out = io.BytesIO()
    try:
        Image.new("RGB", (40, 30), "red").save(out, fmt)
    except (KeyError, OSError):
        pytest.skip(f"this Pillow cannot write {fmt}")
    raw = out.getvalue()
    response = upload(as_user("inspector1"), raw)
    assert response.status_code == 415, response.json
    assert_nothing_stored(db, data_dir, sha(raw))


def test_a_truncated_jpeg_is_still_refused_after_the_server_drew_a_pdf_report(as_user, data_dir, db,
                                                                                demo_inspection):
    """WeasyPrint's import makes Pillow lenient with truncated images process-wide."""
    assert as_user("lead").get(f"/inspections/{demo_inspection}/report.pdf").status_code == 200
    full = ROTATED.read_bytes()
    raw = full[:len(full) // 2]
    assert upload(as_user("inspector1"), raw).status_code == 400
    assert_nothing_stored(db, data_dir, sha(raw))


def test_a_truncated_jpeg_is_refused_with_a_clear_message(as_user, data_dir, db):
    full = ROTATED.read_bytes()
    raw = full[:len(full) // 2]
    response = upload(as_user("inspector1"), raw)  # under its own, correct hash
    assert response.status_code == 400
    assert response.json["error"] == "damaged_image"
    assert "damaged or truncated" in response.json["message"]
    assert_nothing_stored(db, data_dir, sha(raw))


def test_bytes_that_do_not_match_the_hash_are_refused(as_user, data_dir, db):
    raw = ROTATED.read_bytes()
    claimed = sha(raw)
    response = upload(as_user("inspector1"), raw[:-10], name=claimed)
    assert response.status_code == 400
    assert response.json["error"] == "hash_mismatch"
    assert "sha256" in response.json["message"]
    assert_nothing_stored(db, data_dir, claimed)


@pytest.mark.parametrize("name", ["ABC", sha(UPRIGHT.read_bytes()) + "%0A"])
def test_a_bad_hash_in_the_address_is_refused(as_user, db, name):
    response = upload(as_user("inspector1"), UPRIGHT.read_bytes(), name=name)
    assert response.status_code == 400 and response.json["error"] == "bad_hash"
    assert photo_rows(db) == 0


@pytest.mark.parametrize("width, height", [
    (20000, 20000),  # past Pillow's own bomb limit: refused by Image.open
    (10000, 10000),  # between Pillow's warning and error limits
    (8000, 8000),    # under Pillow's limits, over our MAX_PIXELS
])
def test_a_decompression_bomb_is_refused_413_without_decoding_it(as_user, data_dir, db, monkeypatch,
                                                                 width, height):
    raw = bomb_png(width, height)
    assert len(raw) < 2_000_000
    decoded = []
    real_load = ImageFile.ImageFile.load

    def spy_load(self):
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)
    response = upload(as_user("inspector1"), raw)
    assert response.status_code == 413
    assert response.json["error"] == "too_many_pixels"
    assert "pixels" in response.json["message"]
    assert decoded == [], "the server started decoding the bomb"
    assert_nothing_stored(db, data_dir, sha(raw))


def test_a_png_that_only_declares_a_huge_size_is_refused_413(as_user, data_dir, db):
    raw = declared_size_png(30000, 30000)
    response = upload(as_user("inspector1"), raw)
    assert response.status_code == 413
    assert_nothing_stored(db, data_dir, sha(raw))


def test_refusing_a_decompression_bomb_uses_little_memory():
    """In a fresh interpreter, so the peak resident size belongs to this check
    alone: decoding the 20000x20000 bomb would need 400 MB."""
    code = textwrap.dedent("""
        import resource, sys
        sys.path[:0] = [sys.argv[1], sys.argv[2]]
        from test_photos import bomb_png
        from inspector.domain import photos
        raw = bomb_png(20000, 20000)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for size in (20000, 10000, 8000):
            try:
                photos.clean(bomb_png(size, size))
            except photos.PhotoError as exc:
                assert exc.status == 413, exc
            else:
                raise SystemExit("bomb accepted")
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
    """)
    result = subprocess.run([sys.executable, "-c", code, str(ROOT), str(HERE)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    grown_kb = int(result.stdout.strip().splitlines()[-1])  # ru_maxrss is in KB on Linux
    assert grown_kb < 64 * 1024, f"peak memory grew by {grown_kb // 1024} MB"


def test_an_upload_over_max_bytes_is_refused_413_by_its_content_length(as_user, data_dir, db, monkeypatch):
    monkeypatch.setattr(photos, "MAX_BYTES", 2 * 1024 * 1024)
    raw = UPRIGHT.read_bytes() + b"\0" * (2 * 1024 * 1024)  # a valid JPEG with trailing padding
    response = upload(as_user("inspector1"), raw)
    assert response.status_code == 413
    assert response.json["error"] == "too_large"
    assert "larger than 2 MB" in response.json["message"]
    assert_nothing_stored(db, data_dir, sha(raw))


def test_an_upload_over_max_bytes_without_content_length_is_refused_413(as_user, data_dir, db, monkeypatch):
    """A chunked upload has no Content-Length for the endpoint to check first;
    photos.store must refuse it by its size, not call it damaged (which the
    tablet would retry for ever)."""
    monkeypatch.setattr(photos, "MAX_BYTES", 2 * 1024 * 1024)
    raw = UPRIGHT.read_bytes() + b"\0" * (2 * 1024 * 1024)
    response = as_user("inspector1").put(
        f"/sync/photos/{sha(raw)}", input_stream=io.BytesIO(raw),
        headers={**SYNC, "Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413, response.json
    assert response.json["error"] == "too_large"
    assert "larger than 2 MB" in response.json["message"]
    assert_nothing_stored(db, data_dir, sha(raw))


def test_an_oversize_body_that_was_cut_short_is_still_called_too_large(db, data_dir, monkeypatch):
    monkeypatch.setattr(photos, "MAX_BYTES", 1000)
    raw = b"\xff\xd8" + b"\0" * 5000
    with pytest.raises(photos.PhotoError) as refused:
        photos.store(db, data_dir, 1, "0" * 64, raw)  # hash cannot match: cut at the server's limit
    assert refused.value.status == 413 and refused.value.code == "too_large"
    assert "1000 bytes" in str(refused.value)


# --- idempotence ---------------------------------------------------------------

def test_put_is_idempotent(as_user, data_dir, db):
    client = as_user("inspector1")
    raw = ROTATED.read_bytes()
    first = upload(client, raw)
    stored = photos.blob_path(data_dir, sha(raw)).read_bytes()
    second = upload(client, raw)
    assert first.status_code == second.status_code == 201
    assert first.json == second.json
    assert photo_rows(db) == 1
    assert photos.blob_path(data_dir, sha(raw)).read_bytes() == stored
    assert sorted(map(str, stored_files(data_dir))) == sorted(
        f"{sha(raw)[:2]}/{sha(raw)}{suffix}.jpg" for suffix in ("", ".thumb"))
    # Another inspector uploading the same bytes: still one row, two uploaders.
    third = upload(as_user("inspector2"), raw)
    assert third.status_code == 201 and third.json == first.json
    assert photo_rows(db) == 1
    assert db.conn.execute("SELECT count(*) FROM photo_uploads WHERE sha256 = ?", [sha(raw)]).fetchone()[0] == 2


# --- who may read a photo ----------------------------------------------------

def test_only_the_uploader_then_the_finding_holder_and_the_lead_may_read_a_photo(as_user, demo_inspection):
    inspector1, inspector2, lead = as_user("inspector1"), as_user("inspector2"), as_user("lead")
    raw = ROTATED.read_bytes()
    digest = sha(raw)
    assert upload(inspector1, raw).status_code == 201
    url = f"/photos/{digest}?size=thumb"

    mine = inspector1.get(url)
    assert mine.status_code == 200 and mine.mimetype == "image/jpeg"
    assert "no-store" in mine.headers["Cache-Control"]
    with Image.open(io.BytesIO(mine.data)) as thumb:
        assert max(thumb.size) <= photos.THUMB_SIZE
    full = inspector1.get(f"/photos/{digest}")
    assert full.status_code == 200
    with Image.open(io.BytesIO(full.data)) as image:
        assert image.size == (480, 640)

    # Not attached yet: only the uploader.
    assert inspector2.get(url).status_code == 404
    assert lead.get(url).status_code == 404
    assert as_user("inspector3").get(url).status_code == 404

    assert attach(inspector1, demo_inspection, digest)["status"] == "applied"
    assert lead.get(url).status_code == 200
    assert lead.get(f"/photos/{digest}").status_code == 200
    assert inspector2.get(url).status_code == 404
    assert inspector2.get(f"/photos/{digest}").status_code == 404
    assert inspector1.get(url).status_code == 200

    # A photo nobody uploaded and a malformed hash look the same: not found.
    assert inspector1.get(f"/photos/{'0' * 64}?size=thumb").status_code == 404
    assert inspector1.get("/photos/nothex?size=thumb").status_code == 404
    # Logged out: no photo.
    assert inspector1.application.test_client().get(url).status_code in (302, 401)


def test_a_photo_op_for_a_photo_not_uploaded_by_the_pusher_is_rejected(as_user, demo_inspection):
    raw = UPRIGHT.read_bytes()
    assert upload(as_user("inspector1"), raw).status_code == 201
    result = attach(as_user("inspector2"), demo_inspection, sha(raw))
    assert result["status"] == "rejected" and result["code"] == "missing_photo"
    assert as_user("inspector2").get(f"/photos/{sha(raw)}?size=thumb").status_code == 404


def test_a_detach_or_caption_op_does_not_grant_access_to_someone_elses_photo(as_user, demo_inspection):
    raw = UPRIGHT.read_bytes()
    digest = sha(raw)
    assert upload(as_user("inspector1"), raw).status_code == 201
    inspector2 = as_user("inspector2")
    op = Device().op(demo_inspection, "D1.1", "photo", {"sha256": digest, "attached": False})
    push(inspector2, [op])
    assert inspector2.get(f"/photos/{digest}?size=thumb").status_code == 404


# --- logging -------------------------------------------------------------------

def test_the_server_never_logs_photo_bytes_or_notes(as_user, demo_inspection, caplog):
    caplog.set_level(logging.DEBUG)
    client = as_user("inspector1")
    device = Device()
    raw = ROTATED.read_bytes()
    note = "patient J. Smith bed 4"
    caption = "wristband of J. Smith"

    assert upload(client, raw).status_code == 201
    assert upload(client, raw).status_code == 201
    bad = b"patient list: J. Smith bed 4\n" * 10
    assert upload(client, bad).status_code == 415
    assert upload(client, raw[:len(raw) // 2]).status_code == 400
    ops = [device.op(demo_inspection, STANDARD, "note", note),
           device.op(demo_inspection, STANDARD, "photo", {"sha256": sha(raw), "attached": True}),
           device.op(demo_inspection, STANDARD, "caption", {"sha256": sha(raw), "text": caption})]
    assert [r["status"] for r in push(client, ops).json["results"]] == ["applied"] * 3
    assert push(client, [device.op(demo_inspection, STANDARD, "note", note * 1000)]).status_code == 200
    assert client.get(f"/photos/{sha(raw)}?size=thumb").status_code == 200
    assert as_user("lead").get(f"/sync/pull?inspection={demo_inspection}", headers=SYNC).status_code == 200

    assert "photo stored" in caplog.text and "push user=" in caplog.text  # the log was captured
    text = caplog.text
    assert note not in text and "J. Smith" not in text and caption not in text
    latin = raw.decode("latin-1")
    for start in range(0, len(raw) - 32, 512):
        assert latin[start:start + 32] not in text
    for record in caplog.records:
        args = record.args if isinstance(record.args, tuple) else tuple((record.args or {}).values())
        for value in (record.msg, *args):
            assert not isinstance(value, (bytes, bytearray)), record.getMessage()
        assert "Smith" not in record.getMessage()
        assert b"\xff\xd8" not in record.getMessage().encode("latin-1", "replace")


def test_a_photo_is_decoded_outside_the_write_lock(as_user, data_dir, monkeypatch):
    """Decoding a camera photo takes a few hundred ms: meanwhile another
    connection can still write (pushes do not queue behind uploads)."""
    import sqlite3

    from inspector.domain.db import database_path
    seen = []
    real_clean = photos.clean

    def clean(raw):
        other = sqlite3.connect(database_path(data_dir), timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once ("database is locked") if the upload holds the lock
            other.execute("ROLLBACK")
            seen.append("writable")
        finally:
            other.close()
        return real_clean(raw)

    monkeypatch.setattr(photos, "clean", clean)
    raw = UPRIGHT.read_bytes()
    assert upload(as_user("inspector1"), raw).status_code == 201
    assert seen == ["writable"]
