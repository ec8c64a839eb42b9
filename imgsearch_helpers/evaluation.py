"""Measure a model on labelled pictures: recall@k, zero-shot top-1, mean average precision.

Notebook 07 (which model?) compares models with it; point it at your own
labelled photos to measure them where it matters to you. A labelled set is
one of:

- :func:`gallery_set`: the offline clip-art gallery, each picture's kind (from
  its file name) and its caption;
- :func:`photos_set`: ``data/photos`` with its ``labels.json``;
- :func:`image_folder_set`: any folder laid out one sub-folder per label
  (``my_photos/cat/*.jpg``, ``my_photos/car/*.jpg``: the ImageFolder convention).

The metrics, all between 0 and 1, higher is better:

``t2i R@k``
    text -> image: the share of text queries with at least one right picture
    among the first k (COCO's R@k, for queries with several right answers).
``t2i mAP``
    the mean, over text queries, of the average precision of the whole ranking:
    1.0 when every right picture comes before every wrong one.
``i2i R@k``, ``i2i mAP``
    image -> image: each picture is a query (and left out of its own results);
    the right answers are the other pictures that show its main (first) label.
``zero-shot top-1``
    the share of pictures whose best label prompt ("a photo of a {label}.") is
    one of the labels the picture shows.

Text queries are the captions when the set has them (the gallery), else one
query per label made from the templates. Several templates are averaged into
one text embedding per label (prompt ensembling, as the CLIP paper does with
:data:`IMAGENET_TEMPLATES`).
"""
from __future__ import annotations

import html
import json
import os
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np

from .course import kind_of
from .embeddings import embed_image_files, embed_texts, normalize
from .images import find_image_files, read_captions
from .models import DATA_DIR, LoadedModel
from .search import top_k

__all__ = ["LabelledSet", "gallery_set", "photos_set", "image_folder_set", "read_labels", "evaluate",
           "score_embeddings", "recall_at_k", "average_precision", "measure_speed", "model_size",
           "ScoreTable", "DEFAULT_TEMPLATES", "IMAGENET_TEMPLATES", "LABELS_FILE"]

# The labels file of a photo folder: {"photos": {file name: [subject, ...]}}.
LABELS_FILE = "labels.json"
DEFAULT_TEMPLATES = ("a photo of a {}.",)

# The 80 templates OpenAI ensembled for ImageNet zero-shot (CLIP paper, section 3.1.4),
# as listed in openai/CLIP, notebooks/Prompt_Engineering_for_ImageNet.ipynb (MIT licence).
IMAGENET_TEMPLATES = (
    "a bad photo of a {}.", "a photo of many {}.", "a sculpture of a {}.",
    "a photo of the hard to see {}.", "a low resolution photo of the {}.", "a rendering of a {}.",
    "graffiti of a {}.", "a bad photo of the {}.", "a cropped photo of the {}.",
    "a tattoo of a {}.", "the embroidered {}.", "a photo of a hard to see {}.",
    "a bright photo of a {}.", "a photo of a clean {}.", "a photo of a dirty {}.",
    "a dark photo of the {}.", "a drawing of a {}.", "a photo of my {}.", "the plastic {}.",
    "a photo of the cool {}.", "a close-up photo of a {}.", "a black and white photo of the {}.",
    "a painting of the {}.", "a painting of a {}.", "a pixelated photo of the {}.",
    "a sculpture of the {}.", "a bright photo of the {}.", "a cropped photo of a {}.",
    "a plastic {}.", "a photo of the dirty {}.", "a jpeg corrupted photo of a {}.",
    "a blurry photo of the {}.", "a photo of the {}.", "a good photo of the {}.",
    "a rendering of the {}.", "a {} in a video game.", "a photo of one {}.", "a doodle of a {}.",
    "a close-up photo of the {}.", "a photo of a {}.", "the origami {}.",
    "the {} in a video game.", "a sketch of a {}.", "a doodle of the {}.", "a origami {}.",
    "a low resolution photo of a {}.", "the toy {}.", "a rendition of the {}.",
    "a photo of the clean {}.", "a photo of a large {}.", "a rendition of a {}.",
    "a photo of a nice {}.", "a photo of a weird {}.", "a blurry photo of a {}.",
    "a cartoon {}.", "art of a {}.", "a sketch of the {}.", "a embroidered {}.",
    "a pixelated photo of a {}.", "itap of the {}.", "a jpeg corrupted photo of the {}.",
    "a good photo of a {}.", "a plushie {}.", "a photo of the nice {}.",
    "a photo of the small {}.", "a photo of the weird {}.", "the cartoon {}.", "art of the {}.",
    "a drawing of the {}.", "a photo of the large {}.", "a black and white photo of a {}.",
    "the plushie {}.", "a dark photo of a {}.", "itap of a {}.", "graffiti of the {}.",
    "a toy {}.", "itap of my {}.", "a photo of a cool {}.", "a photo of a small {}.",
    "a tattoo of the {}.",
)


