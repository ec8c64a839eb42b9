"""Approximate search, measured: recall@k against exact ``top_k``, latency, memory.

Notebook 08 runs it on a small collection, ``bench/bench_ann.py`` on a million
vectors; both build their vectors with :func:`clustered_vectors`, because uniform
random vectors have no neighbourhoods and make every approximate index look bad.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..embeddings import embed_images
from ..models import LoadedModel
from ..search import top_k

__all__ = ["scene_embeddings", "clustered_vectors", "AnnResult", "measure_exact",
           "measure_faiss_hnsw", "measure_faiss_ivfpq", "measure_milvus", "plot_recall_latency",
           "add_speedups", "ann_table", "MILVUS_LITE_INDEX_TYPES"]

# What Milvus Lite (the pure-Python engine, milvus-lite 3.x) builds; it has no PQ index.
# The benchmark measures recall@10, the usual ANN-benchmark measure (ann-benchmarks).
RECALL_K = 10
MILVUS_LITE_INDEX_TYPES = ("FLAT", "HNSW", "HNSW_SQ", "IVF_FLAT", "IVF_SQ8")


def scene_embeddings(loaded: LoadedModel, count: int, seed: int = 0) -> np.ndarray:
    """Image embeddings of ``count`` freshly drawn clip-art scenes (every kind in turn)."""
    from ..clipart import iter_scenes

    return embed_images(loaded, [s.image for s in iter_scenes(count, seed)], progress=False)


def clustered_vectors(seeds: np.ndarray, n: int, n_queries: int, dim: int = 512,
                      spread: float = 0.5, floor: float = 0.25, seed: int = 0,
                      holdout: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors scattered around real embeddings, shaped like real embeddings.

    Each vector is a real embedding (a row of ``seeds``) plus Gaussian noise whose
    covariance is that of the real embeddings, scaled by ``spread``: the cloud
    around each seed has the real data's few strong directions and many weak ones.
    Queries grow around seeds that the collection's vectors do not use
    (``holdout`` of them): a new picture of a familiar kind, not a copy of a
    stored one.

    Seeds narrower than ``dim`` (the course's offline models give 128 numbers) are
    placed in ``dim`` dimensions by a fixed random rotation, and every vector gets
    an isotropic noise floor in all ``dim`` directions (``floor`` times the shaped
    noise's variance), so that no direction is empty, as in real embeddings.

    Parameters
    ----------
    seeds : np.ndarray, shape (m, d)
        E.g. :func:`scene_embeddings` of a few thousand scenes.
    n, n_queries : int
    dim : int
        Dimension of the vectors (>= d).
    spread : float
        Noise scale relative to the spread of the real embeddings.
    floor : float
        Variance of the isotropic noise, relative to the shaped noise's.
    seed : int
    holdout : float
        Fraction of the seeds kept for the queries.

    Returns
    -------
    (base, queries) : float32 arrays of unit rows, shapes (n, dim) and (n_queries, dim).
    """
    rng = np.random.default_rng(seed)
    seeds = np.asarray(seeds, dtype=np.float64)
    m, d = seeds.shape
    if m < 10:
        raise ValueError("need at least 10 seed embeddings")
    if dim < d:
        raise ValueError(f"dim={dim} is less than the seeds' dimension {d}")
    order = rng.permutation(m)
    cut = max(1, int(m * holdout))
    centered = seeds - seeds.mean(axis=0)
    # Square root of the covariance through the SVD: noise = z @ shape, z ~ N(0, I).
    _, s, vt = np.linalg.svd(centered, full_matrices=False)
    shape = (s / np.sqrt(m - 1))[:, None] * vt * spread
    lift = np.linalg.qr(rng.standard_normal((dim, d)))[0].T          # (d, dim), orthonormal rows
    shape = (shape @ lift).astype(np.float32)
    centres = (seeds @ lift).astype(np.float32)
    query_centres, base_centres = centres[order[:cut]], centres[order[cut:]]
    floor_std = np.float32(np.sqrt(floor * float(np.sum(shape.astype(np.float64) ** 2)) / dim))

    def grow(centres: np.ndarray, count: int) -> np.ndarray:
        out = np.empty((count, dim), np.float32)
        for start in range(0, count, 100_000):          # in blocks: no float64 copy of it all
            rows = min(100_000, count - start)
            block = centres[rng.integers(0, len(centres), rows)]
            block += rng.standard_normal((rows, len(s)), dtype=np.float32) @ shape
            block += floor_std * rng.standard_normal((rows, dim), dtype=np.float32)
            out[start:start + rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return out

    return grow(base_centres, n), grow(query_centres, n_queries)


@dataclass
class AnnResult:
    """One index at one setting: its recall@k and speed."""

    method: str
    params: str
    recall: float
    ms_per_query: float
    bytes_per_vector: float
    build_s: float = 0.0
    speedup: float = float("nan")      # exact top_k's ms / this ms, same run
    notes: str = ""
    extra: dict = field(default_factory=dict)


def _recall(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t)) / k for f, t in zip(found, truth)]))


