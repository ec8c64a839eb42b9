"""``explain``: one picture, one query, one heatmap and the words that counted."""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from ..embeddings import embed_images, embed_texts
from ..images import load_image
from ..models import ClipartModelWarning, LoadedModel, clipart_note, load_model, no_text_encoder
from ._dense import dense_heatmap, gradcam_heatmap
from ._explanation import Explanation, explanation_html
from ._perturb import occlusion_heatmap, windows_heatmap
from ._tower import picture_embedding
from ._words import query_parts, word_contributions

# name -> (heatmap function, one line on what it does)
METHODS: dict[str, tuple[Callable, str]] = {
    "windows": (windows_heatmap, "score square windows at several scales, each resized to the "
                                 "model's input: model-agnostic, sees small things at full size"),
    "occlusion": (occlusion_heatmap, "grey out squares and measure how far the score falls: "
                                     "model-agnostic, at the model's input resolution"),
    "dense": (dense_heatmap, "each patch token's own embedding (CLIP: MaskCLIP's value path; "
                             "SigLIP: its pooling head's value path), cosine with the query: one pass"),
    "gradcam": (gradcam_heatmap, "Grad-CAM on the last block's input tokens: one pass and one "
                                 "backward"),
}

# The default per family, chosen by the pointing game (bench/bench_explain.py, RESULTS.md):
# on 2x2 mosaics of clip-art scenes "windows" points at the queried scene far more often
# than the one-pass methods, whose 64-px input gives each scene only 4 x 4 patches.
# SigLIP 2 and FG-CLIP 2 share SigLIP's tower and head, so they share its default.
DEFAULT_METHODS = {"clip": "windows", "siglip": "windows", "siglip2": "windows",
                   "fgclip2": "windows"}


def default_method(model: LoadedModel) -> str:
    """The method ``explain(..., method="auto")`` uses for this model's family."""
    return DEFAULT_METHODS[model.family]


def _as_model(model) -> LoadedModel:
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    if not loaded.has_text:
        raise ValueError(no_text_encoder(loaded.name))
    return loaded


def _label(item) -> str:
    if isinstance(item, (str, os.PathLike)):
        return Path(item).name
    return "a picture"


def explain(model, query, image, method: str = "auto", words: bool = True,
            parts: bool = False) -> Explanation:
    """Explain why ``image`` matches ``query``: where the model looked and which words counted.

    Notebook 09 teaches it.

    Parameters
    ----------
    model : LoadedModel or str
        A dual encoder (CLIP, SigLIP, SigLIP 2, FG-CLIP 2) or its name.
    query : str, path or PIL.Image.Image
        A ``str`` is text; a path (``pathlib.Path``), PIL image or bytes is a picture.
    image : path, PIL.Image.Image or bytes
        The picture to explain.
    method : str
        One of :data:`METHODS`, or "auto" for the family's default (:func:`default_method`).
    words : bool
        Compute each word's contribution (text queries; one text embedding per word).
    parts : bool
        For a text query that names several things ("a cat and a car"): one heatmap per
        thing (:func:`query_parts`), each scaled to 0..1, and the heatmap their
        maximum, so that every thing lights up. One query's embedding is a blend, and
        its map shows mainly the region that matches the blend best.

    Returns
    -------
    Explanation

    Raises
    ------
    ValueError
        An unknown method, an empty query, or a model without a text tower.
    ImageLoadError
        The picture (or a picture query) cannot be read.
    """
    loaded = _as_model(model)
    name = default_method(loaded) if method == "auto" else method
    if name not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from 'auto', {', '.join(METHODS)}")
    note = clipart_note(loaded, [image])
    if note:      # a clip-art model on a photo: its heatmap means as little as its score
        warnings.warn(note, ClipartModelWarning, stacklevel=2)
    picture = load_image(image)
    if isinstance(query, str):
        q = embed_texts(loaded, query)[0]
        label = query
    else:
        q = embed_images(loaded, [query])[0]
        label = _label(query)
    image_embedding = picture_embedding(loaded, picture)
    score = float(image_embedding @ q)
    heatmap = np.asarray(METHODS[name][0](loaded, picture, q), np.float32)
    by_part = {}
    phrases = query_parts(query) if parts and isinstance(query, str) else []
    if phrases:
        for phrase, vector in zip(phrases, embed_texts(loaded, phrases)):
            by_part[phrase] = _unit_range(METHODS[name][0](loaded, picture, vector))
        heatmap = np.max(list(by_part.values()), axis=0).astype(np.float32)
    contributions = (word_contributions(loaded, query, image_embedding)
                     if words and isinstance(query, str) else [])
    return Explanation(label, picture, score, heatmap, contributions, name, loaded.name, by_part)


def _unit_range(heatmap) -> np.ndarray:
    heat = np.asarray(heatmap, np.float32)
    span = float(heat.max() - heat.min())
    return (heat - heat.min()) / span if span > 0 else np.zeros_like(heat)


def explanations_html(explanations: Sequence[Explanation], labels: Sequence[str] = (),
                      size: int = 200) -> str:
    """A grid of explanations as HTML (every name escaped)."""
    labels = list(labels) + [""] * (len(explanations) - len(labels))
    cells = "".join(explanation_html(e, size, label) for e, label in zip(explanations, labels))
    return f'<div style="display:flex;flex-wrap:wrap">{cells}</div>'


def show_explanations(results, model, query, method: str = "auto", size: int = 200) -> list[Explanation]:
    """Explain each search result for ``query`` and show them as a grid in a notebook.

    Parameters
    ----------
    results : sequence of SearchResult (or of pictures)
    model : LoadedModel or str
    query : str or picture
    method : str
    size : int
        Width of each picture in pixels.

    Returns
    -------
    list of Explanation, in the order of ``results``
    """
    from IPython.display import display

    items = [getattr(r, "item", r) for r in results]
    explanations = [explain(model, query, item, method) for item in items]
    labels = [f"#{i} {_label(item)}" for i, item in enumerate(items, 1)]
    text = "\n".join(f"{label}: {e!r}" for label, e in zip(labels, explanations))
    display({"text/html": explanations_html(explanations, labels, size), "text/plain": text},
            raw=True)
    return explanations