@dataclass(frozen=True)
class LabelledSet:
    """Pictures, the subjects each one shows (main subject first), and optional captions."""

    name: str
    paths: tuple[Path, ...]
    labels: tuple[tuple[str, ...], ...]
    captions: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.paths:
            raise ValueError(f"{self.name}: no pictures")
        if len(self.labels) != len(self.paths) or any(not ls for ls in self.labels):
            raise ValueError(f"{self.name}: every picture needs at least one label")
        if self.captions and len(self.captions) != len(self.paths):
            raise ValueError(f"{self.name}: one caption per picture, or none")

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def vocabulary(self) -> list[str]:
        """Every label that some picture shows, sorted."""
        return sorted({label for ls in self.labels for label in ls})

    def subset(self, keep: Sequence[int]) -> "LabelledSet":
        """The same set with only the pictures at positions ``keep``."""
        pick = list(keep)
        return replace(self, paths=tuple(self.paths[i] for i in pick),
                       labels=tuple(self.labels[i] for i in pick),
                       captions=tuple(self.captions[i] for i in pick) if self.captions else ())

    def describe(self) -> str:
        """One line: how many pictures, labels and text queries."""
        queries = (f"{len(self.captions)} caption queries" if self.captions
                   else f"{len(self.vocabulary)} label queries")
        return (f"{self.name}: {len(self)} pictures, {len(self.vocabulary)} labels, {queries}")


def gallery_set(folder=None) -> LabelledSet:
    """The offline clip-art gallery: kinds from file names (``lake_000.png`` -> lake), captions."""
    folder = Path(folder) if folder is not None else DATA_DIR / "gallery"
    captions = read_captions(folder)
    if not captions:
        raise ValueError(f"{folder} has no captions.json; write it with "
                         "imgsearch_helpers.clipart.write_gallery")
    names = sorted(captions)
    return LabelledSet(f"{folder.name} (clip-art, with captions)", tuple(folder / n for n in names),
                       tuple((kind_of(n),) for n in names), tuple(captions[n] for n in names))


