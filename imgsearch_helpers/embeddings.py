"""Text and image embeddings: batched, unit-length float32 rows, every model family.

Notebook 03 teaches the by-hand version (processor -> features -> normalise);
these functions are the fast version the course then uses.
"""
from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch

from .settings import BATCH_SIZE, DECODER, DRAFT_SIZE
from .decoding import image_processor, prepared_batches, processor_inputs, size_dict
from .images import ImageLoadError
from .models import ClipartModelWarning, LoadedModel, clipart_note, no_text_encoder

__all__ = ["embed_texts", "embed_images", "embed_image_files", "ImageBatchResult",
           "iter_image_batches", "model_input_side", "normalize", "SIGLIP_TEXT_LENGTH",
           "text_inputs", "image_inputs", "on_model_device", "pooled_features", "progress_bar"]

# SigLIP pools the *last* token, so it was trained on text padded to 64 tokens;
# padding=True would pool on a different token and quietly hurt results. FG-CLIP 2
# pads its short captions to the same 64 (and long ones to 196, its long mode).
SIGLIP_TEXT_LENGTH = 64


def normalize(features) -> np.ndarray:
    """Return ``features`` as float32 rows of unit L2 length (the one place we normalise)."""
    if isinstance(features, torch.Tensor):
        features = features.detach().float().cpu().numpy()
    features = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(features, axis=-1, keepdims=True)
    return features / np.maximum(norms, 1e-12)


def pooled_features(output) -> torch.Tensor:
    """The pooled embedding tensor of a ``get_text_features`` / ``get_image_features`` call.

    transformers 5 returns an output object (``.pooler_output``); 4.x a tensor.
    """
    return output.pooler_output if hasattr(output, "pooler_output") else output


def _require_text(loaded: LoadedModel) -> None:
    if not loaded.has_text:
        raise ValueError(no_text_encoder(loaded.name))


def _tokenizer(loaded: LoadedModel):
    return getattr(loaded.processor, "tokenizer", loaded.processor)


def _as_trained(loaded: LoadedModel, texts: Sequence[str]) -> list[str]:
    return [t.lower() for t in texts] if loaded.lowercases_text else list(texts)


def _long_texts(loaded: LoadedModel, texts: Sequence[str]) -> list[bool]:
    """Which texts need FG-CLIP 2's long mode: more than :data:`SIGLIP_TEXT_LENGTH` tokens."""
    if loaded.long_text_length is None:
        return [False] * len(texts)
    tokenizer = _tokenizer(loaded)
    return [len(tokenizer(t)["input_ids"]) > SIGLIP_TEXT_LENGTH for t in _as_trained(loaded, texts)]


def text_inputs(loaded: LoadedModel, texts: list[str], long: bool = False):
    """Tokenize ``texts`` the way the model was trained (notebook 03 shows it by hand).

    SigLIP-style models get every text padded to :data:`SIGLIP_TEXT_LENGTH`; CLIP
    pads to the longest text of the batch. FG-CLIP 2 lower-cases the texts first,
    and with ``long=True`` pads them to its long length (196 tokens), which its
    ``walk_type="long"`` expects. Longer texts are cut with a warning.
    """
    tokenizer = _tokenizer(loaded)
    texts = _as_trained(loaded, texts)
    if long:
        if loaded.long_text_length is None:
            raise ValueError(f"{loaded.name} has no long-text mode")
        limit, kwargs = loaded.long_text_length, {"padding": "max_length"}
    elif loaded.sigmoid_scores:
        limit, kwargs = SIGLIP_TEXT_LENGTH, {"padding": "max_length"}
    else:
        limit = min(int(getattr(tokenizer, "model_max_length", 77) or 77), 77)
        config_limit = getattr(getattr(loaded.model.config, "text_config", None),
                               "max_position_embeddings", limit)
        limit, kwargs = min(limit, config_limit), {"padding": True}
    too_long = [t for t in texts if len(tokenizer(t)["input_ids"]) > limit]
    if too_long:
        warnings.warn(f"{len(too_long)} text(s) longer than the model's {limit} tokens were "
                      f"truncated, e.g. {too_long[0][:60]!r}", stacklevel=3)
    return tokenizer(texts, truncation=True, max_length=limit, return_tensors="pt", **kwargs)


