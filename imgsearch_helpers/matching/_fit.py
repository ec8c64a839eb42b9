"""Private: which calibration a model gets, and fitting one on labelled pictures."""
from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from ._calibrate import (CALIBRATION_FILE, MATCH_PROBABILITY, Calibration, fit_logistic,
                         standardise, weights_sha256)
from ..models import LoadedModel, no_text_encoder

_log = logging.getLogger(__name__)

# The generated clip-art scenes a course model's calibration is fitted on: a seed of
# their own (training uses 0, the held-out evaluation 1, the gallery 2024), so that
# the benchmark's pictures are never the ones the calibration saw.
CALIBRATION_SEED = 25
CALIBRATION_SCENES_PER_KIND = 30
# Models without a calibration of their own (the real checkpoints, any family): the
# z-score rule with the course CLIP's fitted numbers (data/models/clipart-clip/
# calibration.json, rounded: a cut near z = 1.4). A z-score has no units, so it carries
# over between models better than a cosine does, but this is not measured on real
# models here (none can be downloaded); fit_calibration() on labelled photos of your own
# replaces it.
DEFAULT_CALIBRATION = Calibration(
    "zscore", 4.3, -6.1,
    "the course's z-score rule with default numbers (fit_calibration on labelled "
    "photos of your own makes it fit this model)")

_CACHE: dict[tuple, Calibration] = {}
_LOCK = threading.Lock()


def fit_calibration(scores: np.ndarray, relevant: np.ndarray, method: str = "zscore",
                    collection: np.ndarray | None = None, source: str = "",
                    query_weight: np.ndarray | None = None, cut: str = "logistic") -> Calibration:
    """Fit a :class:`Calibration` on labelled queries: their scores and which pictures are right.

    Every query gets the same total weight, however many pictures it has, so that
    a query with many right pictures does not decide the cut-off of all others.
    The slope is a logistic regression's; where p = 0.5 falls is ``cut``'s choice.

    Parameters
    ----------
    scores : np.ndarray, (q, n)
        Cosines of q text queries against n pictures.
    relevant : np.ndarray of bool, (q, n)
    method : {"zscore", "sigmoid"}
        "zscore" standardises each query's scores over ``collection`` (default: the
        n pictures) first; "sigmoid" fits on the raw cosines.
    collection : np.ndarray, optional
    source : str
        Where the fit comes from, for :attr:`Calibration.source`.
    query_weight : np.ndarray, optional, (q,)
        Another weight for each query (default: the same for all).
    cut : {"logistic", "f1"}
        "logistic": p = 0.5 where the (class-balanced) logistic fit puts it, which
        favours recall when the other pictures are many. "f1": the same slope, moved
        so that p >= 0.5 is the single threshold with the best mean F1 over the
        labelled queries (what bench_matches measures; the course models use it).

    Returns
    -------
    Calibration
    """
    scores = np.asarray(scores, np.float64)
    relevant = np.asarray(relevant, bool)
    if scores.shape != relevant.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and relevant {relevant.shape} must be "
                         "the same (queries, pictures) shape")
    x = standardise(scores, scores if collection is None else collection) \
        if method == "zscore" else scores
    weight = class_weights(relevant)
    if query_weight is not None:
        weight = weight * np.asarray(query_weight, np.float64).reshape(-1, 1)
    scale, bias = fit_logistic(x, relevant, weight)
    if cut == "f1":
        bias = -scale * best_f1_threshold(x, relevant)
    elif cut != "logistic":
        raise ValueError(f'cut must be "logistic" or "f1", not {cut!r}')
    return Calibration(method, scale, bias, source or f"fitted on {len(scores)} labelled queries")


def best_f1_threshold(x: np.ndarray, relevant: np.ndarray) -> float:
    """The threshold on ``x`` (queries x pictures) with the best mean F1 over the queries.

    Halfway between the lowest value kept and the next one below it, so that
    rounding cannot move a picture across it.
    """
    from ._measure import best_global_threshold

    x = np.asarray(x, np.float64)
    t = best_global_threshold(x, relevant).threshold
    below = x[x < t]
    return float((t + below.max()) / 2) if below.size else float(t) - 1e-6


def class_weights(relevant: np.ndarray) -> np.ndarray:
    """Each (query, picture)'s weight in a fit: equal per query and, inside it, per class.

    Right and other pictures get half of their query's weight each, so a query with
    3 right pictures among 500 counts as much as one with 50.
    """
    relevant = np.asarray(relevant, bool)
    right = relevant.sum(axis=1, keepdims=True)
    other = relevant.shape[1] - right
    return np.where(relevant, 0.5 / np.maximum(right, 1), 0.5 / np.maximum(other, 1))


