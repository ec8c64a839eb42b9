"""Model-agnostic maps: score windows of the picture, or grey parts of it out.

Both only embed pictures, so they work for every family, and they show the model
its input at its own resolution: a window is resized to the model's input side,
so a 32-px corner of a 64-px model's input becomes a full 64-px picture again.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from ..embeddings import normalize, pooled_features
from ._tower import model_inputs

# Window sides as fractions of the picture's shorter side, and the step between
# windows as a fraction of their side.
WINDOW_SCALES = (0.5, 0.75)
WINDOW_STEP = 0.25
OCCLUSION_SCALES = (0.25, 0.5)
OCCLUSION_STEP = 0.5
BATCH = 64


def _boxes(size: tuple[int, int], scale: float, step: float) -> list[tuple[int, int, int, int]]:
    """Square boxes of side ``scale * shorter side`` every ``step * side`` pixels, edges included."""
    width, height = size
    side = max(1, round(scale * min(width, height)))
    stride = max(1, round(step * side))

    def starts(extent: int) -> list[int]:
        last = extent - side
        points = list(range(0, last + 1, stride))
        if points[-1] != last:
            points.append(last)       # the last window touches the far edge
        return points

    return [(x, y, x + side, y + side) for y in starts(height) for x in starts(width)]


def embed_pictures(loaded, pictures: list[Image.Image]) -> np.ndarray:
    """Unit embeddings of in-memory pictures, a batch at a time, whole pictures (no crop)."""
    rows = []
    for start in range(0, len(pictures), BATCH):
        chunk = pictures[start:start + BATCH]
        inputs = [model_inputs(loaded, p) for p in chunk]
        batch = {key: torch.cat([i[key] for i in inputs]) for key in inputs[0]}
        with loaded.lock, torch.inference_mode():
            rows.append(normalize(pooled_features(loaded.model.get_image_features(**batch))))
    return np.concatenate(rows)


def _accumulate(size, boxes, values) -> np.ndarray:
    """Each pixel: the mean value of the boxes that cover it."""
    width, height = size
    total = np.zeros((height, width), np.float64)
    count = np.zeros((height, width), np.float64)
    for (x0, y0, x1, y1), v in zip(boxes, values):
        total[y0:y1, x0:x1] += v
        count[y0:y1, x0:x1] += 1
    return (total / np.maximum(count, 1)).astype(np.float32)


def windows_heatmap(loaded, image: Image.Image, query: np.ndarray,
                    scales=WINDOW_SCALES, step: float = WINDOW_STEP) -> np.ndarray:
    """Score square windows at several scales; a pixel's heat is its windows' mean score.

    Each scale's map is centred on its own mean before they are averaged, so a
    scale whose windows all score high (large windows see more) does not drown
    the others. All windows go through the model together, in batches.
    """
    per_scale = [_boxes(image.size, scale, step) for scale in scales]
    every = [b for boxes in per_scale for b in boxes]
    scores = iter(embed_pictures(loaded, [image.crop(b) for b in every]) @ query)
    maps = []
    for boxes in per_scale:
        heat = _accumulate(image.size, boxes, [next(scores) for _ in boxes])
        maps.append(heat - heat.mean())
    return np.mean(maps, axis=0).astype(np.float32)


def occlusion_heatmap(loaded, image: Image.Image, query: np.ndarray,
                      scales=OCCLUSION_SCALES, step: float = OCCLUSION_STEP) -> np.ndarray:
    """Grey out squares at several scales; a pixel's heat is how much the score falls."""
    fill = tuple(int(c) for c in np.asarray(image).reshape(-1, 3).mean(axis=0))
    boxes = [b for scale in scales for b in _boxes(image.size, scale, step)]
    pictures = [image]
    for box in boxes:
        grey = image.copy()
        grey.paste(fill, box)
        pictures.append(grey)
    scores = embed_pictures(loaded, pictures) @ query
    return _accumulate(image.size, boxes, scores[0] - scores[1:])