def _time_each(search_one, queries: np.ndarray, repeat: int = 1):
    """Median milliseconds of searching one query at a time, and the results."""
    found, times = [], []
    for q in queries:
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            ids = search_one(q)
            best = min(best, time.perf_counter() - start)
        times.append(best)
        found.append(ids)
    return 1000 * statistics.median(times), found


def measure_exact(base: np.ndarray, queries: np.ndarray, k: int = RECALL_K):
    """Exact ``top_k`` (the reference): (AnnResult, true neighbours of every query)."""
    truth, _ = top_k(queries, base, k)
    ms, _ = _time_each(lambda q: top_k(q, base, k)[0], queries)
    res = AnnResult("exact top_k", "numpy", 1.0, ms, base.itemsize * base.shape[1], speedup=1.0)
    return res, np.asarray(truth)


def measure_faiss_hnsw(base, queries, truth, k: int = RECALL_K, M: int = 32, ef_construction: int = 80,
                       ef_search=(16, 32, 64, 128, 256)) -> list[AnnResult]:
    """FAISS ``IndexHNSWFlat`` (inner product): one build, several ``efSearch``."""
    import faiss

    start = time.perf_counter()
    index = faiss.IndexHNSWFlat(base.shape[1], M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(base)
    build = time.perf_counter() - start
    h = index.hnsw
    size = (index.ntotal * base.shape[1] * 4 + h.neighbors.size() * 4 + h.levels.size() * 4
            + h.offsets.size() * 8)
    out = []
    for ef in ef_search:
        index.hnsw.efSearch = ef
        ms, found = _time_each(lambda q: index.search(q[None], k)[1][0], queries)
        out.append(AnnResult("FAISS HNSW", f"M={M}, efC={ef_construction}, ef={ef}",
                             _recall(np.array(found), truth), ms, size / index.ntotal, build))
    return out


def measure_faiss_ivfpq(base, queries, truth, k: int = RECALL_K, nlist: int | None = None,
                        m: int = 64, nprobe=(4, 16, 64), refine=(0,),
                        train_size: int = 100_000, seed: int = 0) -> list[AnnResult]:
    """FAISS ``IndexIVFPQ``: each vector cut into ``m`` pieces of one byte each.

    A ``refine`` factor r > 0 re-ranks the best ``r * k`` candidates with the exact
    vectors (what ``faiss.IndexRefineFlat`` does), which needs them in memory too.
    """
    import faiss

    n, d = base.shape
    nlist = nlist or int(4 * np.sqrt(n))
    rng = np.random.default_rng(seed)
    train = base[np.sort(rng.choice(n, min(n, max(train_size, 40 * nlist)), replace=False))]
    start = time.perf_counter()
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFPQ(quantizer, d, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
    index.train(train)
    index.add(base)
    build = time.perf_counter() - start
    size = n * (index.code_size + 8) + nlist * d * 4 + index.pq.centroids.size() * 4

    def search(q, factor):
        ids = index.search(q[None], k * max(factor, 1))[1][0]
        if not factor:
            return ids
        ids = ids[ids >= 0]
        return ids[np.argsort(-(base[ids] @ q), kind="stable")[:k]]

    out = []
    for factor in refine:
        for probe in nprobe:
            index.nprobe = probe
            ms, found = _time_each(lambda q: search(q, factor), queries)
            name = "FAISS IVF-PQ" + (f" + exact re-rank of {factor}k" if factor else "")
            out.append(AnnResult(name, f"nlist={nlist}, m={m}x8 bit, nprobe={probe}",
                                 _recall(np.array(found), truth), ms,
                                 (size + (n * d * 4 if factor else 0)) / n, build))
    return out


def _folder_bytes(folder: Path, suffix: str = "") -> int:
    return sum(p.stat().st_size for p in folder.rglob(f"*{suffix}") if p.is_file())


def measure_milvus(base, queries, truth, k: int = RECALL_K,
                   configs=(("HNSW", {"M": 16, "efConstruction": 128}, ({"ef": 64},)),),
                   folder=None, max_queries: dict | None = None) -> list[AnnResult]:
    """One Milvus Lite collection of ``base``, indexed in turn by each of ``configs``.

    Latency includes the client round trip (gRPC to the in-process engine), as an
    application sees it. Memory per vector: the index files Milvus Lite writes
    (HNSW and IVF_FLAT hold the vectors too; for FLAT, its Parquet data files),
    divided by the number of vectors. ``build_s`` is the index build; the insert
    time is in ``extra["insert_s"]``.

    Parameters
    ----------
    configs : sequence of (index_type, build parameters, sequence of search parameters)
    folder : path, optional
        Where the ``.db`` goes (default: a new temporary folder).
    max_queries : dict, optional
        {index_type: number of queries} for slow ones (FLAT in Milvus Lite).
    """
    from ._milvus import MilvusImageIndex

    folder = Path(folder or tempfile.mkdtemp(prefix="imgsearch-ann-"))
    uri = folder / f"ann_{os.getpid()}.db"
    # Rows first (no index to build while they stream in), then each index in turn.
    store = MilvusImageIndex(uri, "ann", index_type="FLAT")
    ids = [str(i) for i in range(len(base))]
    start = time.perf_counter()
    for s in range(0, len(base), 50_000):
        last = s + 50_000 >= len(base)              # flushing once builds the indexes
        store.add_embeddings(ids[s:s + 50_000], base[s:s + 50_000], "synthetic", flush=last)
    insert = time.perf_counter() - start
    out = []
    try:
        for index_type, build_params, search_params in configs:
            build = store.set_index(index_type, build_params)
            suffix = ".parquet" if index_type in ("FLAT", "BRUTE_FORCE") \
                else f".{index_type.lower()}.idx"
            per_vector = _folder_bytes(uri, suffix) / len(base)
            limit = (max_queries or {}).get(index_type, len(queries))
            qs, tr = queries[:limit], truth[:limit]
            for params in search_params:
                ms, found = _time_each(
                    lambda q: [int(str(r.item)) for r in store.search_embedding(q, k, params)], qs)
                shown = ", ".join(f"{a}={b}" for a, b in {**build_params, **params}.items())
                out.append(AnnResult(f"Milvus Lite {index_type}", shown or "-",
                                     _recall(np.array(found), tr), ms, per_vector, build,
                                     notes=f"{limit} queries" if limit < len(queries) else "",
                                     extra={"insert_s": insert, "found": found}))
    finally:
        store.client.drop_collection(store.collection)
        store.close()
    return out


def add_speedups(rows: list[AnnResult]) -> list[AnnResult]:
    """Set each row's ``speedup``: the exact ``top_k`` row's ms / its ms (same run)."""
    exact = next(r for r in rows if r.method == "exact top_k")
    for r in rows:
        r.speedup = exact.ms_per_query / r.ms_per_query
    return rows


def ann_table(rows: list[AnnResult]) -> str:
    """A Markdown table of the results (also readable as plain text)."""
    lines = [f"| method | parameters | recall@{RECALL_K} | ms/query | speed-up vs exact | bytes/vector | build s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.method} | {r.params} | {r.recall:.3f} | {r.ms_per_query:.2f} | "
                     f"{r.speedup:.1f}x | {r.bytes_per_vector:,.0f} | {r.build_s:.1f} |")
    return "\n".join(lines)


def plot_recall_latency(rows: list[AnnResult], ax=None, title: str = ""):
    """Recall@k against milliseconds per query (log scale), one line per index."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    methods = list(dict.fromkeys(r.method for r in rows))
    markers = iter("osD^v<>ph*")
    for method in methods:
        pts = sorted((r.ms_per_query, r.recall) for r in rows if r.method == method)
        xs, ys = zip(*pts)
        ax.plot(xs, ys, next(markers, "o") + ("-" if len(pts) > 1 else ""), label=method, ms=5)
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds per query (one at a time, log scale)")
    ax.set_ylabel(f"recall@{RECALL_K} (vs exact top_k)")
    ax.axhline(0.95, color="grey", lw=0.6, ls="--")
    ax.axhline(0.99, color="grey", lw=0.6, ls=":")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return ax
