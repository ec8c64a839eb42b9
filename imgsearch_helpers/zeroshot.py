"""Zero-shot classification scores from embeddings, exactly as the pipeline computes them."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .embeddings import embed_images, embed_texts
from .models import LoadedModel

__all__ = ["zero_shot_scores", "zero_shot_classify", "DEFAULT_TEMPLATE"]

# The template transformers' zero-shot-image-classification pipeline uses.
DEFAULT_TEMPLATE = "This is a photo of {}."


def zero_shot_scores(loaded: LoadedModel, image_embeddings: np.ndarray,
                     text_embeddings: np.ndarray) -> np.ndarray:
    """Turn cosine similarities into the model's label probabilities.

    CLIP was trained with a softmax over the batch, so its scores are a softmax
    over the labels of ``logit_scale * cos``: they always sum to 1. SigLIP (and
    SigLIP 2 and FG-CLIP 2, see :attr:`LoadedModel.sigmoid_scores`) was trained
    with an independent sigmoid per (image, text) pair, so each label gets
    ``sigmoid(logit_scale * cos + logit_bias)`` on its own: they need not sum to
    1, and with the large negative bias they are often all small.

    Parameters
    ----------
    loaded : LoadedModel
    image_embeddings : np.ndarray, (n_images, d) or (d,)
    text_embeddings : np.ndarray, (n_labels, d)

    Returns
    -------
    np.ndarray, (n_images, n_labels) (or (n_labels,) for one image), float64.
    """
    single = np.ndim(image_embeddings) == 1
    img = np.atleast_2d(image_embeddings).astype(np.float64)
    logits = loaded.logit_scale * (img @ np.asarray(text_embeddings, np.float64).T)
    if loaded.sigmoid_scores:
        probs = 1.0 / (1.0 + np.exp(-(logits + loaded.logit_bias)))
    else:
        logits = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
    return probs[0] if single else probs


def zero_shot_classify(loaded: LoadedModel, image, labels: Sequence[str],
                       template: str = DEFAULT_TEMPLATE) -> list[dict]:
    """Score ``labels`` for one image; the same output as the transformers pipeline.

    Returns
    -------
    list of {"label": str, "score": float}, best first.
    """
    labels = list(labels)
    if not labels:
        raise ValueError("give at least one candidate label")
    texts = embed_texts(loaded, [template.format(label) for label in labels])
    probs = zero_shot_scores(loaded, embed_images(loaded, [image])[0], texts)
    order = np.argsort(-probs, kind="stable")
    return [{"label": labels[i], "score": float(probs[i])} for i in order]
