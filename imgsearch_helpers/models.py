"""The course's model registry and its one loader, :func:`load_model`."""
from __future__ import annotations

import logging
import os
import re
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .device import select_device, select_dtype

__all__ = [
    "ModelInfo", "LoadedModel", "ModelNotAvailableError",
    "available_models", "model_info", "is_cached", "load_model", "REPO_ROOT", "DATA_DIR",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("IMGSEARCH_DATA", REPO_ROOT / "data"))
OFFLINE_MODELS_DIR = DATA_DIR / "models"


@dataclass(frozen=True)
class ModelInfo:
    """One entry of the registry: what a model is and where it comes from."""

    name: str
    family: str        # "vit" | "clip" | "siglip" | "siglip2" | "fgclip2"
    task: str          # "image-classification" | "zero-shot" (embeddings + zero-shot)
    size: str          # parameter count, as a human reads it
    note: str
    local_dir: str | None = None     # shipped with the course, relative to data/models
    remote_code: bool = False        # needs trust_remote_code (FG-CLIP 2)

    @property
    def source(self) -> str:
        """Where from_pretrained reads it: a local folder or a Hub id."""
        return str(OFFLINE_MODELS_DIR / self.local_dir) if self.local_dir else self.name


_REGISTRY = [
    ModelInfo("google/vit-base-patch16-224", "vit", "image-classification", "86M",
              "ViT-B/16 fine-tuned on ImageNet-1k: 1,000 fixed labels."),
    ModelInfo("google/vit-large-patch16-224", "vit", "image-classification", "304M",
              "ViT-L/16 on ImageNet-1k: slower, a little more accurate."),
    ModelInfo("openai/clip-vit-base-patch32", "clip", "zero-shot", "151M",
              "The original CLIP, ViT-B/32: fast, good baseline."),
    ModelInfo("openai/clip-vit-large-patch14", "clip", "zero-shot", "428M",
              "CLIP ViT-L/14 at 224 px: much better, ~5x slower than B/32."),
    ModelInfo("openai/clip-vit-large-patch14-336", "clip", "zero-shot", "428M",
              "CLIP ViT-L/14 at 336 px: best OpenAI CLIP, slowest."),
    ModelInfo("google/siglip2-base-patch16-naflex", "siglip2", "zero-shot", "375M",
              "SigLIP 2 base, NaFlex: keeps each image's aspect ratio."),
    ModelInfo("google/siglip2-so400m-patch16-naflex", "siglip2", "zero-shot", "1.1B",
              "SigLIP 2 So400m, NaFlex: strong, needs a GPU for big folders."),
    ModelInfo("google/siglip2-so400m-patch14-224", "siglip2", "zero-shot", "1.1B",
              "SigLIP 2 So400m at a fixed 224 px."),
    ModelInfo("qihoo360/fg-clip2-base", "fgclip2", "zero-shot", "~0.4B",
              "FG-CLIP 2 base: fine-grained, bilingual; remote code (opt-in).", remote_code=True),
    ModelInfo("qihoo360/fg-clip2-large", "fgclip2", "zero-shot", "~0.9B",
              "FG-CLIP 2 large; remote code (opt-in).", remote_code=True),
    ModelInfo("qihoo360/fg-clip2-so400m", "fgclip2", "zero-shot", "~1.1B",
              "FG-CLIP 2 So400m; remote code (opt-in).", remote_code=True),
    ModelInfo("imgsearch/clipart-vit", "vit", "image-classification", "~1M",
              "Offline: small ViT trained by this course on synthetic clip-art scenes.",
              local_dir="clipart-vit"),
    ModelInfo("imgsearch/clipart-clip", "clip", "zero-shot", "~2M",
              "Offline: small CLIP trained by this course on synthetic clip-art scenes.",
              local_dir="clipart-clip"),
    ModelInfo("imgsearch/clipart-siglip", "siglip", "zero-shot", "~2M",
              "Offline: small SigLIP (sigmoid loss) trained by this course on synthetic clip-art.",
              local_dir="clipart-siglip"),
]
MODELS: dict[str, ModelInfo] = {m.name: m for m in _REGISTRY}

_FAMILY_OF_MODEL_TYPE = {"vit": "vit", "clip": "clip", "siglip": "siglip", "siglip2": "siglip2"}


class ModelNotAvailableError(RuntimeError):
    """A registered model is neither in the local cache nor downloadable now."""


