"""The pictures the app searches and their embeddings, per model (no widgets here)."""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..embeddings import embed_image_files
from ..images import SCAN_EXTENSIONS, find_image_files, read_captions
from ..index import ImageIndex
from ..models import ClipartModelWarning, LoadedModel, clipart_note

__all__ = ["Gallery", "Embedded"]


@dataclass
class Embedded:
    """A gallery embedded with one model: row ``i`` of ``matrix`` is ``items[i]``."""

    matrix: np.ndarray
    items: list[Path]
    skipped: list[tuple[Path, str]]
    note: str = ""                        # e.g. where the persistent index lives
    warning: str = ""                     # shown to the user, e.g. a clip-art model on photos
    _rows: dict = field(init=False, repr=False)

    def __post_init__(self):
        self._rows = {item: row for row, item in enumerate(self.items)}

    def row_of(self, item) -> int | None:
        """The row of ``item`` if it is a gallery path, else None."""
        if not isinstance(item, (str, os.PathLike)):
            return None
        return self._rows.get(Path(item))


class Gallery:
    """A list of image files (or a folder) and its embeddings, computed once per model.

    A folder is backed by a persistent :class:`~imgsearch_helpers.index.ImageIndex`
    per model, kept in the folder's ``.imgsearch``: opening the same folder again
    embeds only new and changed files. A list of files is embedded in memory.

    Parameters
    ----------
    paths : sequence of paths
    captions : dict, optional
        File name -> caption.
    folder : path, optional
        Set by :meth:`from_folder`: the folder the paths come from.
    """

    def __init__(self, paths: Sequence, captions: dict | None = None, folder: Path | None = None):
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise ValueError("the gallery is empty: give image files or a folder with images")
        self.captions = dict(captions or {})
        self.folder = folder
        self._by_model: dict[str, Embedded] = {}

    @classmethod
    def from_folder(cls, folder) -> "Gallery":
        """The image files under ``folder`` (and its subfolders), with its ``captions.json``."""
        folder = Path(folder).expanduser()
        if not folder.exists():
            raise ValueError(f"folder not found: {folder}")
        if not folder.is_dir():
            raise ValueError(f"not a folder: {folder}")
        paths = [folder / rel for rel in find_image_files(folder)[0]]
        if not paths:
            raise ValueError(f"no images in {folder} (looked for {', '.join(sorted(SCAN_EXTENSIONS))})")
        return cls(paths, read_captions(folder), folder)

    @classmethod
    def from_index(cls, index: ImageIndex) -> "Gallery":
        """An index's pictures, with its embeddings already in place for its model."""
        paths = list(index.paths)
        gallery = cls(paths, read_captions(index.folder), index.folder)
        gallery._by_model[index.model_name] = Embedded(
            np.asarray(index.embeddings, np.float32), paths, list(index.skipped),
            f"index {index.index_dir}", clipart_note(index.model_name, index.folder))
        return gallery

    def cached(self, model_name: str) -> Embedded | None:
        """The embeddings for ``model_name`` if they are already computed."""
        return self._by_model.get(model_name)

    def embed(self, loaded: LoadedModel, progress=None) -> Embedded:
        """The gallery embedded with ``loaded`` (computed on first use, then cached).

        Parameters
        ----------
        loaded : LoadedModel
        progress : object with ``update(n)``, optional
            Advanced as images are embedded.

        Raises
        ------
        ValueError
            No image of the gallery could be read.
        """
        if loaded.name not in self._by_model:
            embedded = self._embed_folder(loaded, progress) if self.folder is not None \
                else self._embed_files(loaded, progress)
            embedded.warning = clipart_note(loaded, self.folder or self.paths)
            if not embedded.items:
                first = f" (e.g. {embedded.skipped[0][0].name}: {embedded.skipped[0][1]})" \
                    if embedded.skipped else ""
                raise ValueError(f"none of the {len(self.paths)} images could be read{first}")
            self._by_model[loaded.name] = embedded
        return self._by_model[loaded.name]

    def _embed_files(self, loaded: LoadedModel, progress) -> Embedded:
        # One call, so that decoding overlaps the model all the way through.
        with warnings.catch_warnings():     # the app shows the note itself (Embedded.warning)
            warnings.simplefilter("ignore", ClipartModelWarning)
            matrix, ok, bad = embed_image_files(loaded, self.paths, progress=progress)
        return Embedded(matrix, [self.paths[i] for i in ok], [(Path(p), r) for p, r in bad])

    def _embed_folder(self, loaded: LoadedModel, progress) -> Embedded:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ClipartModelWarning)
            index = ImageIndex.build(self.folder, loaded, progress=progress if progress is not None
                                     else False)
        summary = index.summary
        note = (f"index {index.index_dir}: {summary.get('embedded', 0)} embedded, "
                f"{summary.get('reused', 0)} reused")
        return Embedded(np.asarray(index.embeddings), index.paths, index.skipped, note)
