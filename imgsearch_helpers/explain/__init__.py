"""Why did it match? Where the model looked, and which words counted.

Notebook 09 teaches it::

    model = load_model("imgsearch/clipart-clip")
    e = explain(model, "a cat and a car", "data/gallery/cat_002.png")
    e.score, e.heatmap.shape, e.words      # the search score, a map at the picture's size
    e                                      # in a notebook: the picture with the map over it

Several methods (:data:`METHODS`), chosen per family by measurement
(:data:`DEFAULT_METHODS`): the pointing game (:func:`pointing_game`) builds
mosaics of clip-art scenes whose answer is known and counts how often a heatmap's
peak lands on the scene the query names (bench/bench_explain.py).

Inside: ``_core`` (explain and the method table), ``_perturb`` (windows,
occlusion), ``_tower`` and ``_dense`` (dense patch features, Grad-CAM),
``_words`` (word contributions), ``_explanation`` (the result and its display),
``_pointing`` (the pointing game).
"""
from ._core import (DEFAULT_METHODS, METHODS, default_method, explain, explanations_html,
                    show_explanations)
from ._explanation import Explanation, overlay_heatmap
from ._pointing import (POINTING_TARGET, Mosaic, PointingResult, make_mosaic, pointing_game,
                        pointing_query, pointing_trials, tile_pictures)
from ._perturb import WINDOW_SCALES
from ._words import STOP_WORDS, WordContribution, query_parts

__all__ = ["explain", "Explanation", "show_explanations", "explanations_html", "METHODS",
           "DEFAULT_METHODS", "default_method", "overlay_heatmap", "WordContribution",
           "STOP_WORDS", "query_parts", "pointing_game", "pointing_trials", "pointing_query",
           "make_mosaic", "tile_pictures", "Mosaic", "PointingResult", "POINTING_TARGET",
           "WINDOW_SCALES"]
