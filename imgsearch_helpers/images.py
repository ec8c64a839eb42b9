"""Open image files safely: every mode, EXIF rotation, big images at reduced size.

Every failure becomes an :class:`ImageLoadError` whose ``reason`` a person can act
on (empty file, not an image, truncated, needs pillow-heif, ...), so that a folder
run can skip the file, say why, and go on. Pillow's decompression-bomb limit
(``Image.MAX_IMAGE_PIXELS``) is left as Pillow sets it.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import stat
import struct
import threading
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ["ImageLoadError", "load_image", "find_image_files", "read_captions", "CAPTIONS_FILE",
           "stat_regular_file",
           "IMAGE_EXTENSIONS", "UNSUPPORTED_EXTENSIONS", "SCAN_EXTENSIONS"]

IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif",
    ".avif",
})
# Files a photo folder holds that are pictures but that Pillow cannot decode: a
# folder scan reports them as skipped (with what to do) instead of ignoring them.
UNSUPPORTED_EXTENSIONS = {
    ".svg": "SVG is a vector format; export it as PNG to index it",
    ".jxl": "JPEG XL is not supported by Pillow; convert it to JPEG or PNG",
    ".cr2": "camera RAW files are not supported; export them as JPEG",
    ".cr3": "camera RAW files are not supported; export them as JPEG",
    ".nef": "camera RAW files are not supported; export them as JPEG",
    ".arw": "camera RAW files are not supported; export them as JPEG",
    ".dng": "camera RAW files are not supported; export them as JPEG",
    ".raf": "camera RAW files are not supported; export them as JPEG",
    ".orf": "camera RAW files are not supported; export them as JPEG",
}
SCAN_EXTENSIONS = IMAGE_EXTENSIONS | frozenset(UNSUPPORTED_EXTENSIONS)

_HEIF_EXTENSIONS = frozenset({".heic", ".heif"})
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
_HEIF_HINT = "HEIC/HEIF needs the optional package pillow-heif (pip install pillow-heif)"
_heif_registered: bool | None = None

# EXIF orientation -> the transpose that makes the picture upright (as ImageOps).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_STRIP_BYTES = 16 << 20


class ImageLoadError(Exception):
    """An image could not be used; ``reason`` says why in words a person understands."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


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


class _DecodeBudget:
    """Caps the decoded pixels that worker threads hold at once.

    Pillow decodes non-JPEG formats only at full size, so four threads each on a
    150 MP PNG would need 4 x 600 MB; with the budget the large ones take turns
    while small ones still run side by side. One image always runs, however large
    (the decompression-bomb limit bounds it).
    """

    def __init__(self, limit_bytes: int):
        self.limit = limit_bytes
        self._used = 0
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def hold(self, nbytes: int):
        nbytes = min(nbytes, self.limit)
        with self._cond:
            while self._used and self._used + nbytes > self.limit:
                self._cond.wait()
            self._used += nbytes
        try:
            yield
        finally:
            with self._cond:
                self._used -= nbytes
                self._cond.notify_all()


_BUDGET = _DecodeBudget(1 << 30)


