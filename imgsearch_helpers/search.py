"""Exact cosine top-k: one matrix product and a partial sort."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["SearchResult", "top_k", "search"]


@dataclass(frozen=True)
class SearchResult:
    """One ranked hit: the item (e.g. a path), its cosine score and row index."""

    item: object
    score: float
    index: int


def top_k(queries: np.ndarray, matrix: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Return the indices and scores of the ``k`` rows of ``matrix`` nearest each query.

    Rows are assumed unit length, so the dot product is the cosine similarity.
    ``argpartition`` finds the k best in O(n) and only those k are sorted, instead
    of sorting all n scores. Ties are broken by the lower row index, so results
    are deterministic.

    Parameters
    ----------
    queries : np.ndarray, shape (d,) or (q, d)
    matrix : np.ndarray, shape (n, d); may be a float16 memory map
    k : int

    Returns
    -------
    (indices, scores) : shape (k',) for one query, (q, k') for several; k' = min(k, n).
    """
    single = np.ndim(queries) == 1
    q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    if matrix.ndim != 2 or q.shape[1] != matrix.shape[1]:
        raise ValueError(f"query dimension {q.shape[1]} does not match the "
                         f"embeddings' {matrix.shape[1] if matrix.ndim == 2 else matrix.shape}")
    if k < 1:
        raise ValueError("k must be at least 1")
    n = matrix.shape[0]
    k = min(k, n)
    if n == 0:
        empty = np.zeros((len(q), 0))
        return (empty[0].astype(np.int64), empty[0]) if single else (empty.astype(np.int64), empty)
    scores = _scores(q, matrix)
    if k < n:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(n), (len(q), n))
    part_scores = np.take_along_axis(scores, part, axis=1)
    # lexsort: primary key score (descending), secondary key index (ascending).
    order = np.lexsort((part, -part_scores), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    best = np.take_along_axis(part_scores, order, axis=1)
    return (idx[0], best[0]) if single else (idx, best)


def _scores(q: np.ndarray, matrix: np.ndarray, block: int = 262_144) -> np.ndarray:
    # Work in blocks so a float16 memory-mapped index is never copied to float32
    # whole: peak extra memory is one block, not the full matrix.
    n = matrix.shape[0]
    if matrix.dtype == np.float32 and n <= block:
        return q @ matrix.T
    out = np.empty((len(q), n), dtype=np.float32)
    for start in range(0, n, block):
        part = np.asarray(matrix[start:start + block], dtype=np.float32)
        np.matmul(q, part.T, out=out[:, start:start + len(part)])
    return out


def search(query: np.ndarray, embeddings: np.ndarray, items: Sequence, k: int = 5) -> list[SearchResult]:
    """Rank ``items`` by cosine similarity of their ``embeddings`` to one ``query`` embedding.

    Parameters
    ----------
    query : np.ndarray, shape (d,) or (1, d)
    embeddings : np.ndarray, shape (n, d), unit rows
    items : sequence of length n (paths, names, anything)
    k : int

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
    idx, scores = top_k(query, embeddings, k)
    return [SearchResult(items[i], float(s), int(i)) for i, s in zip(idx, scores)]
