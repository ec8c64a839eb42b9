"""load_image: every pixel mode, EXIF rotation, reduced decoding, bad files, bounded memory;
a decoder's error is one file's skip, pixels that lie, no external program ever runs.

The mutation fuzzing of every format is in test_fuzz.py."""
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps, PngImagePlugin

from badfiles import (bomb_png_bytes, heif_like_bytes, jpeg_bytes, quadrants, with_orientation,
                      write_bad_files, write_big_png)
from conftest import make_picture
from formatseeds import seed_files
from imgsearch_helpers import ImageLoadError, embed_image_files, images, load_image, load_model
from imgsearch_helpers.images import is_decoding_failure
from imgsearch_helpers.index import ImageIndex, ModelEmbedder

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def corners(im):
    """Colours near the four corners, rounded to 0/255 (JPEG noise aside)."""
    w, h = im.size
    pts = [(w // 8, h // 8), (w - 1 - w // 8, h // 8), (w // 8, h - 1 - h // 8),
           (w - 1 - w // 8, h - 1 - h // 8)]
    return [tuple(255 if c > 127 else 0 for c in im.getpixel(p)) for p in pts]


# Orientation -> the corners (TL, TR, BL, BR) a viewer shows for red/green/blue/white.
@pytest.mark.parametrize("orientation,expected", [
    (1, [RED, GREEN, BLUE, WHITE]),
    (2, [GREEN, RED, WHITE, BLUE]),      # mirrored left-right
    (3, [WHITE, BLUE, GREEN, RED]),      # upside down
    (6, [BLUE, RED, WHITE, GREEN]),      # rotate 90 degrees clockwise to view
    (8, [GREEN, WHITE, RED, BLUE]),      # rotate 90 degrees counter-clockwise to view
])
def test_exif_rotation_is_applied(tmp_path, orientation, expected):
    path = with_orientation(quadrants(), orientation, tmp_path / "o.jpg")
    im = load_image(path)
    assert im.mode == "RGB"
    assert im.size == ((48, 64) if orientation >= 5 else (64, 48))
    assert corners(im) == expected


@pytest.mark.parametrize("orientation", range(1, 9))
def test_rotation_matches_pillow_reference(tmp_path, orientation):
    path = with_orientation(quadrants(), orientation, tmp_path / "o.jpg")
    with Image.open(path) as ref:
        ref = ImageOps.exif_transpose(ref).convert("RGB")
    np.testing.assert_array_equal(np.asarray(load_image(path, draft_size=None)), np.asarray(ref))


def _png(tmp_path, im, name="m.png", **kw):
    path = tmp_path / name
    im.save(path, **kw)
    return path


def test_transparency_goes_on_white(tmp_path):
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 4, 8))
    im = load_image(_png(tmp_path, rgba))
    assert im.getpixel((1, 1)) == BLUE and im.getpixel((6, 1)) == WHITE
    la = Image.new("LA", (4, 4), (0, 0))
    la.paste((0, 255), (0, 0, 2, 4))
    im = load_image(_png(tmp_path, la, "la.png"))
    assert im.getpixel((0, 0)) == (0, 0, 0) and im.getpixel((3, 0)) == WHITE


def test_palette_with_transparency(tmp_path):
    p = Image.new("P", (4, 4), 0)
    p.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    p.paste(1, (0, 0, 2, 4))
    path = _png(tmp_path, p, "p.png", transparency=0)    # index 0 (red) is transparent
    im = load_image(path)
    assert im.getpixel((0, 0)) == GREEN and im.getpixel((3, 0)) == WHITE
    gif = tmp_path / "p.gif"
    p.save(gif, transparency=0)
    assert load_image(gif).getpixel((3, 0)) == WHITE


def test_grey_16_bit_and_cmyk(tmp_path):
    grey = Image.fromarray(np.array([[0, 128, 255]], np.uint8), "L")
    assert [load_image(_png(tmp_path, grey, "l.png")).getpixel((x, 0)) for x in range(3)] == \
        [(0, 0, 0), (128, 128, 128), (255, 255, 255)]
    # 16-bit: scaled to 8 bits (65535 -> 255), not clipped (which would make 32768 white).
    deep = Image.fromarray(np.array([[0, 32768, 65535, 1000]], np.uint16))
    path = _png(tmp_path, deep, "i16.png")
    assert Image.open(path).mode.startswith("I")
    values = [load_image(path).getpixel((x, 0))[0] for x in range(4)]
    assert values[0] == 0 and abs(values[1] - 128) <= 1 and values[2] == 255 and values[3] <= 4
    cmyk = Image.new("CMYK", (16, 16), (255, 0, 0, 0))       # pure cyan ink
    cmyk.paste((0, 0, 0, 255), (0, 0, 8, 16))                 # black ink on the left
    for name in ("c.jpg", "c.tif"):
        im = load_image(_png(tmp_path, cmyk, name))
        assert im.mode == "RGB"
        assert max(im.getpixel((2, 8))) < 40                                  # black
        r, g, b = im.getpixel((13, 8))
        assert r < 40 and g > 215 and b > 215                                 # cyan


def test_big_jpeg_is_decoded_reduced_and_png_reduced_in_strips(tmp_path):
    big = quadrants((2400, 1800))
    path = tmp_path / "big.jpg"
    path.write_bytes(jpeg_bytes(big, quality=90))
    small = load_image(path, draft_size=512)
    assert 512 <= min(small.size) < 1800 and corners(small) == corners(big)
    assert load_image(path, draft_size=None).size == (2400, 1800)
    # Non-JPEG: reduced strip by strip, identical to reducing the whole picture.
    rng = np.random.default_rng(0)
    rgba = Image.fromarray(rng.integers(0, 255, (1500, 1300, 4), dtype=np.uint8), "RGBA")
    png = _png(tmp_path, rgba, "big.png")
    whole = Image.alpha_composite(Image.new("RGBA", (434, 500), WHITE + (255,)),
                                  rgba.reduce(3)).convert("RGB")
    images._STRIP_BYTES, saved = 64 * 1024, images._STRIP_BYTES
    try:
        out = load_image(png, draft_size=400)     # factor 1300 // 400 = 3
    finally:
        images._STRIP_BYTES = saved
    assert out.size == (434, 500)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(whole))


