"""Private: labelled sets of pictures (the gallery, a photo folder with labels.json, an ImageFolder)."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from ..folders import LABELS_FILE, kind_of, read_labels
from ..images import find_image_files, read_captions
from ..models import GALLERY_DIR, PHOTOS_DIR

# The labels file of a photo folder: {"photos": {file name: [subject, ...]}}.


@dataclass(frozen=True)
class LabelledSet:
    """Pictures, the subjects each one shows (main subject first), and optional captions."""

    name: str
    paths: tuple[Path, ...]
    labels: tuple[tuple[str, ...], ...]
    captions: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.paths:
            raise ValueError(f"{self.name}: no pictures")
        if len(self.labels) != len(self.paths) or any(not ls for ls in self.labels):
            raise ValueError(f"{self.name}: every picture needs at least one label")
        if self.captions and len(self.captions) != len(self.paths):
            raise ValueError(f"{self.name}: one caption per picture, or none")

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def vocabulary(self) -> list[str]:
        """Every label that some picture shows, sorted."""
        return sorted({label for ls in self.labels for label in ls})

    def subset(self, keep: Sequence[int]) -> "LabelledSet":
        """The same set with only the pictures at positions ``keep``."""
        pick = list(keep)
        return replace(
            self,
            paths=tuple(self.paths[i] for i in pick),
            labels=tuple(self.labels[i] for i in pick),
            captions=tuple(self.captions[i] for i in pick) if self.captions else (),
        )

    def describe(self) -> str:
        """One line: how many pictures, labels and text queries."""
        queries = (
            f"{len(self.captions)} caption queries"
            if self.captions
            else f"{len(self.vocabulary)} label queries"
        )
        return f"{self.name}: {len(self)} pictures, {len(self.vocabulary)} labels, {queries}"


def gallery_set(folder=None) -> LabelledSet:
    """The offline clip-art gallery: kinds from file names (``lake_000.png`` -> lake), captions."""
    folder = Path(folder) if folder is not None else GALLERY_DIR
    captions = read_captions(folder)
    if not captions:
        raise ValueError(
            f"{folder} has no captions.json; write it with imgsearch_helpers.clipart.write_gallery"
        )
    names = sorted(captions)
    return LabelledSet(
        f"{folder.name} (clip-art, with captions)",
        tuple(folder / n for n in names),
        tuple((kind_of(n),) for n in names),
        tuple(captions[n] for n in names),
    )


def photos_set(folder=None) -> LabelledSet:
    """A photo folder with a ``labels.json`` ({"photos": {name: [label, ...]}}), e.g. data/photos.

    Raises
    ------
    ValueError
        No labels file, a picture without labels, or labels for a file that is not there.
    """
    folder = Path(folder) if folder is not None else PHOTOS_DIR
    labels = read_labels(folder)
    files, _ = find_image_files(folder, recursive=False)
    unlabelled = [f for f in files if not labels.get(f)]
    absent = sorted(set(labels) - set(files))
    if unlabelled or absent:
        raise ValueError(
            f"{folder / LABELS_FILE} does not match the folder: "
            + "; ".join(
                filter(
                    None,
                    [
                        unlabelled and f"no labels for {', '.join(unlabelled)}",
                        absent and f"no such picture: {', '.join(absent)}",
                    ],
                )
            )
        )
    return LabelledSet(
        f"{folder.name} ({LABELS_FILE})",
        tuple(folder / f for f in files),
        tuple(labels[f] for f in files),
    )


def image_folder_set(folder) -> LabelledSet:
    """A folder with one sub-folder per label; the sub-folder's name is the label.

    ``golden_retriever/`` becomes the label "golden retriever". Pictures deeper down
    count for their top sub-folder; pictures lying directly in ``folder`` have no
    label and are left out with a warning.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder")
    files, problems = find_image_files(folder, recursive=True)
    for where, reason in problems:
        warnings.warn(f"{folder / where}: {reason}; its pictures are left out", stacklevel=2)
    loose = [f for f in files if "/" not in f]
    if loose:
        warnings.warn(
            f"{len(loose)} picture(s) directly in {folder} have no label sub-folder and "
            f"are left out, e.g. {loose[0]}",
            stacklevel=2,
        )
    labelled = [f for f in files if "/" in f]
    if not labelled:
        raise ValueError(
            f"{folder} has no pictures in sub-folders; lay it out one sub-folder per "
            "label, e.g. cat/1.jpg, car/2.jpg"
        )
    return LabelledSet(
        f"{folder.name} (one sub-folder per label)",
        tuple(folder / f for f in labelled),
        tuple((f.split("/")[0].replace("_", " "),) for f in labelled),
    )
