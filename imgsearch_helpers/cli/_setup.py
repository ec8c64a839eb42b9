"""models, prefetch, doctor: which models there are, getting them, and a laptop check."""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time
from pathlib import Path

from ..settings import DEVICE_ENV, PROFILE_ENV
from ._common import CliError, UsageError, choose_model, one_line
from ..models import (ModelNotAvailableError, available_models, is_cached, load_model,
                      missing_files, model_info, offline_reason)
from ..profiles import PROFILE_MODELS, get_profile

_RAW = argparse.RawDescriptionHelpFormatter
# Debian's Chromium, which the browser test drives (tests/test_browser.py).
CHROMIUM = Path("/usr/bin/chromium")
# Weight formats transformers' PyTorch classes never read: not worth the download.
_UNUSED_FILES = ["*.h5", "*.msgpack", "*.onnx", "*.onnx_data", "*.ot", "*.tflite",
                 "*.mlmodel", "*.mlpackage/*", "onnx/*", "openvino/*", "coreml/*"]
# A text query and the file it must find first in each profile's gallery.
_SEARCH_CHECK = {"offline": ("a beautiful lake with mountains", "lake_"),
                 "online": ("a photo of a cat", "cat.")}

_MODELS_HELP = """\
The registered models: name, family, size, whether they are on this computer
(cached: in the Hugging Face cache; shipped: trained by the course, in data/models),
and a note. * marks the default for search.

example:
  imgsearch models
"""

_PREFETCH_HELP = f"""\
While online, download models into the Hugging Face cache so that they work
offline later. Default: the online profile's models
({", ".join(PROFILE_MODELS["online"].values())}).
The course's clip-art models are shipped with it and need no download.

examples:
  imgsearch prefetch
  imgsearch prefetch openai/clip-vit-large-patch14
  imgsearch prefetch --all
"""

_DOCTOR_HELP = f"""\
Check that this computer is ready for the workshop: Python, torch, the device,
free disk space, and that each model of the profile loads, runs and finds the
right picture for a test query. Exit status 0 only when that profile is ready;
the last line says ready or not ready, and why.

The profile: --profile, else ${PROFILE_ENV}, else online when the real models
are here or the Hugging Face Hub answers, offline otherwise.

examples:
  imgsearch doctor
  imgsearch doctor --profile offline     # an offline workshop
  {PROFILE_ENV}=online make check
"""


def register(sub) -> None:
    """Add models, prefetch and doctor to the ``imgsearch`` parser."""
    p = sub.add_parser("models", formatter_class=_RAW, description=_MODELS_HELP,
                       help="the registered models, and which are here")
    p.set_defaults(run=run_models)

    p = sub.add_parser("prefetch", formatter_class=_RAW, description=_PREFETCH_HELP,
                       help="download models for offline use")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--all", action="store_true",
                   help="every registered model that needs no remote code")
    p.set_defaults(run=run_prefetch)

    p = sub.add_parser("doctor", formatter_class=_RAW, description=_DOCTOR_HELP,
                       help="is this computer ready for the workshop?")
    p.add_argument("--profile", choices=sorted(PROFILE_MODELS),
                   help="the profile the workshop uses")
    p.set_defaults(run=run_doctor)


def where(name: str) -> str:
    """'shipped', 'missing', 'cached' or 'not cached'."""
    if model_info(name).local_dir:
        return "shipped" if is_cached(name) else "missing"
    return "cached" if is_cached(name) else "not cached"


def run_models(args) -> int:
    default = choose_model(None)[0]
    rows = [(("* " if name == default else "  ") + name, info.family, info.size,
             where(name), info.note)
            for name, info in ((n, model_info(n)) for n in available_models())]
    header = ("  MODEL", "FAMILY", "SIZE", "HERE", "NOTE")
    widths = [max(len(r[c]) for r in rows + [header]) for c in range(4)]
    for row in [header] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4])
    return 0


# -- prefetch ------------------------------------------------------------------------