def embed_texts(loaded: LoadedModel, texts: str | Sequence[str], batch_size: int = 256) -> np.ndarray:
    """Embed texts with a dual encoder.

    Parameters
    ----------
    loaded : LoadedModel
        From :func:`load_model`: a CLIP, SigLIP, SigLIP 2 or FG-CLIP 2 model.
    texts : str or sequence of str
        Any language the model's tokenizer knows; unknown words do not fail.
    batch_size : int

    Returns
    -------
    np.ndarray, shape (n, d), float32, rows of unit length.

    Raises
    ------
    ValueError
        Empty or whitespace-only text, text that is not valid Unicode (a lone
        surrogate), or a model without a text encoder.
    """
    _require_text(loaded)
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts:
        raise ValueError("no texts given")
    for t in texts:
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"query text must be a non-empty string, got {t!r}")
        try:
            t.encode("utf-8")
        except UnicodeEncodeError as err:
            # A lone surrogate: what Python makes of a file name that is not UTF-8.
            raise ValueError(f"query text {t!r} is not valid Unicode ({err.reason} at "
                             f"position {err.start}); remove or retype that character") from None
    # FG-CLIP 2 embeds texts of more than 64 tokens in its long mode (up to 196
    # tokens, walk_type="long"); every other text, and every other model, in one mode.
    long = _long_texts(loaded, texts)
    parts, order = [], []
    with loaded.lock, torch.inference_mode():
        for mode in (False, True):
            positions = [i for i, is_long in enumerate(long) if is_long == mode]
            for start in range(0, len(positions), batch_size):
                chunk = positions[start:start + batch_size]
                inputs = text_inputs(loaded, [texts[i] for i in chunk], long=mode).to(loaded.device)
                # FG-CLIP 2 gets the tokenizer's attention mask, as in its README and
                # evaluation code (its training fed input_ids alone).
                walk = {"walk_type": "long"} if mode else {}
                feats = loaded.model.get_text_features(**inputs, **walk)
                parts.append(normalize(pooled_features(feats)))
                order.extend(chunk)
    return np.concatenate(parts)[np.argsort(order)]


def model_input_side(loaded: LoadedModel) -> int:
    """The side in pixels the model's processor resizes images to (224 for CLIP B/32).

    NaFlex processors (SigLIP 2) have no fixed size; their side is taken from the
    patch budget, e.g. 16 px x sqrt(256 patches) = 256 (FG-CLIP 2: its largest
    budget, 1,024 patches, so 512).
    """
    proc = image_processor(loaded)
    sides = [v for d in (getattr(proc, "size", None), getattr(proc, "crop_size", None))
             for v in size_dict(d).values() if isinstance(v, int) and v > 0]
    patches, patch = getattr(proc, "max_num_patches", None), getattr(proc, "patch_size", None)
    if getattr(proc, "dynamic_max_patches", False):
        from .fgclip2 import PATCH_BUDGETS    # FG-CLIP 2: a budget per image, up to the largest

        patches = PATCH_BUDGETS[-1]
    if isinstance(patches, int) and isinstance(patch, int):
        sides.append(patch * math.ceil(math.sqrt(patches)))
    return max(sides) if sides else DRAFT_SIZE      # a processor that names no size


def image_inputs(loaded: LoadedModel, images: list) -> dict:
    """Run the model's image processor on PIL images: a dict of tensors for the model."""
    return processor_inputs(image_processor(loaded), images)


@dataclass
class ImageBatchResult:
    """Embeddings of one batch of image files, with the files that were skipped."""

    positions: list[int]              # positions in the input of the embedded images
    embeddings: np.ndarray            # (len(positions), d)
    skipped: list[tuple[int, str]] = field(default_factory=list)   # (position, reason)


def _shapes(inputs: dict) -> tuple:
    return tuple((key, tuple(v.shape[1:]) if isinstance(v, torch.Tensor) else None)
                 for key, v in inputs.items())


