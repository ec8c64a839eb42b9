"""Private: how good a cut-off is (precision, recall, F1) and how well feedback helps (mAP)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._feedback import refine


@dataclass(frozen=True)
class CutoffScore:
    """Mean over queries of precision, recall and F1 of the pictures called matches."""

    precision: float
    recall: float
    f1: float
    threshold: float | None = None    # the global threshold, where there is one

    def row(self) -> tuple[float, float, float]:
        """(precision, recall, F1)."""
        return self.precision, self.recall, self.f1


def prf(predicted: np.ndarray, relevant: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-query precision, recall and F1 of boolean ``predicted`` against ``relevant`` (q, n).

    A query that calls nothing a match has precision 0 (it found nothing right).
    """
    predicted = np.asarray(predicted, bool)
    relevant = np.asarray(relevant, bool)
    hits = (predicted & relevant).sum(axis=1)
    called = predicted.sum(axis=1)
    right = relevant.sum(axis=1)
    precision = np.where(called > 0, hits / np.maximum(called, 1), 0.0)
    recall = np.where(right > 0, hits / np.maximum(right, 1), 0.0)
    f1 = np.where(hits > 0, 2 * hits / np.maximum(called + right, 1), 0.0)
    return precision, recall, f1


def _mean(predicted, relevant, threshold=None) -> CutoffScore:
    p, r, f = prf(predicted, relevant)
    return CutoffScore(float(p.mean()), float(r.mean()), float(f.mean()), threshold)


def cutoff_score(predicted: np.ndarray, relevant: np.ndarray) -> CutoffScore:
    """Mean precision, recall and F1 of a cut-off's ``predicted`` matches (queries x pictures)."""
    return _mean(predicted, relevant)


def best_global_threshold(scores: np.ndarray, relevant: np.ndarray) -> CutoffScore:
    """The one threshold on the scores, the same for every query, with the best mean F1.

    Chosen after the fact on the very pictures it is judged on: an upper bound for
    any fixed threshold.
    """
    scores = np.asarray(scores, np.float64)
    candidates = np.unique(scores)
    best = None
    # Mean F1 of every candidate threshold at once would need (t, q, n) memory; a
    # loop over the unique scores of a few thousand pictures is quick enough.
    for t in candidates:
        score = _mean(scores >= t, relevant, float(t))
        if best is None or score.f1 > best.f1:
            best = score
    return best


def oracle_cutoff(scores: np.ndarray, relevant: np.ndarray) -> CutoffScore:
    """Each query cut at its own best place (its best-F1 prefix of the ranking): the ceiling."""
    scores = np.asarray(scores, np.float64)
    relevant = np.asarray(relevant, bool)
    predicted = np.zeros_like(relevant)
    for q in range(len(scores)):
        order = np.lexsort((np.arange(scores.shape[1]), -scores[q]))
        hits = np.cumsum(relevant[q, order])
        f1 = 2 * hits / (np.arange(1, len(order) + 1) + relevant[q].sum())
        predicted[q, order[:int(np.argmax(f1)) + 1]] = True
    return _mean(predicted, relevant)


def average_precision_rows(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """Average precision of each query's whole ranking (ties to the lower column)."""
    scores = np.asarray(scores, np.float64)
    relevant = np.asarray(relevant, bool)
    out = np.zeros(len(scores))
    for q in range(len(scores)):
        order = np.lexsort((np.arange(scores.shape[1]), -scores[q]))
        rel = relevant[q, order]
        if rel.any():
            precision_at = np.cumsum(rel) / np.arange(1, len(rel) + 1)
            out[q] = precision_at[rel].mean()
    return out


def simulate_feedback(queries: np.ndarray, embeddings: np.ndarray, relevant: np.ndarray,
                      rounds: int = 2, marks: int = 10, **refine_options) -> list[float]:
    """mAP before and after each round of a simulated user's thumbs-up / thumbs-down.

    Each round the user marks the first ``marks`` results of the current ranking
    that were not marked before, right or wrong by their true labels; the query
    is refined with every mark so far (:func:`refine`).

    Parameters
    ----------
    queries : np.ndarray, (q, d)
        Unit query embeddings.
    embeddings : np.ndarray, (n, d)
        Unit picture embeddings.
    relevant : np.ndarray of bool, (q, n)
    rounds, marks : int
    **refine_options
        Passed to :func:`refine` (e.g. ``alpha``, ``beta``, ``gamma``).

    Returns
    -------
    list of float
        mAP before feedback, then after each round (``rounds + 1`` numbers).
    """
    queries = np.asarray(queries, np.float32)
    embeddings = np.asarray(embeddings, np.float32)
    relevant = np.asarray(relevant, bool)
    current = queries.copy()
    marked = [dict() for _ in range(len(queries))]
    maps = [float(average_precision_rows(current @ embeddings.T, relevant).mean())]
    for _ in range(rounds):
        scores = current @ embeddings.T
        for q in range(len(queries)):
            order = np.lexsort((np.arange(len(embeddings)), -scores[q]))
            new = [int(i) for i in order if int(i) not in marked[q]][:marks]
            marked[q].update({i: bool(relevant[q, i]) for i in new})
            likes = [embeddings[i] for i, good in marked[q].items() if good]
            unlikes = [embeddings[i] for i, good in marked[q].items() if not good]
            current[q] = refine(queries[q], likes, unlikes, **refine_options)
        maps.append(float(average_precision_rows(current @ embeddings.T, relevant).mean()))
    return maps
