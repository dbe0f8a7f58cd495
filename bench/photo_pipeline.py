"""Photo pipeline: the server's per-photo work (inspector.domain.photos.clean: open
with format and pixel checks, decode, turn upright by EXIF orientation, strip
metadata, re-encode at quality 88, make a 320 px thumbnail) vs pillow's bare
decode and re-encode of the same JPEG (Image.open + load + save JPEG
quality 88: same quality, same default 4:2:0 subsampling, no optimize, as
clean() writes).

Inputs: JPEGs made with pillow from a gradient plus noise, so they compress
like a photo rather than to nothing, with a red block in the stored top-left
corner, camera tags, GPS and a comment, at 4000x3000 (12 MP, what a phone
takes) and 2048x1536 (what the app's own client uploads: it downscales to a
2048 px long side and draws through a canvas, so its uploads are upright and
carry no EXIF at all). Each size twice: EXIF orientation 6 (a portrait phone
photo, stored sideways: clean() must turn its pixels) and 1 (upright).

Clean and bare run interleaved on the same bytes, alternating which goes
first, so the machine's load and the run order bias neither; each ratio is the
median of the per-pair ratios. Before timing, every output is checked: the
clean one upright (pixel for pixel close to ImageOps.exif_transpose of the
input, the red block where the viewer sees it) and stripped (no EXIF, GPS,
camera name or comment left in its bytes); the benchmark stops if not.
After timing, cProfile of clean() says where its time goes (pillow's decode,
encode, transpose, reduce, resize), and the fresh memory pages a turned
upload touches are counted (minor page faults per clean(), each after another
photo of the same size, as the next upload would be, in a fresh interpreter)
with Pillow's block cache as photos.py keeps it, against the same with the
cache off: the baseline, every upload's pixels in fresh pages (a 12 MP photo
faulted 33 MB per upload before the cache and clean()'s order of allocations).

Run: .venv/bin/python -m bench photo_pipeline [--repeat 15]
"""
import argparse
import collections
import cProfile
import io
import pstats
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

from PIL import ExifTags, Image, ImageChops, ImageOps, ImageStat  # noqa: E402

from inspector.domain import photos

MAKE = "BenchPhone"
COMMENT = b"patient bench-test bed 4"


def make_photo(width, height, orientation=6, quality=92):
    """A JPEG of width x height (as stored) with a red block in the stored
    top-left corner, EXIF ``orientation``, camera tags, GPS and a comment."""
    gradient = Image.linear_gradient("L")
    red = gradient.resize((width, height))
    green = gradient.rotate(90).resize((width, height))
    blue = Image.radial_gradient("L").resize((width, height))
    base = Image.merge("RGB", (red, green, blue))
    # Noise like sensor grain and texture: makes the JPEG a few MB, as a
    # phone's 12 MP photo is.
    noise = Image.effect_noise((width, height), 15).convert("RGB")
    image = ImageChops.overlay(base, noise)
    image.paste((255, 0, 0), (0, 0, width // 8, height // 8))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = MAKE
    exif[ExifTags.Base.Model] = "BP-12"
    exif[ExifTags.Base.DateTime] = "2026:11:25 09:41:00"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (52.0, 22.0, 31.5),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (4.0, 53.0, 12.25),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif.tobytes(), comment=COMMENT)
    return out.getvalue()


def check_input(raw, size, orientation):
    with Image.open(io.BytesIO(raw)) as image:
        exif = image.getexif()
        assert image.size == size, image.size
        assert exif.get(ExifTags.Base.Orientation) == orientation, "orientation missing from the input"
        assert exif.get_ifd(ExifTags.IFD.GPSInfo), "GPS missing from the input"
        assert image.info.get("comment") == COMMENT, "comment missing from the input"


def check_clean(raw, result):
    """Fail loudly unless clean() turned the pixels upright and stripped everything."""
    jpeg, thumb, width, height = result
    with Image.open(io.BytesIO(raw)) as source:
        expected = ImageOps.exif_transpose(source).convert("RGB")
    for blob in (jpeg, thumb):
        for marker in (b"Exif", MAKE.encode(), COMMENT, b"\xff\xfe"):  # \xff\xfe: a JPEG COM segment
            assert marker not in blob, f"{marker!r} survived clean()"
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.size == expected.size == (width, height), f"not turned upright: {image.size}"
        assert not image.getexif() and "comment" not in image.info, "metadata survived clean()"
        got = image.convert("RGB")
    # Upright like ImageOps.exif_transpose, up to JPEG re-encoding: a wrong
    # turn would differ by far more than 3 levels on average.
    diff = ImageStat.Stat(ImageChops.difference(got, expected)).mean
    assert max(diff) < 3, f"pixels differ from ImageOps.exif_transpose by {diff}"
    red = got.getpixel((5, 5))
    assert red[0] > 200 and red[1] < 60, f"the red block is not where the viewer sees it: {red}"
    with Image.open(io.BytesIO(thumb)) as small:
        assert max(small.size) == photos.THUMB_SIZE, small.size
        assert (small.width > small.height) == (width > height), "thumbnail not upright"


def check_bare(raw, out, size):
    with Image.open(io.BytesIO(out)) as image:
        assert image.size == size, image.size


def bare(raw):
    image = Image.open(io.BytesIO(raw))
    image.load()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=photos.QUALITY)
    return out.getvalue()


