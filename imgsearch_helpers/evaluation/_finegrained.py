"""Private: the fine-grained benchmark: does a model read colours, counts and the time of day?

Held-out clip-art scenes whose attributes are known from the painter
(:attr:`imgsearch_helpers.clipart.Scene.attributes`). A task is one attribute of one
kind (the colour of the car, how many trees, ...). Its scenes are split into pools
of :data:`POOL_SIZE` scenes of that kind; in each pool, each value that some but not
all of the pool's scenes show is one trial: the query ("a red car", "two cats") ranks
the pool, and the trial is right when the first picture shows that value. Chance is
the share of the pool that shows it: what a model that only knows the kind would get.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .. import clipart
from ..clipart import ATTRIBUTE_VALUES
from ._table import ScoreTable

FINEGRAINED_SEED = 7  # neither the training scenes (0), the held-out ones (1) nor the gallery
FINEGRAINED_PER_KIND = 100
POOL_SIZE = 10
# The targets: top-1 attribute accuracy for each group, both offline dual encoders.
FINEGRAINED_TARGETS = {"colour": 0.9, "count": 0.8}
# What `make models` measured, beside the course's models (data/models/eval.json).
MEASURED_FILE = "eval.json"
_DETAIL_WORDS = {"colour": ("colours", "colour", "a picture in the asked colour"),
                 "count": ("counts", "count", "a picture with the asked count")}


@dataclass(frozen=True)
class Task:
    """One attribute of one kind, with the query for each of its values."""

    group: str   # "colour", "count" or "time"
    kind: str
    key: str     # the attribute's key in Scene.attributes
    name: str    # as printed: "car colour"
    query: Callable

    def value(self, attributes: dict):
        """This task's value in one scene (None: the scene does not take part)."""
        if attributes["kind"] != self.kind or (self.kind == "snow" and not attributes["snowman"]):
            return None
        return attributes.get(self.key)

    def takes_part(self, attributes: dict) -> bool:
        """Whether a scene is one of this task's (a snowman without a hat is: its value is None)."""
        return self.value(attributes) is not None or (
            self.key == "hat" and attributes["kind"] == "snow" and bool(attributes.get("snowman")))

    def values(self) -> list:
        """Every value the task asks about (for the hat: None, no hat, first)."""
        return ([None] if self.key == "hat" else []) + list(ATTRIBUTE_VALUES[(self.kind, self.key)])


def _tasks() -> list[Task]:
    tasks = [Task("colour", kind, "colour", f"{kind} colour", lambda v, k=kind: clipart.colour_query(k, v))
             for kind in ("car", "house", "boat", "cat", "dog", "flower")]
    tasks.append(Task("colour", "snow", "hat", "snowman's hat", clipart.hat_query))
    tasks += [Task("count", kind, "count", f"{kind} count", lambda v, k=kind: clipart.count_query(k, v))
              for kind in ("tree", "cat", "boat")]
    tasks += [Task("time", kind, "time", f"{kind} time of day", lambda v, k=kind: clipart.time_query(k, v))
              for kind in ("lake", "house", "car", "boat")]
    return tasks


TASKS = _tasks()


@dataclass
class FineGrainedSet:
    """Held-out scenes with their recorded attributes."""

    images: list
    attributes: list[dict]
    seed: int

    def __len__(self) -> int:
        return len(self.images)

    def queries(self) -> list[str]:
        """Every query of every task, once."""
        return list(dict.fromkeys(task.query(v) for task in TASKS for v in task.values()))


def finegrained_set(per_kind: int = FINEGRAINED_PER_KIND, seed: int = FINEGRAINED_SEED) -> FineGrainedSet:
    """Draw the benchmark's held-out scenes (never training scenes: another seed).

    Parameters
    ----------
    per_kind : int
        Scenes of each kind.
    seed : int

    Returns
    -------
    FineGrainedSet
    """
    scenes = clipart.generate_dataset(per_kind * len(clipart.SCENE_KINDS), seed, check=False)
    return FineGrainedSet([s.image for s in scenes], [s.attributes for s in scenes], seed)


def _trials(task: Task, attributes: list[dict], pool_size: int):
    """(pool rows, value, share of the pool showing it) for every trial of one task."""
    rows = [i for i, a in enumerate(attributes) if task.takes_part(a)]
    for start in range(0, len(rows) - pool_size + 1, pool_size):
        pool = rows[start:start + pool_size]
        values = [task.value(attributes[i]) for i in pool]
        for value in dict.fromkeys(values):
            share = values.count(value) / len(pool)
            if share < 1:
                yield pool, value, share


