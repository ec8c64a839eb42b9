"""Private: the offline models' configurations, processors and saving.

Everything here is a stock transformers class (``CLIPModel``, ``SiglipModel``,
``ViTForImageClassification`` and their processors), so the saved folders load
with the Auto classes and ``pipeline`` and need no code from this package.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import torch

from .. import clipart
from ._data import CLIP_MEAN, CLIP_STD, HALF, TEXT_LENGTH

# "small" is what ships in data/models; "mini" trains in ~2 min for notebook 06;
# "tiny" is for tests.
SIZES = {
    "small": dict(width=128, heads=4, mlp=384, vision_layers=4, text_layers=3, patch=8),
    "mini": dict(width=96, heads=4, mlp=192, vision_layers=3, text_layers=2, patch=8),
    "tiny": dict(width=32, heads=2, mlp=64, vision_layers=1, text_layers=1, patch=8),
}
FAMILIES = ("vit", "clip", "siglip")
NORMALISATION = {"clip": (CLIP_MEAN, CLIP_STD), "siglip": (HALF, HALF), "vit": (HALF, HALF)}


def _size(size: str | dict) -> dict:
    return dict(SIZES[size]) if isinstance(size, str) else dict(size)


def _vision(s: dict) -> dict:
    return dict(
        hidden_size=s["width"],
        intermediate_size=s["mlp"],
        num_hidden_layers=s["vision_layers"],
        num_attention_heads=s["heads"],
        image_size=clipart.MODEL_IMAGE_SIZE,
        patch_size=s["patch"],
    )


def _text(s: dict, tokenizer) -> dict:
    # eos_token_id must be the real end-of-text id: with the value 2, transformers'
    # CLIP falls back to pooling at the argmax of the token ids (its legacy rule).
    return dict(
        vocab_size=len(tokenizer),
        hidden_size=s["width"],
        intermediate_size=s["mlp"],
        num_hidden_layers=s["text_layers"],
        num_attention_heads=s["heads"],
        max_position_embeddings=TEXT_LENGTH,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def build_model(family: str, tokenizer=None, size: str | dict = "small") -> torch.nn.Module:
    """A freshly initialised model of ``family`` ('vit', 'clip' or 'siglip').

    SigLIP starts with the paper's logit scale t' = log 10 and bias b = -10:
    with many more negative than positive pairs, a large negative bias keeps
    the first steps from being swamped by the negatives.
    """
    from transformers import (
        CLIPConfig,
        CLIPModel,
        SiglipConfig,
        SiglipModel,
        ViTConfig,
        ViTForImageClassification,
    )

    s = _size(size)
    if family == "vit":
        labels = [clipart.IMAGENET_STYLE_LABELS[k] for k in clipart.SCENE_KINDS]
        config = ViTConfig(
            **_vision(s),
            id2label=dict(enumerate(labels)),
            label2id={name: i for i, name in enumerate(labels)},
        )
        return ViTForImageClassification(config)
    if family == "clip":
        config = CLIPConfig(
            text_config=_text(s, tokenizer), vision_config=_vision(s), projection_dim=s["width"]
        )
        return CLIPModel(config)
    if family == "siglip":
        # SigLIP has no image projection: the text head maps to the vision width.
        config = SiglipConfig(
            text_config=dict(_text(s, tokenizer), projection_size=s["width"]), vision_config=_vision(s)
        )
        model = SiglipModel(config)
        with torch.no_grad():
            model.logit_scale.fill_(math.log(10.0))
            model.logit_bias.fill_(-10.0)
        return model
    raise ValueError(f"unknown family {family!r}; choose from {FAMILIES}")


def build_processor(family: str, tokenizer=None):
    """The processor saved next to the model: 64 px images, normalised as in training."""
    from transformers import (
        CLIPImageProcessor,
        CLIPProcessor,
        CLIPTokenizer,
        SiglipImageProcessor,
        SiglipProcessor,
        ViTImageProcessor,
    )
    from transformers.image_utils import PILImageResampling

    px = clipart.MODEL_IMAGE_SIZE
    square = {"height": px, "width": px}
    bicubic = PILImageResampling.BICUBIC  # what _train_data.to_model_size uses
    if family == "vit":
        return ViTImageProcessor(
            size=square, resample=bicubic, image_mean=list(HALF), image_std=list(HALF)
        )
    if family == "clip":
        return CLIPProcessor(
            CLIPImageProcessor(size={"shortest_edge": px}, crop_size=square, resample=bicubic), tokenizer
        )
    if family == "siglip":
        # SigLIP pools the last token of text padded to 64 and was trained without an
        # attention mask; listing only input_ids keeps processors from sending one.
        with tempfile.TemporaryDirectory() as tmp:
            tokenizer.save_pretrained(tmp)
            siglip_tok = CLIPTokenizer.from_pretrained(tmp, model_input_names=["input_ids"])
        return SiglipProcessor(SiglipImageProcessor(size=square, resample=bicubic), siglip_tok)
    raise ValueError(f"unknown family {family!r}; choose from {FAMILIES}")


def save(model, family: str, tokenizer, folder) -> Path:
    """Save ``model`` with its processor in Hugging Face format to ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    build_processor(family, tokenizer).save_pretrained(folder)
    return folder


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())
