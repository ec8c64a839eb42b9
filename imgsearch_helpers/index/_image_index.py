"""ImageIndex: build, update, open and search a persistent index of one folder."""
from __future__ import annotations

import datetime
import hashlib
import os
import re
import time
from pathlib import Path
from typing import Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from ..settings import BATCH_SIZE, DECODER, DRAFT_SIZE, TOP_K
from ._store import (DTYPES, MANIFEST, ImageIndexError, IndexCorruptError, IndexLockedError,
                     IndexModelMismatchError, IndexReadOnlyError, Manifest, make_index_dir,
                     now_iso, open_embeddings, read_manifest, remove_stale_files, update_lock,
                     write_manifest,
                     verify_embeddings)
from ._capture import Capture, fill_captures, in_range, parse_when
from ._update import Update, scan, unchanged
from ..embeddings import ImageBatchResult, embed_images, embed_texts, iter_image_batches
from ..models import LoadedModel, clipart_note
from ..search import SearchResult, match_rows, top_k

__all__ = ["index_location", "user_cache_dir", "ImageIndex", "Embedder", "ModelEmbedder", "default_index_dir", "ImageIndexError",
           "IndexCorruptError", "IndexModelMismatchError", "IndexLockedError",
           "IndexReadOnlyError"]

INDEX_DIRNAME = ".imgsearch"
SORTS = ("relevance", "time")
# The stand-in time of a file that could not be read (it sorts first; the next update drops it).
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
# Stored rows are unit vectors; float16 storage leaves them within ~1e-3 of length 1.
_NORM_TOLERANCE = 1e-2


@runtime_checkable
class Embedder(Protocol):
    """What an index needs from a model; tests inject fast fakes through it.

    ``name`` identifies the embedding space: an index answers only queries
    embedded by an embedder of the same name.
    """

    name: str

    def embed_files(self, paths: Sequence[Path], progress=None) -> Iterator[ImageBatchResult]:
        """Yield batches of embeddings (unit rows) of ``paths``, with skipped positions."""

    def embed_text(self, text: str) -> np.ndarray:
        """One unit vector for a text query."""

    def embed_image(self, image) -> np.ndarray:
        """One unit vector for a query image (path, bytes or PIL image)."""


class ModelEmbedder:
    """:class:`Embedder` for a :class:`LoadedModel` (what ``build`` uses by default)."""

    def __init__(self, loaded: LoadedModel, batch_size: int = BATCH_SIZE,
                 num_workers: int | None = None, draft_size: int | str | None = DRAFT_SIZE,
                 decoder: str = DECODER):
        self.loaded, self.batch_size = loaded, batch_size
        self.num_workers, self.draft_size, self.decoder = num_workers, draft_size, decoder

    @property
    def weights(self) -> str | None:
        """The model's weights fingerprint (:func:`~imgsearch_helpers.models.weights_fingerprint`)."""
        return self.loaded.weights

    @property
    def name(self) -> str:
        # A model loaded from a folder is named by its absolute path, so that
        # "models/x" and "/home/me/models/x" are recognised as the same model.
        info = self.loaded.info
        if (info is None or self.loaded.name != info.name) and os.path.isdir(self.loaded.name):
            return os.path.abspath(self.loaded.name)
        return self.loaded.name

    def embed_files(self, paths, progress=None):
        return iter_image_batches(self.loaded, paths, self.batch_size, self.num_workers,
                                  self.draft_size, progress, self.decoder)

    def embed_text(self, text):
        return embed_texts(self.loaded, [text])[0]

    def embed_image(self, image):
        return embed_images(self.loaded, [image])[0]


def _as_embedder(model) -> Embedder:
    if isinstance(model, LoadedModel):
        return ModelEmbedder(model)
    if isinstance(model, Embedder):
        return model
    raise TypeError(f"expected a LoadedModel (from load_model) or an Embedder, "
                    f"got {type(model).__name__}")


def _weights(embedder) -> str | None:
    # An Embedder may say which weights it has; a test's fake need not.
    return getattr(embedder, "weights", None)


