"""ImageIndex: indexing a folder vs re-indexing it unchanged; opening a 1M-vector index.

    python bench/bench_index.py [--images 1000] [--vectors 1000000]

The folder's files are given an mtime an hour in the past: files changed less than
2 s before they are indexed are "racy" (their size and mtime cannot prove them
unchanged) and are embedded again on the next run, which would blur what this
measures. The model is the offline clip-art CLIP when present, else a tiny random
CLIP with the standard 224 px processor (the table says which).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

from _common import small_pngs, table, timed, write_section


def tiny_model():
    from imgsearch_helpers.models import LoadedModel, ModelNotAvailableError, load_model

    try:
        return load_model("imgsearch/clipart-clip", device="cpu")
    except ModelNotAvailableError:
        pass      # trained by another job; fall back to a tiny random CLIP (said in the table)
    import transformers
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    small = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2)
    config = CLIPConfig(text_config=small, vision_config=dict(small, patch_size=32),
                        projection_dim=64)
    processor = types.SimpleNamespace(image_processor=CLIPImageProcessor())
    return LoadedModel("tiny random CLIP (224 px)", "clip", CLIPModel(config).eval(), processor,
                       torch.device("cpu"), torch.float32)


def bench_folder(root: Path, count: int) -> tuple[list, list]:
    from imgsearch_helpers import ImageIndex

    folder = root / "photos"
    paths = small_pngs(folder, count, size=(320, 240))
    old = time.time_ns() - 3600 * 10**9
    for p in paths:
        os.utime(p, ns=(old, old))
    loaded = tiny_model()
    ImageIndex.build(folder, loaded, index_dir=root / "warmup", progress=False)   # warm up
    full, reindex = [], []
    for r in range(2):
        index_dir = root / f"index{r}"
        full.append(timed(ImageIndex.build, folder, loaded, index_dir=index_dir,
                          progress=False)[0])
        for _ in range(3):
            dt, index = timed(ImageIndex.build, folder, loaded, index_dir=index_dir)
            assert index.summary["reused"] == count and index.summary["embedded"] == 0
            reindex.append(dt)
    for p in paths[:10]:                       # 1% of the folder changes
        p.write_bytes(p.read_bytes() + b"\0")
        os.utime(p, ns=(old + 10**9, old + 10**9))
    changed, index = timed(ImageIndex.build, folder, loaded, index_dir=root / "index0",
                           progress=False)
    assert index.summary["embedded"] == 10
    t_full, t_re = statistics.median(full), statistics.median(reindex)
    rows = [[f"{count} PNGs 320x240, {loaded.name}", f"{t_full:.2f} s", f"{t_re * 1e3:.1f} ms",
             f"**{t_re / t_full:.2%}**", f"{changed:.2f} s"]]
    return rows, HEADER_FOLDER


HEADER_FOLDER = ["folder, model", "index from scratch", "re-index unchanged",
                 "re-index / index (target <= 5%)", "re-index with 10 files changed"]


def bench_open(root: Path, n: int, dim: int = 512) -> list:
    from imgsearch_helpers import ImageIndex
    from imgsearch_helpers.index import _store as store

    index_dir = root / "big-index"
    index_dir.mkdir()
    rng = np.random.default_rng(0)
    paths = [f"{2000 + i // 100_000}/{i // 1000 % 100:02d}/IMG_{i:07d}.jpg" for i in range(n)]

    def blocks():
        for start in range(0, n, 100_000):
            b = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
            yield b / np.linalg.norm(b, axis=1, keepdims=True)

    start = time.perf_counter()
    manifest = store.Manifest(model="synthetic", dim=dim, dtype="float32", folder="photos",
                              generation=1, embeddings_file="embeddings-1.npy", paths=paths,
                              sizes=[2_000_000 + i for i in range(n)],
                              mtimes=[1_600_000_000 * 10**9 + i for i in range(n)],
                              inodes=list(range(1, n + 1)),
                              created=store.now_iso(), updated=store.now_iso())
    manifest.embeddings_bytes, manifest.embeddings_sha256 = store.atomic_write_npy(
        index_dir / "embeddings-1.npy", "float32", (n, dim), blocks())
    store.write_manifest(index_dir, manifest)
    print(f"wrote a {n:,}-vector index in {time.perf_counter() - start:.0f} s", flush=True)
    # The index is kept outside its folder, so open() is told which folder that is.
    opens = [timed(ImageIndex.open, index_dir, index_dir / "photos")[0] for _ in range(5)]
    index = ImageIndex.open(index_dir, index_dir / "photos")
    query = index.embeddings[12345].astype(np.float32)
    first, hits = timed(index.search_embedding, query, 10)
    assert hits[0].index == 12345
    again = statistics.median(timed(index.search_embedding, query, 10)[0] for _ in range(3))
    mb = (index_dir / "manifest.json").stat().st_size / 2**20
    return [[f"{n:,} x {dim} float32 ({n * dim * 4 / 2**30:.1f} GiB), manifest {mb:.0f} MiB",
             f"**{statistics.median(opens):.2f} s**", f"{first:.2f} s", f"{again:.2f} s"]]


HEADER_OPEN = ["index", "ImageIndex.open (target <= 1 s)", "first search after open",
               "next searches"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--vectors", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-index-"))
    try:
        rows, header = bench_folder(root, args.images)
        print(table(header, rows), flush=True)
        open_rows = bench_open(root, args.vectors)
        print(table(HEADER_OPEN, open_rows), flush=True)
    finally:
        shutil.rmtree(root)
    body = "\n\n".join([
        table(header, rows), table(HEADER_OPEN, open_rows),
        "Medians: index from scratch of 2 runs, re-index of 6, open of 5. Files have "
        "an mtime an hour old (see the script's docstring). The 1M index is synthetic "
        "(random unit vectors, made-up paths) and its files are in the page cache, as "
        "right after an update; the first search then reads the 2 GiB matrix from it."])
    write_section("bench_index", body)


if __name__ == "__main__":
    main()
