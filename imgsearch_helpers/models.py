"""The course's model registry and its one loader, :func:`load_model`."""
from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import torch

from .settings import DATA_ENV, GALLERY_FOLDER, HUB_OFFLINE_ENV, PHOTOS_FOLDER, PROFILE_ENV, env_flag
from .device import select_device, select_dtype

__all__ = [
    "ModelInfo", "LoadedModel", "ModelNotAvailableError",
    "available_models", "model_info", "load_model", "REPO_ROOT", "DATA_DIR", "GALLERY_DIR",
    "PHOTOS_DIR",
    "is_cached", "hub_reachable", "hub_offline", "known_info", "course_info", "course_model_at",
    "offline_reason", "clipart_note", "ClipartModelWarning",
    "weights_fingerprint", "REBUILD_COMMAND", "no_text_encoder", "missing_files",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get(DATA_ENV, REPO_ROOT / "data"))
GALLERY_DIR, PHOTOS_DIR = DATA_DIR / GALLERY_FOLDER, DATA_DIR / PHOTOS_FOLDER
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
    # What the model can tell apart, measured as notebook 04 does on the course gallery
    # (similarity.duplicate_scores): the lowest cosine of a picture and an edited copy,
    # and the highest cosine of two different pictures. None: not measured here.
    copy_cosine: float | None = None
    lookalike_cosine: float | None = None

    @property
    def tells_copies_apart(self) -> bool | None:
        """Whether some cosine separates every copy from every look-alike (None: unknown)."""
        if self.copy_cosine is None or self.lookalike_cosine is None:
            return None
        return self.copy_cosine > self.lookalike_cosine

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
              "FG-CLIP 2 base: SigLIP 2 trained further for fine detail, English + Chinese, "
              "captions up to 196 tokens."),
    ModelInfo("qihoo360/fg-clip2-large", "fgclip2", "zero-shot", "~0.9B",
              "FG-CLIP 2 large: fine-grained, bilingual, long captions; a GPU for big folders."),
    ModelInfo("qihoo360/fg-clip2-so400m", "fgclip2", "zero-shot", "~1.1B",
              "FG-CLIP 2 So400m: the strongest FG-CLIP 2, slowest."),
    ModelInfo("imgsearch/clipart-vit", "vit", "image-classification", "~1M",
              "Offline: small ViT trained by this course on synthetic clip-art scenes.",
              local_dir="clipart-vit"),
    ModelInfo("imgsearch/clipart-clip", "clip", "zero-shot", "~2M",
              "Offline: small CLIP trained by this course on synthetic clip-art scenes.",
              local_dir="clipart-clip", copy_cosine=0.917, lookalike_cosine=1.000),
    ModelInfo("imgsearch/clipart-siglip", "siglip", "zero-shot", "~2M",
              "Offline: small SigLIP (sigmoid loss) trained by this course on synthetic clip-art.",
              local_dir="clipart-siglip", copy_cosine=0.716, lookalike_cosine=1.000),
]
MODELS: dict[str, ModelInfo] = {m.name: m for m in _REGISTRY}

_FAMILY_OF_MODEL_TYPE = {"vit": "vit", "clip": "clip", "siglip": "siglip", "siglip2": "siglip2",
                         "fgclip2": "fgclip2"}
# Trained with SigLIP's sigmoid loss: each (image, text) pair is scored on its own.
_SIGMOID_FAMILIES = frozenset({"siglip", "siglip2", "fgclip2"})


class ClipartModelWarning(UserWarning):
    """A clip-art model is used on pictures that are not the course's clip-art."""


def clipart_note(model, pictures) -> str:
    """A warning text when a clip-art model meets pictures outside the course's gallery, else "".

    The offline models were trained only on the course's drawn scenes; on photos
    their rankings mean nothing, and a learner must be told so rather than guess.

    Parameters
    ----------
    model : LoadedModel or str
        A loaded model or a model name.
    pictures : iterable of paths (or a folder); other items (PIL images, bytes) are not judged
    """
    name = model.name if isinstance(model, LoadedModel) else str(model)
    info = course_info(model)
    if info is None:
        return ""
    if isinstance(pictures, (str, os.PathLike)):
        pictures = [pictures]
    from .folders import find_image_files, is_course_clipart

    for item in pictures:
        if isinstance(item, (str, os.PathLike)):
            # A folder is judged by its pictures (a copy of the gallery is clip-art too).
            files = ([Path(item) / f for f in find_image_files(item)[0]]
                     if os.path.isdir(item) else []) or [Path(item)]
            if not all(is_course_clipart(f, GALLERY_DIR) for f in files):
                return (f"{name} is one of the course's clip-art models: it knows only the "
                        "drawn scenes it was trained on, so its rankings of other pictures (such as "
                        "photos) mean nothing. For real photos use a real model, e.g. "
                        "google/siglip2-base-patch16-naflex (fetch it while online with "
                        "`imgsearch prefetch`).")
    return ""