def score_finegrained(fset: FineGrainedSet, image_embeddings: np.ndarray, embed_queries: Callable,
                      pool_size: int = POOL_SIZE) -> dict:
    """The benchmark from image embeddings and a function that embeds text.

    Parameters
    ----------
    fset : FineGrainedSet
    image_embeddings : np.ndarray, (len(fset), d), unit rows
    embed_queries : callable
        list of str -> np.ndarray of unit rows (one per text).
    pool_size : int

    Returns
    -------
    dict
        ``tasks``: {task name: {"group", "accuracy", "chance", "trials"}}; ``groups``:
        {group: {"accuracy", "chance", "trials"}}, each the mean over its trials.
    """
    queries = fset.queries()
    text = dict(zip(queries, np.asarray(embed_queries(queries))))
    images = np.asarray(image_embeddings)
    tasks, groups = {}, {}
    for task in TASKS:
        hits, chances = [], []
        for pool, value, share in _trials(task, fset.attributes, pool_size):
            scores = images[pool] @ text[task.query(value)]
            best = pool[int(np.argmax(scores))]
            hits.append(task.value(fset.attributes[best]) == value)
            chances.append(share)
        if not hits:
            continue
        tasks[task.name] = {"group": task.group, "accuracy": float(np.mean(hits)),
                            "chance": float(np.mean(chances)), "trials": len(hits)}
        g = groups.setdefault(task.group, {"hits": [], "chances": []})
        g["hits"] += hits
        g["chances"] += chances
    return {"tasks": tasks,
            "groups": {k: {"accuracy": float(np.mean(g["hits"])), "chance": float(np.mean(g["chances"])),
                           "trials": len(g["hits"])} for k, g in groups.items()}}


def finegrained_benchmark(loaded, fset: FineGrainedSet | None = None, name: str | None = None,
                          pool_size: int = POOL_SIZE) -> ScoreTable:
    """Measure how well one dual encoder reads colours, counts and the time of day.

    Parameters
    ----------
    loaded : LoadedModel
        A model with a text tower, from :func:`imgsearch_helpers.load_model`.
    fset : FineGrainedSet, optional
        Default: :func:`finegrained_set` ().
    name : str, optional
        The column's name prefix (default: the model's name).
    pool_size : int

    Returns
    -------
    ScoreTable
        One row per task and one per group ("all colours", ...), columns ``top-1``,
        ``chance`` and ``trials``.
    """
    from ..embeddings import embed_images, embed_texts

    fset = fset or finegrained_set()
    result = score_finegrained(fset, embed_images(loaded, fset.images, progress=False),
                               lambda texts: embed_texts(loaded, texts), pool_size)
    return finegrained_table(result, title=f"{name or loaded.name}: fine-grained top-1, pools of "
                                           f"{pool_size} scenes of one kind")


def finegrained_table(result: dict, title: str = "") -> ScoreTable:
    """A :class:`ScoreTable` of one :func:`score_finegrained` result: one row per task and group."""
    table = ScoreTable(title=title, notes=["chance: the share of the pool that shows the queried value"])
    for name, row in result["tasks"].items():
        table.add(name, {"top-1": row["accuracy"], "chance": row["chance"], "trials": row["trials"]})
    for group, row in result["groups"].items():
        table.add(f"all {group}s" if group != "time" else "all times of day",
                  {"top-1": row["accuracy"], "chance": row["chance"], "trials": row["trials"]})
    return table


def detail_note(model, text: str | None) -> str:
    """A warning when a text query names a detail that the course model is measured not to read.

    "a red car" asked of the clip-art SigLIP, which puts the asked colour first in
    about a quarter of the fine-grained benchmark's pools: its results are the right
    kind in any colour, and the user must be told so rather than guess. The numbers
    are those `make models` measured (``data/models/eval.json``); a group at or
    above its target (:data:`FINEGRAINED_TARGETS`) gets no note.

    Parameters
    ----------
    model : LoadedModel or str
        A loaded model, a model name, or the folder of a course model. Only the
        course's own models were measured; any other model gets "".
    text : str or None
        The query's words (:func:`~imgsearch_helpers.matching.named_details` finds
        the colours and counts it names, by the words alone: "a rose garden" gets a
        note too, as it gets the stricter cut-off of
        :meth:`~imgsearch_helpers.matching.Calibration.for_query`).

    Returns
    -------
    str
        One sentence, or "" when the query names no detail or the model reads it.
    """
    from ..matching import named_details
    from ..models import OFFLINE_MODELS_DIR, LoadedModel, course_info

    name = model.name if isinstance(model, LoadedModel) else str(model)
    named = named_details(text)
    if not named:
        return ""
    info = course_info(model)
    if info is None:
        return ""
    groups = _measured_groups(str(OFFLINE_MODELS_DIR / MEASURED_FILE)).get(info.family, {})
    weak = [(g, groups[g]) for g in ("colour", "count")
            if g in named and g in groups and groups[g]["accuracy"] < FINEGRAINED_TARGETS[g]]
    if not weak:
        return ""
    what = " and ".join(_DETAIL_WORDS[g][0] for g, _ in weak)
    measured = [f"{_DETAIL_WORDS[g][2]} first in {r['accuracy']:.0%} of the tests (chance "
                f"{r['chance']:.0%}, target {FINEGRAINED_TARGETS[g]:.0%})" for g, r in weak]
    asked = " or ".join(_DETAIL_WORDS[g][1] for g, _ in weak)
    return (f"{name} reads {what} poorly: in the course's fine-grained benchmark (English queries, "
            f"each ranking {POOL_SIZE} pictures of one kind; data/models/EVAL.md) it puts "
            f"{' and '.join(measured)}, so its results may not have the {asked} you asked for.")


@functools.lru_cache(maxsize=4)
def _measured_groups(path: str) -> dict:
    """{family: {group: {"accuracy", "chance"}}} from a `make models` record; {} without one."""
    try:
        metrics = json.loads(Path(path).read_text(encoding="utf-8"))["metrics"]
        return {family: m["finegrained"]["groups"] for family, m in metrics.items() if "finegrained" in m}
    except (OSError, ValueError, KeyError, TypeError):
        return {}   # no record (an install without it) or another format: nothing to say
