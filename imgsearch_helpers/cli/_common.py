"""What the subcommands share: errors, messages, the model, the folder, its index, progress."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ..device import select_device
from ..index import ImageIndex, IndexLockedError, ModelEmbedder, index_location
from ..models import (GALLERY_DIR, LoadedModel, ModelNotAvailableError, available_models,
                      clipart_note, is_cached, load_model, missing_files, model_info,
                      no_text_encoder, offline_reason)
from ..folders import is_course_clipart
from ..profiles import PROFILE_MODELS
from ..settings import DEVICE_ENV, MODEL_ENV

DEFAULT_MODEL = PROFILE_MODELS["online"]["siglip"]


class CliError(Exception):
    """An expected failure: its message is one line that says what to do."""

    status = 1


class UsageError(CliError):
    """The command line asks for something that cannot be: exit status 2."""

    status = 2


class Interrupted(CliError):
    """Ctrl-C: the conventional status of a process ended by SIGINT."""

    status = 130


def note(text: str) -> None:
    """A line for the person at the terminal (stderr, so pipes get only results)."""
    print(f"imgsearch: {text}", file=sys.stderr, flush=True)


def shown(path) -> str:
    """A path a terminal can open: relative to the current folder when inside it."""
    full = os.path.abspath(path)
    try:
        rel = os.path.relpath(full)
    except ValueError:           # another drive on Windows
        return full
    return full if rel == os.pardir or rel.startswith(os.pardir + os.sep) else rel


def model_options() -> argparse.ArgumentParser:
    """--model, --device and --verbose, shared by the subcommands that load a model."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("-m", "--model", metavar="NAME",
                        help=f"a registered name (`imgsearch models`) or a model folder; default: "
                             f"${MODEL_ENV}, else {DEFAULT_MODEL}")
    add_device_options(parent)
    return parent


def add_device_options(parent: argparse.ArgumentParser) -> None:
    """--device and --verbose (the app adds them after its own --model: one or more)."""
    parent.add_argument("--device", metavar="DEVICE",
                        help=f"cpu, cuda, cuda:1 or mps; default: ${DEVICE_ENV}, else the "
                             "best one here")
    parent.add_argument("-v", "--verbose", action="store_true",
                        help="also show the libraries' own warnings and messages (the skip "
                             "list already says which files were skipped and why)")


# -- the model -----------------------------------------------------------------------

def choose_model(arg: str | None, folder: Path | None = None) -> tuple[str, bool]:
    """The model the user asked for, and whether it is the built-in default.

    With no model named, the course's own clip-art (recognised by its captions.json,
    wherever it lies) gets the offline profile's model when the default photo model is
    not here and cannot be fetched now. A model the user names is never swapped.
    """
    if arg:
        return arg, False
    env = os.environ.get(MODEL_ENV, "").strip()
    if env:
        return env, False
    if folder is not None and is_course_clipart(folder, GALLERY_DIR) \
            and not is_cached(DEFAULT_MODEL) and offline_reason() is not None:
        name = PROFILE_MODELS["offline"]["siglip"]
        note(f"{shown(folder)} is the course's clip-art and {DEFAULT_MODEL} is not here: "
             f"using the offline profile's {name}")
        return name, False
    return DEFAULT_MODEL, True


def check_model(name: str, is_default: bool = False) -> str:
    """Check that ``name`` can be used for search here, before anything is loaded.

    Returns the name to pass to :func:`load_model` (a folder made absolute).
    Raises UsageError or CliError with what to do; nothing is ever swapped in.
    """
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UsageError(f"{path} is a folder but not a saved model (no config.json): give "
                             "a folder written by save_pretrained() or a registered name "
                             "(`imgsearch models`)")
        return str(path.resolve())
    if name not in available_models():
        raise UsageError(f"unknown model {name!r}: `imgsearch models` lists the registered "
                         "names; a folder saved with save_pretrained() works too")
    info = model_info(name)
    if info.task != "zero-shot":
        raise UsageError(no_text_encoder(name))
    if is_cached(name):
        return name
    if info.local_dir:
        raise CliError(missing_files(name, info.source))
    why = offline_reason()
    if why is None:
        note(f"{name} ({info.size} parameters) is not on this computer yet: downloading it "
             "into the Hugging Face cache, once")
        return name
    if is_default:
        raise CliError(f"the default model for photos, {name}, is not on this computer and {why}. "
                       "While online, run `imgsearch prefetch` once to get it. The course's "
                       f"offline models (--model {PROFILE_MODELS['offline']['siglip']}) "
                       "understand only the course's clip-art, not photos.")
    raise CliError(f"{name} is not on this computer and {why}. While online, run "
                   f"`imgsearch prefetch {name}` once to get it; `imgsearch models` shows "
                   "which models are here.")


