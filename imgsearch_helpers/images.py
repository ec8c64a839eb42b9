"""Open image files safely: every mode, EXIF rotation, big images at reduced size.

This is the one place where image files are decoded. Only the raster formats of
:data:`RASTER_FORMATS` are decoded (Pillow also reads PostScript, whose plugin runs
Ghostscript, and dozens of rare formats nobody keeps photos in); other content is
reported as unsupported, whatever the file's name says.

Every failure caused by a file becomes an :class:`ImageLoadError` whose ``reason`` a
person can act on (empty file, not an image, truncated, needs pillow-heif, ...), so
that a folder run can skip the file, say why, and go on; only a bug of ours
propagates (:func:`is_decoding_failure` tells them apart). Pillow's
decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``) is left as Pillow sets it.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import stat
import struct
import sys
import threading
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

# What a file's name says it is, the folder walker and captions.json live in .folders;
# they are named here too, where the package imported them from before.
from .settings import DRAFT_SIZE
from .folders import (CAPTIONS_FILE, IMAGE_EXTENSIONS, SCAN_EXTENSIONS, UNSUPPORTED_EXTENSIONS,
                      find_image_files, read_captions)

__all__ = ["ImageLoadError", "load_image", "find_image_files", "read_captions", "CAPTIONS_FILE",
           "stat_regular_file", "is_decoding_failure", "IMAGE_EXTENSIONS",
           "UNSUPPORTED_EXTENSIONS", "SCAN_EXTENSIONS", "RASTER_FORMATS", "exif_orientation",
           "DecodeBudget", "use_decode_budget", "DECODE_BUDGET_BYTES", "ORIENTATION_TRANSPOSE"]

# The formats decoded, as Pillow names them (passed to ``Image.open(formats=...)``):
# those of IMAGE_EXTENSIONS. MPO is how Pillow names a camera JPEG holding a second
# picture; HEIF is there once pillow-heif is installed. None runs another program.
RASTER_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "BMP", "TIFF", "WEBP", "AVIF", "HEIF")
_FORMAT_NAMES = "JPEG, PNG, GIF, BMP, TIFF, WebP, AVIF and HEIC"

_HEIF_EXTENSIONS = frozenset({".heic", ".heif"})
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
_HEIF_HINT = "HEIC/HEIF needs the optional package pillow-heif (pip install pillow-heif)"
_heif_registered: bool | None = None

# EXIF orientation -> the transpose that makes the picture upright (as ImageOps).
ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_STRIP_BYTES = 16 << 20
# Packages whose code decodes and preprocesses images. Hostile bytes reach code paths
# there that their authors never tried, and then any exception can come out
# (AttributeError, NotImplementedError, ZeroDivisionError, ...): it is the file's
# failure. The same exception raised by our own code is a bug, and propagates.
_DECODER_PACKAGES = frozenset({"PIL", "pillow_heif", "numpy", "transformers", "tokenizers",
                               "torch", "torchvision"})
# Exceptions that mean bad data wherever they come from.
_DATA_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, MemoryError)
_STDLIB = frozenset(sys.stdlib_module_names)


class ImageLoadError(Exception):
    """An image could not be used; ``reason`` says why in words a person understands."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def is_decoding_failure(err: BaseException) -> bool:
    """Whether ``err``, raised while decoding or preprocessing one image, is that image's fault.

    True for the exceptions that mean bad data (OSError, ValueError, SyntaxError,
    EOFError, struct.error, MemoryError, :class:`ImageLoadError`) and for any
    exception raised inside Pillow, pillow-heif, NumPy or a model's processor
    (transformers, torch): the file is then skipped with a reason. False for
    anything else, such as a ``NameError`` or ``ZeroDivisionError`` in this
    package's own code: a bug, which must propagate rather than skip every file.
    """
    if isinstance(err, (ImageLoadError, *_DATA_ERRORS)):
        return True
    if not isinstance(err, Exception):       # KeyboardInterrupt, SystemExit
        return False
    # The innermost frame outside the standard library decides whose code failed
    # (a decoder may raise through fractions, zlib, xml, ...).
    frames = []
    tb = err.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        package = str(frame.f_globals.get("__name__", "")).partition(".")[0]
        if package not in _STDLIB:
            return package in _DECODER_PACKAGES
    return False


def _reason(err: BaseException) -> str:
    """Words for why an image could not be read (``err`` is a decoding failure)."""
    if isinstance(err, ImageLoadError):
        return err.reason
    if isinstance(err, UnidentifiedImageError):
        return "not an image, or a format Pillow cannot read"
    if isinstance(err, Image.DecompressionBombError):
        return f"refused as a possible decompression bomb: {err}"
    if isinstance(err, PermissionError):
        return "permission denied"
    if isinstance(err, MemoryError):
        return "too large to decode in the memory available"
    if isinstance(err, _DATA_ERRORS):
        # Pillow reports truncated/corrupt data as OSError ("image file is truncated").
        return f"corrupt or truncated image: {err}"
    return f"corrupt image: the decoder failed ({type(err).__name__}: {err})"


