"""Photo pipeline: the server's per-photo work (inspector.photos.clean: open
with format and pixel checks, decode, turn upright by EXIF orientation, strip
metadata, re-encode at quality 88, make a 320 px thumbnail) vs pillow's bare
decode and re-encode of the same JPEG (Image.open + load + save JPEG
quality 88).

Input: a 4000x3000 (12 MP) JPEG made with pillow from a gradient plus noise,
so it compresses like a photo rather than to nothing, carrying EXIF
orientation 6 (the usual portrait phone photo) and a GPS block. Also timed:
clean() on a 2048x1536 version, which is what the server normally receives
(the client downscales to a 2048 px long side before upload).

Median of --repeat runs (default 5) after one warm-up.

Run: .venv/bin/python bench/photo_pipeline.py [--repeat 5]
"""
import argparse
import io
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import ExifTags, Image, ImageChops  # noqa: E402

from bench._common import median_time  # noqa: E402
from inspector import photos  # noqa: E402


def make_photo(width, height, quality=92):
    """A JPEG of width x height with EXIF orientation 6 and GPS."""
    gradient = Image.linear_gradient("L")
    red = gradient.resize((width, height))
    green = gradient.rotate(90).resize((width, height))
    blue = Image.radial_gradient("L").resize((width, height))
    base = Image.merge("RGB", (red, green, blue))
    # Noise like sensor grain and texture: makes the JPEG a few MB, as a
    # phone's 12 MP photo is.
    noise = Image.effect_noise((width, height), 15).convert("RGB")
    image = ImageChops.overlay(base, noise)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "BenchPhone"
    exif[ExifTags.Base.Model] = "BP-12"
    exif[ExifTags.Base.DateTime] = "2026:11:25 09:41:00"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (52.0, 22.0, 31.5),
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (4.0, 53.0, 12.25),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def check_input(raw, size):
    image = Image.open(io.BytesIO(raw))
    exif = image.getexif()
    assert image.size == size, image.size
    assert exif.get(ExifTags.Base.Orientation) == 6, "orientation missing from the input"
    assert exif.get_ifd(ExifTags.IFD.GPSInfo), "GPS missing from the input"


def check_output(jpeg, size):
    image = Image.open(io.BytesIO(jpeg))
    assert image.size == (size[1], size[0]), f"not turned upright: {image.size}"
    assert not image.getexif(), "EXIF survived clean()"


def bare(raw):
    image = Image.open(io.BytesIO(raw))
    image.load()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=photos.QUALITY)
    return out.getvalue()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)

    big_size, small_size = (4000, 3000), (2048, 1536)
    big, small = make_photo(*big_size), make_photo(*small_size)
    check_input(big, big_size)
    check_input(small, small_size)
    check_output(photos.clean(big)[0], big_size)  # also the warm-up
    check_output(photos.clean(small)[0], small_size)
    bare(big)
    print(f"photo pipeline: input {big_size[0]}x{big_size[1]} JPEG {len(big) / 1e6:.2f} MB, "
          f"{small_size[0]}x{small_size[1]} JPEG {len(small) / 1e6:.2f} MB, EXIF orientation 6 + GPS, "
          f"median of {args.repeat}")

    # Clean and bare interleaved, alternating which goes first, so that the
    # machine's load and the run order bias neither; the ratio is the median
    # of the per-pair ratios.
    def interleaved(raw):
        pairs = []
        for n in range(args.repeat):
            order = [("clean", photos.clean), ("bare", bare)]
            times = {}
            for name, fn in (order if n % 2 == 0 else order[::-1]):
                times[name], _ = median_time(lambda: fn(raw), 1)
            pairs.append((times["clean"], times["bare"]))
        clean_ms = statistics.median(c for c, _ in pairs) * 1000
        bare_ms = statistics.median(b for _, b in pairs) * 1000
        return clean_ms, bare_ms, statistics.median(c / b for c, b in pairs)

    clean_ms, bare_ms, big_ratio = interleaved(big)
    small_ms, bare_small_ms, small_ratio = interleaved(small)
    print(f"  clean() 12 MP:      {clean_ms:7.0f} ms, bare decode+encode {bare_ms:6.0f} ms, ratio {big_ratio:.2f}")
    print(f"  clean() 2048x1536:  {small_ms:7.0f} ms, bare decode+encode {bare_small_ms:6.0f} ms, "
          f"ratio {small_ratio:.2f}")
    line = (f"photo pipeline: clean 12MP {clean_ms:.0f} ms, bare pillow 12MP {bare_ms:.0f} ms, "
            f"ratio {big_ratio:.2f}; clean 2048px {small_ms:.0f} ms, ratio {small_ratio:.2f}")
    print(line)
    return line


if __name__ == "__main__":
    main()
