"""Two ways to read the picture's own tokens: dense patch features, and Grad-CAM.

Dense features (MaskCLIP, Zhou et al., 2022): CLIP's embedding is its class
token after the last block; a patch token's *value* in that block, sent through
the output projection, the final layer norm and the visual projection, lands in
the same joint space, so its cosine with the query says how much that patch looks
like the query. SigLIP pools with an attention head instead: its pooled vector
*is* a weighted sum of the head's per-token values, so each token's value (with
the head's MLP after it) is that token's own embedding.

Grad-CAM (Selvaraju et al., 2017) on the last block's input tokens: each feature
channel is weighted by the mean gradient of the score over the patches, and a
patch's heat is its ReLU'd weighted sum.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ._tower import project, run_tower, to_picture, vision_model


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def dense_heatmap(loaded, image, query: np.ndarray) -> np.ndarray:
    """Cosine of each patch's dense feature with the query, at the picture's size."""
    tower = vision_model(loaded)
    with loaded.lock, torch.inference_mode():
        run = run_tower(loaded, image)
        head = getattr(tower, "head", None)
        if head is not None:
            feats = _head_values(head, run.head_input)
        else:
            block = tower.encoder.layers[-1]
            attn = block.self_attn
            values = attn.out_proj(attn.v_proj(block.layer_norm1(run.block_input)))
            feats = project(loaded, tower.post_layernorm(values))
        q = torch.as_tensor(query, dtype=feats.dtype, device=feats.device)
        cos = _unit(feats) @ _unit(q)
    return to_picture(cos.float().cpu(), run.grid, image.size)


def _head_values(head, tokens: torch.Tensor) -> torch.Tensor:
    """SigLIP's attention-pooling head applied to each token on its own (its value path)."""
    attention = head.attention          # torch.nn.MultiheadAttention
    width = tokens.shape[-1]
    weight = attention.in_proj_weight[2 * width:]
    bias = attention.in_proj_bias[2 * width:] if attention.in_proj_bias is not None else None
    values = attention.out_proj(F.linear(tokens, weight, bias))
    return values + head.mlp(head.layernorm(values))


def gradcam_heatmap(loaded, image, query: np.ndarray) -> np.ndarray:
    """Grad-CAM of the cosine with the query on the last block's input tokens."""
    with loaded.lock, torch.enable_grad():
        run = run_tower(loaded, image, grad=True)
        q = torch.as_tensor(query, dtype=run.embedding.dtype, device=run.embedding.device)
        score = _unit(run.embedding) @ _unit(q)
        grads, = torch.autograd.grad(score, run.block)
    grads = grads[0, run.patches]
    acts = run.block_input.detach()
    cam = torch.relu(acts @ grads.mean(dim=0))
    return to_picture(cam.float().cpu(), run.grid, image.size)