def interleaved(raw, repeat):
    """(clean ms, bare ms, median of per-pair clean/bare ratios)."""
    pairs = []
    for n in range(repeat):
        order = [("clean", photos.clean), ("bare", bare)]
        times = {}
        for name, fn in (order if n % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            fn(raw)
            times[name] = time.perf_counter() - start
        pairs.append((times["clean"], times["bare"]))
    return (statistics.median(c for c, _ in pairs) * 1000, statistics.median(b for _, b in pairs) * 1000,
            statistics.median(c / b for c, b in pairs))


def where_the_time_goes(raw, runs=5):
    """Share of clean()'s time in each of pillow's C steps, by cProfile."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(runs):
        photos.clean(raw)
    profile.disable()
    stats = pstats.Stats(profile).stats
    steps = collections.Counter()
    for (_, _, name), (_, _, tottime, _, _) in stats.items():
        key = name.strip("<>").replace("method '", "").split("'")[0]
        steps[key if key in ("decode", "encode", "transpose", "reduce", "resize") else "other"] += tottime
    total = sum(steps.values())
    return ", ".join(f"{k} {v / total:.0%}" for k, v in steps.most_common())


def count_fresh_pages(blocks, width, height, settle=5, runs=7):
    """Print the median minor page faults (fresh memory touched for the first
    time) per clean() of a turned width x height photo, each call after a bare
    decode and re-encode of the same photo, as the next upload would be, with
    Pillow's block cache holding ``blocks`` blocks. Run in a fresh interpreter
    (fresh_pages): malloc adapts to what a process did before, so in this
    one, after the timings, even the cache-less baseline would fault nothing."""
    raw = make_photo(width, height, orientation=6)
    Image.core.set_blocks_max(blocks)
    faults = []
    for _ in range(settle + runs):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        photos.clean(raw)
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        bare(raw)
    print(statistics.median(faults[settle:]))


def fresh_pages(size):
    """(with, without): fresh pages per turned upload with Pillow's block cache
    as inspector.domain.photos keeps it, and with the cache off (the baseline:
    every upload's pixels in fresh pages). A change to clean()'s order of
    allocations that defeats the cache (see _upright_and_thumbnail) shows as
    a ratio near 1."""
    counts = []
    for blocks in (Image.core.get_blocks_max(), 0):
        code = f"from bench.photo_pipeline import count_fresh_pages; count_fresh_pages({blocks}, {size[0]}, {size[1]})"
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        counts.append(float(done.stdout.split()[-1]))
    return tuple(counts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)

    cases = []
    for label, size in (("12MP", (4000, 3000)), ("2048px", (2048, 1536))):
        for orientation in (6, 1):
            raw = make_photo(*size, orientation=orientation)
            check_input(raw, size, orientation)
            check_clean(raw, photos.clean(raw))  # also the warm-up
            check_bare(raw, bare(raw), size)
            cases.append((label, size, orientation, raw))
    print(f"photo pipeline: clean() vs bare pillow decode + encode q{photos.QUALITY}, interleaved, "
          f"median of {args.repeat} pairs; inputs carry EXIF (camera, GPS) and a comment")

    ratios = {}
    for label, size, orientation, raw in cases:
        clean_ms, bare_ms, ratio = interleaved(raw, args.repeat)
        ratios[label, orientation] = (clean_ms, bare_ms, ratio)
        turn = "orientation 6, turned" if orientation == 6 else "orientation 1, upright"
        print(f"  {label:6s} {size[0]}x{size[1]} {len(raw) / 1e6:4.2f} MB, {turn:22s}: clean {clean_ms:6.1f} ms, "
              f"bare {bare_ms:6.1f} ms, ratio {ratio:.2f}")
    faults = {}
    for label, size, orientation, raw in cases:
        if orientation == 6:
            faults[label] = fresh_pages(size)
            pages = size[0] * size[1] * 4 // resource.getpagesize()  # one decoded image: Pillow keeps 4 bytes a pixel
            print(f"  where clean()'s time goes, {label} turned: {where_the_time_goes(raw)}; "
                  f"fresh pages per upload: {faults[label][0]:.0f} with Pillow's block cache, "
                  f"{faults[label][1]:.0f} without it (one image is {pages}), "
                  f"ratio {faults[label][0] / max(faults[label][1], 1):.3f}")

    big, small = ratios["12MP", 6], ratios["2048px", 6]
    line = (f"photo pipeline: clean 12MP {big[0]:.0f} ms, bare pillow 12MP {big[1]:.0f} ms, ratio {big[2]:.2f}; "
            f"clean 2048px {small[0]:.0f} ms, ratio {small[2]:.2f} (turned); upright: 12MP ratio "
            f"{ratios['12MP', 1][2]:.2f}, 2048px ratio {ratios['2048px', 1][2]:.2f}; fresh pages per turned "
            f"upload with/without Pillow's block cache: 12MP ratio {faults['12MP'][0] / max(faults['12MP'][1], 1):.3f}, "
            f"2048px ratio {faults['2048px'][0] / max(faults['2048px'][1], 1):.3f}")
    print(line)
    return line


if __name__ == "__main__":
    main()
