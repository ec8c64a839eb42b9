"""Helpers for the text-based image search course.

The public API is what ``__all__`` lists; modules starting with ``_`` are private.
Explanations ("why did it match?") are their own public subpackage:
``from imgsearch_helpers.explain import explain`` (notebook 09). The function is not
re-exported here, because ``imgsearch_helpers.explain`` names the subpackage.
"""
from .device import select_device, select_dtype
from .display import results_html, show_results
from .embeddings import embed_image_files, embed_images, embed_texts
from .images import ImageLoadError, load_image
from .index import ImageIndex, ImageIndexError, IndexCorruptError, IndexModelMismatchError
from .labels import LabelsDB
from .models import (LoadedModel, ModelInfo, ModelNotAvailableError, available_models,
                     load_model, model_info)
from .profiles import Profile, get_profile
from .matching import Calibration, calibration_for, refine
from .search import SearchResult, search, top_k
from .zeroshot import zero_shot_classify, zero_shot_scores

__version__ = "0.1.0"

__all__ = [
    "select_device", "select_dtype",
    "available_models", "model_info", "load_model", "LoadedModel", "ModelInfo",
    "ModelNotAvailableError",
    "embed_texts", "embed_images", "embed_image_files",
    "load_image", "ImageLoadError",
    "ImageIndex", "ImageIndexError", "IndexCorruptError", "IndexModelMismatchError",
    "top_k", "search", "SearchResult",
    "refine", "Calibration", "calibration_for",
    "zero_shot_scores", "zero_shot_classify",
    "LabelsDB",
    "get_profile", "Profile",
    "results_html", "show_results",
    "SearchApp",
]


def __getattr__(name: str):
    # The app needs ipywidgets and IPython (~150 ms to import): load it on first use,
    # so that scripts such as `python -m imgsearch_helpers.training` start without it.
    if name == "SearchApp":
        from .app import SearchApp

        return SearchApp
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