# How the course's own models are made again (`make models` runs it).
REBUILD_COMMAND = "python -m imgsearch_helpers.training --out data/models"


def no_text_encoder(name: str) -> str:
    """The message for a classifier asked to embed text or search.

    Parameters
    ----------
    name : str

    Returns
    -------
    str
    """
    return (f"{name} is an image classifier with no text encoder; use a CLIP, SigLIP or "
            "FG-CLIP 2 model (`imgsearch models` lists them)")


def missing_files(name: str, source: str) -> str:
    """The message for a course model whose folder under data/models is missing.

    Parameters
    ----------
    name, source : str

    Returns
    -------
    str
    """
    return f"{name}: its files are missing from {source}; rebuild them with `{REBUILD_COMMAND}`"


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
    weights: str | None = None       # weights_fingerprint(): which weights, not only which name
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def has_text(self) -> bool:
        """True for the dual encoders (CLIP, SigLIP, FG-CLIP 2), False for ViT."""
        return self.family != "vit"

    @property
    def is_clipart(self) -> bool:
        """True for the course's own small models, which know only its clip-art scenes."""
        return course_info(self) is not None

    @property
    def sigmoid_scores(self) -> bool:
        """True for the SigLIP-style families (SigLIP, SigLIP 2, FG-CLIP 2).

        They were trained with a sigmoid per (image, text) pair, so a label's score is
        ``sigmoid(logit_scale * cos + logit_bias)`` on its own; and their text towers
        pool the *last* position, so their text is padded to a fixed length.
        """
        return self.family in _SIGMOID_FAMILIES

    @property
    def lowercases_text(self) -> bool:
        """True for FG-CLIP 2, whose training, evaluation and README lower-case every caption."""
        return self.family == "fgclip2"

    @property
    def long_text_length(self) -> int | None:
        """FG-CLIP 2's long-caption length (196 tokens, ``walk_type="long"``); None for others."""
        if self.family != "fgclip2":
            return None
        return int(self.model.config.text_config.longtext_len)

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


def known_info(model) -> ModelInfo | None:
    """The registry's entry for a model, or None for a model the course does not know.

    Parameters
    ----------
    model : LoadedModel, str or path
        A loaded model (its own entry), a registered name, or a folder: the folder of
        one of the course's own models (``data/models/clipart-siglip``) is that model.
    """
    if isinstance(model, LoadedModel):
        return model.info
    name = str(model)
    return MODELS.get(name) or course_model_at(name)


def course_info(model) -> ModelInfo | None:
    """The registry's entry when ``model`` is one of the course's own clip-art models, else None.

    Parameters
    ----------
    model : LoadedModel, str or path
        As for :func:`known_info`.
    """
    info = known_info(model)
    return info if info is not None and info.local_dir is not None else None


def course_model_at(folder) -> ModelInfo | None:
    """The course model whose folder ``folder`` is (``--model data/models/clipart-siglip``), or None."""
    try:
        path = Path(folder).expanduser().resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    return next((info for info in MODELS.values()
                 if info.local_dir and Path(info.source).resolve() == path), None)