def load(name: str, device: str | None) -> LoadedModel:
    """Load a model checked by :func:`check_model`, with errors as one line."""
    try:
        chosen = select_device(device)
    except RuntimeError as err:
        source = "--device" if device else DEVICE_ENV
        asked = device or os.environ.get(DEVICE_ENV)
        raise UsageError(f"{source} {asked!r} is not a device that works here ({err}); use cpu, "
                         "or leave it out to pick the best one") from None
    try:
        loaded = load_model(name, device=chosen)
    except ModelNotAvailableError as err:
        raise CliError(f"{name} could not be loaded: {str(err).splitlines()[0]}") from None
    except (OSError, ValueError) as err:
        raise UsageError(f"{name} could not be loaded as a model: {one_line(err)}") from None
    if not loaded.has_text:
        raise UsageError(no_text_encoder(name))
    return loaded


def one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


# -- the folder and its index --------------------------------------------------------

def folder_arg(value: str | None) -> Path:
    """The folder to search (default: the current one), absolute, checked."""
    folder = Path(value or ".").expanduser()
    if not folder.exists():
        raise UsageError(f"no such folder: {folder}")
    if not folder.is_dir():
        raise UsageError(f"not a folder: {folder} (give the folder that holds your pictures)")
    return Path(os.path.abspath(folder))


class Progress:
    """Makes the index's progress bars: tqdm on a terminal, a plain line now and then otherwise.

    Pass the object itself as ``progress=`` (it is called with the total);
    :attr:`done` counts the images handed to the model so far.
    """

    def __init__(self, stream=None, every_seconds: float = 5.0):
        self.stream = stream or sys.stderr
        self.every_seconds = every_seconds
        self.bars: list = []

    def __call__(self, total: int, desc: str):
        if self.stream.isatty():
            from tqdm import tqdm
            bar = tqdm(total=total, desc=desc, unit="img", file=self.stream, dynamic_ncols=True)
        else:
            bar = _Lines(total, desc, self.stream, self.every_seconds)
        self.bars.append(bar)
        return bar

    @property
    def done(self) -> int:
        return sum(int(bar.n) for bar in self.bars)

    @property
    def total(self) -> int:
        return sum(int(bar.total or 0) for bar in self.bars)


class _Lines:
    """A progress report for logs and pipes: a line every 10 % or every few seconds."""

    def __init__(self, total: int, desc: str, stream, every_seconds: float):
        self.total, self.desc, self.stream, self.every = total, desc, stream, every_seconds
        self.n, self.start = 0, time.monotonic()
        self.last_time, self.last_tenth = self.start, 0
        self._say(f"{total} {'image' if total == 1 else 'images'} to embed")

    def update(self, n: int) -> None:
        self.n += n
        now, tenth = time.monotonic(), 10 * self.n // max(self.total, 1)
        if self.n < self.total and (tenth > self.last_tenth or now - self.last_time >= self.every):
            rate = self.n / max(now - self.start, 1e-9)
            left = (self.total - self.n) / rate if rate else 0
            self._say(f"{self.n}/{self.total} images ({100 * self.n // self.total}%), "
                      f"{rate:.0f} img/s, about {left:.0f} s left")
            self.last_time, self.last_tenth = now, tenth

    def close(self) -> None:
        if self.n >= self.total:
            self._say(f"{self.n}/{self.total} images in {time.monotonic() - self.start:.1f} s")

    def _say(self, text: str) -> None:
        print(f"{self.desc}: {text}", file=self.stream, flush=True)


def open_index(folder: Path, loaded: LoadedModel, resume: str) -> ImageIndex:
    """Bring ``folder``'s index for ``loaded`` up to date (only new and changed files
    are embedded) and return it.

    ``resume`` is the command that continues after Ctrl-C, for the message.
    """
    embedder = ModelEmbedder(loaded)
    index_dir, in_cache = index_location(folder, embedder.name)
    if in_cache:
        note(f"{folder} is read-only for you: its index is kept in {index_dir}")
    progress = Progress()
    try:
        index = ImageIndex.build(folder, embedder, progress=progress)
        if index.weights_changed:
            note(f"the weights of {loaded.name} are not those the index was made with "
                 "(retrained or updated): every picture was embedded again")
        return index
    except IndexLockedError:
        try:
            index = ImageIndex.open(index_dir)
        except FileNotFoundError:
            raise CliError("another imgsearch is building this folder's index right now; wait "
                           "for it to finish, then run this again") from None
        note("another imgsearch is updating this index right now: using what it held before")
        return index
    except KeyboardInterrupt:
        if not progress.bars:
            raise Interrupted("stopped before any picture was embedded") from None
        raise Interrupted(f"stopped: about {progress.done} of {progress.total} images were "
                          f"embedded and are saved; `{resume}` goes on from there") from None


def warn_clipart(model_name: str, folder: Path) -> None:
    text = clipart_note(model_name, folder)
    if text:
        note("note: " + text)