def _collate(done: list) -> tuple[list[int], list[tuple[list[int], dict]], list[tuple[int, str]]]:
    """Stack the prepared images into batches: ``(positions, [(rows, inputs)], skipped)``.

    Images whose tensors have the same shapes form one batch, ``rows`` saying which
    of ``positions`` it holds: one batch for fixed-size processors (CLIP, SigLIP)
    and SigLIP 2's, which pads every image to max_num_patches; one per patch
    budget for FG-CLIP 2, so mixed sizes still run a few forward passes, not one
    per image.
    """
    positions, parts, skipped = [], [], []
    for pos, (inputs, reason) in done:
        if inputs is None:
            skipped.append((pos, reason))
        else:
            positions.append(pos)
            parts.append(inputs)
    groups: dict[tuple, list[int]] = {}
    for row, inputs in enumerate(parts):
        groups.setdefault(_shapes(inputs), []).append(row)
    batches = []
    for rows in groups.values():
        first = parts[rows[0]]
        batches.append((rows, {key: torch.cat([parts[r][key] for r in rows])
                               if isinstance(first[key], torch.Tensor)
                               else [v for r in rows for v in parts[r][key]] for key in first}))
    return positions, batches, skipped


def _run_batches(loaded: LoadedModel, batches: list[tuple[list[int], dict]], n: int) -> np.ndarray:
    """Embed each batch of :func:`_collate` and put its rows back in input order."""
    out = None
    for rows, inputs in batches:
        emb = _run_image_model(loaded, inputs)
        if out is None:
            out = np.empty((n, emb.shape[1]), np.float32)
        out[rows] = emb
    return out if out is not None else np.zeros((0, 0), np.float32)


def on_model_device(loaded: LoadedModel, inputs: dict) -> dict:
    """A processor's tensors moved to the model's device; floating ones to its dtype too."""
    moved = {}
    for key, value in inputs.items():
        if isinstance(value, torch.Tensor):
            value = value.to(loaded.device)
            if value.is_floating_point():
                value = value.to(loaded.dtype)
        moved[key] = value
    return moved


def _run_image_model(loaded: LoadedModel, inputs: dict) -> np.ndarray:
    moved = on_model_device(loaded, inputs)
    with loaded.lock, torch.inference_mode():
        return normalize(pooled_features(loaded.model.get_image_features(**moved)))


def _resolve_draft(loaded: LoadedModel, draft_size) -> int | None:
    if draft_size == "auto":
        return model_input_side(loaded)
    return draft_size


def iter_image_batches(loaded: LoadedModel, items: Iterable, batch_size: int = BATCH_SIZE,
                       num_workers: int | None = None, draft_size: int | str | None = DRAFT_SIZE,
                       progress=None, decoder: str = DECODER) -> Iterator[ImageBatchResult]:
    """Yield :class:`ImageBatchResult` per batch; decoding overlaps the model.

    Workers decode and preprocess the next two batches, one image per task, while
    the model runs on the current one; no more are queued, so memory stays bounded
    (:func:`imgsearch_helpers.decoding.prepared_batches`).

    Parameters
    ----------
    loaded : LoadedModel
    items : iterable of paths, bytes or PIL images
    batch_size : int
    num_workers : int, optional
        Decoding workers; default: the cores this process may use
        (``os.sched_getaffinity``).
    draft_size : int, "auto" or None
        Passed to :func:`load_image`. The default, 512, is :func:`load_image`'s own, so
        a file embedded here gives exactly what ``load_image(path)`` and the processor
        give by hand. "auto" uses the model's input side (:func:`model_input_side`,
        224 for CLIP B/32): 12 MP JPEGs then decode a little faster (bench_embed.py).
    progress : tqdm-like, optional
        Updated by the number of items done.
    decoder : {"auto", "threads", "processes", "nvjpeg"}
        How images are decoded. "auto": JPEGs on the GPU (nvJPEG) when the model
        is on CUDA and torchvision is installed, the rest on the CPU in threads,
        or in processes on large machines (:func:`~imgsearch_helpers.decoding.cpu_backend`).
        "threads" and "processes" decode all on the CPU; "nvjpeg" insists on the GPU
        path (an error says why it cannot). Every choice skips the same files for
        the same reasons.
    """
    _require_image_tower(loaded)
    draft = _resolve_draft(loaded, draft_size)
    indexed = list(enumerate(items))
    note = clipart_note(loaded, [item for _, item in indexed])
    if note:
        warnings.warn(note, ClipartModelWarning, stacklevel=3)
    for done in prepared_batches(loaded, indexed, batch_size, num_workers, draft, decoder):
        positions, batches, skipped = _collate(done)
        emb = _run_batches(loaded, batches, len(positions))
        if progress is not None:
            progress.update(len(positions) + len(skipped))
        yield ImageBatchResult(positions, emb, skipped)


