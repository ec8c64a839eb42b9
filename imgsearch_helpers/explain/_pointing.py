"""The pointing game: mosaics of clip-art scenes whose answer is known, and a score for a method.

A mosaic puts ``grid x grid`` scenes of different kinds side by side; the query
names one of them. A *hit* is a heatmap whose highest pixel lies in that scene's
tile. Chance is one tile's share of the picture; the centre baseline always
points at the middle pixel.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ..clipart import IMAGE_SIZE, SCENE_KINDS, ZERO_SHOT_PROMPTS, make_scene
from ._core import explain

POINTING_TARGET = 0.9    # the accuracy the default method must reach on 2x2 mosaics
POINTING_SEED = 9


@dataclass
class Mosaic:
    """A mosaic picture, its scenes' kinds (row by row) and their boxes ``(x0, y0, x1, y1)``."""

    image: Image.Image
    kinds: list[str]
    boxes: list[tuple[int, int, int, int]]

    def tile_at(self, x: int, y: int) -> int:
        """The index of the tile that holds pixel ``(x, y)``."""
        return next(i for i, (x0, y0, x1, y1) in enumerate(self.boxes)
                    if x0 <= x < x1 and y0 <= y < y1)

    def tile_means(self, heatmap: np.ndarray) -> np.ndarray:
        """The mean of ``heatmap`` over each tile, in tile order."""
        return np.array([float(heatmap[y0:y1, x0:x1].mean()) for x0, y0, x1, y1 in self.boxes])


def tile_pictures(pictures, labels, grid: int = 2, side: int = IMAGE_SIZE) -> Mosaic:
    """Tile ``grid x grid`` pictures (paths or PIL images), each squeezed to ``side`` px.

    Parameters
    ----------
    pictures : sequence of path or PIL.Image.Image
        ``grid * grid`` pictures, row by row.
    labels : sequence of str
        What each picture shows (the mosaic's ``kinds``).
    grid, side : int
    """
    from ..images import load_image

    pictures, labels = list(pictures), list(labels)
    if len(pictures) != grid * grid or len(labels) != len(pictures):
        raise ValueError(f"a {grid}x{grid} mosaic needs {grid * grid} pictures and as many "
                         f"labels, got {len(pictures)} and {len(labels)}")
    image = Image.new("RGB", (grid * side, grid * side))
    boxes = []
    for i, picture in enumerate(pictures):
        x, y = (i % grid) * side, (i // grid) * side
        image.paste(load_image(picture).resize((side, side), Image.BICUBIC), (x, y))
        boxes.append((x, y, x + side, y + side))
    return Mosaic(image, labels, boxes)


def make_mosaic(kinds, rng: np.random.Generator, grid: int = 2) -> Mosaic:
    """Draw one clip-art scene of each kind and tile them ``grid x grid`` (at their 128 px).

    Parameters
    ----------
    kinds : sequence of str
        ``grid * grid`` scene kinds, row by row.
    rng : numpy.random.Generator
    grid : int
    """
    kinds = list(kinds)
    if len(kinds) != grid * grid:
        raise ValueError(f"a {grid}x{grid} mosaic needs {grid * grid} kinds, got {len(kinds)}")
    return tile_pictures([make_scene(kind, rng, translated=0)[0] for kind in kinds], kinds, grid)


def pointing_trials(n: int, grid: int = 2, seed: int = POINTING_SEED) -> list[tuple[Mosaic, int]]:
    """``n`` mosaics of distinct kinds, each with the tile whose kind is asked for."""
    rng = np.random.default_rng([seed, grid])
    trials = []
    for _ in range(n):
        kinds = list(rng.choice(SCENE_KINDS, size=grid * grid, replace=False))
        trials.append((make_mosaic(kinds, rng, grid), int(rng.integers(grid * grid))))
    return trials


def pointing_query(kind: str) -> str:
    """The query that names a scene kind ("a photo of a lake")."""
    return ZERO_SHOT_PROMPTS[kind]


@dataclass
class PointingResult:
    """How often a method's heatmap peak fell in the queried tile, and what it cost."""

    model: str
    method: str
    grid: int
    hits: list[bool] = field(default_factory=list)
    centre_hits: list[bool] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Share of trials whose heatmap peak lies in the queried tile."""
        return float(np.mean(self.hits))

    @property
    def chance(self) -> float:
        """A random pixel's hit rate: one tile's share of the mosaic."""
        return 1.0 / (self.grid * self.grid)

    @property
    def centre(self) -> float:
        """The hit rate of always pointing at the mosaic's middle pixel."""
        return float(np.mean(self.centre_hits))

    @property
    def ms_per_explanation(self) -> float:
        """Median wall time of one heatmap, in milliseconds."""
        return 1000.0 * float(np.median(self.seconds))


def pointing_game(model, method: str = "auto", n: int = 40, grid: int = 2,
                  seed: int = POINTING_SEED, trials=None) -> PointingResult:
    """Play the pointing game: ``n`` mosaics, one query each, hit when the peak is in its tile.

    Parameters
    ----------
    model : LoadedModel or str
    method : str
        A method of :data:`METHODS` or "auto".
    n, grid, seed : int
        How many mosaics, of how many tiles a side, drawn from which seed.
    trials : list, optional
        Reuse :func:`pointing_trials` made beforehand (to compare methods on the same mosaics).

    Returns
    -------
    PointingResult
    """
    trials = pointing_trials(n, grid, seed) if trials is None else trials
    result = None
    for mosaic, target in trials:
        start = time.perf_counter()
        e = explain(model, pointing_query(mosaic.kinds[target]), mosaic.image, method, words=False)
        took = time.perf_counter() - start
        if result is None:
            result = PointingResult(e.model, e.method, grid)
        result.seconds.append(took)
        result.hits.append(mosaic.tile_at(*e.peak()) == target)
        width, height = mosaic.image.size
        result.centre_hits.append(mosaic.tile_at(width // 2, height // 2) == target)
    return result
