"""FG-CLIP 2 as a transformers model, built from SigLIP 2's parts.

The image tower *is* SigLIP 2's NaFlex tower. The text tower is SigLIP 2's
encoder with two more position tables for long captions and a choice of head
(``walk_type``). Module names follow the official checkpoints, so their
``model.safetensors`` loads by its own parameter names.
"""
# No `from __future__ import annotations`: transformers reads the class-level
# `config: ...` annotations as classes.
import torch
from torch import nn
from transformers import initialization as init
from transformers.masking_utils import create_bidirectional_mask
from transformers.modeling_outputs import BaseModelOutputWithPooling
from transformers.models.siglip2.modeling_siglip2 import (
    Siglip2Encoder,
    Siglip2MultiheadAttentionPoolingHead,
    Siglip2Output,
    Siglip2PreTrainedModel,
    Siglip2VisionEmbeddings,
    Siglip2VisionModel,
)

from ._config import Fgclip2Config, Fgclip2TextConfig

WALK_TYPES = ("short", "long", "box")


def _check_walk_type(walk_type: str) -> str:
    walk_type = walk_type.lower()
    if walk_type not in WALK_TYPES:
        raise ValueError(f"walk_type must be one of {WALK_TYPES}, got {walk_type!r}")
    return walk_type


class Fgclip2PreTrainedModel(Siglip2PreTrainedModel):
    """SigLIP 2's initialisation, extended to FG-CLIP 2's extra parts."""

    config: Fgclip2Config
    base_model_prefix = "fgclip2"
    _no_split_modules = ["Fgclip2TextEmbeddings", "Siglip2VisionEmbeddings",
                         "Siglip2EncoderLayer", "Siglip2MultiheadAttentionPoolingHead"]

    def _init_weights(self, module):
        # SigLIP 2 reads the image width from its own composite config class; ours
        # differs, so this one case is done here (same rule: std = 1/sqrt(width)).
        if isinstance(module, Siglip2VisionEmbeddings):
            init.normal_(module.position_embedding.weight, std=module.embed_dim ** -0.5)
        elif isinstance(module, Fgclip2Model):
            init.zeros_(module.logit_scale)
            init.zeros_(module.logit_bias)
        else:
            super()._init_weights(module)


class Fgclip2TextEmbeddings(nn.Module):
    """Token + position embeddings; long captions use the two long-text tables.

    Positions are computed on the fly rather than kept in a buffer: nothing here
    exists outside the checkpoint, so loading can leave nothing uninitialised.
    """

    def __init__(self, config: Fgclip2TextConfig):
        super().__init__()
        dim = config.hidden_size
        self.token_embedding = nn.Embedding(config.vocab_size, dim)
        self.position_embedding = nn.Embedding(config.max_position_embeddings, dim)
        self.position_embedding_res = nn.Embedding(config.longtext_len, dim)
        self.position_embedding_ori = nn.Embedding(config.longtext_len, dim)
        self.keep_len = config.keep_len

    def forward(self, input_ids: torch.Tensor, long: bool = False) -> torch.Tensor:
        length = input_ids.shape[-1]
        table = self.position_embedding_res if long else self.position_embedding
        if length > table.num_embeddings:
            raise ValueError(f"{length} tokens, but the {'long' if long else 'short'} text mode "
                             f"takes at most {table.num_embeddings}")
        positions = torch.arange(length, device=input_ids.device)
        tokens = self.token_embedding(input_ids)
        if not long:
            return tokens + self.position_embedding(positions)
        # FG-CLIP's long-text recipe: positions below keep_len read one table, the rest
        # another; both started as the short table stretched 4x past keep_len.
        first = (positions < self.keep_len)[:, None]
        return tokens + torch.where(first, self.position_embedding_ori(positions),
                                    self.position_embedding_res(positions))