@pytest.fixture
def bad_folder(tmp_path):
    return tmp_path, write_bad_files(tmp_path / "bad")


def test_every_bad_file_gives_a_reason(bad_folder):
    root, expected = bad_folder
    for name, word in expected.items():
        with pytest.raises(ImageLoadError) as info:
            load_image(root / "bad" / name)
        assert word.lower() in info.value.reason.lower(), (name, info.value.reason)
        assert str(root / "bad" / name) in str(info.value)


def test_directory_and_unreadable_file(tmp_path, monkeypatch):
    (tmp_path / "album.jpg").mkdir()
    with pytest.raises(ImageLoadError, match="directory"):
        load_image(tmp_path / "album.jpg")
    path = tmp_path / "secret.jpg"
    path.write_bytes(jpeg_bytes(quadrants()))

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")
    # Tests run as root, for whom chmod 000 changes nothing: fake the refusal instead.
    monkeypatch.setattr(images, "open", denied, raising=False)
    with pytest.raises(ImageLoadError, match="permission denied"):
        load_image(path)


def test_heic_without_pillow_heif_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pillow_heif", None)     # import fails
    monkeypatch.setattr(images, "_heif_registered", None)
    for name in ("phone.heic", "renamed.jpg"):               # by extension, and by content
        path = tmp_path / name
        path.write_bytes(heif_like_bytes())
        with pytest.raises(ImageLoadError, match="pip install pillow-heif"):
            load_image(path)


def test_heic_with_pillow_heif(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    path = tmp_path / "q.heic"
    quadrants().save(path, quality=95)
    assert corners(load_image(path)) == [RED, GREEN, BLUE, WHITE]


def test_decompression_bomb_protection_stays_on(tmp_path):
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS <= 89_478_485
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        load_image(bomb_png_bytes())


def test_bytes_file_objects_and_errors(tmp_path):
    data = jpeg_bytes(quadrants())
    (tmp_path / "f.jpg").write_bytes(data)
    with open(tmp_path / "f.jpg", "rb") as fh:
        assert corners(load_image(data)) == corners(load_image(fh)) == [RED, GREEN, BLUE, WHITE]
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(b"")
    with pytest.raises(TypeError, match="path, bytes"):
        load_image(12)


_MEASURE = textwrap.dedent("""
    import json, os, sys, types, warnings
    # The package without its __init__ (which imports torch): only images.py and the
    # small modules it imports are loaded, so the process's memory is the decoder's.
    package = types.ModuleType("imgsearch_helpers")
    package.__path__ = [os.path.dirname(sys.argv[1])]
    sys.modules["imgsearch_helpers"] = package
    import imgsearch_helpers.images as images
    warnings.simplefilter("ignore")   # Pillow warns (but decodes) above 89 MP
    def status(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    out = {}
    for path in sys.argv[2:]:
        before = status("VmRSS:")
        im = images.load_image(path)
        out[path] = {"size": im.size, "peak_extra": status("VmHWM:") - before}
        del im
    print(json.dumps(out))
""")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_12000_px_images_load_with_bounded_memory(tmp_path):
    side = 12_000
    jpg = tmp_path / "huge.jpg"
    Image.new("L", (side, side), 90).save(jpg, quality=80)
    png = write_big_png(tmp_path / "huge.png", side, side)
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, images.__file__, str(jpg), str(png)],
        capture_output=True, text=True, timeout=120, check=True)
    got = json.loads(result.stdout)
    raster = side * side * 4          # Pillow keeps RGB as 4 bytes per pixel
    print(got)
    # JPEG: decoded at 1/8 scale, never at full size.
    assert got[str(jpg)]["size"] == [750, 750]     # 1/8 by draft(), then 1/2 by reduce()
    assert got[str(jpg)]["peak_extra"] < 64 << 20, got
    # PNG: Pillow can only decode it whole; nothing beyond that one raster is added.
    assert got[str(png)]["size"] == [522, 522]
    assert got[str(png)]["peak_extra"] < raster * 1.15, got