def _require_image_tower(loaded: LoadedModel) -> None:
    if loaded.family == "vit":
        raise ValueError(f"{loaded.name} is a classifier; embeddings need a dual encoder "
                         "(CLIP, SigLIP, FG-CLIP 2)")


def progress_bar(total: int, show, desc: str):
    """A progress object with ``update(n)`` (and ``close()``), or ``None`` for none.

    ``show`` is True / False / None (a tqdm bar for 64 items or more), an object
    that already has ``update(n)`` (returned as it is), or a callable
    ``show(total, desc)`` that makes one (the ``imgsearch`` command's bars, which
    need the total that only the caller of this function knows).
    """
    if isinstance(show, type) or (callable(show) and not hasattr(show, "update")):
        return show(total, desc)          # a class has "update" too: it is a factory
    if hasattr(show, "update"):
        return show
    if show is False or (show is None and total < 64):
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="img")


def embed_image_files(loaded: LoadedModel, paths: Sequence, batch_size: int = BATCH_SIZE,
                      num_workers: int | None = None, progress=None,
                      draft_size: int | str | None = DRAFT_SIZE, decoder: str = DECODER):
    """Embed many image files, skipping unreadable ones with a reason.

    Parameters
    ----------
    loaded : LoadedModel
    paths : sequence of paths (or bytes / PIL images)
    batch_size, num_workers, draft_size, decoder
        As :func:`iter_image_batches`.
    progress : bool or object with ``update(n)``, optional
        Show a progress bar; default only for 64 files or more. An object with
        ``update(n)`` (a tqdm bar of your own, an app's progress widget) is
        advanced instead, and left open.

    Returns
    -------
    embeddings : np.ndarray, shape (m, d)
        Unit rows; ``embeddings[i]`` belongs to ``paths[ok_positions[i]]``.
    ok_positions : list of int
        The positions in ``paths`` of the images that were embedded.
    skipped : list of (path, str)
        The images that could not be read, each with the reason.
    """
    bar = progress_bar(len(paths), progress, "embedding images")
    embs, ok, skipped = [], [], []
    try:
        for batch in iter_image_batches(loaded, paths, batch_size, num_workers, draft_size, bar,
                                        decoder):
            embs.append(batch.embeddings)
            ok.extend(batch.positions)
            skipped.extend((paths[p], reason) for p, reason in batch.skipped)
    finally:
        if bar is not None and bar is not progress:
            bar.close()
    nonempty = [e for e in embs if len(e)]
    matrix = np.concatenate(nonempty) if nonempty else np.zeros((0, 0), np.float32)
    return matrix, ok, skipped


def embed_images(loaded: LoadedModel, images: Sequence, batch_size: int = BATCH_SIZE,
                 num_workers: int | None = None, progress: bool | None = None) -> np.ndarray:
    """Embed images (PIL images, paths or bytes) in batches.

    Parameters
    ----------
    loaded : LoadedModel
    images : sequence of PIL.Image, path or bytes
    batch_size : int
    num_workers : int, optional
        Workers that decode and preprocess ahead of the model.
    progress : bool, optional
        Show a progress bar; default only for 64 images or more.

    Returns
    -------
    np.ndarray, shape (n, d), float32, rows of unit length, in input order.

    Raises
    ------
    ImageLoadError
        If any image cannot be read (use :func:`embed_image_files` to skip instead).
    """
    images = list(images)
    if not images:
        raise ValueError("no images given")
    matrix, ok, skipped = embed_image_files(loaded, images, batch_size, num_workers, progress)
    if skipped:
        item, reason = skipped[0]
        raise ImageLoadError(item if isinstance(item, (str, os.PathLike)) else "<image>", reason)
    return matrix
