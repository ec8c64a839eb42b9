"""load_image: every pixel mode, EXIF rotation, reduced decoding, bad files, bounded memory."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from badfiles import bomb_png_bytes, heif_like_bytes, jpeg_bytes, quadrants, with_orientation, \
    write_bad_files, write_big_png
from imgsearch_helpers import images
from imgsearch_helpers.images import ImageLoadError, load_image

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