def _safe_name(model_name: str) -> str:
    # Readable and unique: "openai/clip-vit-base-patch32" -> "openai_clip-vit-base-patch32-1c2d..."
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("._")[-48:] or "model"
    return f"{readable}-{hashlib.sha256(model_name.encode()).hexdigest()[:8]}"


def default_index_dir(folder, model_name: str) -> Path:
    """Where :meth:`ImageIndex.build` keeps the index of ``folder`` for a model."""
    return Path(folder) / INDEX_DIRNAME / _safe_name(model_name)


def user_cache_dir() -> Path:
    """Where indexes of folders we may not write to are kept, per user."""
    base = os.environ.get("XDG_CACHE_HOME") or (
        os.environ.get("LOCALAPPDATA") if os.name == "nt" else None)
    return Path(base or Path.home() / ".cache") / "imgsearch"


def index_location(folder: Path, model_name: str) -> tuple[Path, bool]:
    """The index folder for ``folder`` and a model, and whether it is in the user cache.

    Next to the pictures (``<folder>/.imgsearch/...``) when the folder is writable;
    else under :func:`user_cache_dir`, keyed by the folder's absolute path.
    """
    folder = Path(os.path.abspath(folder))
    here = default_index_dir(folder, model_name)
    try:
        here.mkdir(parents=True, exist_ok=True)
        if os.access(here, os.W_OK):
            return here, False
    except OSError:        # read-only file system, no permission
        pass
    digest = hashlib.sha256(os.fsencode(folder)).hexdigest()[:12]
    return user_cache_dir() / "indexes" / f"{folder.name or 'root'}-{digest}" / here.name, True