def run_prefetch(args) -> int:
    names = args.names or (available_models() if args.all
                           else list(PROFILE_MODELS["online"].values()))
    for name in names:
        if name not in available_models():
            raise UsageError(f"unknown model {name!r}: `imgsearch models` lists the names")
    wanted = []
    for name in names:
        info = model_info(name)
        if info.local_dir:
            print(f"[ ok ] {name}: shipped with the course, nothing to download")
        else:
            wanted.append(name)
    why = offline_reason() if wanted else None
    if why:
        missing = [n for n in wanted if not is_cached(n)]
        for name in wanted:
            if name not in missing:
                print(f"[ ok ] {name}: already here")
        if missing:
            raise CliError(f"cannot download {', '.join(missing)}: {why}; run "
                           "`imgsearch prefetch` again on a computer that is online")
        return 0
    for name in wanted:
        start = time.perf_counter()
        print(f"[....] {name} ({model_info(name).size} parameters) ...", flush=True)
        try:
            path = download(name)
        except (OSError, ValueError) as err:     # huggingface_hub's HTTP errors are OSErrors
            raise CliError(f"downloading {name} failed: {one_line(err)}") from None
        print(f"[ ok ] {name} in {time.perf_counter() - start:.0f} s: {path}")
    return 0


def download(name: str) -> str:
    """Download ``name``'s files that PyTorch needs into the Hugging Face cache."""
    from huggingface_hub import list_repo_files, snapshot_download

    ignore = list(_UNUSED_FILES)
    if any(f.endswith(".safetensors") for f in list_repo_files(name)):
        ignore.append("*.bin")        # the same weights twice, in the older format
    return snapshot_download(name, ignore_patterns=ignore)


# -- doctor --------------------------------------------------------------------------

class _Report:
    """The doctor's lines, and the problems that make a laptop not ready."""

    def __init__(self):
        self.problems: list[str] = []
        self.missing: list[str] = []      # Hub models that are not downloaded

    def fact(self, label: str, text: str) -> None:
        print(f"{label:<10} {text}", flush=True)

    def ok(self, text: str) -> None:
        print(f"[ ok ] {text}", flush=True)

    def info(self, text: str) -> None:
        print(f"[info] {text}", flush=True)

    def fail(self, text: str, why: str) -> None:
        print(f"[FAIL] {text}", flush=True)
        self.problems.append(why)


def run_doctor(args) -> int:
    report = _Report()
    try:
        profile = get_profile(args.profile)
    except ValueError as err:
        raise UsageError(str(err)) from None
    import torch

    report.fact("Python", f"{platform.python_version()} ({sys.executable})")
    report.fact("torch", torch.__version__)
    device = _device(report)
    _disk(report)
    why_offline = offline_reason()
    report.fact("Hub", "the Hugging Face Hub answers" if why_offline is None
                else f"no downloads now: {why_offline}")
    report.fact("profile", f"{profile.name} ({profile.reason})")
    images = profile.gallery_images()
    if images:
        report.ok(f"gallery {profile.gallery}: {len(images)} pictures")
    else:
        report.fail(f"gallery {profile.gallery}: no pictures",
                    f"the {profile.name} gallery {profile.gallery} is empty")
    working = 0
    for role, name in (("classifier", profile.classifier), ("CLIP", profile.clip),
                       ("SigLIP", profile.siglip)):
        working += _check_model(report, profile.name, role, name, device, images)
    _extras(report, profile.name)
    if report.problems:
        print(f"not ready for the {profile.name} profile: {_why_not(report, profile.name)}")
        return 1
    print(f"ready: the {profile.name} profile's {working} models load, run and find the right "
          f"picture on {device}")
    return 0


def _why_not(report: _Report, profile: str) -> str:
    """The last line's reason: what to do first."""
    problems = [p for p in report.problems if p]
    if report.missing:
        names = ", ".join(report.missing)
        what = (f"{names} is not on this computer" if len(report.missing) == 1
                else f"{len(report.missing)} models are not on this computer ({names})")
        other = "offline" if profile == "online" else "online"
        problems.insert(0, f"{what}; run `imgsearch prefetch` while online, or check the "
                           f"{other} profile: imgsearch doctor --profile {other}")
    more = f" (and {len(problems) - 1} more problems above)" if len(problems) > 1 else ""
    return problems[0] + more