class Fgclip2TextModel(Fgclip2PreTrainedModel):
    """The text tower: pools the last position, like SigLIP."""

    config: Fgclip2TextConfig
    base_model_prefix = "text_model"

    def __init__(self, config: Fgclip2TextConfig):
        super().__init__(config)
        self.embeddings = Fgclip2TextEmbeddings(config)
        self.encoder = Siglip2Encoder(config)
        self.final_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.head = nn.Linear(config.hidden_size, config.projection_size)
        self.post_init()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                walk_type: str = "short") -> BaseModelOutputWithPooling:
        walk_type = _check_walk_type(walk_type)
        hidden = self.embeddings(input_ids.view(-1, input_ids.shape[-1]), long=walk_type == "long")
        mask = create_bidirectional_mask(config=self.config, inputs_embeds=hidden,
                                         attention_mask=attention_mask)
        hidden = self.encoder(inputs_embeds=hidden, attention_mask=mask).last_hidden_state
        hidden = self.final_layer_norm(hidden)
        pooled = hidden[:, -1, :]
        if walk_type == "short":   # long and box captions have their own heads on the model
            pooled = self.head(pooled)
        return BaseModelOutputWithPooling(last_hidden_state=hidden, pooler_output=pooled)


class Fgclip2Model(Fgclip2PreTrainedModel):
    """FG-CLIP 2: embeddings for short, long and region ("box") captions and for images."""

    config: Fgclip2Config

    def __init__(self, config: Fgclip2Config):
        super().__init__(config)
        text_config, vision_config = config.text_config, config.vision_config
        self.text_model = Fgclip2TextModel._from_config(text_config)
        self.vision_model = Siglip2VisionModel._from_config(vision_config)
        self.logit_scale = nn.Parameter(torch.zeros(1))
        self.logit_bias = nn.Parameter(torch.zeros(1))
        # Used for region features (FG-CLIP 2's dense head); loaded so that every
        # checkpoint parameter has a home, though this package does not use it.
        self.dense_feature_head = Siglip2MultiheadAttentionPoolingHead(vision_config)
        dim = text_config.hidden_size
        self.longtext_head = nn.Linear(dim, dim)
        self.boxtext_head = nn.Linear(dim, dim)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.text_model.embeddings.token_embedding

    def get_text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                          walk_type: str = "short") -> torch.Tensor:
        """Text embeddings (not normalised).

        Parameters
        ----------
        input_ids : torch.Tensor, (batch, length)
            Lower-cased text padded to 64 tokens ("short", "box") or 196 ("long").
        attention_mask : torch.Tensor, optional
            FG-CLIP 2 was trained without one; the official README passes the
            tokenizer's. Both are supported.
        walk_type : {"short", "long", "box"}
        """
        walk_type = _check_walk_type(walk_type)
        pooled = self.text_model(input_ids, attention_mask, walk_type).pooler_output
        if walk_type == "long":
            return self.longtext_head(pooled)
        if walk_type == "box":
            return self.boxtext_head(pooled)
        return pooled

    def get_image_features(self, pixel_values: torch.Tensor, pixel_attention_mask: torch.Tensor,
                           spatial_shapes: torch.Tensor) -> torch.Tensor:
        """Image embeddings (not normalised) from NaFlex patches."""
        return self.vision_model(pixel_values=pixel_values,
                                 pixel_attention_mask=pixel_attention_mask,
                                 spatial_shapes=spatial_shapes).pooler_output

    def forward(self, input_ids: torch.Tensor, pixel_values: torch.Tensor,
                pixel_attention_mask: torch.Tensor, spatial_shapes: torch.Tensor,
                attention_mask: torch.Tensor | None = None,
                walk_type: str = "short") -> Siglip2Output:
        """Scores of every (image, text) pair: ``exp(logit_scale) * cos + logit_bias``."""
        text = self.get_text_features(input_ids, attention_mask, walk_type)
        image = self.get_image_features(pixel_values, pixel_attention_mask, spatial_shapes)
        text = text / text.norm(p=2, dim=-1, keepdim=True)
        image = image / image.norm(p=2, dim=-1, keepdim=True)
        logits_per_text = text @ image.t() * self.logit_scale.exp() + self.logit_bias
        return Siglip2Output(logits_per_image=logits_per_text.t(), logits_per_text=logits_per_text,
                             text_embeds=text, image_embeds=image)
