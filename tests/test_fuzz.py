"""Seeded mutation fuzzing: mutants of every format Pillow can open.

Each seed of :mod:`formatseeds` is mutated (bit flips, bytes set to edge values,
32-bit fields set to edge values, truncation, insertion, deletion; half of them
within the header) a few hundred times, with a fixed seed. All mutants go through
``embed_image_files`` and ``ImageIndex.build`` with a tiny real model. The run must
complete, each file must be embedded or skipped with a reason (the same way by both
paths), and no other process may be started: Pillow's EPS plugin would run
Ghostscript, which is why only raster formats are decoded.

``IMGSEARCH_FUZZ_MUTANTS`` (per format, default 300) and ``IMGSEARCH_FUZZ_SEED``
(default 18) change the size and the draw.
"""
import collections
import io
import os
import subprocess
import time
import warnings

import numpy as np
import pytest
from PIL import Image

from formatseeds import seed_files
from imgsearch_helpers import ImageLoadError, embed_image_files, load_image, load_model
from imgsearch_helpers.images import RASTER_FORMATS
from imgsearch_helpers.index import ImageIndex, ModelEmbedder

MUTANTS = int(os.environ.get("IMGSEARCH_FUZZ_MUTANTS", "300"))
SEED = int(os.environ.get("IMGSEARCH_FUZZ_SEED", "18"))
# The name a mutant gets: its format's own extension where the index reads that
# extension, else ".jpg" (content of another format under a photo's name).
_EXTENSION = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "PNG_APNG": ".png", "GIF": ".gif",
              "BMP": ".bmp", "TIFF": ".tif", "TIFF_G4": ".tiff", "WEBP": ".webp",
              "AVIF": ".avif", "HEIF": ".heic"}
_EDGE_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF)
_EDGE_WORDS = (b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x00\x10\x00",
               b"\x00\x10\x00\x00")


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    """One to four random edits of ``data``; half of them within its first 64 bytes."""
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 5))):
        span = min(len(out), 64) if rng.random() < 0.5 else len(out)
        pos = int(rng.integers(0, span))
        op = int(rng.integers(0, 6))
        if op == 0:
            out[pos] ^= 1 << int(rng.integers(0, 8))
        elif op == 1:
            out[pos] = _EDGE_BYTES[int(rng.integers(0, len(_EDGE_BYTES)))]
        elif op == 2:
            out[pos:pos + 4] = _EDGE_WORDS[int(rng.integers(0, len(_EDGE_WORDS)))]
        elif op == 3 and len(out) > 1:
            del out[int(rng.integers(1, len(out))):]
        elif op == 4:
            out[pos:pos] = rng.bytes(int(rng.integers(1, 16)))
        else:
            del out[pos:pos + int(rng.integers(1, 16))]
        if not out:
            out = bytearray(b"\0")
    return bytes(out)


def test_every_format_pillow_opens_has_a_seed_and_only_rasters_are_decoded():
    seeds = seed_files()
    Image.init()
    assert set(Image.OPEN) <= {name.split("_")[0] for name in seeds}, \
        "Pillow opens a format with no seed in formatseeds.py: add one"
    named = {"TIFF_G4": "TIFF", "PNG_APNG": "PNG", "XVTHUMB": "XVThumb"}
    for name, data in seeds.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:      # identified only, never loaded
                assert im.format == named.get(name, name), name
        if name.split("_")[0] in RASTER_FORMATS:
            assert load_image(data).size == (24, 16), name
        else:      # refused by its signature (or unknown), whatever its name says
            with pytest.raises(ImageLoadError, match="unsupported format|not an image"):
                load_image(data)


class _NoProcess:
    """Stands in for subprocess.Popen: records the attempt and refuses it."""

    calls: list = []

    def __init__(self, args, *more, **kwargs):
        _NoProcess.calls.append(args)
        raise OSError("the fuzz test allows no other process")


def _reason_kind(reason: str) -> str:
    for kind in ("unsupported format", "not an image", "corrupt or truncated", "corrupt image",
                 "decompression bomb", "no pixels", "pillow-heif", "preprocessing failed",
                 "no pixel has a finite value", "too large", "empty"):
        if kind in reason:
            return kind
    return reason


def test_mutants_of_every_format_are_embedded_or_skipped(tiny_clip, tmp_path, monkeypatch):
    psutil = pytest.importorskip("psutil")
    rng = np.random.default_rng(SEED)
    folder = tmp_path / "mutants"
    folder.mkdir()
    formats = collections.Counter()
    for fmt, seed in seed_files().items():
        for k in range(MUTANTS):
            (folder / f"{fmt.lower()}-{k:04d}{_EXTENSION.get(fmt, '.jpg')}").write_bytes(
                mutate(seed, rng))
            formats[fmt] += 1
    paths = sorted(folder.iterdir())
    # Mutated headers may claim huge sizes; Pillow refuses those over its limit as
    # bombs. A lower limit keeps each file's decoding short, and the test bounded.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2_000_000)
    _NoProcess.calls = []
    for name in ("Popen",):
        monkeypatch.setattr(subprocess, name, _NoProcess)
    for name in ("system", "posix_spawn", "posix_spawnp", "fork", "forkpty"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, _NoProcess)
    loaded = load_model(tiny_clip, device="cpu")
    # Processes that were there before (a fork server an earlier test started) are not
    # this run's. Decoding runs in threads: worker processes, the default from 8 cores
    # on, would be counted below (they run the same decoding code).
    before = {p.pid for p in psutil.Process().children(recursive=True)}

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # Pillow warns on some odd headers
        emb, ok, skipped = embed_image_files(loaded, paths, batch_size=64, progress=False,
                                             decoder="threads")
        embedded_at = time.perf_counter()
        index = ImageIndex.build(folder, ModelEmbedder(loaded, decoder="threads"), progress=False)
    done = time.perf_counter()

    assert not _NoProcess.calls, _NoProcess.calls
    assert not {p.pid for p in psutil.Process().children(recursive=True)} - before
    # Every file is either embedded or skipped with a reason, by both paths alike.
    assert len(ok) + len(skipped) == len(paths) and emb.shape[0] == len(ok)
    assert np.isfinite(emb).all()
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    reasons = {p.name: r for p, r in skipped}
    assert all(isinstance(r, str) and r.strip() for r in reasons.values())
    assert sorted(index.relpaths) == sorted(paths[i].name for i in ok)
    assert {p.name: r for p, r in index.skipped} == reasons
    np.testing.assert_allclose(index.embeddings, emb, atol=1e-5)

    kinds = collections.Counter(_reason_kind(r) for r in reasons.values())
    decoded = collections.Counter(paths[i].name.split("-")[0] for i in ok)
    print(f"\nfuzz: {len(paths)} files, {len(formats)} formats x {MUTANTS} mutants, seed {SEED}: "
          f"{len(ok)} embedded, {len(skipped)} skipped; embed_image_files "
          f"{embedded_at - start:.1f} s, ImageIndex.build {done - embedded_at:.1f} s")
    print("skip reasons:", dict(kinds.most_common()))
    print("embedded per format:", dict(sorted(decoded.items())))
