"""Composite queries and near-duplicates, built on unit-length embeddings (notebook 04)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .embeddings import normalize

__all__ = ["combine_queries", "near_duplicates"]


def combine_queries(positives: Sequence[np.ndarray], negatives: Sequence[np.ndarray] = (),
                    weights: Sequence[float] | None = None, negative_weight: float = 0.5) -> np.ndarray:
    """Mix embeddings into one query: "like these, but not like those".

    Text and image embeddings of a dual encoder live in one space, so a text
    and an image query can be added. Subtracting an embedding moves the query
    away from it.

    Parameters
    ----------
    positives : sequence of (d,) arrays
        Embeddings to move towards (texts or images, already unit length).
    negatives : sequence of (d,) arrays
        Embeddings to move away from.
    weights : sequence of float, optional
        One weight per positive (default: equal).
    negative_weight : float
        How strongly each negative is subtracted.

    Returns
    -------
    np.ndarray, shape (d,), unit length.
    """
    if not len(positives):
        raise ValueError("give at least one positive embedding")
    weights = np.ones(len(positives)) if weights is None else np.asarray(weights, np.float64)
    if len(weights) != len(positives):
        raise ValueError("one weight per positive embedding")
    query = sum(w * np.asarray(p, np.float64).ravel() for w, p in zip(weights, positives))
    for n in negatives:
        query = query - negative_weight * np.asarray(n, np.float64).ravel()
    return normalize(query)


def near_duplicates(embeddings: np.ndarray, threshold: float = 0.95) -> list[tuple[int, int, float]]:
    """Pairs of rows whose cosine similarity is at least ``threshold``.

    Parameters
    ----------
    embeddings : np.ndarray, (n, d), unit rows
    threshold : float

    Returns
    -------
    list of (i, j, score) with i < j, most similar first.
    """
    emb = np.asarray(embeddings, np.float32)
    sims = emb @ emb.T
    i, j = np.nonzero(np.triu(sims >= threshold, k=1))
    pairs = [(int(a), int(b), float(sims[a, b])) for a, b in zip(i, j)]
    return sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))