def load_image(source, draft_size: int | None = 512) -> Image.Image:
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
        image, truncated, unsupported format, decompression bomb, ...
    """
    if isinstance(source, Image.Image):
        # Already decoded: only rotated and converted, never reduced, so that it gives
        # exactly what a by-hand computation on the same PIL image gives.
        return _finish(source, None, "<image>")
    if isinstance(source, (str, os.PathLike)):
        with _open_path(Path(source)) as fh:
            return _decode(fh, draft_size, source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not len(source):
            raise ImageLoadError("<image bytes>", "empty data (0 bytes)")
        return _decode(io.BytesIO(source), draft_size, "<image bytes>")
    if hasattr(source, "read"):
        return _decode(source, draft_size, getattr(source, "name", "<file object>"))
    raise TypeError(f"cannot load an image from {type(source).__name__}; "
                    "give a path, bytes, a file object or a PIL image")


def find_image_files(folder: str | os.PathLike, recursive: bool = True,
                     exclude: str | os.PathLike | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """The one folder walker: every picture file under ``folder``, by one set of rules.

    Files with an extension of :data:`SCAN_EXTENSIONS` count: the images Pillow reads
    and the picture formats it cannot (reported later as skipped, with what to do).
    Hidden files and folders (names starting with ".") are left out, and so are
    symbolic links to folders (they could loop). The index, the app and the course
    profiles all list folders through this function.

    Parameters
    ----------
    folder : str or path
    recursive : bool
        Look into subfolders too.
    exclude : str or path, optional
        A folder not to enter (an index stored inside the folder it indexes).

    Returns
    -------
    (files, problems)
        ``files``: paths relative to ``folder`` with "/" separators, sorted;
        ``problems``: ``(relative folder, reason)`` for folders that could not be listed.
    """
    exclude = os.path.realpath(exclude) if exclude is not None else None
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    stack = [(os.fspath(folder), "")]
    while stack:
        path, prefix = stack.pop()
        try:
            entries = list(os.scandir(path))
        except OSError as err:
            problems.append((prefix or ".", f"cannot list folder: {err.strerror or err}"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if recursive and os.path.realpath(entry.path) != exclude:
                    stack.append((entry.path, rel + "/"))
            elif os.path.splitext(entry.name)[1].lower() in SCAN_EXTENSIONS:
                files.append(rel)
    files.sort()
    return files, problems


# A gallery folder may hold this JSON file: {file name: caption}.
CAPTIONS_FILE = "captions.json"


def read_captions(folder: str | os.PathLike) -> dict[str, str]:
    """The captions of a gallery folder, from its ``captions.json`` ({} when there is none).

    Raises
    ------
    ValueError
        The file exists but is not a JSON object of file names to captions.
    """
    path = Path(folder) / CAPTIONS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a readable JSON file ({err}); "
                         "fix or remove it to use this folder") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} must map file names to captions")
    return {str(k): str(v) for k, v in data.items()}


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


def _decode(fh, draft_size: int | None, name) -> Image.Image:
    try:
        try:
            im = Image.open(fh)
        except UnidentifiedImageError:
            if not _looks_like_heif(fh):
                raise
            if not _register_heif():
                raise ImageLoadError(name, _HEIF_HINT) from None
            im = Image.open(fh)   # pillow-heif was installed but not yet registered
        with im:
            if draft_size and im.format == "JPEG":
                im.draft(im.mode, (draft_size, draft_size))
            with _BUDGET.hold(im.width * im.height * 4):
                im.load()
                return _finish(im, draft_size, name)
    except ImageLoadError:
        raise
    except UnidentifiedImageError as err:
        raise ImageLoadError(name, "not an image, or a format Pillow cannot read") from err
    except Image.DecompressionBombError as err:
        raise ImageLoadError(name, f"refused as a possible decompression bomb: {err}") from err
    except PermissionError as err:
        raise ImageLoadError(name, "permission denied") from err
    except MemoryError as err:
        raise ImageLoadError(name, "too large to decode in the memory available") from err
    except (OSError, SyntaxError, ValueError, struct.error, EOFError) as err:
        # Pillow reports truncated/corrupt data as OSError ("image file is truncated").
        raise ImageLoadError(name, f"corrupt or truncated image: {err}") from err


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(0x0112, 1))
    except (SyntaxError, ValueError, TypeError, struct.error, OSError):
        # Unreadable EXIF only loses the rotation hint; the pixels are fine.
        return 1


def _finish(im: Image.Image, draft_size: int | None, name) -> Image.Image:
    """Reduce (if large), convert to RGB, then rotate: in that order, so that no
    full-size copy of a big picture is made after it has been decoded."""
    orientation = _orientation(im)
    factor = min(im.size) // draft_size if draft_size else 1
    try:
        out = _to_rgb(im) if factor < 2 else _reduce_to_rgb(im, factor)
    except ValueError as err:
        raise ImageLoadError(name, f"unsupported pixel mode {im.mode!r}: {err}") from err
    method = _ORIENTATION.get(orientation)
    return out.transpose(method) if method is not None else out


def _reduce_to_rgb(im: Image.Image, factor: int) -> Image.Image:
    # Strips of rows (a multiple of ``factor`` high) give the same result as
    # reducing the whole picture, with at most one strip converted at a time.
    width, height = im.size
    out = Image.new("RGB", (math.ceil(width / factor), math.ceil(height / factor)))
    rows = max(factor, _STRIP_BYTES // (4 * width) // factor * factor)
    scale = _int_scale(im)
    for top in range(0, height, rows):
        strip = im.crop((0, top, width, min(height, top + rows)))
        out.paste(_to_rgb(strip, scale, factor), (0, top // factor))
    return out


def _int_scale(im: Image.Image):
    """How to map 16/32-bit and float pixels to 0..255 (one rule for all strips)."""
    if im.mode.startswith("I;16"):
        return 0.0, 255.0 / 65535.0
    if im.mode in ("I", "F"):
        lo, hi = im.getextrema()
        if im.mode == "F" and 0.0 <= lo and hi <= 1.0:
            return 0.0, 255.0
        if 0 <= lo and hi <= 255:
            return 0.0, 1.0
        if im.mode == "I" and 0 <= lo and hi <= 65535:
            return 0.0, 255.0 / 65535.0     # 16-bit data that Pillow opened as "I"
        return float(lo), (255.0 / (hi - lo) if hi > lo else 0.0)
    return None


def _to_rgb(im: Image.Image, scale=None, factor: int = 1) -> Image.Image:
    """Convert ``im`` to RGB, box-reducing by ``factor`` on the way."""
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        lo, mul = scale if scale is not None else _int_scale(im)
        arr = (np.asarray(im, dtype=np.float32) - lo) * mul
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