class ImageIndex:
    """Embeddings of every image in a folder, saved next to it and kept up to date.

    Create one with :meth:`build` (new or existing) or :meth:`open` (read only).

    Attributes
    ----------
    folder : Path
        The indexed folder, as given to :meth:`build` or :meth:`open`; never taken
        from the index's files alone (an edited manifest must not point elsewhere).
    index_dir : Path
        Where the index is kept, symbolic links resolved.
    model_name : str
        The model that made the embeddings; queries must use the same.
    embeddings : np.ndarray, shape (n, dim)
        Unit rows, memory-mapped read-only, row i for ``paths[i]``.
    skipped : list of (Path, str)
        Files that could not be indexed, with the reason.
    summary : dict
        Counts of the last update: embedded, reused, resumed (from a checkpoint),
        moved, skipped, removed.
    note : str
        A warning worth showing with the results, e.g. that a clip-art model
        cannot understand this folder's photos ("" when there is none).
    """

    def __init__(self, index_dir: Path, manifest: Manifest, embeddings: np.ndarray,
                 folder: Path):
        self.index_dir = index_dir
        self.folder = folder
        self._manifest = manifest
        self.embeddings = embeddings
        self.summary = dict(manifest.last_summary)
        self.note = ""
        # (old, new) fingerprints when the last update found other weights and re-embedded.
        self.weights_changed: tuple | None = None
        # True when the folder is read-only for this user and the index lives in
        # user_cache_dir() instead (build() chooses; the app and notebooks get it too).
        self.in_user_cache = False
        self._paths: list[Path] | None = None

    # -- creating and opening ------------------------------------------------
    @classmethod
    def build(cls, folder, model, index_dir=None, *, recursive: bool = True,
              dtype: str = "float32", progress=None, checkpoint_every: int = 512,
              checkpoint_seconds: float = 30.0, wait: float = 0.0) -> "ImageIndex":
        """Index ``folder``, or bring its existing index up to date.

        Parameters
        ----------
        folder : str or Path
        model : LoadedModel or Embedder
            E.g. ``ModelEmbedder(loaded, batch_size=64)`` to change the batch size.
        index_dir : str or Path, optional
            Default ``<folder>/.imgsearch/<model name>-<hash>``: one index per model.
        recursive : bool
            Include sub-folders (hidden ones never).
        dtype : {"float32", "float16"}
            float16 halves the disk and memory; rankings may swap near-ties.
        progress : bool, tqdm-like or callable, optional
            Progress bar; default only when 64 or more files need embedding. A
            callable is called as ``progress(total, description)`` and returns the
            object to update (see :func:`~imgsearch_helpers.embeddings.progress_bar`).
        checkpoint_every, checkpoint_seconds
            Save progress after this many new embeddings or this many seconds,
            whichever comes first; a rerun after a crash starts from there. Ctrl-C
            (KeyboardInterrupt) saves every row embedded so far before it propagates.
        wait : float
            Seconds to wait while another process updates the same index (then
            only what it left undone is embedded); 0, the default, raises
            :class:`IndexLockedError` at once.

        Returns
        -------
        ImageIndex

        Raises
        ------
        IndexModelMismatchError
            ``index_dir`` holds an index made with another model.
        IndexCorruptError
            The existing index is damaged (it is not overwritten).
        IndexLockedError
            Another process is updating the index (for longer than ``wait``).
        IndexReadOnlyError
            The index cannot be written (a read-only disk) and is missing or out of
            date. An up-to-date index on a read-only disk is returned as it is.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise NotADirectoryError(f"{folder} is not a folder")
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, not {dtype!r}")
        embedder = _as_embedder(model)
        in_cache = False
        if index_dir is None:
            index_dir, in_cache = index_location(folder, embedder.name)
        index_dir = Path(index_dir)
        make_index_dir(index_dir)
        index_dir = index_dir.resolve()       # one spelling of it, whatever links led here
        manifest = read_manifest(index_dir)
        existed = manifest is not None
        if manifest is None:
            manifest = Manifest(
                model=embedder.name, weights=_weights(embedder), dim=0, dtype=dtype,
                recursive=recursive,
                folder=Path(os.path.relpath(folder.resolve(), index_dir)).as_posix(),
                created=now_iso())
            index = cls(index_dir, manifest, np.zeros((0, 0), dtype), folder)
        else:
            _check_folder(index_dir, manifest, folder, given=True)
            index = cls(index_dir, manifest, open_embeddings(index_dir, manifest), folder)
            if manifest.dtype != dtype:
                raise ValueError(f"{index_dir} stores {manifest.dtype}; to use {dtype}, "
                                 "build into another index_dir")
            manifest.recursive = recursive
        index.in_user_cache = in_cache
        try:
            return index.update(embedder, progress=progress, checkpoint_every=checkpoint_every,
                                checkpoint_seconds=checkpoint_seconds, wait=wait)
        except IndexReadOnlyError:
            # Nothing can be written; an index that needs no writing is fine as it is.
            if not existed or manifest.weights != _weights(embedder) or not index._unchanged():
                raise
        return index

    @classmethod
    def open(cls, index_dir, folder=None) -> "ImageIndex":
        """Open an index made by :meth:`build`, without scanning its folder.

        Parameters
        ----------
        index_dir : str or Path
        folder : str or Path, optional
            The folder it indexes. Needed only for an index kept outside its folder
            (built with ``index_dir=``); by default the folder that holds
            ``.imgsearch/``. The index must say it belongs to that folder.

        Raises
        ------
        FileNotFoundError
            No index there (the message lists the indexes of a photo folder).
        IndexCorruptError
            A file of the index is damaged, or it names another folder than the
            one it lies in.
        ImageIndexError
            It is the index of another folder than ``folder``, or ``folder`` is
            needed and was not given.
        """
        index_dir = Path(index_dir).resolve()
        manifest = read_manifest(index_dir)
        if manifest is None:
            raise FileNotFoundError(_no_index_message(index_dir))
        given = folder is not None
        if not given:
            if index_dir.parent.name != INDEX_DIRNAME:
                raise ImageIndexError(
                    f"{index_dir} is kept outside the folder it indexes; say which folder "
                    "that is: ImageIndex.open(index_dir, folder=...)")
            folder = index_dir.parent.parent
        folder = Path(folder)
        _check_folder(index_dir, manifest, folder, given)
        try:
            return cls(index_dir, manifest, open_embeddings(index_dir, manifest), folder)
        except IndexCorruptError:
            # An update in another process may have replaced the files between our
            # two reads; then a fresh manifest points to the new ones.
            latest = read_manifest(index_dir)
            if latest is None or latest == manifest:
                raise
        _check_folder(index_dir, latest, folder, given)
        return cls(index_dir, latest, open_embeddings(index_dir, latest), folder)

    # -- updating --------------------------------------------------------------
    def update(self, model, *, progress=None, checkpoint_every: int = 512,
               checkpoint_seconds: float = 30.0, wait: float = 0.0) -> "ImageIndex":
        """Rescan the folder: embed new and changed files, drop deleted ones.

        Returns ``self``, updated; :attr:`summary` says what was done. ``wait``
        and the errors are as for :meth:`build`.
        """
        embedder = _as_embedder(model)
        self._check_model(embedder.name)
        if checkpoint_every < 1 or checkpoint_seconds <= 0:
            raise ValueError("checkpoint_every and checkpoint_seconds must be positive")
        if not wait >= 0:
            raise ValueError(f"wait must be a number of seconds >= 0, not {wait!r}")
        with update_lock(self.index_dir, wait):
            # Another process may have committed since we read the manifest.
            latest = read_manifest(self.index_dir)
            if latest is not None and latest.generation != self._manifest.generation:
                _check_folder(self.index_dir, latest, self.folder, given=True)
                latest.recursive = self._manifest.recursive
                self._manifest = latest
                self.embeddings = open_embeddings(self.index_dir, latest)
            self._start_over_if_weights_changed(_weights(embedder))
            remove_stale_files(self.index_dir, self._manifest)
            scan_ns = time.time_ns()
            files, scan_skipped = scan(self.folder, self._manifest.recursive, self.index_dir)
            manifest, embeddings, summary = Update(
                self.index_dir, self._manifest, self.embeddings, files, scan_skipped, scan_ns,
            ).run(embedder, self.folder, progress, checkpoint_every, checkpoint_seconds)
        self._manifest, self.embeddings, self.summary = manifest, embeddings, summary
        self._paths = None
        if isinstance(embedder, ModelEmbedder):
            self.note = clipart_note(embedder.loaded, self.folder)
        return self

    def _start_over_if_weights_changed(self, weights: str | None) -> None:
        """Other weights under the same name (a retrained model, a new Hub commit, or
        an index made before fingerprints): no stored row is comparable, embed all."""
        old = self._manifest
        if old.weights == weights:
            return
        self.weights_changed = (old.weights, weights)
        self._manifest = Manifest(
            model=old.model, weights=weights, dim=0, dtype=old.dtype, folder=old.folder,
            recursive=old.recursive, generation=old.generation, created=old.created)
        self.embeddings = np.zeros((0, 0), old.dtype)

    def _unchanged(self) -> bool:
        files, _ = scan(self.folder, self._manifest.recursive, self.index_dir)
        if not unchanged(self._manifest, files):
            return False
        self.summary = dict(embedded=0, reused=len(self), resumed=0, moved=0,
                            skipped=len(self._manifest.skipped), removed=0)
        return True

    def verify(self) -> None:
        """Read the whole embeddings file and check it against its recorded SHA-256.

        Raises
        ------
        IndexCorruptError
            The file was changed or damaged since it was written.
        """
        verify_embeddings(self.index_dir, self._manifest)

    # -- searching ------------------------------------------------------------
    def search_text(self, model, query: str, k: int | None = TOP_K, matches=None,
                    calibration=None, **filters) -> list[SearchResult]:
        """The ``k`` images that best match a text query (any language the model knows).

        ``matches="auto"`` keeps only the images judged to match, each with its
        ``p_match`` (see :func:`~imgsearch_helpers.search.search`); the calibration
        is the model's own unless ``calibration`` is given, and judges the query by
        its words (:meth:`~imgsearch_helpers.matching.Calibration.for_query`: a
        stricter rule when it names a colour or a count). ``k=None``: no limit.
        ``taken_after``, ``taken_before`` and ``sort`` are as for :meth:`search_embedding`.
        """
        embedder = _as_embedder(model)
        self._check_model(embedder.name)
        self._check_weights(embedder)
        if matches is not None and calibration is None:
            calibration = getattr(embedder, "loaded", None)
        return self.search_embedding(embedder.embed_text(query), k, matches, calibration,
                                     text=query, **filters)

    def search_image(self, model, image, k: int = TOP_K) -> list[SearchResult]:
        """The ``k`` images most similar to ``image`` (path, bytes or PIL image).

        Raises
        ------
        ImageLoadError
            The query image cannot be read (the reason says why).
        """
        embedder = _as_embedder(model)
        self._check_model(embedder.name)
        self._check_weights(embedder)
        return self.search_embedding(embedder.embed_image(image), k)

    def search_embedding(self, vector, k: int | None = TOP_K, matches=None, calibration=None, *,
                         text: str | None = None, taken_after=None, taken_before=None,
                         sort: str = "relevance") -> list[SearchResult]:
        """The ``k`` nearest images to a unit ``vector`` of the index's model.

        Parameters
        ----------
        vector : array, (dim,)
        k : int or None
            At most this many results (None: no limit).
        matches, calibration, text
            As for :func:`~imgsearch_helpers.search.search`: only the images judged to
            match, the query judged by its words ``text``.
        taken_after, taken_before : date, datetime or str, optional
            Only images taken in ``[taken_after, taken_before)`` (see :attr:`captures`);
            a bare date ("2024-05-01") is its whole day. With ``matches``, a picture is
            judged against the whole collection, as without the dates, and kept when
            taken then (:meth:`rows_taken`).
        sort : {"relevance", "time"}
            "time": the results (the matches, or the ``k`` best) in the order they were
            taken, oldest first.
        """
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, not {sort!r}")
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if len(self) == 0:
            return []
        if vector.shape[0] != self.dim:
            raise ValueError(f"query has dimension {vector.shape[0]}, the index {self.dim}")
        dated = taken_after is not None or taken_before is not None
        rows = self.rows_taken(taken_after, taken_before) if dated else None
        if rows is not None and len(rows) == 0:
            return []
        if matches is not None:
            # Judged against the whole collection, then kept when taken in the dates.
            found = match_rows(vector, self.embeddings, matches, calibration, k, text, within=rows)
            idx, scores, probs = (list(x) for x in zip(*found)) if found else ([], [], [])
        else:
            matrix = self.embeddings if rows is None else self.embeddings[rows]
            idx, scores = top_k(vector, matrix, len(matrix) if k is None else k)
            probs = [None] * len(idx)
            if rows is not None:
                idx = [int(rows[i]) for i in idx]
        self._check_rows(idx)
        paths = self._manifest.paths
        out = [SearchResult(self.folder / paths[i], float(s), int(i), p)
               for i, s, p in zip(idx, scores, probs)]
        if sort == "time":
            captures = self.captures
            out.sort(key=lambda r: (captures[r.index].sort_key(), r.index))
        return out

    def rows_taken(self, taken_after=None, taken_before=None) -> np.ndarray:
        """The rows of the images taken in ``[taken_after, taken_before)``, in order.

        Parameters
        ----------
        taken_after, taken_before : date, datetime or str, optional
            As for :meth:`search_embedding`; a bare date ("2024-05-01") is its whole day.
            Neither: every row.
        """
        if taken_after is None and taken_before is None:
            return np.arange(len(self))
        after = None if taken_after is None else parse_when(taken_after)
        before = None if taken_before is None else parse_when(taken_before, end=True)
        return np.flatnonzero(np.array([in_range(c, after, before) for c in self.captures], bool))

    @property
    def captures(self) -> list[Capture]:
        """When each image was taken and by what camera, in row order.

        From EXIF DateTimeOriginal (and OffsetTimeOriginal), else the file's
        modification time; :attr:`Capture.source` says which. Read from the files
        the first time they are needed (an index made before capture times were
        recorded gains them then, without embedding anything again) and saved in
        the manifest when the index can be written.
        """
        manifest = self._manifest
        if any(p not in manifest.captures for p in manifest.paths):
            captures = dict(manifest.captures)
            if fill_captures(captures, manifest.paths, self.folder):
                manifest.captures = captures
                self._save_captures()
        return [Capture.from_json(manifest.captures[p]) if p in manifest.captures
                else Capture(_EPOCH, "mtime", None) for p in manifest.paths]

    def _save_captures(self) -> None:
        # Only the manifest changes, and only if no other process has committed since
        # it was read; a busy or read-only index keeps the times in memory this time.
        try:
            with update_lock(self.index_dir, 0.0):
                latest = read_manifest(self.index_dir)
                if latest is not None and latest.generation == self._manifest.generation:
                    write_manifest(self.index_dir, self._manifest)
        except (IndexLockedError, IndexReadOnlyError, OSError):
            pass

    def _check_rows(self, rows) -> None:
        # Only the rows about to be returned, so a search stays as fast as before:
        # a damaged row (NaN, or a huge value that would win every query) is never a result.
        rows = np.sort(np.asarray(rows, dtype=np.int64))
        norms = np.linalg.norm(np.asarray(self.embeddings[rows], np.float64), axis=1)
        bad = np.flatnonzero(~(np.abs(norms - 1.0) <= _NORM_TOLERANCE))   # NaN is bad too
        if len(bad):
            raise IndexCorruptError(
                f"{self.index_dir / str(self._manifest.embeddings_file)}: the row of "
                f"{self._manifest.paths[rows[bad[0]]]!r} is not a unit vector (length "
                f"{norms[bad[0]]:.3g}); the file was changed or damaged. Rebuild the "
                "index: move or delete its folder and build it again.")

    def _check_weights(self, embedder) -> None:
        weights = _weights(embedder)
        if self.weights is not None and weights is not None and weights != self.weights:
            raise IndexModelMismatchError(
                f"this index was built with other weights of {self.model_name!r} "
                f"({self.weights}, now {weights}: retrained or updated); its embeddings are "
                "not comparable. ImageIndex.build(folder, model) embeds the pictures again.")

    def _check_model(self, name: str) -> None:
        if name != self.model_name:
            raise IndexModelMismatchError(
                f"this index was built with model {self.model_name!r}; it cannot be used with "
                f"{name!r} (their embeddings are not comparable). Build an index for "
                f"{name!r}: ImageIndex.build(folder, model) keeps one per model.")

    # -- what is inside ---------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self._manifest.model

    @property
    def weights(self) -> str | None:
        """The fingerprint of the weights that made the embeddings (None: unknown)."""
        return self._manifest.weights

    @property
    def dim(self) -> int:
        return self._manifest.dim

    @property
    def dtype(self) -> str:
        return self._manifest.dtype

    @property
    def relpaths(self) -> list[str]:
        """Paths relative to :attr:`folder`, "/"-separated, row order (cheap)."""
        return list(self._manifest.paths)

    @property
    def paths(self) -> list[Path]:
        """Full paths of the indexed images, in row order."""
        if self._paths is None:
            folder = self.folder
            self._paths = [folder / p for p in self._manifest.paths]
        return self._paths

    @property
    def skipped(self) -> list[tuple[Path, str]]:
        return [(self.folder / p, reason) for p, reason in self._manifest.skipped]

    def __len__(self) -> int:
        return len(self._manifest.paths)

    def __repr__(self) -> str:
        return (f"ImageIndex({str(self.folder)!r}, {len(self)} images, "
                f"{len(self._manifest.skipped)} skipped, model={self.model_name!r}, "
                f"{self.dtype})")


def _check_folder(index_dir: Path, manifest: Manifest, folder: Path, given: bool) -> None:
    """The folder an index belongs to comes from the caller; the manifest must agree."""
    recorded = (index_dir / manifest.folder).resolve()
    if recorded == folder.resolve():
        return
    if given:
        raise ImageIndexError(f"{index_dir} is the index of {recorded}, not of {folder}; "
                              "give build() another index_dir")
    raise IndexCorruptError(f"{index_dir / MANIFEST} says it indexes {recorded}, but it lies "
                            f"in {folder}: it was edited or moved on its own. The index was "
                            "left as it is; to start over, move or delete its folder and "
                            "build it again.")


def _no_index_message(index_dir: Path) -> str:
    root = index_dir / INDEX_DIRNAME
    found = sorted(p.parent.name for p in root.glob(f"*/{MANIFEST}")) if root.is_dir() else []
    hint = (f"; this folder has indexes in {root}: {', '.join(found)}" if found
            else "; make one with ImageIndex.build(folder, model)")
    return f"no index in {index_dir} (no {MANIFEST}){hint}"