@dataclass
class LoadedModel:
    """A model ready to use: the torch module, its processor and what it is."""

    name: str
    family: str
    model: torch.nn.Module
    processor: object
    device: torch.device
    dtype: torch.dtype
    info: ModelInfo | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def has_text(self) -> bool:
        """True for the dual encoders (CLIP, SigLIP, FG-CLIP 2), False for ViT."""
        return self.family != "vit"

    @property
    def logit_scale(self) -> float:
        """exp(logit_scale): the temperature the model multiplies cosines by."""
        return float(self.model.logit_scale.detach().float().exp().item())

    @property
    def logit_bias(self) -> float:
        """SigLIP's learned bias (0.0 for CLIP, which has none)."""
        bias = getattr(self.model, "logit_bias", None)
        return 0.0 if bias is None else float(bias.detach().float().item())


def available_models(family: str | None = None, task: str | None = None) -> list[str]:
    """Return the registered model names, optionally filtered by family or task."""
    return [m.name for m in _REGISTRY
            if (family is None or m.family == family) and (task is None or m.task == task)]


def model_info(name: str) -> ModelInfo:
    """Return the registry entry for ``name``; unknown names list the valid ones."""
    try:
        return MODELS[name]
    except KeyError:
        valid = "\n  ".join(available_models())
        raise ValueError(
            f"unknown model {name!r}. Registered models:\n  {valid}\n"
            "or pass the path of a folder saved with save_pretrained()."
        ) from None


# One of these next to config.json means the weights were downloaded too.
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def is_cached(name: str) -> bool:
    """True when a registered model loads without the network.

    A course model needs its folder under ``data/models``; a Hub model its config
    and weights in the local Hugging Face cache (what ``imgsearch prefetch`` fills).
    Nothing is downloaded or contacted.
    """
    info = model_info(name)
    if info.local_dir:
        return Path(info.source).is_dir()
    from huggingface_hub import try_to_load_from_cache

    def here(filename):
        return isinstance(try_to_load_from_cache(info.name, filename), str)

    return here("config.json") and any(here(f) for f in _WEIGHT_FILES)


_CACHE: dict[tuple, LoadedModel] = {}
_SHA = re.compile(r"^[0-9a-f]{40}$")


def load_model(name_or_path: str | os.PathLike, device: str | torch.device | None = None,
               *, half: bool | None = None, trust_remote_code: bool = False,
               revision: str | None = None) -> LoadedModel:
    """Load a registered model (or a local save_pretrained folder) with its processor.

    Results are cached per (model, device, dtype): calling it again is free.

    Parameters
    ----------
    name_or_path : str or path
        A name from :func:`available_models` or a local folder.
    device : str or torch.device, optional
        Default: :func:`select_device` (CUDA, then MPS, then CPU).
    half : bool, optional
        Half precision; default on for GPUs, off on CPU (see :func:`select_dtype`).
    trust_remote_code : bool
        Needed for FG-CLIP 2 only. Remote code is Python from the model's Hub
        repository that runs with your user's rights on your machine; only turn
        it on for a repository you trust, and pin ``revision`` to a commit you
        have read, so that a later push to the repository cannot change the code.
    revision : str, optional
        The 40-hex commit of the Hub repository; required with remote code.

    Returns
    -------
    LoadedModel

    Raises
    ------
    ValueError
        Unknown name, or remote code asked for without an explicit opt-in and a pin.
    ModelNotAvailableError
        A registered model that is neither cached nor downloadable right now.
    """
    path = Path(name_or_path)
    info: ModelInfo | None = None
    if path.is_dir():
        source, name = str(path), str(name_or_path)
    else:
        info = model_info(str(name_or_path))
        source, name = info.source, info.name
        if info.local_dir and not Path(source).is_dir():
            raise ModelNotAvailableError(
                f"{name}: its files are missing from {source}. Rebuild them with "
                "`python -m imgsearch_helpers.training --out data/models`.")
    if info is not None and info.remote_code:
        _check_remote_code_opt_in(name, trust_remote_code, revision)
    elif trust_remote_code:
        raise ValueError(f"{name} needs no remote code; leave trust_remote_code off")
    device = torch.device(device) if device is not None else select_device()
    dtype = select_dtype(device, half)
    key = (source, str(device), dtype, revision)
    if key not in _CACHE:
        _CACHE[key] = _load(name, source, info, device, dtype, revision)
    return _CACHE[key]


def _check_remote_code_opt_in(name: str, trust: bool, revision: str | None) -> None:
    if not trust:
        raise ValueError(
            f"{name} runs Python code from its Hub repository. Opt in explicitly with "
            "load_model(name, trust_remote_code=True, revision='<40-hex commit you have read>').")
    if revision is None or not _SHA.match(revision):
        raise ValueError(
            f"{name}: remote code needs revision= pinned to a full 40-hex commit hash "
            f"(got {revision!r}); pick it from the repository's history after reading the code.")


