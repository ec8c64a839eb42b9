"""Per-query cut-off rules that were measured and not shipped (bench_matches.py runs them).

Each rule is fitted on the calibration scenes (the same labelled queries the shipped
z-score rule is fitted on: one query per kind and the attribute queries) and then
judged on the benchmark's collections, like the shipped rule. Every rule works on a
query's z-scores over the collection, as the shipped one does.

- ``balanced z fit``: the shipped logistic fit on z, but kind and attribute queries
  weigh half each (the shipped fit weighs each query the same, so the attribute
  queries, which are most of them, decide).
- ``z + distance from top``: a logistic fit on two features, z and how far the
  picture lies below the query's best z.
- ``two Gaussians per query``: a score-distribution model (Manmatha, Rath and Feng,
  SIGIR 2001): each query's z-scores as a mix of two normal distributions, fitted by
  EM; matches are the pictures more likely to come from the upper one. Nothing to fit.
- ``regressed cut per query``: each calibration query's best z cut (its oracle) is
  predicted by a ridge regression from the shape of its top scores (the 1st, 2nd,
  3rd and 5th z, two gaps, the share of pictures above z 1 and 2).
"""
from __future__ import annotations

import numpy as np

from imgsearch_helpers.matching import MATCH_PROBABILITY, fit_calibration
from imgsearch_helpers.matching._calibrate import _sigmoid, fit_logistic_features, standardise
from imgsearch_helpers.matching._fit import class_weights


def _z(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, np.float64)
    return standardise(scores, scores)


def _at_least_one(predicted: np.ndarray, z: np.ndarray) -> np.ndarray:
    # Every rule calls at least the best picture a match, as the oracle does.
    predicted = predicted.copy()
    empty = ~predicted.any(axis=1)
    predicted[empty, np.argmax(z[empty], axis=1)] = True
    return predicted


def balanced_z(scores, relevant, is_kind):
    """The shipped z-score fit with kind and attribute queries weighing half each."""
    share = np.where(is_kind, 0.5 / is_kind.sum(), 0.5 / (~is_kind).sum()) * len(is_kind)
    calibration = fit_calibration(scores, relevant, "zscore", query_weight=share)
    return lambda s: _at_least_one(calibration.probabilities(s) >= MATCH_PROBABILITY, _z(s))


def z_and_top(scores, relevant, is_kind):
    """Logistic fit on (z, best z - z)."""
    def features(s):
        z = _z(s)
        return np.stack([z.ravel(), (z.max(axis=1, keepdims=True) - z).ravel()], axis=1)
    theta = fit_logistic_features(features(scores), np.asarray(relevant).ravel(),
                                  class_weights(relevant).ravel())
    return lambda s: _at_least_one(
        (features(s) @ theta[:-1] + theta[-1]).reshape(np.shape(s)) >= 0, _z(s))


def _upper_component(z: np.ndarray, iters: int = 200) -> np.ndarray:
    """Responsibility of the upper of two normal components for each value (EM, 1-D)."""
    upper = (z >= np.quantile(z, 0.85)).astype(np.float64)
    for _ in range(iters):
        w1 = upper.mean()
        if not 0 < w1 < 1:
            break
        m1, m0 = (upper * z).sum() / upper.sum(), ((1 - upper) * z).sum() / (1 - upper).sum()
        v1 = max((upper * (z - m1) ** 2).sum() / upper.sum(), 0.05 ** 2)
        v0 = max(((1 - upper) * (z - m0) ** 2).sum() / (1 - upper).sum(), 0.05 ** 2)
        l1 = np.log(w1) - 0.5 * np.log(v1) - 0.5 * (z - m1) ** 2 / v1
        l0 = np.log(1 - w1) - 0.5 * np.log(v0) - 0.5 * (z - m0) ** 2 / v0
        new = _sigmoid(l1 - l0)
        if np.abs(new - upper).max() < 1e-7:
            return new
        upper = new
    return upper


def two_gaussians(scores, relevant, is_kind):
    """Each query's z-scores as two normal distributions; matches: the upper one."""
    def rule(s):
        z = _z(s)
        return _at_least_one(np.stack([_upper_component(row) >= 0.5 for row in z]), z)
    return rule


def _shape(z: np.ndarray) -> np.ndarray:
    top = -np.sort(-z, axis=1)
    return np.stack([top[:, 0], top[:, 1], top[:, 2], top[:, 4], top[:, 0] - top[:, 1],
                     top[:, 0] - top[:, 4], (z > 1).mean(axis=1), (z > 2).mean(axis=1),
                     np.ones(len(z))], axis=1)


def _best_cut(z: np.ndarray, right: np.ndarray) -> float:
    order = np.argsort(-z)
    hits = np.cumsum(right[order])
    f1 = 2 * hits / (np.arange(1, len(z) + 1) + right.sum())
    j = int(np.argmax(f1))
    return (z[order[j]] + z[order[j + 1]]) / 2 if j + 1 < len(z) else z[order[j]] - 0.01


def regressed_cut(scores, relevant, is_kind, ridge: float = 10.0):
    """A z cut per query, predicted from the shape of its top scores (ridge regression)."""
    z = _z(scores)
    cuts = np.array([_best_cut(row, right) for row, right in zip(z, np.asarray(relevant, bool))])
    x = _shape(z)
    coef = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ cuts)

    def rule(s):
        zs = _z(s)
        return _at_least_one(zs >= (_shape(zs) @ coef)[:, None], zs)
    return rule


RULES = {"balanced z fit": balanced_z, "z + distance from top": z_and_top,
         "two Gaussians per query": two_gaussians, "regressed cut per query": regressed_cut}


def near_the_best(scores, relevant):
    """A detail rule tried and not shipped: a match lies within ``delta`` of the query's best cosine.

    Fitted on the calibration queries that name a detail (``matching.calibration_queries``):
    ``delta`` with the best mean F1. Such a rule always calls the best picture a match, so
    it cannot say that nothing matches ("a red car" where there is none); the benchmark
    measures that on ``matching.absent_queries``.

    Returns
    -------
    (float, callable)
        ``delta``, and the rule: cosines (q, n) -> matches (q, n).
    """
    from imgsearch_helpers.matching import prf

    scores = np.asarray(scores, np.float64)
    below = scores.max(axis=1, keepdims=True) - scores
    deltas = np.arange(0.0, 0.3, 0.0025)
    delta = float(max(deltas, key=lambda d: prf(below <= d, relevant)[2].mean()))

    def rule(s):
        s = np.asarray(s, np.float64)
        return s >= s.max(axis=1, keepdims=True) - delta
    return delta, rule
