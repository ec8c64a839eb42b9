"""Exact cosine top-k: matrix products and a partial sort, or FAISS if asked.

Both backends give identical results: each only *selects* a few candidates per
query; the final scores are recomputed the same way (float64 dot products of the
stored rows) and ranked by score, ties by the lower row index.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .settings import TOP_K

__all__ = ["SearchResult", "top_k", "search", "all_scores", "match_rows", "faiss_available",
           "FAISS_MIN_ROWS"]

# "auto" uses FAISS from this many rows on; None: never. FAISS's exact flat search
# was slower than the numpy path below at every size bench/bench_search.py tried
# (10k-1M rows; one query: FAISS spreads queries, not rows, over its threads; 100
# queries: both use BLAS, FAISS with smaller blocks). Set an int where that
# benchmark shows FAISS ahead on your machine.
FAISS_MIN_ROWS: int | None = None
# Candidates kept beyond k, so that float32 rounding in the selection step can
# never push one of the true k best out before the exact final ranking.
_PAD = 16
_BLOCK_BYTES = 64 << 20


@dataclass(frozen=True)
class SearchResult:
    """One ranked hit: the item (e.g. a path), its cosine score and row index.

    ``p_match`` is the probability that it matches the query, when the search was
    asked to judge that (``matches=``), else None.
    """

    item: object
    score: float
    index: int
    p_match: float | None = None


def faiss_available() -> bool:
    """True when the optional ``faiss`` package (faiss-cpu or faiss-gpu) is installed."""
    return importlib.util.find_spec("faiss") is not None


def top_k(queries: np.ndarray, matrix: np.ndarray, k: int = TOP_K,
          backend: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Return the indices and scores of the ``k`` rows of ``matrix`` nearest each query.

    Rows are assumed unit length, so the dot product is the cosine similarity.
    The matrix is scanned in blocks: each block's scores come from one matrix
    product and ``argpartition`` keeps its best few in O(n); a block's scores (and,
    for a float16 memory map, its float32 copy) take at most ~64 MB, however large
    the collection. Ties are broken by the lower row index: results are
    deterministic and the same for every backend.

    Parameters
    ----------
    queries : np.ndarray, shape (d,) or (q, d)
    matrix : np.ndarray, shape (n, d); may be a float16 memory map
    k : int
    backend : {"auto", "numpy", "faiss"}
        "auto" uses FAISS when it is installed, the matrix is float32 and has at
        least :data:`FAISS_MIN_ROWS` rows (by default never: numpy measured faster);
        otherwise numpy. Every backend returns the same results.

    Returns
    -------
    (indices, scores) : shape (k',) for one query, (q, k') for several; k' = min(k, n).
    """
    single = np.ndim(queries) == 1
    q = np.ascontiguousarray(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
    if matrix.ndim != 2 or q.shape[1] != matrix.shape[1]:
        raise ValueError(f"query dimension {q.shape[1]} does not match the "
                         f"embeddings' {matrix.shape[1] if matrix.ndim == 2 else matrix.shape}")
    if k < 1:
        raise ValueError("k must be at least 1")
    if backend not in ("auto", "numpy", "faiss"):
        raise ValueError(f"backend must be 'auto', 'numpy' or 'faiss', not {backend!r}")
    n = matrix.shape[0]
    k = min(k, n)
    if n == 0:
        empty = np.zeros((len(q), 0))
        return (empty[0].astype(np.int64), empty[0]) if single else (empty.astype(np.int64), empty)
    m = min(n, k + _PAD)
    if m == n:
        cand = np.broadcast_to(np.arange(n), (len(q), n))
    elif _use_faiss(backend, matrix):
        cand = _faiss_candidates(q, matrix, k, m)
    else:
        cand = _numpy_candidates(q, matrix, m)
    idx, scores = _exact_rank(q, matrix, cand, k)
    return (idx[0], scores[0]) if single else (idx, scores)


def _use_faiss(backend: str, matrix: np.ndarray) -> bool:
    fits = matrix.dtype == np.float32 and matrix.flags["C_CONTIGUOUS"]
    if backend == "faiss":
        if not faiss_available():
            raise ImportError("backend='faiss' needs the faiss package: pip install faiss-cpu")
        if not fits:
            raise ValueError("the FAISS backend needs a C-contiguous float32 matrix; "
                             "use backend='numpy' for float16 indexes")
        return True
    return (backend == "auto" and fits and FAISS_MIN_ROWS is not None
            and len(matrix) >= FAISS_MIN_ROWS and faiss_available())


def _block_rows(n_queries: int, d: int, converts: bool) -> int:
    # Extra memory per block: the (q, rows) scores, plus a float32 copy of the rows
    # when the matrix is stored otherwise (float16). Blocks are otherwise as large as
    # allowed: each BLAS call costs a thread wake-up, noticeable on a busy machine.
    per_row = 4 * (n_queries + (d if converts else 0))
    return max(1024, _BLOCK_BYTES // per_row)


def _best_in_rows(scores: np.ndarray, m: int) -> np.ndarray:
    """Column indices of the ``m`` best scores per row, ties to the lower index."""
    if m >= scores.shape[1]:
        return np.broadcast_to(np.arange(scores.shape[1]), scores.shape).copy()
    n = scores.shape[1]
    part = np.argpartition(scores, n - m, axis=1)[:, n - m:]
    part_scores = np.take_along_axis(scores, part, axis=1)
    threshold = part_scores.min(axis=1, keepdims=True)
    # argpartition picks arbitrarily among scores equal to the m-th best; redo the
    # (rare) rows where some of those ties were left out, keeping the lowest indices.
    missing = np.count_nonzero(scores >= threshold, axis=1) > m
    for row in np.flatnonzero(missing):
        above = np.flatnonzero(scores[row] > threshold[row])
        tied = np.flatnonzero(scores[row] == threshold[row])[:m - len(above)]
        part[row] = np.concatenate([above, tied])
    return part


def _numpy_candidates(q: np.ndarray, matrix: np.ndarray, m: int) -> np.ndarray:
    n, d = matrix.shape
    rows = _block_rows(len(q), d, converts=matrix.dtype != np.float32)
    best_idx = np.zeros((len(q), 0), np.int64)
    best_scores = np.zeros((len(q), 0), np.float32)
    for start in range(0, n, rows):
        block = np.asarray(matrix[start:start + rows], dtype=np.float32)
        # One query: matrix-vector product (BLAS gemv), faster than a 1-row gemm.
        scores = (block @ q[0])[None, :] if len(q) == 1 else q @ block.T
        local = _best_in_rows(scores, m)
        idx = np.concatenate([best_idx, local + start], axis=1)
        sc = np.concatenate([best_scores, np.take_along_axis(scores, local, axis=1)], axis=1)
        order = np.lexsort((idx, -sc), axis=1)[:, :m]
        best_idx = np.take_along_axis(idx, order, axis=1)
        best_scores = np.take_along_axis(sc, order, axis=1)
    return best_idx


def _faiss_candidates(q: np.ndarray, matrix: np.ndarray, k: int, m: int) -> np.ndarray:
    import faiss

    # faiss.knn searches the caller's array in place: no index, so no copy of it.
    scores, idx = faiss.knn(q, matrix, m, metric=faiss.METRIC_INNER_PRODUCT)
    # If the m-th candidate is (nearly) tied with the k-th, equal scores may go on
    # past m and FAISS does not promise which of them it keeps: use numpy there.
    unsafe = scores[:, m - 1] >= scores[:, k - 1] - 1e-5
    if unsafe.any():
        idx = idx.copy()
        idx[unsafe] = _numpy_candidates(q[unsafe], matrix, m)
    return idx.astype(np.int64)


def _exact_rank(q: np.ndarray, matrix: np.ndarray, cand: np.ndarray,
                k: int) -> tuple[np.ndarray, np.ndarray]:
    # Scores of the few candidates are recomputed in float64 from the stored rows,
    # so they do not depend on which BLAS kernel or backend selected them.
    idx_out = np.empty((len(q), k), np.int64)
    score_out = np.empty((len(q), k), np.float32)
    q64 = q.astype(np.float64)
    for start in range(0, len(q), 64):
        c = np.asarray(cand[start:start + 64], dtype=np.int64)
        sorted_c = np.sort(c, axis=1)   # ascending reads of a memory map
        rows = np.asarray(matrix[sorted_c.ravel()], dtype=np.float64)
        rows = rows.reshape(sorted_c.shape + (matrix.shape[1],))
        exact = np.einsum("qmd,qd->qm", rows, q64[start:start + 64])
        order = np.lexsort((sorted_c, -exact), axis=1)[:, :k]
        idx_out[start:start + 64] = np.take_along_axis(sorted_c, order, axis=1)
        score_out[start:start + 64] = np.take_along_axis(exact, order, axis=1)
    return idx_out, score_out


def search(query: np.ndarray, embeddings: np.ndarray, items: Sequence, k: int | None = TOP_K,
           backend: str = "auto", matches=None, calibration=None,
           text: str | None = None) -> list[SearchResult]:
    """Rank ``items`` by cosine similarity of their ``embeddings`` to one ``query`` embedding.

    Parameters
    ----------
    query : np.ndarray, shape (d,) or (1, d)
    embeddings : np.ndarray, shape (n, d), unit rows
    items : sequence of length n (paths, names, anything)
    k : int or None
        At most this many results; None: no limit (every match, or every item).
    backend : {"auto", "numpy", "faiss"}
        See :func:`top_k`.
    matches : None, "auto" or float
        None: the ``k`` best, whether they match or not. "auto": only the results
        judged to match (match probability at least
        :data:`~imgsearch_helpers.matching.MATCH_PROBABILITY`), each with ``p_match``;
        a number: that probability instead.
    calibration : Calibration or LoadedModel
        How scores become probabilities (needed with ``matches``): a
        :class:`~imgsearch_helpers.matching.Calibration`, or the query's model,
        whose calibration :func:`~imgsearch_helpers.matching.calibration_for` finds.
    text : str, optional
        The words of a text query: the calibration judges the query by them
        (:meth:`~imgsearch_helpers.matching.Calibration.for_query`: a query that
        names a colour or a count, "a red car", gets a stricter rule). Without it,
        the query is judged as one that names none.

    Returns
    -------
    list of SearchResult, best first.
    """
    if len(items) != len(embeddings):
        raise ValueError(f"{len(items)} items but {len(embeddings)} embeddings")
    query = np.asarray(query, dtype=np.float32)
    if query.ndim == 2:
        if query.shape[0] != 1:
            raise ValueError("search() takes one query; use top_k() for several")
        query = query[0]
    if k is not None and k < 1:
        raise ValueError("k must be at least 1, or None for no limit")
    if matches is None:
        idx, scores = top_k(query, embeddings, len(items) if k is None else k, backend=backend)
        return [SearchResult(items[i], float(s), int(i)) for i, s in zip(idx, scores)]
    return [SearchResult(items[i], s, i, p)
            for i, s, p in match_rows(query, embeddings, matches, calibration, k, text)]


def all_scores(query: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Cosines of one unit ``query`` with every row of ``matrix`` (float32; blocks of ~64 MB)."""
    query = np.asarray(query, np.float32).reshape(-1)
    if matrix.ndim != 2 or matrix.shape[1] != len(query):
        raise ValueError(f"query dimension {len(query)} does not match the embeddings' "
                         f"{matrix.shape[1] if matrix.ndim == 2 else matrix.shape}")
    rows = _block_rows(1, matrix.shape[1], converts=matrix.dtype != np.float32)
    return np.concatenate([np.asarray(matrix[s:s + rows], np.float32) @ query
                           for s in range(0, len(matrix), rows)] or [np.zeros(0, np.float32)])


def match_rows(query: np.ndarray, matrix: np.ndarray, matches, calibration,
               k: int | None = None, text: str | None = None,
               within: np.ndarray | None = None) -> list[tuple[int, float, float]]:
    """``(row, score, p_match)`` of the rows judged to match ``query``, best first.

    ``matches``, ``calibration`` and ``text`` are as for :func:`search`; at most ``k`` rows.
    ``within``: only these rows may be returned (those taken in a date range). They are
    judged against the whole ``matrix`` all the same: a picture matches or not whatever
    else is asked of the collection (the z-score rule standardises over every row).
    """
    from .matching import MATCH_PROBABILITY, Calibration, calibration_for

    if matches == "auto":
        threshold = MATCH_PROBABILITY
    elif isinstance(matches, (int, float)) and not isinstance(matches, bool) \
            and 0.0 < matches < 1.0:
        threshold = float(matches)
    else:
        raise ValueError(f'matches must be None, "auto" or a probability between 0 and 1, '
                         f"not {matches!r}")
    if calibration is None:
        raise ValueError("matches= needs calibration=: the query's model or a Calibration")
    if not isinstance(calibration, Calibration):
        calibration = calibration_for(calibration)
    calibration = calibration.for_query(text)
    scores = all_scores(query, matrix)
    if len(scores) == 0:
        return []
    p = calibration.probabilities(scores)
    rows = np.flatnonzero(p >= threshold)
    if within is not None:
        rows = np.intersect1d(rows, np.asarray(within, np.int64))
    if len(rows) == 0:
        return []
    # The same exact float64 scores and tie order as top_k, so the matches are a
    # prefix of the plain ranking.
    q = query.reshape(1, -1)
    idx, exact = _exact_rank(q, matrix, rows[None, :], len(rows) if k is None
                             else min(k, len(rows)))
    return [(int(i), float(s), float(p[i])) for i, s in zip(idx[0], exact[0])]
