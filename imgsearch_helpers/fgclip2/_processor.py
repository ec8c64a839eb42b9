"""FG-CLIP 2's inputs: SigLIP 2's NaFlex image processor with a patch budget per image size."""
from __future__ import annotations

import os

from transformers import AutoTokenizer
from transformers.models.siglip2.image_processing_pil_siglip2 import (
    Siglip2ImageProcessorKwargs,
    Siglip2ImageProcessorPil,
)

from ._config import Fgclip2Config

# The official rule (FG-CLIP 2's README and image processor): an image gets the
# smallest of these budgets that holds its own number of whole patches, at most
# the largest, so small pictures are not blown up and large ones get 1,024 patches.
PATCH_BUDGETS = (128, 256, 576, 784, 1024)


def patch_budget(height: int, width: int, patch_size: int = 16) -> int:
    """The number of patches FG-CLIP 2 gives an image of this size (128 ... 1,024)."""
    whole = (height // patch_size) * (width // patch_size)
    return next((b for b in PATCH_BUDGETS if whole <= b), PATCH_BUDGETS[-1])


class Fgclip2ImageProcessorKwargs(Siglip2ImageProcessorKwargs, total=False):
    r"""
    dynamic_max_patches (`bool`, *optional*, defaults to `True`):
        Choose ``max_num_patches`` from the images' sizes (:func:`patch_budget`).
    """

    dynamic_max_patches: bool


class Fgclip2ImageProcessor(Siglip2ImageProcessorPil):
    """SigLIP 2's NaFlex processor (Pillow, no torchvision) with FG-CLIP 2's budget rule.

    With ``dynamic_max_patches`` (the default, as in the official processor) the
    budget is that of the largest image in the call; give one image per call for
    the official per-image result. ``max_num_patches`` is used only when it is off.
    """

    valid_kwargs = Fgclip2ImageProcessorKwargs
    dynamic_max_patches = True

    def _preprocess(self, images, patch_size: int, max_num_patches: int,
                    dynamic_max_patches: bool = True, **kwargs):
        if dynamic_max_patches:
            max_num_patches = max(patch_budget(im.shape[-2], im.shape[-1], patch_size)
                                  for im in images)
        return super()._preprocess(images, patch_size=patch_size, max_num_patches=max_num_patches,
                                   **kwargs)


class Fgclip2Processor:
    """The tokenizer and image processor of one FG-CLIP 2 checkpoint.

    FG-CLIP 2 ships no processor class that loads without remote code, so this
    pair stands in for one. The tokenizer is the checkpoint's own (a Gemma
    tokenizer, loaded by ``AutoTokenizer`` without remote code); the image
    processor is :class:`Fgclip2ImageProcessor` built from the checkpoint's
    ``preprocessor_config.json``.
    """

    def __init__(self, image_processor: Fgclip2ImageProcessor, tokenizer):
        self.image_processor = image_processor
        self.tokenizer = tokenizer

    @classmethod
    def from_pretrained(cls, source: str | os.PathLike, **kwargs) -> "Fgclip2Processor":
        """Read both from a local folder or a Hub repository (``kwargs``: e.g. ``revision``)."""
        # Given the config, AutoTokenizer goes by tokenizer_config.json alone instead of
        # asking AutoConfig, which does not know "fgclip2", and warning about it.
        config = Fgclip2Config.from_pretrained(source, **kwargs)
        return cls(Fgclip2ImageProcessor.from_pretrained(source, **kwargs),
                   AutoTokenizer.from_pretrained(source, config=config, **kwargs))

    def save_pretrained(self, folder: str | os.PathLike) -> None:
        """Write both into ``folder`` (next to the model's ``save_pretrained`` files)."""
        self.image_processor.save_pretrained(folder)
        self.tokenizer.save_pretrained(folder)
