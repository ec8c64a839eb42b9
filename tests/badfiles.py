"""Test helpers: bad and unusual image files made at test time, and a fake embedder.

Nothing here is committed as binary data: every file is generated in a temporary
folder by the test that needs it.
"""
from __future__ import annotations

import errno
import hashlib
import importlib.util
import io
import os
import struct
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from imgsearch_helpers.embeddings import ImageBatchResult

HOSTILE_NAME = "<img src=x onerror=alert(1)>.jpg"
OLD_NS = 1_600_000_000 * 10**9  # an mtime far outside the index's "racy" window
# Every kind of name a file system allows: newlines, tabs, bytes that are not UTF-8, CJK.
ODD_NAMES = ["line\nbreak.jpg", "tab\tand space .jpg", os.fsdecode(b"caf\xe9-latin1.jpg"),
             os.fsdecode(b"\xff\xfe-not-utf8.jpg"), "日本語.jpg", "sub dir/new\nline.jpg"]


def age(*paths: Path, when_ns: int = OLD_NS) -> None:
    """Give each file (or every file under a folder) an old mtime; symbolic links are left alone."""
    for path in paths:
        if path.is_file() and not path.is_symlink():
            os.utime(path, ns=(when_ns, when_ns))
        for root, _, files in os.walk(path):
            for name in files:
                full = os.path.join(root, name)
                if not os.path.islink(full):
                    os.utime(full, ns=(when_ns, when_ns))


# -- a deterministic, fast stand-in for a model ----------------------------------

def fake_vector(data: bytes, dim: int = 8) -> np.ndarray:
    """A unit vector that depends only on ``data``."""
    seed = int.from_bytes(hashlib.sha256(data).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def old_pictures(folder: Path, count: int = 3) -> Path:
    """A new folder of ``count`` distinct fake pictures ``0.jpg``... with an old mtime."""
    folder.mkdir()
    for k in range(count):
        (folder / f"{k}.jpg").write_bytes(b"picture %d" % k)
    age(folder)
    return folder


class FakeEmbedder:
    """Embeds a file as :func:`fake_vector` of its bytes; files starting with b"BAD" fail.

    ``embedded`` records every path it embedded; ``delay`` (seconds per batch)
    makes a run slow enough to be killed half-way.
    """

    def __init__(self, dim: int = 8, name: str = "fake/bytes-v1", batch_size: int = 4,
                 delay: float = 0.0):
        self.dim, self.name, self.batch_size, self.delay = dim, name, batch_size, delay
        self.embedded: list[Path] = []

    def embed_files(self, paths, progress=None):
        for start in range(0, len(paths), self.batch_size):
            positions, vectors, skipped = [], [], []
            for pos in range(start, min(start + self.batch_size, len(paths))):
                data = Path(paths[pos]).read_bytes()
                if data.startswith(b"BAD"):
                    skipped.append((pos, "fake: unreadable"))
                else:
                    positions.append(pos)
                    vectors.append(fake_vector(data, self.dim))
                    self.embedded.append(Path(paths[pos]))
            time.sleep(self.delay)
            emb = np.stack(vectors) if vectors else np.zeros((0, self.dim), np.float32)
            if progress is not None:
                progress.update(len(positions) + len(skipped))
            yield ImageBatchResult(positions, emb, skipped)

    def embed_text(self, text: str) -> np.ndarray:
        return fake_vector(text.encode("utf-8"), self.dim)

    def embed_image(self, image) -> np.ndarray:
        return fake_vector(Path(image).read_bytes(), self.dim)


# -- pictures in every mode --------------------------------------------------------

def quadrants(size=(64, 48)) -> Image.Image:
    """RGB picture with four coloured quadrants: red, green / blue, white."""
    w, h = size
    im = Image.new("RGB", size, (255, 255, 255))
    im.paste((255, 0, 0), (0, 0, w // 2, h // 2))
    im.paste((0, 255, 0), (w // 2, 0, w, h // 2))
    im.paste((0, 0, 255), (0, h // 2, w // 2, h))
    return im


def with_orientation(im: Image.Image, orientation: int, path: Path) -> Path:
    """Save ``im`` as a JPEG whose EXIF says it must be shown with ``orientation``."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


def jpeg_bytes(im: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


# -- broken files ------------------------------------------------------------------

def write_bad_files(folder: Path) -> dict[str, str]:
    """Write one of each kind of bad file; returns {name: word expected in the reason}."""
    folder.mkdir(parents=True, exist_ok=True)
    good = jpeg_bytes(quadrants((256, 192)), quality=90)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 2])
    # Fixed bytes, not os.urandom: some random tails parse as a truncated PNG
    # chunk and give another (also correct) reason, which made the test flaky.
    (folder / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 200)
    (folder / "notes.jpg").write_text("this is a text file, not a picture\n")
    (folder / "drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (folder / "phone.heic").write_bytes(heif_like_bytes())
    (folder / "bomb.png").write_bytes(bomb_png_bytes())
    os.mkfifo(folder / "pipe.jpg")
    os.symlink(folder / "does-not-exist.jpg", folder / "dangling.jpg")
    # Without pillow-heif the reason says to install it; with it, that the file is broken.
    heif = "corrupt" if importlib.util.find_spec("pillow_heif") else "pip install pillow-heif"
    return {"empty.jpg": "empty", "truncated.jpg": "truncated", "garbage.png": "not an image",
            "notes.jpg": "not an image", "drawing.svg": "SVG", "phone.heic": heif,
            "bomb.png": "decompression bomb", "pipe.jpg": "FIFO", "dangling.jpg": "broken"}


def heif_like_bytes() -> bytes:
    """The start of an HEIC file (an ISO-BMFF "ftyp" box of brand heic)."""
    ftyp = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return struct.pack(">I", 8 + len(ftyp)) + ftyp + b"\x00" * 64


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def bomb_png_bytes(width: int = 40_000, height: int = 40_000) -> bytes:
    """A 100-byte PNG whose header claims 1.6 gigapixels (over Pillow's bomb limit)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + _png_chunk(b"IEND", b""))


def write_big_png(path: Path, width: int, height: int) -> Path:
    """Write a ``width`` x ``height`` RGB PNG (horizontal bands) without holding it in memory."""
    comp = zlib.compressobj(1)
    parts = [b"\x89PNG\r\n\x1a\n",
             _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))]
    with open(path, "wb") as fh:
        fh.write(b"".join(parts))
        for y in range(height):
            row = b"\x00" + bytes((y * 7 % 256, 128, 255 - y % 256)) * width
            data = comp.compress(row)
            if data:
                fh.write(_png_chunk(b"IDAT", data))
        fh.write(_png_chunk(b"IDAT", comp.flush()))
        fh.write(_png_chunk(b"IEND", b""))
    return path


def read_only_disk(monkeypatch, under: Path):
    """Make every attempt to create or write under ``under`` fail with EROFS."""
    real_open, real_mkdir = os.open, Path.mkdir

    def ro_open(path, flags, *args, **kwargs):
        if str(path).startswith(str(under)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    def ro_mkdir(self, *args, **kwargs):
        if str(self).startswith(str(under)) and not self.is_dir():
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)
    monkeypatch.setattr(os, "open", ro_open)
    monkeypatch.setattr(Path, "mkdir", ro_mkdir)