def _load(name: str, source: str, info: ModelInfo | None, device: torch.device,
          dtype: torch.dtype, revision: str | None) -> LoadedModel:
    import transformers as tf

    kwargs = {"revision": revision} if revision else {}
    # transformers 5 draws a "Loading weights" bar even for a 1 MB model; the
    # notebooks read better without it. Downloads keep their own progress bars.
    bars_were_on = tf.utils.logging.is_progress_bar_enabled()
    tf.utils.logging.disable_progress_bar()
    config_log = logging.getLogger("transformers.configuration_utils")
    config_log.addFilter(_drop_default_token_id_warning)
    try:
        if info is not None and info.remote_code:
            model = tf.AutoModelForCausalLM.from_pretrained(
                source, trust_remote_code=True, dtype=dtype, **kwargs)
            processor = _FGClip2Processor(
                tf.AutoTokenizer.from_pretrained(source, trust_remote_code=True, **kwargs),
                tf.AutoImageProcessor.from_pretrained(source, trust_remote_code=True, **kwargs))
            family = "fgclip2"
        else:
            config = tf.AutoConfig.from_pretrained(source, **kwargs)
            family = _FAMILY_OF_MODEL_TYPE.get(config.model_type)
            if family is None:
                raise ValueError(f"{name}: model type {config.model_type!r} is not one the "
                                 f"course supports ({sorted(_FAMILY_OF_MODEL_TYPE)})")
            if family == "vit":
                model = tf.AutoModelForImageClassification.from_pretrained(source, dtype=dtype, **kwargs)
                processor = tf.AutoImageProcessor.from_pretrained(source, **kwargs)
            else:
                model = tf.AutoModel.from_pretrained(source, dtype=dtype, **kwargs)
                processor = tf.AutoProcessor.from_pretrained(source, **kwargs)
    except OSError as err:
        raise ModelNotAvailableError(_not_available_message(name, err)) from err
    finally:
        config_log.removeFilter(_drop_default_token_id_warning)
        if bars_were_on:
            tf.utils.logging.enable_progress_bar()
    _warn_on_bad_token_ids(name, model.config)
    model.to(device).eval()
    return LoadedModel(name, family, model, processor, device, dtype, info)


_TOKEN_ID_WARNING = "must be `None` or an integer within the vocabulary"


def _drop_default_token_id_warning(record: logging.LogRecord) -> bool:
    """Drop transformers' token-id warning while a model loads.

    transformers 5 builds a *default* ``SiglipTextConfig()`` to compare against,
    and that default's own ids (49406/49407 in a 32,000-word vocabulary) fail its
    check, so every SigLIP load printed two warnings about a config that is not
    the model's. The id that matters (CLIP's end of text) is checked by
    :func:`_warn_on_bad_token_ids`.
    """
    return _TOKEN_ID_WARNING not in record.getMessage()


def _warn_on_bad_token_ids(name: str, config) -> None:
    """Warn when a CLIP text tower's end-of-text id is outside its vocabulary.

    CLIP pools the text at its end-of-text token, found by that id, so a wrong id
    gives wrong text embeddings without any error. (SigLIP pools the last
    position and never reads these ids, so its configs are not checked.)
    """
    text = getattr(config, "text_config", None)
    if getattr(config, "model_type", None) != "clip" or text is None:
        return
    vocab, eos = getattr(text, "vocab_size", None), getattr(text, "eos_token_id", None)
    if isinstance(vocab, int) and isinstance(eos, int) and not 0 <= eos < vocab:
        warnings.warn(f"{name}: text_config.eos_token_id = {eos} is outside its vocabulary of "
                      f"{vocab} tokens; CLIP pools its text at that token, so its text "
                      "embeddings may be wrong.", stacklevel=3)


def _not_available_message(name: str, err: Exception) -> str:
    return (
        f"{name} is not in the local Hugging Face cache and could not be downloaded "
        f"({type(err).__name__}).\n"
        "To get it: while online, run `make prefetch` (all course models) or "
        f"`python -m imgsearch_helpers.prefetch {name}`; it is then cached for offline use.\n"
        "To run the course without it: set IMGSEARCH_PROFILE=offline, which uses the "
        "course's own small models trained on clip-art (imgsearch/clipart-*). "
        "No other model is substituted for the one you asked for."
    )


class _FGClip2Processor:
    """Tokenizer + image processor pair for FG-CLIP 2, which ships no Processor class."""

    def __init__(self, tokenizer, image_processor):
        self.tokenizer = tokenizer
        self.image_processor = image_processor