def _device(report: _Report):
    import torch

    from ..device import select_device

    asked = os.environ.get(DEVICE_ENV)
    try:
        device = select_device()
    except RuntimeError as err:
        report.fail(f"device: {err}", f"{DEVICE_ENV}={asked} does not work here; unset it")
        return torch.device("cpu")
    if asked:
        why = f"chosen by {DEVICE_ENV}={asked}"
    elif device.type == "cuda":
        why = f"CUDA GPU {torch.cuda.get_device_name(device)}"
    elif device.type == "mps":
        why = "Apple GPU (MPS)"
    else:
        why = "no CUDA or Apple GPU found; the CPU embeds the pictures"
    report.fact("device", f"{device} ({why})")
    return device


def _disk(report: _Report) -> None:
    from huggingface_hub import constants

    cache = Path(constants.HF_HUB_CACHE)
    probe = cache
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free / 2**30
    report.fact("HF cache", f"{cache}: {free:.1f} GiB free")


def _check_model(report: _Report, profile: str, role: str, name: str, device, images) -> int:
    """Load ``name``, run it, and for a dual encoder search the gallery once; 1 if all went well."""
    label = f"{role:<10} {name}"
    if not is_cached(name):
        if model_info(name).local_dir:
            report.fail(f"{label}: its files are missing",
                        missing_files(name, model_info(name).source))
        else:
            report.fail(f"{label}: not on this computer", "")
            report.missing.append(name)
        return 0
    if not images:
        return 0
    start = time.perf_counter()
    try:
        loaded = load_model(name, device=device)
        found = _run_once(loaded, profile, images)
    except (ModelNotAvailableError, OSError, ValueError, RuntimeError) as err:
        report.fail(f"{label}: {one_line(err)}", f"{name} does not load or run: {one_line(err)}")
        return 0
    seconds = time.perf_counter() - start
    if found is None:
        report.ok(f"{label}: loads and classifies a picture ({seconds:.1f} s)")
        return 1
    query, expected = _SEARCH_CHECK[profile]
    if not Path(found).name.startswith(expected):
        report.fail(f"{label}: \"{query}\" finds {Path(found).name} first, not {expected}*",
                    f"{name} runs but ranks wrongly (is it the right model?)")
        return 0
    report.ok(f"{label}: \"{query}\" finds {Path(found).name} first ({seconds:.1f} s)")
    return 1


def _run_once(loaded, profile: str, images):
    """Run a classifier on one picture (None), or search the gallery (the top file)."""
    import numpy as np
    import torch

    from ..embeddings import embed_images, embed_texts, image_inputs
    from ..images import load_image

    if not loaded.has_text:
        inputs = image_inputs(loaded, [load_image(images[0])])
        with torch.inference_mode():
            logits = loaded.model(**{k: v.to(loaded.device) for k, v in inputs.items()}).logits
        if not torch.isfinite(logits).all():
            raise ValueError("the classifier gives non-finite scores")
        return None
    matrix = embed_images(loaded, images)
    query = embed_texts(loaded, _SEARCH_CHECK[profile][0])[0]
    return images[int(np.argmax(matrix @ query))]


def _extras(report: _Report, profile: str) -> None:
    """What matters beyond the profile: the other profile, search's default, the app, tests."""
    other = "online" if profile == "offline" else "offline"
    here = [n for n in PROFILE_MODELS[other].values() if is_cached(n)]
    report.info(f"{other} profile: {len(here)} of 3 models on this computer"
                + ("" if len(here) == 3 or other == "offline"
                   else " (`imgsearch prefetch` while online gets them)"))
    default = choose_model(None)[0]
    state = "here" if default in available_models() and is_cached(default) else "not here"
    report.info(f"`imgsearch search` uses {default} by default: {state}")
    try:
        import voila
        report.info(f"`imgsearch app`: Voila {voila.__version__}")
    except ImportError:
        report.info("`imgsearch app` needs Voila: pip install voila")
    if CHROMIUM.exists():
        report.info(f"browser test: {CHROMIUM} found")
    else:
        report.info(f"browser test: {CHROMIUM} missing (only `make test` needs it: "
                    "apt-get install chromium)")
