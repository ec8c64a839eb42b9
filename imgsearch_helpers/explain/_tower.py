"""Inside the image tower: one picture's patch tokens, where they lie, and how they are pooled.

The dense and gradient methods need what ``get_image_features`` hides: the tokens
that go into the last block (and, for SigLIP, into its attention-pooling head),
which patch of the picture each token is, and the head that turns tokens into the
embedding. Forward hooks capture them, so the model itself runs unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from ..embeddings import image_inputs, normalize, on_model_device, pooled_features


@dataclass
class TowerRun:
    """One forward pass of the image tower, with the tensors the explanations read."""

    embedding: torch.Tensor          # (d,) the image embedding in the joint space, not normalised
    block: torch.Tensor              # (1, tokens, width): the last block's input, all tokens
    head: torch.Tensor | None        # (1, tokens, width): SigLIP's pooling-head input
    patches: slice                   # which tokens are patches, row by row
    grid: tuple[int, int]            # patch rows, columns

    @property
    def block_input(self) -> torch.Tensor:
        """The last block's input tokens that are patches: (rows * cols, width)."""
        return self.block[0, self.patches]

    @property
    def head_input(self) -> torch.Tensor | None:
        """The pooling head's input tokens that are patches (None for CLIP)."""
        return None if self.head is None else self.head[0, self.patches]


def vision_model(loaded):
    """The image tower module (``model.vision_model`` in every family the course loads)."""
    return loaded.model.vision_model


def project(loaded, pooled: torch.Tensor) -> torch.Tensor:
    """Pooled tower output -> the joint space (CLIP's ``visual_projection``; SigLIP has none)."""
    projection = getattr(loaded.model, "visual_projection", None)
    return pooled if projection is None else projection(pooled)


def model_inputs(loaded, image: Image.Image) -> dict:
    """The processor's tensors for the *whole* picture, on the model's device.

    Fixed-size CLIP processors keep a central square; the picture is squeezed to a
    square first, so every pixel is seen and every token maps back to the picture.
    NaFlex processors (SigLIP 2, FG-CLIP 2) keep the aspect ratio by themselves.
    """
    side = _fixed_side(loaded)
    if side is not None:
        image = image.resize((side, side), Image.BICUBIC)
    return on_model_device(loaded, image_inputs(loaded, [image]))


def picture_embedding(loaded, image: Image.Image) -> np.ndarray:
    """The unit embedding search uses for ``image`` (the processor's own resize and crop).

    The same number :func:`~imgsearch_helpers.embed_images` gives, without its
    decoding workers, which cost more than the model for one small picture.
    """
    inputs = on_model_device(loaded, image_inputs(loaded, [image]))
    with loaded.lock, torch.inference_mode():
        return normalize(pooled_features(loaded.model.get_image_features(**inputs)))[0]


def _fixed_side(loaded) -> int | None:
    if "spatial_shapes" in _input_names(loaded):
        return None
    return int(vision_model(loaded).config.image_size)


def _input_names(loaded) -> set[str]:
    import inspect

    return set(inspect.signature(loaded.model.get_image_features).parameters)


def run_tower(loaded, image: Image.Image, grad: bool = False) -> TowerRun:
    """Run the image tower on ``image``, capturing the last block's and the head's inputs.

    With ``grad=True`` the graph is kept, so a score can be differentiated with
    respect to ``block_input``.
    """
    tower = vision_model(loaded)
    inputs = model_inputs(loaded, image)
    captured: dict[str, torch.Tensor] = {}

    def block_hook(module, args, kwargs):
        captured["block"] = args[0] if args else kwargs["hidden_states"]

    def head_hook(module, args, kwargs):
        captured["head"] = args[0] if args else kwargs["hidden_state"]

    hooks = [tower.encoder.layers[-1].register_forward_pre_hook(block_hook, with_kwargs=True)]
    head = getattr(tower, "head", None)
    if head is not None:
        hooks.append(head.register_forward_pre_hook(head_hook, with_kwargs=True))
    try:
        context = torch.enable_grad() if grad else torch.inference_mode()
        with context:
            embedding = pooled_features(loaded.model.get_image_features(**inputs))[0]
    finally:
        for hook in hooks:
            hook.remove()
    grid, keep = _grid(loaded, inputs, captured["block"].shape[1])
    return TowerRun(embedding, captured["block"], captured.get("head"), keep, grid)


def _grid(loaded, inputs: dict, n_tokens: int) -> tuple[tuple[int, int], slice]:
    """The patch grid and which tokens are patches (CLIP's first token is its class token)."""
    shapes = inputs.get("spatial_shapes")
    if shapes is not None:        # NaFlex: the first rows*cols tokens are patches, then padding
        rows, cols = (int(v) for v in shapes[0])
        return (rows, cols), slice(0, rows * cols)
    side = int(vision_model(loaded).config.image_size) // int(vision_model(loaded).config.patch_size)
    extra = n_tokens - side * side   # 1 for CLIP's class token, 0 for SigLIP
    return (side, side), slice(extra, n_tokens)


def to_picture(values, grid: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """Per-patch values -> a float32 (height, width) map at the picture's size (bilinear)."""
    values = torch.as_tensor(values, dtype=torch.float32).reshape(1, 1, *grid)
    width, height = size
    up = torch.nn.functional.interpolate(values, size=(height, width), mode="bilinear",
                                         align_corners=False)
    return up[0, 0].numpy()