def calibration_for(model: LoadedModel, query: str | None = None) -> Calibration:
    """The calibration that turns ``model``'s cosines into match probabilities.

    Every family uses the z-score rule. The course's clip-art models have theirs
    fitted on generated scenes (saved beside their weights, refitted when the weights
    change), with a stricter rule for queries that name a colour or a count
    (:meth:`Calibration.for_query`); other models get :data:`DEFAULT_CALIBRATION`.
    SigLIP's own sigmoid
    (:func:`own_sigmoid`) was measured too: at p >= 0.5 it calls too few pictures
    matches (bench/RESULTS.md, "bench_matches"), as SigLIP's probabilities for right
    captions are often well below one half.

    Parameters
    ----------
    model : LoadedModel
    query : str, optional
        A text query's words: the rule for that query (:meth:`Calibration.for_query`).
        Without it, the calibration with both rules.

    Returns
    -------
    Calibration
    """
    if not model.has_text:
        raise ValueError(no_text_encoder(model.name))
    if not model.is_clipart:
        return DEFAULT_CALIBRATION
    folder = Path(model.info.source)
    sha = weights_sha256(folder)
    key = (model.name, sha)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _clipart_calibration(model, folder, sha)
        calibration = _CACHE[key]
    return calibration if query is None else calibration.for_query(query)


def own_sigmoid(model: LoadedModel) -> Calibration:
    """A SigLIP-family model's own rule, ``sigmoid(logit_scale * cos + logit_bias)``."""
    if not model.sigmoid_scores:
        raise ValueError(f"{model.name} is a {model.family} model: it was trained with a "
                         "softmax and has no sigmoid of its own")
    return Calibration("sigmoid", model.logit_scale, model.logit_bias,
                       "the model's own sigmoid (its learned scale and bias)")


def _clipart_calibration(model: LoadedModel, folder: Path, sha: str) -> Calibration:
    path = folder / CALIBRATION_FILE
    try:
        saved = Calibration.load(path, sha)
    except ValueError as err:  # damaged, or written by an older version: fit again
        _log.info("%s; fitting the calibration again", err)
        saved = None
    if saved is not None and saved.detail is not None:   # an older file has one rule
        return saved
    fitted = fit_clipart_calibration(model)
    try:
        fitted.save(path, sha)
    except OSError as err:     # a read-only install: fit again next time, say why once
        _log.info("could not save %s (%s); it is refitted in each new process", path, err)
    return fitted


def fit_clipart_calibration(model: LoadedModel) -> Calibration:
    """A course model's calibration, fitted on generated scenes it is never measured on.

    Two rules, each fitted on the kind of query it judges
    (:func:`~imgsearch_helpers.matching.calibration_queries`): one for queries that
    name no colour or count ("a photo of a cat": the kind's pictures are right), one
    for queries that name one ("a red car": only the red cars are right). For each,
    both measures are fitted (the z-score over the collection and the raw cosine),
    each cut where its queries' mean F1 is best, and the one with the better F1 on
    those queries is kept (the z-score on a tie).
    """
    from ..clipart import SCENE_KINDS, generate_dataset
    from ._groups import calibration_queries, embed_collection, query_scores
    from ._measure import cutoff_score

    scenes = generate_dataset(CALIBRATION_SCENES_PER_KIND * len(SCENE_KINDS), CALIBRATION_SEED,
                              check=False)
    pictures = embed_collection(model, scenes)
    groups = calibration_queries(scenes)
    rules = []
    for group in groups:
        scores = query_scores(model, group, pictures)
        fits = [fit_calibration(scores, group.relevant, method, cut="f1")
                for method in ("zscore", "sigmoid")]
        f1 = [cutoff_score(fit.probabilities(scores) >= MATCH_PROBABILITY, group.relevant).f1
              for fit in fits]
        rules.append(fits[int(f1[1] > f1[0])])
    plain, detailed = rules
    return Calibration(plain.method, plain.scale, plain.bias, source=(
        f"fitted on {len(scenes)} generated clip-art scenes (seed {CALIBRATION_SEED}): "
        f"{len(groups[0])} queries that name no colour or count, and {len(groups[1])} attribute "
        "queries and captions for those that do"), detail=replace(detailed, source=""))


def clipart_scores(model: LoadedModel, seed: int, per_kind: int) -> tuple[np.ndarray, np.ndarray]:
    """Cosines of labelled queries against generated scenes, and which pictures are right.

    The queries: one plain prompt per kind ("a photo of a cat") and the attribute
    queries ("a red car", "two cats") that have a right picture among the scenes.
    """
    from ._groups import attribute_queries, embed_collection
    from ..clipart import SCENE_KINDS, ZERO_SHOT_PROMPTS, generate_dataset
    from ..embeddings import embed_texts

    scenes = generate_dataset(per_kind * len(SCENE_KINDS), seed, check=False)
    pictures = embed_collection(model, scenes)
    attributes = attribute_queries(scenes)
    texts = [ZERO_SHOT_PROMPTS[k] for k in SCENE_KINDS] + list(attributes.queries)
    kinds = np.array([[s.kind == k for s in scenes] for k in SCENE_KINDS])
    relevant = np.concatenate([kinds, attributes.relevant])
    return embed_texts(model, texts) @ pictures.T, relevant