def test_find_image_files_is_the_one_walker(tmp_path):
    from imgsearch_helpers.images import find_image_files

    for rel in ("b.jpg", "a.PNG", "notes.txt", "raw.cr2", ".hidden.jpg", "sub/c.webp",
                ".cache/d.jpg", "sub/deeper/e.gif"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    files, problems = find_image_files(tmp_path)
    assert files == ["a.PNG", "b.jpg", "raw.cr2", "sub/c.webp", "sub/deeper/e.gif"]
    assert problems == []
    assert find_image_files(tmp_path, recursive=False)[0] == ["a.PNG", "b.jpg", "raw.cr2"]
    assert find_image_files(tmp_path, exclude=tmp_path / "sub")[0] == ["a.PNG", "b.jpg", "raw.cr2"]
    assert find_image_files(tmp_path / "missing")[1][0][0] == "."


# -- a decoder error is one file's skip, never the end of the run ----------------------

def _seed(fmt: str) -> bytes:
    return seed_files()[fmt]


def _avif_that_pillow_cannot_decode() -> bytes:
    """A valid AVIF with one byte flipped so that Pillow raises RuntimeError in load()."""
    good = _seed("AVIF")
    for pos in range(len(good) // 2, len(good)):
        bad = bytearray(good)
        bad[pos] ^= 0xFF
        try:
            with Image.open(io.BytesIO(bytes(bad))) as im:
                im.load()
        except RuntimeError:
            return bytes(bad)
        except (OSError, ValueError, SyntaxError):
            continue
    raise AssertionError("no one-byte change of the AVIF made Pillow raise RuntimeError")


def _dds_unknown_pixel_format() -> bytes:
    data = bytearray(_seed("DDS"))
    data[80:84] = b"\0\0\0\0"            # pixel-format flags: Pillow raises NotImplementedError
    return bytes(data)


def _blp_unknown_compression() -> bytes:
    data = bytearray(_seed("BLP"))
    data[4:8] = struct.pack("<i", 257)    # Pillow raises BLPFormatError (NotImplementedError)
    return bytes(data)


HOSTILE = {
    "avif-one-byte-flipped.avif": (_avif_that_pillow_cannot_decode, "corrupt"),
    "dds-content.jpg": (_dds_unknown_pixel_format, "unsupported format DDS"),
    "blp-content.jpg": (_blp_unknown_compression, "unsupported format BLP"),
    "spider-content.jpg": (lambda: _seed("SPIDER"), "not an image"),
    "eps-content.jpg": (lambda: _seed("EPS"), "unsupported format EPS"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_decoder_failures_are_skips_with_reasons(name, tmp_path):
    make, word = HOSTILE[name]
    path = tmp_path / name
    path.write_bytes(make())
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert word in info.value.reason


def test_a_folder_of_hostile_files_is_indexed_around_them(tiny_clip, tmp_path):
    for name, (make, _) in HOSTILE.items():
        (tmp_path / name).write_bytes(make())
    make_picture(1).save(tmp_path / "good.png")
    loaded = load_model(tiny_clip, device="cpu")
    index = ImageIndex.build(tmp_path, loaded)
    assert index.relpaths == ["good.png"]
    assert {p.name: r for p, r in index.skipped}.keys() == HOSTILE.keys()
    paths = sorted(p for p in tmp_path.iterdir() if p.is_file())
    emb, ok, skipped = embed_image_files(loaded, paths)
    assert [paths[i].name for i in ok] == ["good.png"] and len(skipped) == len(HOSTILE)


def test_a_picture_without_pixels_is_skipped(tiny_clip):
    loaded = load_model(tiny_clip, device="cpu")
    empty = Image.new("RGB", (0, 0))
    emb, ok, skipped = embed_image_files(loaded, [make_picture(1), empty, Image.new("L", (5, 0))])
    assert ok == [0] and emb.shape[0] == 1
    assert [r for _, r in skipped] == ["the image has no pixels (0 x 0)",
                                       "the image has no pixels (5 x 0)"]


def _bug(*args, **kwargs):
    return 1 / 0          # stands for a bug in our own code


def test_a_bug_of_ours_propagates_instead_of_skipping_every_file(tiny_clip, tmp_path,
                                                                 monkeypatch):
    make_picture(1).save(tmp_path / "a.png")
    loaded = load_model(tiny_clip, device="cpu")
    monkeypatch.setattr(images, "_to_rgb", _bug)
    for run in (lambda: load_image(tmp_path / "a.png"),
                lambda: embed_image_files(loaded, [tmp_path / "a.png"], decoder="threads"),
                lambda: ImageIndex.build(tmp_path, ModelEmbedder(loaded, decoder="threads"))):
        with pytest.raises(ZeroDivisionError):
            run()
    monkeypatch.undo()
    from imgsearch_helpers.decoding import _prepare
    monkeypatch.setattr(_prepare, "processor_inputs", _bug)    # in the preprocessing step
    with pytest.raises(ZeroDivisionError):
        embed_image_files(loaded, [tmp_path / "a.png"], decoder="threads")


def test_which_exceptions_are_the_files_fault():
    try:
        ImageOps.exif_transpose(object())        # raised inside Pillow: the data's fault
    except AttributeError as err:
        assert is_decoding_failure(err)
    for exc in (ZeroDivisionError, AttributeError, NameError, KeyError, TypeError):
        try:
            raise exc("raised in our code")
        except exc as err:
            assert not is_decoding_failure(err), exc
    for exc in (OSError, ValueError, SyntaxError, EOFError, struct.error, MemoryError):
        assert is_decoding_failure(exc("bad data, wherever it was noticed")), exc
    assert not is_decoding_failure(KeyboardInterrupt())


# -- pixels that lie -------------------------------------------------------------------

def _float_tiff(values: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(values.astype(np.float32), "F").save(buf, "TIFF")
    return buf.getvalue()


def test_a_float_tiff_with_infinite_pixels_keeps_its_picture():
    ramp = np.tile(np.linspace(-100.0, 400.0, 32, dtype=np.float32), (24, 1))
    ramp[:6] = -np.inf
    ramp[6:8] = np.nan
    ramp[8, 0] = np.inf
    grey = np.asarray(load_image(_float_tiff(ramp)))[..., 0]
    assert grey[:8].max() == 0 and grey[8, 0] == 255            # -inf and NaN dark, +inf bright
    row = grey[12]
    assert row[0] == 0 and row[-1] == 255 and np.all(np.diff(row.astype(int)) >= 0)
    with pytest.raises(ImageLoadError, match="no pixel has a finite value"):
        load_image(_float_tiff(np.full((4, 4), -np.inf)))


def test_a_png_with_a_huge_text_chunk_is_read():
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * (PngImagePlugin.MAX_TEXT_CHUNK + 1), zip=True)
    buf = io.BytesIO()
    quadrants().save(buf, "PNG", pnginfo=info)
    assert np.array_equal(np.asarray(load_image(buf.getvalue())), np.asarray(quadrants()))


# -- no external program, whatever a file's content ------------------------------------

@pytest.fixture
def fake_ghostscript(tmp_path, monkeypatch):
    """A `gs` on PATH that records every call and fails, as a broken Ghostscript would."""
    from PIL import EpsImagePlugin

    bin_dir, marker = tmp_path / "bin", tmp_path / "gs-was-run"
    bin_dir.mkdir()
    (bin_dir / "gs").write_text(f"#!/bin/sh\necho \"$@\" >> {marker}\nexit 1\n")
    (bin_dir / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)       # look for gs again
    return marker


@pytest.mark.skipif(sys.platform.startswith("win"), reason="a shell-script gs")
def test_eps_named_jpg_never_runs_ghostscript(tiny_clip, tmp_path, fake_ghostscript):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(seed_files()["EPS"])
    with pytest.raises(ImageLoadError, match="unsupported format EPS"):
        load_image(photos / "holiday.jpg")
    loaded = load_model(tiny_clip, device="cpu")
    _, ok, skipped = embed_image_files(loaded, [photos / "holiday.jpg"])
    assert ok == [] and "EPS" in skipped[0][1]
    index = ImageIndex.build(photos, loaded)
    assert len(index) == 0 and "EPS" in index.skipped[0][1]
    assert not fake_ghostscript.exists(), fake_ghostscript.read_text()