@contextlib.contextmanager
def _reading(name):
    """Turn a decoding failure into :class:`ImageLoadError`; let a bug of ours through."""
    try:
        yield
    except ImageLoadError:
        raise
    except Exception as err:
        if not is_decoding_failure(err):
            raise
        raise ImageLoadError(name, _reason(err)) from err


def _register_heif() -> bool:
    global _heif_registered
    if _heif_registered is None:
        try:
            from pillow_heif import register_heif_opener
        except ImportError:
            _heif_registered = False
        else:
            register_heif_opener()
            _heif_registered = True
    return _heif_registered


class _Counter:
    value = 0


class DecodeBudget:
    """Caps the decoded pixels that decoding workers hold at once.

    Pillow decodes non-JPEG formats only at full size, so four workers each on a
    150 MP PNG would need 4 x 600 MB; with the budget the large ones take turns
    while small ones still run side by side. One image always runs, however large
    (the decompression-bomb limit bounds it).

    Parameters
    ----------
    limit_bytes : int
    context : multiprocessing context, optional
        Make a budget that worker *processes* share (pass it to each of them when
        they start, and install it there with :func:`use_decode_budget`); without
        it the budget is shared by the threads of this process.
    """

    def __init__(self, limit_bytes: int, context=None):
        self.limit = limit_bytes
        if context is None:
            self._cond, self._used = threading.Condition(), _Counter()
        else:
            self._cond, self._used = context.Condition(), context.RawValue("q", 0)

    @contextlib.contextmanager
    def hold(self, nbytes: int):
        nbytes = min(nbytes, self.limit)
        with self._cond:
            while self._used.value and self._used.value + nbytes > self.limit:
                self._cond.wait()
            self._used.value += nbytes
        try:
            yield
        finally:
            with self._cond:
                self._used.value -= nbytes
                self._cond.notify_all()


# Decoded pixels that decoding workers (threads, or processes sharing it) hold at once.
DECODE_BUDGET_BYTES = 1 << 30
_BUDGET = DecodeBudget(DECODE_BUDGET_BYTES)


def use_decode_budget(budget: DecodeBudget) -> DecodeBudget:
    """Make ``budget`` the one that :func:`load_image` holds while decoding; returns the old one.

    Decoding worker processes install the budget their parent shares with them.
    """
    global _BUDGET
    old, _BUDGET = _BUDGET, budget
    return old


