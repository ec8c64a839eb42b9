"""FG-CLIP 2's configuration: SigLIP 2's, plus the long-text settings of its text tower."""
from __future__ import annotations

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig, Siglip2TextConfig, Siglip2VisionConfig


@strict
class Fgclip2TextConfig(Siglip2TextConfig):
    """The text tower: SigLIP 2's, with a second position table for long captions.

    ``max_position_embeddings`` (64) is the short-caption length; ``longtext_len``
    (196) the long-caption length, whose first ``keep_len`` (20) positions use one
    table (``position_embedding_ori``) and the rest another (``position_embedding_res``).
    """

    model_type = "fgclip2_text_model"
    keep_len: int = 20
    longtext_len: int = 196


@strict
class Fgclip2VisionConfig(Siglip2VisionConfig):
    """The image tower: exactly SigLIP 2's NaFlex tower (only the name differs)."""

    model_type = "fgclip2_vision_model"


@strict
class Fgclip2Config(PreTrainedConfig):
    """A whole FG-CLIP 2 model, read from the official checkpoints' ``config.json``."""

    model_type = "fgclip2"
    sub_configs_defaults = {"text_config": Fgclip2TextConfig, "vision_config": Fgclip2VisionConfig}

    text_config: dict | PreTrainedConfig | None = None
    vision_config: dict | PreTrainedConfig | None = None
    initializer_factor: float = 1.0
