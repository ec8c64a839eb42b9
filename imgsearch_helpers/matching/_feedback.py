"""Private: learning from a thumbs-up: Rocchio's relevance feedback on unit embeddings."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..embeddings import normalize

# Rocchio's weights (query, liked pictures, disliked pictures). bench/bench_matches.py
# measured these against others on the clip-art sets (RESULTS.md, "Feedback").
ROCCHIO_WEIGHTS = (1.0, 0.75, 0.25)


def refine(query, positives: Sequence = (), negatives: Sequence = (),
           alpha: float = ROCCHIO_WEIGHTS[0], beta: float = ROCCHIO_WEIGHTS[1],
           gamma: float = ROCCHIO_WEIGHTS[2]) -> np.ndarray:
    """A query moved towards the pictures marked right and away from those marked wrong.

    Rocchio (1971): ``alpha * query + beta * mean(positives) - gamma * mean(negatives)``,
    made unit length again. All vectors are unit embeddings of one model (the query
    may be a text or a picture embedding: they share the space).

    Parameters
    ----------
    query : array, (d,)
        The query's embedding.
    positives, negatives : sequences of (d,) arrays
        Embeddings of the pictures marked 👍 and 👎 (either may be empty).
    alpha, beta, gamma : float
        How much the original query, the liked and the disliked pictures count.

    Returns
    -------
    np.ndarray, (d,), unit length.
    """
    q = np.asarray(query, np.float64).ravel()
    if not np.all(np.isfinite(q)) or not q.any():
        raise ValueError("the query embedding must be a finite, non-zero vector")
    out = alpha * q
    for vectors, weight in ((positives, beta), (negatives, -gamma)):
        if len(vectors):
            block = np.asarray([np.asarray(v, np.float64).ravel() for v in vectors])
            if block.shape[1] != len(q):
                raise ValueError(f"feedback embeddings have dimension {block.shape[1]}, "
                                 f"the query {len(q)}")
            out = out + weight * block.mean(axis=0)
    if not np.linalg.norm(out) > 1e-9:
        raise ValueError("the feedback cancels the query out; mark fewer pictures as wrong")
    return normalize(out)
