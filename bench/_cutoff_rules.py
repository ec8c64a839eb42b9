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

Three rules for the queries that name a detail are judged on the attribute queries alone,
beside the queries no picture answers: ``near_the_best`` (a match lies close to the
query's best cosine), ``beats_its_rivals`` (a match must prefer "a red car" to "a blue
car" and every other colour) and ``among_its_kind`` (the query without its detail words
finds the kind's pictures; among them, the query's own scores decide).
"""
from __future__ import annotations

import numpy as np

from imgsearch_helpers.clipart import COUNT_WORDS
from imgsearch_helpers.matching import COLOUR_WORDS, MATCH_PROBABILITY, fit_calibration
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


def without_details(query: str) -> str:
    """The query with its colour and count words left out: "an orange car" -> "a car".

    A word goes when :func:`matching.named_details` finds a colour or a count in it
    ("red", "two", "rote", "deux"; "one" too, which names a count when alone).
    """
    from imgsearch_helpers.matching import named_details

    words = query.split()
    kept = [(i, w) for i, w in enumerate(words) if not named_details(w)]
    out = [w for _, w in kept]
    for j, (i, w) in enumerate(kept[:-1]):
        # "an orange car" -> "a car": an English article whose next word went follows the new one.
        if w.lower() in ("a", "an") and kept[j + 1][0] != i + 1:
            article = "an" if kept[j + 1][1][:1].lower() in "aeiou" else "a"
            out[j] = article if w.islower() else article.capitalize()
    return " ".join(out)


def _within_kind_z(model, queries, scores, pictures, plain) -> np.ndarray:
    """Each query's scores standardised over its kind's pictures; -inf outside the kind.

    The kind's pictures: those the ``plain`` rule (for queries that name no detail) calls
    matches for the query without its detail words (:func:`without_details`).
    """
    from imgsearch_helpers.embeddings import embed_texts

    scores = np.asarray(scores, np.float64)
    kind = plain.probabilities(embed_texts(model, [without_details(q) for q in queries])
                               @ np.asarray(pictures).T) >= MATCH_PROBABILITY
    n = np.maximum(kind.sum(axis=1, keepdims=True), 1)
    mean = np.where(kind, scores, 0).sum(axis=1, keepdims=True) / n
    std = np.sqrt(np.where(kind, (scores - mean) ** 2, 0).sum(axis=1, keepdims=True) / n)
    return np.where(kind, (scores - mean) / np.maximum(std, 0.02), -np.inf)


def among_its_kind(model, calibration, group, scores, pictures):
    """A detail rule tried and not shipped: the red ones among the cars.

    "a red car" without its detail words is "a car": the calibration's rule for plain
    queries finds the kind's pictures. Among them, a picture is a match when its score for
    "a red car" stands ``cut`` standard deviations above their mean; a picture outside the
    kind never is. ``cut`` is the one with the best mean F1 on the calibration queries that
    name a detail (``group``, ``scores`` and ``pictures``: those queries, their cosines
    and the calibration scenes' embeddings). It needs no list of the values a thing can
    have, only the words of the query.

    Returns
    -------
    (float, callable)
        ``cut``, and a maker: pictures (n, d) -> the rule (queries, scores) -> matches (q, n).
    """
    from imgsearch_helpers.matching import prf

    plain = calibration.for_query(None)
    z = _within_kind_z(model, group.queries, scores, pictures, plain)
    cut = float(max(np.arange(-1.0, 3.0, 0.02), key=lambda c: prf(z >= c, group.relevant)[2].mean()))

    def for_pictures(collection):
        return lambda queries, s: _within_kind_z(model, queries, s, collection, plain) >= cut
    return cut, for_pictures


def attribute_rivals() -> dict[str, list[str]]:
    """Each attribute query's rivals: the same query with every other value of its attribute.

    "a red car" -> "a blue car", "a white car", ... (every colour the painter draws a car
    in); "two cats" -> "one cat", "three cats"; "a snowman with a red hat" -> the other
    hats. The rivals come from the painter's own values, the most favourable set a rule
    could ask about: a rule for users' queries would have to guess them from the words.
    """
    from imgsearch_helpers.clipart import ATTRIBUTE_VALUES, colour_query, count_query, hat_query
    from imgsearch_helpers.matching._groups import _COLOUR_KINDS, _COUNT_KINDS

    families = [[colour_query(kind, c) for c in ATTRIBUTE_VALUES[(kind, "colour")]] for kind in _COLOUR_KINDS]
    families += [[count_query(kind, n) for n in ATTRIBUTE_VALUES[(kind, "count")]] for kind in _COUNT_KINDS]
    families.append([hat_query(h) for h in ATTRIBUTE_VALUES[("snow", "hat")]])
    return {q: [r for r in family if r != q] for family in families for q in family}


# Rivals that do not know the painter: the English colour words of matching.COLOUR_WORDS,
# one spelling each (no "gray" beside "grey", no "violet" beside "purple", no "gold" beside
# "golden"), and the count words one to five (clipart.COUNT_WORDS).
GENERIC_COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black",
                   "white", "grey", "silver", "golden", "cream", "beige", "turquoise")
GENERIC_COUNTS = tuple(COUNT_WORDS[n] for n in range(1, 6))
assert set(GENERIC_COLOURS) <= COLOUR_WORDS, set(GENERIC_COLOURS) - COLOUR_WORDS


def generic_rivals(query: str) -> list[str]:
    """The query with its colour word (or count word) swapped for every other one of a fixed list.

    "a red car" -> "an orange car", "a yellow car", ... (:data:`GENERIC_COLOURS`);
    "two cats" -> "one cat", "three cats", ... A rule for users' queries could ask
    these without knowing which colours a car can have.
    """
    words = query.split()
    out = []
    for i, word in enumerate(words):
        pool = GENERIC_COLOURS if word in GENERIC_COLOURS else GENERIC_COUNTS if word in GENERIC_COUNTS else ()
        for other in pool:
            if other == word:
                continue
            swapped = list(words)
            swapped[i] = other
            if i > 0 and swapped[i - 1] in ("a", "an"):
                swapped[i - 1] = "an" if other[0] in "aeiou" else "a"
            if pool is GENERIC_COUNTS and i + 1 < len(words):   # "one cat" <-> "two cats"
                noun = words[i + 1].removesuffix("s")
                swapped[i + 1] = noun if other == "one" else noun + "s"
            out.append(" ".join(swapped))
    return out


def beats_its_rivals(model, pictures, rule, rivals=None):
    """A detail rule tried and not shipped: a match must also prefer the query to each rival.

    Zero-shot classification of the named attribute inside the cut-off: a picture the
    ``rule`` calls a match for "a red car" stays one only where its cosine with "a red car"
    is above its cosine with each of the query's rivals (:func:`attribute_rivals`: "a blue
    car", ...). Each picture is in effect asked "which colour are you?", so where the
    cut-off ends depends on the pictures of each query, and it can call nothing a match.

    Parameters
    ----------
    model : LoadedModel
    pictures : np.ndarray, (n, d)
        The collection's unit embeddings.
    rule : callable
        (queries, scores) -> matches, the rule whose matches are checked.
    rivals : callable, optional
        query -> its rival queries; default :func:`attribute_rivals` (the painter's
        values), :func:`generic_rivals` for a fixed list of words.

    Returns
    -------
    callable
        (queries, scores) -> matches (q, n).
    """
    from imgsearch_helpers.embeddings import embed_texts

    rivals = rivals or attribute_rivals().__getitem__

    def judge(queries, scores):
        called = rule(queries, scores)
        for i, query in enumerate(queries):
            others = rivals(query)
            if others:
                called[i] &= np.asarray(scores[i]) >= (embed_texts(model, others) @ pictures.T).max(axis=0)
        return called
    return judge