def load_image(source, draft_size: int | None = DRAFT_SIZE) -> Image.Image:
    """Open ``source`` (path, bytes, file object or PIL image) as an upright RGB image.

    Parameters
    ----------
    source : str, os.PathLike, bytes, file object or PIL.Image.Image
    draft_size : int, optional
        Large images are returned reduced, keeping both sides >= this many pixels:
        JPEGs are decoded at a power-of-two reduction (``Image.draft``: a 12 MP photo
        decodes ~2x faster in 1/16 of the memory), other formats are decoded and then
        box-reduced strip by strip, so no full-size copy is ever made after decoding.
        The models see 224-384 px anyway. None returns the full size. A PIL image
        given as ``source`` is never reduced.

    Returns
    -------
    PIL.Image.Image in mode RGB, EXIF orientation applied, transparency on white.

    Raises
    ------
    ImageLoadError
        With a reason: empty file, not a regular file, permission denied, not an
        image, truncated, a format other than :data:`RASTER_FORMATS`, decompression
        bomb, no pixels, ... Any failure caused by the data is reported so; only a
        bug of this package propagates as another exception.
    """
    if isinstance(source, Image.Image):
        # Already decoded: only rotated and converted, never reduced, so that it gives
        # exactly what a by-hand computation on the same PIL image gives.
        with _reading("<image>"):
            return _finish(source, None, "<image>")
    if isinstance(source, (str, os.PathLike)):
        with _open_path(Path(source)) as fh:
            return _decode(fh, draft_size, source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not len(source):
            raise ImageLoadError("<image bytes>", "empty data (0 bytes)")
        return _decode(io.BytesIO(source), draft_size, "<image bytes>")
    if hasattr(source, "read"):
        name = getattr(source, "name", "<file object>")
        if not (hasattr(source, "seekable") and source.seekable()):
            with _reading(name):        # a pipe or socket: read it once, then seek freely
                source = io.BytesIO(source.read())
        return _decode(source, draft_size, name)
    raise TypeError(f"cannot load an image from {type(source).__name__}; "
                    "give a path, bytes, a file object or a PIL image")


def stat_regular_file(path: str | os.PathLike) -> os.stat_result:
    """``os.stat(path)``, or :class:`ImageLoadError` if it is not a readable regular file."""
    try:
        info = os.stat(path)
    except FileNotFoundError as err:
        broken = " (a broken symbolic link)" if os.path.islink(path) else ""
        raise ImageLoadError(path, f"file not found{broken}") from err
    except OSError as err:
        raise ImageLoadError(path, f"cannot read file: {err.strerror or err}") from err
    # Checked before open(): opening a FIFO would block forever, a directory fails late.
    if not stat.S_ISREG(info.st_mode):
        kind = ("a directory" if stat.S_ISDIR(info.st_mode) else
                "a named pipe (FIFO)" if stat.S_ISFIFO(info.st_mode) else "a special file")
        raise ImageLoadError(path, f"not a regular file: it is {kind}")
    return info


@contextlib.contextmanager
def _open_path(path: Path):
    suffix = path.suffix.lower()
    if suffix in UNSUPPORTED_EXTENSIONS:
        raise ImageLoadError(path, f"unsupported format: {UNSUPPORTED_EXTENSIONS[suffix]}")
    if suffix in _HEIF_EXTENSIONS and not _register_heif():
        raise ImageLoadError(path, _HEIF_HINT)
    if stat_regular_file(path).st_size == 0:
        raise ImageLoadError(path, "empty file (0 bytes)")
    try:
        fh = open(path, "rb")
    except PermissionError as err:
        raise ImageLoadError(path, "permission denied") from err
    except OSError as err:
        raise ImageLoadError(path, f"cannot read file: {err.strerror or err}") from err
    with fh:
        yield fh


def _looks_like_heif(fh) -> bool:
    fh.seek(0)
    head = fh.read(12)
    fh.seek(0)
    return len(head) == 12 and head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def _raster_formats() -> tuple[str, ...]:
    Image.init()            # registers every plugin (once): AVIF, TIFF and WebP included
    return tuple(f for f in RASTER_FORMATS if f in Image.OPEN)


def _other_format(fh) -> str | None:
    """The format Pillow would name from the first bytes alone, if it is one we do not decode.

    Only the plugins' signature tests run (on 16 bytes), none of their parsers.
    """
    fh.seek(0)
    prefix = fh.read(16)
    fh.seek(0)
    for fmt, (_factory, accept) in list(Image.OPEN.items()):
        if fmt in RASTER_FORMATS or accept is None:
            continue
        try:
            found = accept(prefix)
        except Exception as err:
            if not is_decoding_failure(err):
                raise
            continue
        if found and not isinstance(found, str):   # a str is a "maybe" warning
            return fmt
    return None


def _open_raster(fh, name) -> Image.Image:
    """``Image.open`` limited to :data:`RASTER_FORMATS`; other content is unsupported."""
    try:
        return Image.open(fh, formats=_raster_formats())
    except UnidentifiedImageError:
        if not _looks_like_heif(fh):
            other = _other_format(fh)
            if other is None:
                raise
            raise ImageLoadError(name, f"unsupported format {other}: only {_FORMAT_NAMES} "
                                       "files are read; convert it to PNG or JPEG") from None
        if not _register_heif():
            raise ImageLoadError(name, _HEIF_HINT) from None
    try:
        return Image.open(fh, formats=("HEIF",))        # pillow-heif is registered now
    except UnidentifiedImageError as err:
        raise ImageLoadError(name, "a HEIC/HEIF file that pillow-heif cannot read: corrupt "
                                   "or truncated") from err


def _decode(fh, draft_size: int | None, name) -> Image.Image:
    try:
        with _reading(name):
            return _decode_raster(fh, draft_size, name)
    except ImageLoadError as err:
        if not _png_text_too_large(err):
            raise
    # Pillow stops at PNG metadata (text chunks) over its safety limits; the
    # pixels do not depend on it, so decode the picture without its text.
    fh.seek(0)
    with _reading(name):
        return _decode_raster(io.BytesIO(_without_png_text(fh.read())), draft_size, name)


def _decode_raster(fh, draft_size: int | None, name) -> Image.Image:
    with _open_raster(fh, name) as im:
        if draft_size and im.format == "JPEG":
            im.draft(im.mode, (draft_size, draft_size))
        with _BUDGET.hold(im.width * im.height * 4):
            im.load()
            return _finish(im, draft_size, name)


def _png_text_too_large(err: ImageLoadError) -> bool:
    # Pillow's messages name the limits: PngImagePlugin.MAX_TEXT_CHUNK / MAX_TEXT_MEMORY.
    cause = err.__cause__
    return isinstance(cause, ValueError) and "MAX_TEXT_" in str(cause)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def _without_png_text(data: bytes) -> bytes:
    """The PNG ``data`` with its text chunks left out (unchanged if it is not a PNG)."""
    if not data.startswith(_PNG_SIGNATURE):
        return data
    out, pos = [_PNG_SIGNATURE], len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        end = pos + 12 + length          # length, type, data, CRC
        if data[pos + 4:pos + 8] not in _PNG_TEXT_CHUNKS:
            out.append(data[pos:end])
        pos = end
    return b"".join(out)


def exif_orientation(im: Image.Image) -> int:
    """The EXIF orientation (1-8) of an opened image; 1 (upright) when it has none or it is unreadable."""
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception as err:
        if not is_decoding_failure(err):
            raise
        return 1        # unreadable EXIF only loses the rotation hint; the pixels are fine
    return value if isinstance(value, int) else 1


def _finish(im: Image.Image, draft_size: int | None, name) -> Image.Image:
    """Reduce (if large), convert to RGB, then rotate: in that order, so that no
    full-size copy of a big picture is made after it has been decoded."""
    if not (im.width and im.height):
        raise ImageLoadError(name, f"the image has no pixels ({im.width} x {im.height})")
    orientation = exif_orientation(im)
    factor = min(im.size) // draft_size if draft_size else 1
    try:
        out = _to_rgb(im, name=name) if factor < 2 else _reduce_to_rgb(im, factor, name)
    except ValueError as err:
        raise ImageLoadError(name, f"unsupported pixel mode {im.mode!r}: {err}") from err
    method = ORIENTATION_TRANSPOSE.get(orientation)
    return out.transpose(method) if method is not None else out


def _reduce_to_rgb(im: Image.Image, factor: int, name) -> Image.Image:
    # Strips of rows (a multiple of ``factor`` high) give the same result as
    # reducing the whole picture, with at most one strip converted at a time.
    width, height = im.size
    out = Image.new("RGB", (math.ceil(width / factor), math.ceil(height / factor)))
    rows = max(factor, _STRIP_BYTES // (4 * width) // factor * factor)
    scale = _int_scale(im, name)
    for top in range(0, height, rows):
        strip = im.crop((0, top, width, min(height, top + rows)))
        out.paste(_to_rgb(strip, scale, factor, name), (0, top // factor))
    return out


def _int_scale(im: Image.Image, name):
    """How to map 16/32-bit and float pixels to 0..255 (one rule for all strips):
    ``(lo, mul, hi)``, pixel -> (pixel - lo) * mul, after clamping to [lo, hi]."""
    if im.mode.startswith("I;16"):
        return 0.0, 255.0 / 65535.0, 65535.0
    if im.mode in ("I", "F"):
        lo, hi = im.getextrema()
        if not (math.isfinite(lo) and math.isfinite(hi)):
            lo, hi = _finite_range(im, name)
        if im.mode == "F" and 0.0 <= lo and hi <= 1.0:
            return 0.0, 255.0, 1.0
        if 0 <= lo and hi <= 255:
            return 0.0, 1.0, 255.0
        if im.mode == "I" and 0 <= lo and hi <= 65535:
            return 0.0, 255.0 / 65535.0, 65535.0     # 16-bit data that Pillow opened as "I"
        return float(lo), (255.0 / (hi - lo) if hi > lo else 0.0), float(hi)
    return None


def _finite_range(im: Image.Image, name) -> tuple[float, float]:
    # A float picture with infinite or NaN pixels (a band of -inf, say): scale by its
    # finite pixels, else the whole picture would come out one flat grey.
    arr = np.asarray(im, dtype=np.float32)
    finite = arr[np.isfinite(arr)]
    if not finite.size:
        raise ImageLoadError(name, "no pixel has a finite value (all are infinite or NaN)")
    return float(finite.min()), float(finite.max())


def _to_rgb(im: Image.Image, scale=None, factor: int = 1, name="<image>") -> Image.Image:
    """Convert ``im`` to RGB, box-reducing by ``factor`` on the way."""
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        lo, mul, hi = scale if scale is not None else _int_scale(im, name)
        # -inf and NaN become the darkest value, +inf the brightest.
        arr = np.nan_to_num(np.asarray(im, dtype=np.float32), nan=lo, neginf=lo, posinf=hi)
        arr = (np.clip(arr, lo, hi) - lo) * mul
        im = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")
    elif im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode in ("PA", "RGBa", "La"):
        im = im.convert("RGBA")
    elif im.mode not in ("RGB", "RGBA", "L", "LA", "CMYK"):
        im = im.convert("RGB")
    if factor > 1:
        im = im.reduce(factor)
    if im.mode in ("RGBA", "LA"):
        # Transparent pixels would otherwise turn black: put them on white.
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")
