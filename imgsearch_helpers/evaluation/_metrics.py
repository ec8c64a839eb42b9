"""Private: the metrics, evaluate(), and what a model costs (speed, size)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from ..embeddings import embed_image_files, embed_texts, normalize
from ..models import LoadedModel
from ..search import top_k
from ..settings import BATCH_SIZE, TOP_K
from ._sets import LabelledSet
from ._table import ScoreTable

DEFAULT_TEMPLATES = ("a photo of a {}.",)

# The 80 templates OpenAI ensembled for ImageNet zero-shot (CLIP paper, section 3.1.4),
# as listed in openai/CLIP, notebooks/Prompt_Engineering_for_ImageNet.ipynb (MIT licence).
IMAGENET_TEMPLATES = (
    "a bad photo of a {}.",
    "a photo of many {}.",
    "a sculpture of a {}.",
    "a photo of the hard to see {}.",
    "a low resolution photo of the {}.",
    "a rendering of a {}.",
    "graffiti of a {}.",
    "a bad photo of the {}.",
    "a cropped photo of the {}.",
    "a tattoo of a {}.",
    "the embroidered {}.",
    "a photo of a hard to see {}.",
    "a bright photo of a {}.",
    "a photo of a clean {}.",
    "a photo of a dirty {}.",
    "a dark photo of the {}.",
    "a drawing of a {}.",
    "a photo of my {}.",
    "the plastic {}.",
    "a photo of the cool {}.",
    "a close-up photo of a {}.",
    "a black and white photo of the {}.",
    "a painting of the {}.",
    "a painting of a {}.",
    "a pixelated photo of the {}.",
    "a sculpture of the {}.",
    "a bright photo of the {}.",
    "a cropped photo of a {}.",
    "a plastic {}.",
    "a photo of the dirty {}.",
    "a jpeg corrupted photo of a {}.",
    "a blurry photo of the {}.",
    "a photo of the {}.",
    "a good photo of the {}.",
    "a rendering of the {}.",
    "a {} in a video game.",
    "a photo of one {}.",
    "a doodle of a {}.",
    "a close-up photo of the {}.",
    "a photo of a {}.",
    "the origami {}.",
    "the {} in a video game.",
    "a sketch of a {}.",
    "a doodle of the {}.",
    "a origami {}.",
    "a low resolution photo of a {}.",
    "the toy {}.",
    "a rendition of the {}.",
    "a photo of the clean {}.",
    "a photo of a large {}.",
    "a rendition of a {}.",
    "a photo of a nice {}.",
    "a photo of a weird {}.",
    "a blurry photo of a {}.",
    "a cartoon {}.",
    "art of a {}.",
    "a sketch of the {}.",
    "a embroidered {}.",
    "a pixelated photo of a {}.",
    "itap of the {}.",
    "a jpeg corrupted photo of the {}.",
    "a good photo of a {}.",
    "a plushie {}.",
    "a photo of the nice {}.",
    "a photo of the small {}.",
    "a photo of the weird {}.",
    "the cartoon {}.",
    "art of the {}.",
    "a drawing of the {}.",
    "a photo of the large {}.",
    "a black and white photo of a {}.",
    "the plushie {}.",
    "a dark photo of a {}.",
    "itap of a {}.",
    "graffiti of the {}.",
    "a toy {}.",
    "itap of my {}.",
    "a photo of a cool {}.",
    "a photo of a small {}.",
    "a tattoo of the {}.",
)


def _ranking(scores: np.ndarray) -> np.ndarray:
    # Best first; ties go to the lower column, as everywhere in the course (search.top_k).
    return np.lexsort((np.broadcast_to(np.arange(scores.shape[1]), scores.shape), -scores), axis=1)


def recall_at_k(scores: np.ndarray, relevant: np.ndarray, k: int) -> float:
    """The share of queries (rows) with a relevant column among their ``k`` best scores.

    Rows without any relevant column are left out.

    Parameters
    ----------
    scores : np.ndarray, (queries, items)
    relevant : np.ndarray of bool, same shape
    k : int
    """
    scores, relevant = np.asarray(scores, np.float64), np.asarray(relevant, bool)
    rows = relevant.any(axis=1)
    if not rows.any():
        raise ValueError("no query has a relevant item")
    top = _ranking(scores[rows])[:, :k]
    return float(np.take_along_axis(relevant[rows], top, axis=1).any(axis=1).mean())


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """Average precision of each query's full ranking (rows without a relevant item: NaN).

    AP = the mean, over the relevant items, of the precision at the rank where each is found.

    Parameters
    ----------
    scores : np.ndarray, (queries, items)
    relevant : np.ndarray of bool, same shape

    Returns
    -------
    np.ndarray, (queries,)
    """
    scores, relevant = (
        np.atleast_2d(np.asarray(scores, np.float64)),
        np.atleast_2d(np.asarray(relevant, bool)),
    )
    hits = np.take_along_axis(relevant, _ranking(scores), axis=1)
    precision = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    n_relevant = hits.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_relevant > 0, (precision * hits).sum(axis=1) / n_relevant, np.nan)


def score_embeddings(
    dataset: LabelledSet,
    image_embeddings: np.ndarray,
    label_embeddings: np.ndarray,
    query_embeddings: np.ndarray | None = None,
    ks: Sequence[int] = (1, 5, 10),
) -> dict:
    """Every metric of the module docstring, from embeddings already computed.

    Parameters
    ----------
    dataset : LabelledSet
    image_embeddings : np.ndarray, (len(dataset), d), unit rows, in the set's order
    label_embeddings : np.ndarray, (len(dataset.vocabulary), d), unit rows
        One text embedding per label of ``dataset.vocabulary``, in its order.
    query_embeddings : np.ndarray, optional
        The captions' embeddings (one per picture) when the set has captions; without
        them the label embeddings are the text queries.
    ks : sequence of int

    Returns
    -------
    dict of metric name -> float
    """
    vocab = dataset.vocabulary
    has = np.array([[label in ls for label in vocab] for ls in dataset.labels])  # (n, L)
    images = np.asarray(image_embeddings, np.float64)
    labels = np.asarray(label_embeddings, np.float64)
    if images.shape[0] != len(dataset) or labels.shape[0] != len(vocab):
        raise ValueError(
            f"{images.shape[0]} image and {labels.shape[0]} label embeddings for "
            f"{len(dataset)} pictures and {len(vocab)} labels"
        )
    if query_embeddings is not None:
        queries = np.asarray(query_embeddings, np.float64)
        main = [vocab.index(ls[0]) for ls in dataset.labels]
        t2i_relevant = has[:, main].T  # caption i: the pictures with picture i's main label
    else:
        queries, t2i_relevant = labels, has.T
    t2i = queries @ images.T
    i2i = images @ images.T
    np.fill_diagonal(i2i, -np.inf)  # a picture is not its own answer
    main_label = np.array([vocab.index(ls[0]) for ls in dataset.labels])
    i2i_relevant = has[:, main_label].T.copy()  # row q: pictures showing q's main label
    np.fill_diagonal(i2i_relevant, False)
    out = {f"t2i R@{k}": recall_at_k(t2i, t2i_relevant, k) for k in ks}
    out["t2i mAP"] = float(np.nanmean(average_precision(t2i, t2i_relevant)))
    if i2i_relevant.any():
        out.update({f"i2i R@{k}": recall_at_k(i2i, i2i_relevant, k) for k in ks})
        out["i2i mAP"] = float(np.nanmean(average_precision(i2i, i2i_relevant)))
    best = (images @ labels.T).argmax(axis=1)
    out["zero-shot top-1"] = float(has[np.arange(len(best)), best].mean())
    return out


def _label_embeddings(
    loaded: LoadedModel, labels: Sequence[str], templates: Sequence[str]
) -> np.ndarray:
    # CLIP's prompt ensembling: the mean of the unit text embeddings, made unit length again.
    per_template = [embed_texts(loaded, [t.format(label) for label in labels]) for t in templates]
    return normalize(np.mean(per_template, axis=0))


def evaluate(
    loaded: LoadedModel,
    dataset: LabelledSet,
    templates: Sequence[str] = DEFAULT_TEMPLATES,
    ks: Sequence[int] = (1, 5, 10),
    name: str | None = None,
    batch_size: int = BATCH_SIZE,
) -> "ScoreTable":
    """Measure one dual encoder on a labelled set.

    Parameters
    ----------
    loaded : LoadedModel
        A CLIP, SigLIP, SigLIP 2 or FG-CLIP 2 model from :func:`load_model`.
    dataset : LabelledSet
        From :func:`gallery_set`, :func:`photos_set` or :func:`image_folder_set`.
    templates : sequence of str
        Prompt templates with one ``{}`` for the label; several are ensembled.
    ks : sequence of int
        The k of recall@k.
    name : str, optional
        The row's name (default: the model's).
    batch_size : int

    Returns
    -------
    ScoreTable
        One row. Pictures that cannot be read are left out and named in its notes.
    """
    if not templates or any("{}" not in t for t in templates):
        raise ValueError("give at least one template, each with '{}' for the label")
    emb, ok, skipped = embed_image_files(
        loaded, list(dataset.paths), batch_size=batch_size, progress=False
    )
    notes = [f"left out {Path(p).name}: {reason}" for p, reason in skipped]
    if skipped:
        if not ok:
            raise ValueError(f"{dataset.name}: no picture could be read ({notes[0]})")
        dataset = dataset.subset(ok)
    labels = _label_embeddings(loaded, dataset.vocabulary, templates)
    queries = embed_texts(loaded, list(dataset.captions)) if dataset.captions else None
    row = score_embeddings(dataset, emb, labels, queries, ks)
    return ScoreTable({name or loaded.name: row}, title=dataset.describe(), notes=notes)


def measure_speed(
    loaded: LoadedModel, paths: Sequence, queries: Sequence[str], batch_size: int = BATCH_SIZE
) -> dict:
    """How fast a model is on this machine: images embedded per second, milliseconds per query.

    A query is one text embedded and ranked against the pictures' embeddings, as a
    search box does it. A short warm-up runs first (the first call allocates memory).

    Parameters
    ----------
    loaded : LoadedModel
    paths : sequence of image paths
    queries : sequence of str
    batch_size : int

    Returns
    -------
    {"images/s": float, "ms/query": float}
    """
    paths, queries = list(paths), list(queries)
    if not paths or not queries:
        raise ValueError("give at least one picture and one query")
    embed_image_files(loaded, paths[:2], batch_size=batch_size, progress=False)
    start = time.perf_counter()
    emb, ok, _ = embed_image_files(loaded, paths, batch_size=batch_size, progress=False)
    seconds = time.perf_counter() - start
    embed_texts(loaded, queries[:1])
    start = time.perf_counter()
    for query in queries:
        top_k(embed_texts(loaded, query)[0], emb, k=TOP_K)
    per_query = (time.perf_counter() - start) / len(queries)
    return {"images/s": len(ok) / seconds, "ms/query": 1000 * per_query}


def _folder_bytes(folder: Path) -> int:
    # os.path.getsize follows the Hugging Face cache's symbolic links to the real files.
    return sum(os.path.getsize(p) for p in folder.rglob("*") if p.is_file())


def model_size(loaded: LoadedModel) -> dict:
    """The model's weights in memory and its files on disk, in MB (disk: None when unknown).

    Returns
    -------
    {"weights MB": float, "disk MB": float or None}
    """
    weights = sum(p.numel() * p.element_size() for p in loaded.model.parameters())
    folder = None
    if loaded.info is not None and loaded.info.local_dir:
        folder = Path(loaded.info.source)
    elif Path(loaded.name).is_dir():
        folder = Path(loaded.name)
    else:
        from huggingface_hub import try_to_load_from_cache

        config = try_to_load_from_cache(loaded.name, "config.json")
        folder = Path(config).parent if isinstance(config, str) else None
    return {"weights MB": weights / 1e6, "disk MB": _folder_bytes(folder) / 1e6 if folder else None}