def hub_offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` tells the Hugging Face libraries not to use the network."""
    return env_flag(HUB_OFFLINE_ENV)


# How long the Hub's answer is kept: a command that checks a model and then loads it, or
# a notebook cell that loads three models, asks the Hub once; a network that comes back
# is noticed this many seconds later.
HUB_ANSWER_SECONDS = 30.0
_hub_answers: dict[tuple[str | None, int], tuple[float, bool]] = {}


def hub_reachable(timeout: float = 1.5) -> bool:
    """True when the Hugging Face Hub accepts a connection now.

    One TCP connection, at most ``timeout`` seconds: without it, a download on a
    machine without internet retries for half a minute before it fails. The answer
    is kept for :data:`HUB_ANSWER_SECONDS` per endpoint, so that checking a model and
    then loading it asks the Hub once. Always False when ``HF_HUB_OFFLINE`` is set.
    """
    if hub_offline():
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (80 if url.scheme == "http" else 443)
    now = time.monotonic()
    kept = _hub_answers.get((url.hostname, port))
    if kept is not None and now - kept[0] < HUB_ANSWER_SECONDS:
        return kept[1]
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            answer = True
    except (OSError, UnicodeError):
        answer = False
    _hub_answers[(url.hostname, port)] = (now, answer)
    return answer


def _offline_profile() -> bool:
    return os.environ.get(PROFILE_ENV, "").strip().lower() == "offline"


def offline_reason() -> str | None:
    """Why nothing may be downloaded now, or None when downloads may go ahead.

    The one rule the loader, the command, ``prefetch`` and ``doctor`` follow:
    ``HF_HUB_OFFLINE`` is set, the offline profile is chosen (``IMGSEARCH_PROFILE=offline``:
    the course's own models, nothing fetched), or the Hub does not answer.

    Returns
    -------
    str or None
        The reason as a clause ("HF_HUB_OFFLINE is set").
    """
    if hub_offline():
        return f"{HUB_OFFLINE_ENV} is set"
    if _offline_profile():
        return f"{PROFILE_ENV}=offline is set"
    if not hub_reachable():
        return "the Hugging Face Hub cannot be reached from this machine"
    return None


# One of these next to config.json means the weights were downloaded too.
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")


def is_cached(name: str, revision: str | None = None) -> bool:
    """True when a model loads without the network.

    A course model needs its folder under ``data/models``; a Hub model its config
    and weights in the local Hugging Face cache (what ``imgsearch prefetch`` fills).
    Nothing is downloaded or contacted.
    """
    info = model_info(name)
    if info.local_dir:
        return Path(info.source).is_dir()
    from huggingface_hub import try_to_load_from_cache

    def here(filename):
        return isinstance(try_to_load_from_cache(name, filename, revision=revision), str)

    return here("config.json") and any(here(f) for f in _WEIGHT_FILES)


_CACHE: dict[tuple, LoadedModel] = {}


def load_model(name_or_path: str | os.PathLike, device: str | torch.device | None = None,
               *, half: bool | None = None, revision: str | None = None) -> LoadedModel:
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
    revision : str, optional
        A commit hash (or branch, tag) of the Hub repository, to pin the weights for
        reproducible results. Never needed: no model here runs code from the Hub
        (FG-CLIP 2 uses this package's own implementation, :mod:`imgsearch_helpers.fgclip2`).

    Returns
    -------
    LoadedModel

    Raises
    ------
    ValueError
        Unknown name, or a folder holding a model type the course does not support.
    ModelNotAvailableError
        A registered model that is neither cached nor downloadable right now.
    """
    path = Path(name_or_path)
    info: ModelInfo | None = None
    if path.is_dir():
        # Named by its path, as given; a course model's folder still is that model
        # (its calibration, its clip-art note).
        source, name, info = str(path), str(name_or_path), course_model_at(path)
    else:
        info = model_info(str(name_or_path))
        source, name = info.source, info.name
        if info.local_dir and not Path(source).is_dir():
            raise ModelNotAvailableError(missing_files(name, source))
    device = torch.device(device) if device is not None else select_device()
    dtype = select_dtype(device, half)
    key = (source, str(device), dtype, revision)
    if key not in _CACHE:
        local_only, why = False, None
        if info is not None and not info.local_dir:
            # Decide before transformers does: offline, it would retry for ~30 s and then
            # fail with a traceback; a cached model loads without asking the Hub at all.
            why = offline_reason()
            local_only = why is not None
            if local_only and not is_cached(name, revision):
                raise ModelNotAvailableError(_not_available_message(name, why))
        loaded = _load(name, source, info, device, dtype, revision, local_only, why)
        loaded.weights = weights_fingerprint(source, revision)
        _CACHE[key] = loaded
    return _CACHE[key]


# Bytes read from each end of a weights file for its digest: a retrained model
# changes every tensor, so both ends change; reading 2 MiB keeps it cheap for 4 GB.
_DIGEST_BYTES = 1 << 20
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def weights_fingerprint(source: str | os.PathLike, revision: str | None = None) -> str | None:
    """Which weights a model has: what an index records beside the model's name.

    Parameters
    ----------
    source : str or path
        A model folder (the course's ``data/models/*``, a save_pretrained folder), or
        a Hub id whose files are in the local Hugging Face cache.
    revision : str, optional
        The Hub revision asked for.

    Returns
    -------
    str or None
        ``"hub:<commit hash>"`` for a Hub model (its snapshot folder's name);
        ``"files:<digest>"`` for a folder: a SHA-256 of the weight files' names, sizes
        and first and last MiB. None when neither can be found.
    """
    path = Path(source)
    if path.is_dir():
        digest = hashlib.sha256()
        files = sorted(f for f in path.iterdir() if f.is_file() and (
            f.suffix in _WEIGHT_SUFFIXES or f.name == "config.json"))
        for f in files:
            size = f.stat().st_size
            digest.update(f"{f.name}\0{size}\0".encode())
            with open(f, "rb") as fh:
                digest.update(fh.read(_DIGEST_BYTES))
                if size > 2 * _DIGEST_BYTES:
                    fh.seek(-_DIGEST_BYTES, os.SEEK_END)
                    digest.update(fh.read())
        return "files:" + digest.hexdigest()[:20] if files else None
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(str(source), "config.json", revision=revision)
    if not isinstance(found, str):
        return None
    parts = Path(found).parts      # .../models--org--name/snapshots/<commit>/config.json
    return f"hub:{parts[-2]}" if len(parts) > 2 and parts[-3] == "snapshots" else None


def _load(name: str, source: str, info: ModelInfo | None, device: torch.device,
          dtype: torch.dtype, revision: str | None, local_only: bool = False,
          why: str | None = None) -> LoadedModel:
    import transformers as tf

    kwargs = {"revision": revision} if revision else {}
    if local_only:
        kwargs["local_files_only"] = True
    # transformers 5 draws a "Loading weights" bar even for a 1 MB model; the
    # notebooks read better without it. Downloads keep their own progress bars.
    bars_were_on = tf.utils.logging.is_progress_bar_enabled()
    tf.utils.logging.disable_progress_bar()
    config_log = logging.getLogger("transformers.configuration_utils")
    config_log.addFilter(_drop_default_token_id_warning)
    try:
        # The raw config.json, not AutoConfig: transformers does not know "fgclip2".
        model_type = tf.PreTrainedConfig.get_config_dict(source, **kwargs)[0].get("model_type")
        family = _FAMILY_OF_MODEL_TYPE.get(model_type)
        if family is None:
            raise ValueError(f"{name}: model type {model_type!r} is not one the "
                             f"course supports ({sorted(_FAMILY_OF_MODEL_TYPE)})")
        if family == "fgclip2":
            from .fgclip2 import Fgclip2Model, Fgclip2Processor

            model = Fgclip2Model.from_pretrained(source, dtype=dtype, **kwargs)
            processor = Fgclip2Processor.from_pretrained(source, **kwargs)
        elif family == "vit":
            model = tf.AutoModelForImageClassification.from_pretrained(source, dtype=dtype, **kwargs)
            processor = tf.AutoImageProcessor.from_pretrained(source, **kwargs)
        else:
            model = tf.AutoModel.from_pretrained(source, dtype=dtype, **kwargs)
            processor = tf.AutoProcessor.from_pretrained(source, **kwargs)
    except OSError as err:
        raise ModelNotAvailableError(_not_available_message(
            name, why, f"{type(err).__name__}: {err}")) from err
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


def _not_available_message(name: str, why: str | None, cause: str | None = None) -> str:
    """Which model, why it cannot load here (``why``: :func:`offline_reason`), how to get
    it, and what works meanwhile."""
    where = why or "the Hugging Face Hub cannot be reached from this machine"
    lines = [f"{name} is not in the local Hugging Face cache, and {where}."]
    if cause:
        lines[0] = f"{name} could not be loaded ({cause})."
    lines.append(f"To get it: on a machine that is online, run `imgsearch prefetch {name}` "
                 f"(or `make prefetch MODELS={name}`); it is then cached for offline use.")
    offline = [m.name for m in _REGISTRY if m.local_dir and m.task == (
        MODELS[name].task if name in MODELS else "zero-shot")]
    if _offline_profile():
        lines.append("Offline, you can use the course's own models (" + ", ".join(offline) + "), "
                     "which know clip-art only, or the path of a model folder saved with "
                     "save_pretrained().")
    else:
        lines.append(f"To run the course without it: set {PROFILE_ENV}=offline, which uses the "
                     "course's own small models trained on clip-art (" + ", ".join(offline) + "); "
                     "or pass the path of a model folder saved with save_pretrained().")
    lines.append("No other model is substituted for the one you asked for.")
    return "\n".join(lines)
