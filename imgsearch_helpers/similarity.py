"""Composite queries and near-duplicates, built on unit-length embeddings (notebook 04)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .settings import DUPLICATE_THRESHOLD
from .embeddings import normalize

__all__ = ["combine_queries", "near_duplicates", "duplicate_threshold", "NEGATIVE_WEIGHT"]

# How strongly a negative ("not like this") is subtracted, unless told otherwise.
NEGATIVE_WEIGHT = 0.5
# Rows of the similarity matrix computed at once by near_duplicates (about 256 MB of
# float32 scores): a folder of 100,000 pictures never needs its 40 GB n x n matrix.
_SCORE_BYTES = 256 << 20


def combine_queries(positives: Sequence[np.ndarray], negatives: Sequence[np.ndarray] = (),
                    weights: Sequence[float] | None = None,
                    negative_weight: float | Sequence[float | None] = NEGATIVE_WEIGHT
                    ) -> np.ndarray:
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
    negative_weight : float or sequence of (float or None)
        How strongly each negative is subtracted: one for all, or one per negative
        (None there means the default, :data:`NEGATIVE_WEIGHT`).

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
    if np.ndim(negative_weight) == 0:
        negative_weight = [negative_weight] * len(negatives)
    if len(negative_weight) != len(negatives):
        raise ValueError("one negative_weight per negative embedding")
    for n, w in zip(negatives, negative_weight):
        w = NEGATIVE_WEIGHT if w is None else w
        query = query - w * np.asarray(n, np.float64).ravel()
    return normalize(query)


def near_duplicates(embeddings: np.ndarray, threshold: float = DUPLICATE_THRESHOLD) -> list[tuple[int, int, float]]:
    """Pairs of rows whose cosine similarity is at least ``threshold``.

    The scores are computed a block of rows at a time, so memory stays bounded
    for large folders (the time still grows with the square of their size).

    Parameters
    ----------
    embeddings : np.ndarray, (n, d), unit rows
    threshold : float

    Returns
    -------
    list of (i, j, score) with i < j, most similar first.
    """
    emb = np.asarray(embeddings, np.float32)
    n = len(emb)
    rows = max(1, _SCORE_BYTES // (4 * max(n, 1)))
    pairs = []
    for start in range(0, n, rows):
        # Only columns from ``start`` on: each pair is scored once, in the block of its i.
        sims = emb[start:start + rows] @ emb[start:].T
        i, j = np.nonzero(sims >= threshold)
        upper = j > i
        i, j = i[upper], j[upper]
        pairs += [(int(a) + start, int(b) + start, float(sims[a, b])) for a, b in zip(i, j)]
    return sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))


# The edits notebook 04 plants as copies: what a copy of a picture usually went through.
COPY_EDITS = ("smaller", "jpeg40", "cropped", "brighter")


def make_copies(image) -> dict:
    """Edited copies of a PIL image, as notebook 04 plants them: {edit: image}.

    Parameters
    ----------
    image : PIL.Image.Image

    Returns
    -------
    dict
        One RGB image per name of :data:`COPY_EDITS` (JPEG quality 40 already applied).
    """
    import io

    from PIL import Image, ImageEnhance

    w, h = image.size
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=40)
    return {"smaller": image.resize((int(w * 0.7), int(h * 0.7))),
            "jpeg40": Image.open(io.BytesIO(buf.getvalue())).convert("RGB"),
            "cropped": image.crop((int(w * 0.04), int(h * 0.04), w - int(w * 0.04),
                                   h - int(h * 0.04))),
            "brighter": ImageEnhance.Brightness(image).enhance(1.15)}


def duplicate_scores(loaded, paths) -> tuple[float, float]:
    """What a model can tell apart: the lowest cosine of a picture and its edited copy,
    and the highest cosine of two different pictures (notebook 04's measurement).

    Parameters
    ----------
    loaded : LoadedModel
    paths : sequence of picture paths (different pictures, e.g. the course gallery)

    Returns
    -------
    (lowest copy cosine, highest cosine of two different pictures)
    """
    from .embeddings import embed_images
    from .images import load_image

    originals = [load_image(p) for p in paths]
    base = embed_images(loaded, originals)
    sims = base @ base.T
    others = float(sims[np.triu_indices(len(paths), k=1)].max())
    lowest = 1.0
    for vector, image in zip(base, originals):
        copies = embed_images(loaded, list(make_copies(image).values()))
        lowest = min(lowest, float((copies @ vector).min()))
    return lowest, others


def duplicate_threshold(model_name: str) -> tuple[float, str]:
    """The default near-duplicate threshold for a model, and a note when its groups may be
    look-alikes (what ``imgsearch duplicates`` uses when no --threshold is given).

    From the registry's measured scores (notebook 04's measurement on the course gallery):
    midway between the lowest copy score and the highest look-alike score where copies
    score higher; else the general default, with a note that says what the model cannot
    tell apart. Unmeasured models get the general default and no note.

    Parameters
    ----------
    model_name : str
        A registered name (:func:`available_models`) or a model folder.

    Returns
    -------
    (float, str)
        The threshold, and the note ("" when none is needed).
    """
    from .models import known_info

    info = known_info(model_name)    # a course model's folder is that model too
    if info is None or info.tells_copies_apart is None:
        return DUPLICATE_THRESHOLD, ""
    if info.tells_copies_apart:
        return round((info.copy_cosine + info.lookalike_cosine) / 2, 3), ""
    return DUPLICATE_THRESHOLD, (
        f"{model_name} cannot tell copies from look-alikes: two different pictures of the "
        f"course gallery score up to {info.lookalike_cosine:.3f} with it, an edited copy as "
        f"low as {info.copy_cosine:.3f} (measured as notebook 04 does), so these groups are "
        "pictures that look alike, not necessarily copies")