def read_labels(folder) -> dict[str, tuple[str, ...]]:
    """The ``labels.json`` of a photo folder: {file name: (label, ...)}, main label first.

    Raises
    ------
    ValueError
        The file is missing, unreadable, or not {"photos": {name: [labels]}}.
    """
    path = Path(folder) / LABELS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path} is missing: write {{\"photos\": {{file name: [labels]}}}}, or "
                         "lay the pictures out one sub-folder per label (image_folder_set)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a readable JSON file ({err})") from err
    labels = data.get("photos", data) if isinstance(data, dict) else None
    if not isinstance(labels, dict) or not all(isinstance(v, list) for v in labels.values()):
        raise ValueError(f"{path} must hold {{\"photos\": {{file name: [labels]}}}}")
    return {str(name): tuple(str(x) for x in subjects) for name, subjects in labels.items()}


def photos_set(folder=None) -> LabelledSet:
    """A photo folder with a ``labels.json`` ({"photos": {name: [label, ...]}}), e.g. data/photos.

    Raises
    ------
    ValueError
        No labels file, a picture without labels, or labels for a file that is not there.
    """
    folder = Path(folder) if folder is not None else DATA_DIR / "photos"
    labels = read_labels(folder)
    files, _ = find_image_files(folder, recursive=False)
    unlabelled = [f for f in files if not labels.get(f)]
    absent = sorted(set(labels) - set(files))
    if unlabelled or absent:
        raise ValueError(f"{folder / LABELS_FILE} does not match the folder: "
                         + "; ".join(filter(None, [
                             unlabelled and f"no labels for {', '.join(unlabelled)}",
                             absent and f"no such picture: {', '.join(absent)}"])))
    return LabelledSet(f"{folder.name} ({LABELS_FILE})", tuple(folder / f for f in files),
                       tuple(labels[f] for f in files))


def image_folder_set(folder) -> LabelledSet:
    """A folder with one sub-folder per label; the sub-folder's name is the label.

    ``golden_retriever/`` becomes the label "golden retriever". Pictures deeper down
    count for their top sub-folder; pictures lying directly in ``folder`` have no
    label and are left out with a warning.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    files, problems = find_image_files(folder, recursive=True)
    for where, reason in problems:
        warnings.warn(f"{folder / where}: {reason}; its pictures are left out", stacklevel=2)
    loose = [f for f in files if "/" not in f]
    if loose:
        warnings.warn(f"{len(loose)} picture(s) directly in {folder} have no label sub-folder and "
                      f"are left out, e.g. {loose[0]}", stacklevel=2)
    labelled = [f for f in files if "/" in f]
    if not labelled:
        raise ValueError(f"{folder} has no pictures in sub-folders; lay it out one sub-folder per "
                         "label, e.g. cat/1.jpg, car/2.jpg")
    return LabelledSet(f"{folder.name} (one sub-folder per label)", tuple(folder / f for f in labelled),
                       tuple((f.split("/")[0].replace("_", " "),) for f in labelled))


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
    scores, relevant = np.atleast_2d(np.asarray(scores, np.float64)), np.atleast_2d(np.asarray(relevant, bool))
    hits = np.take_along_axis(relevant, _ranking(scores), axis=1)
    precision = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    n_relevant = hits.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_relevant > 0, (precision * hits).sum(axis=1) / n_relevant, np.nan)


def score_embeddings(dataset: LabelledSet, image_embeddings: np.ndarray, label_embeddings: np.ndarray,
                     query_embeddings: np.ndarray | None = None, ks: Sequence[int] = (1, 5, 10)) -> dict:
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
    has = np.array([[label in ls for label in vocab] for ls in dataset.labels])   # (n, L)
    images = np.asarray(image_embeddings, np.float64)
    labels = np.asarray(label_embeddings, np.float64)
    if images.shape[0] != len(dataset) or labels.shape[0] != len(vocab):
        raise ValueError(f"{images.shape[0]} image and {labels.shape[0]} label embeddings for "
                         f"{len(dataset)} pictures and {len(vocab)} labels")
    if query_embeddings is not None:
        queries = np.asarray(query_embeddings, np.float64)
        main = [vocab.index(ls[0]) for ls in dataset.labels]
        t2i_relevant = has[:, main].T           # caption i: the pictures with picture i's main label
    else:
        queries, t2i_relevant = labels, has.T
    t2i = queries @ images.T
    i2i = images @ images.T
    np.fill_diagonal(i2i, -np.inf)               # a picture is not its own answer
    main_label = np.array([vocab.index(ls[0]) for ls in dataset.labels])
    i2i_relevant = has[:, main_label].T.copy()   # row q: pictures showing q's main label
    np.fill_diagonal(i2i_relevant, False)
    out = {f"t2i R@{k}": recall_at_k(t2i, t2i_relevant, k) for k in ks}
    out["t2i mAP"] = float(np.nanmean(average_precision(t2i, t2i_relevant)))
    if i2i_relevant.any():
        out.update({f"i2i R@{k}": recall_at_k(i2i, i2i_relevant, k) for k in ks})
        out["i2i mAP"] = float(np.nanmean(average_precision(i2i, i2i_relevant)))
    best = (images @ labels.T).argmax(axis=1)
    out["zero-shot top-1"] = float(has[np.arange(len(best)), best].mean())
    return out


def _label_embeddings(loaded: LoadedModel, labels: Sequence[str], templates: Sequence[str]) -> np.ndarray:
    # CLIP's prompt ensembling: the mean of the unit text embeddings, made unit length again.
    per_template = [embed_texts(loaded, [t.format(label) for label in labels]) for t in templates]
    return normalize(np.mean(per_template, axis=0))


def evaluate(loaded: LoadedModel, dataset: LabelledSet, templates: Sequence[str] = DEFAULT_TEMPLATES,
             ks: Sequence[int] = (1, 5, 10), name: str | None = None, batch_size: int = 32) -> "ScoreTable":
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
    emb, ok, skipped = embed_image_files(loaded, list(dataset.paths), batch_size=batch_size,
                                         progress=False)
    notes = [f"left out {Path(p).name}: {reason}" for p, reason in skipped]
    if skipped:
        if not ok:
            raise ValueError(f"{dataset.name}: no picture could be read ({notes[0]})")
        dataset = dataset.subset(ok)
    labels = _label_embeddings(loaded, dataset.vocabulary, templates)
    queries = embed_texts(loaded, list(dataset.captions)) if dataset.captions else None
    row = score_embeddings(dataset, emb, labels, queries, ks)
    return ScoreTable({name or loaded.name: row}, title=dataset.describe(), notes=notes)


def measure_speed(loaded: LoadedModel, paths: Sequence, queries: Sequence[str],
                  batch_size: int = 32) -> dict:
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
        top_k(embed_texts(loaded, query)[0], emb, k=5)
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


class ScoreTable:
    """Named rows of numbers (one row per model) that print as a table and plot with matplotlib.

    Cells may also be text (a source, a note) or None (printed "-").

    Parameters
    ----------
    rows : mapping of row name -> {column: value}
    title : str
    notes : list of str
        Shown under the table.
    """

    def __init__(self, rows: Mapping[str, Mapping[str, object]] | None = None, title: str = "",
                 notes: Iterable[str] = ()):
        self.rows: dict[str, dict[str, object]] = {k: dict(v) for k, v in (rows or {}).items()}
        self.title, self.notes = title, list(notes)

    @property
    def columns(self) -> list[str]:
        """Every column of any row, in the order first seen."""
        return list(dict.fromkeys(c for row in self.rows.values() for c in row))

    def __getitem__(self, row: str) -> dict:
        return self.rows[row]

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, name: str, values: Mapping[str, object]) -> "ScoreTable":
        """Add (or extend) the row ``name``; returns the table, so calls can be chained."""
        self.rows.setdefault(name, {}).update(values)
        return self

    def extend(self, other: "ScoreTable") -> "ScoreTable":
        """Add every row of ``other`` (its cells win); keeps this table's title."""
        for name, values in other.rows.items():
            self.add(name, values)
        self.notes += [n for n in other.notes if n not in self.notes]
        self.title = self.title or other.title
        return self

    def column(self, name: str) -> list:
        """One column's values, in row order (None where a row has none)."""
        return [row.get(name) for row in self.rows.values()]

    @staticmethod
    def _cell(value) -> str:
        if value is None:
            return "-"
        if isinstance(value, (bool, np.bool_)):
            return "yes" if value else "no"
        if isinstance(value, (int, np.integer)):
            return f"{value:,}"
        if isinstance(value, (float, np.floating)):
            if not np.isfinite(value):
                return "-"
            if abs(value) >= 1000:
                return f"{value:,.0f}"
            return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
        return str(value)

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        header = [""] + self.columns
        body = [[name] + [self._cell(row.get(c)) for c in self.columns] for name, row in self.rows.items()]
        return header, body

    def __str__(self) -> str:
        header, body = self._cells()
        widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
        def line(cells):
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
        out = ([self.title] if self.title else []) + [line(header), line(["-" * w for w in widths])]
        out += [line(r) for r in body] + [f"  note: {n}" for n in self.notes]
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        header, body = self._cells()
        esc = html.escape
        rows = "".join("<tr>" + "".join(f"<td style='text-align:{'left' if i == 0 else 'right'}'>"
                                          f"{esc(c)}</td>" for i, c in enumerate(r)) + "</tr>" for r in body)
        notes = "".join(f"<br><small>note: {esc(n)}</small>" for n in self.notes)
        caption = f"<caption style='text-align:left'>{esc(self.title)}</caption>" if self.title else ""
        return (f"<table>{caption}<thead><tr>{''.join(f'<th>{esc(h)}</th>' for h in header)}</tr>"
                f"</thead><tbody>{rows}</tbody></table>{notes}")

    def _numeric(self, columns) -> list[str]:
        cols = list(columns) if columns is not None else [
            c for c in self.columns if all(isinstance(v, (int, float, np.number)) and not
                                           isinstance(v, bool) for v in self.column(c) if v is not None)]
        if not cols:
            raise ValueError("no numeric column to plot")
        return cols

    def plot(self, columns: Sequence[str] | None = None, ax=None):
        """A grouped bar chart: one group per column, one bar per row.

        Parameters
        ----------
        columns : sequence of str, optional
            Default: every column whose values are all numbers.
        ax : matplotlib Axes, optional

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt

        cols = self._numeric(columns)
        ax = ax if ax is not None else plt.subplots(figsize=(max(6, 1.2 * len(cols)), 3.5))[1]
        width = 0.8 / max(1, len(self.rows))
        x = np.arange(len(cols))
        for i, (name, row) in enumerate(self.rows.items()):
            values = [np.nan if row.get(c) is None else float(row[c]) for c in cols]
            ax.bar(x + (i - (len(self.rows) - 1) / 2) * width, values, width, label=name)
        ax.set_xticks(x, cols, rotation=30, ha="right")
        ax.set_title(self.title)
        # Beside the bars, not over them: scores near 1.0 fill the whole height.
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.figure.tight_layout()
        return ax

    def scatter(self, x: str, y: str, ax=None, logx: bool | None = None, ylim=None):
        """One labelled point per row: column ``x`` against column ``y`` (e.g. speed and quality).

        Rows without a number in both columns are left out.

        Parameters
        ----------
        x, y : str
            Column names.
        ax : matplotlib Axes, optional
        logx : bool, optional
            A logarithmic x axis; default: when the x values span more than a factor of 10.
        ylim : (low, high), optional
            Default: (0, 1.05) when every y value lies between 0 and 1 (a score), so that
            small differences are not blown up to fill the plot.

        Returns
        -------
        matplotlib Axes
        """
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.subplots(figsize=(6.5, 4))[1]
        points = {name: (float(row[x]), float(row[y])) for name, row in self.rows.items()
                  if all(isinstance(row.get(c), (int, float, np.number)) and not isinstance(row.get(c), bool)
                         for c in (x, y))}
        if not points:
            raise ValueError(f"no row has numbers in both {x!r} and {y!r}")
        for i, (name, (px, py)) in enumerate(sorted(points.items(), key=lambda item: item[1])):
            ax.scatter(px, py, s=40)
            # Alternate above and below, so that the names of close points do not overlap.
            ax.annotate(name, (px, py), textcoords="offset points", xytext=(6, 5 if i % 2 else -11),
                        fontsize="small")
        xs, ys = [p[0] for p in points.values()], [p[1] for p in points.values()]
        if logx is None:
            logx = min(xs) > 0 and max(xs) / min(xs) > 10
        if logx:
            ax.set_xscale("log")
            ax.set_xlim(min(xs) / 2, max(xs) * 6)          # room for the names right of the points
        elif min(xs) >= 0:
            ax.set_xlim(0, max(xs) * 1.6)   # from zero: 640 and 660 images/s are alike
        if ylim is None and min(ys) >= 0 and max(ys) <= 1:
            ylim = (0, 1.05)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(self.title)
        ax.grid(alpha=0.3)
        return ax
