"""FG-CLIP 2 (360CVGroup, 2025) written for transformers 5, with no remote code.

FG-CLIP 2 is a SigLIP 2 model trained further for fine-grained detail, English
and Chinese, and long captions. This subpackage rebuilds it from transformers'
SigLIP 2 parts and loads the official checkpoints (qihoo360/fg-clip2-base,
-large, -so400m) by their own parameter names; :func:`imgsearch_helpers.load_model`
uses it for those names and for any folder whose ``config.json`` says ``fgclip2``.

The official recipe, which :mod:`imgsearch_helpers.embeddings` follows:

- captions lower-cased; up to 64 tokens padded to 64 with ``walk_type="short"``,
  longer ones (up to 196) padded to 196 with ``walk_type="long"``;
- each image resized to its own patch budget (:func:`patch_budget`) and given as
  ``pixel_values``, ``pixel_attention_mask`` and ``spatial_shapes``;
- scores ``sigmoid(exp(logit_scale) * cos + logit_bias)``.

``tools/check_fgclip2.py`` checks this code against the official code.

Inside: ``_config`` (the configuration classes), ``_model`` (the towers and the
model), ``_processor`` (the patch budget, image processor and tokenizer pair).
"""
from ._config import Fgclip2Config, Fgclip2TextConfig, Fgclip2VisionConfig
from ._model import WALK_TYPES, Fgclip2Model, Fgclip2TextModel
from ._processor import PATCH_BUDGETS, Fgclip2ImageProcessor, Fgclip2Processor, patch_budget

__all__ = ["Fgclip2Config", "Fgclip2TextConfig", "Fgclip2VisionConfig", "Fgclip2Model",
           "Fgclip2TextModel", "Fgclip2ImageProcessor", "Fgclip2Processor", "PATCH_BUDGETS",
           "patch_budget", "WALK_TYPES"]
