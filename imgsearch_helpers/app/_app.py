"""SearchApp: the widget wiring of the search app (what happens on each event)."""
from __future__ import annotations

import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ._view import THUMB_PX, AppView, thumb_html
from ..display import thumbnail_data_uri
from ..embeddings import embed_image_files, embed_images, embed_texts
from ..images import SCAN_EXTENSIONS, ImageLoadError, find_image_files
from ..index import ImageIndex
from ..models import LoadedModel, ModelNotAvailableError, load_model
from ..search import SearchResult, search

__all__ = ["SearchApp"]

_log = logging.getLogger(__name__)

# Errors that bad input or a missing file cause; the app explains them in words.
# (ImageLoadError is caught before these, with its own wording.)
_EXPECTED_ERRORS = (ValueError, ModelNotAvailableError, OSError)


@dataclass(frozen=True)
class _Query:
    """What the user searched for, kept so that a new model or k can run it again."""

    kind: str                # "text" or "image"
    text: str = ""
    image: object = None     # a path, bytes or PIL image
    label: str = ""          # how the status line names it
    # model name -> the query's embedding, so a new k or gallery does not embed it again
    vectors: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass
class _Embedded:
    """The gallery embedded with one model."""

    matrix: np.ndarray
    items: list[Path]
    skipped: list[tuple[Path, str]]

    def __post_init__(self):
        self._rows = {item: row for row, item in enumerate(self.items)}

    def row_of(self, item) -> int | None:
        """The row of ``item`` if it is a gallery path, else None."""
        if not isinstance(item, (str, os.PathLike)):
            return None
        return self._rows.get(Path(item))


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files under ``folder`` and its subfolders (:func:`find_image_files`' rules)."""
    folder = Path(folder)
    return [folder / rel for rel in find_image_files(folder)[0]]


def _read_captions(folder: Path) -> dict[str, str]:
    path = folder / "captions.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a readable JSON file ({err}); "
                         "fix or remove it to index this folder") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} must map file names to captions")
    return {str(k): str(v) for k, v in data.items()}


class SearchApp:
    """Search a gallery by text or by image, in the notebook.

    Parameters
    ----------
    images : folder, sequence of paths, or ImageIndex
        The gallery. A folder is searched recursively; its ``captions.json``
        (file name -> caption), if any, is used when ``captions`` is None. An
        :class:`~imgsearch_helpers.index.ImageIndex` gives its pictures and their
        embeddings, so nothing is embedded again (its model must be the first of
        ``models``; the folder's ``captions.json`` is read as for a folder).
    models : sequence of str or path
        Names or folders :func:`load_model` accepts; the first is active.
    captions : dict, optional
        File name (e.g. ``"lake_007.png"``) -> caption, shown under the result.
    k : int
        How many results to show at first.
    device : str, optional
        Passed to :func:`load_model`; default: the best one available.
    max_k : int
        The top-k slider's largest value.

    Notes
    -----
    Display the app by making it the last expression of a cell, or use
    ``app.widget``. Errors (an empty query, an unreadable upload, a missing
    folder or model) are shown inside the app and also kept in ``last_error``;
    the methods never raise for them.
    """

    def __init__(self, images, models: Sequence[str | os.PathLike], captions: dict | None = None,
                 k: int = 6, *, device: str | None = None, max_k: int = 24):
        if isinstance(models, (str, os.PathLike)):
            models = [models]
        self.models = [str(m) for m in models]
        if not self.models:
            raise ValueError("SearchApp needs at least one model")
        if k < 1:
            raise ValueError("k must be at least 1")
        self.device = device
        self.captions: dict[str, str] = dict(captions or {})
        self.last_error: str | None = None
        self.results: list[SearchResult] = []
        self._paths: list[Path] = []
        self._cache: dict[str, _Embedded] = {}     # model -> the gallery embedded with it
        self._thumbs: dict[Path, str] = {}
        self._query: _Query | None = None
        self._last_run = 0.0
        self._seq = 0
        self._last_ms: float | None = None
        options = [(Path(m).name if os.sep in m and Path(m).is_dir() else m, m) for m in self.models]
        self.ui = AppView(options, min(k, max_k), max(max_k, k), self._on_more)
        self._wire()
        with self._guard("Opening the gallery"):
            if isinstance(images, ImageIndex):
                paths = self._use_index(images)
                if captions is None:
                    self.captions = _read_captions(images.folder)
            elif isinstance(images, (str, os.PathLike)):
                folder = Path(images).expanduser()
                self._check_folder(folder)
                paths = list_images(folder)
                if captions is None:
                    self.captions = _read_captions(folder)
            else:
                paths = [Path(p) for p in images]
            if not paths:
                raise ValueError("the gallery is empty: give image files or a folder with images")
            self._paths = paths
            self._ensure_embedded()
        self._update_status("ready: type a query and press Enter" if self.last_error is None
                            else "not ready: see the message above")

    # -- public API --------------------------------------------------------------
    @property
    def widget(self):
        """The app's root widget, for ``display()`` or a larger layout."""
        return self.ui.root

    def _repr_mimebundle_(self, **kwargs):
        return self.ui.root._repr_mimebundle_(**kwargs)

    @property
    def model_name(self) -> str:
        """The model selected in the picker."""
        return self.ui.model.value

    @property
    def gallery(self) -> list[Path]:
        """The image files the app searches (before unreadable ones are skipped)."""
        return list(self._paths)

    @property
    def skipped(self) -> list[tuple[Path, str]]:
        """``(path, reason)`` of gallery files the active model could not embed."""
        embedded = self._cache.get(self.model_name)
        return list(embedded.skipped) if embedded else []

    def search_text(self, query: str) -> list[SearchResult]:
        """Search by text and show the results in the app, as Enter in the query box does.

        Parameters
        ----------
        query : str
            What to look for, in words.

        Returns
        -------
        list of SearchResult
            Best first; empty when the search failed (the app says why).
        """
        query = (query or "").strip()
        if not query:
            self._fail("The query is empty: type what you are looking for, "
                       "e.g. “a lake with mountains”, then press Enter.")
            return []
        return self._search(_Query("text", text=query, label=f"“{query}”"), "Text search")

    def search_image(self, image, name: str | None = None) -> list[SearchResult]:
        """Search with a picture as the query ("more like this") and show the results.

        Parameters
        ----------
        image : path, bytes or PIL.Image.Image
            A gallery picture reuses its cached embedding; anything else is embedded.
        name : str, optional
            How the status line names the query; default: the file name.

        Returns
        -------
        list of SearchResult
            Best first; empty when the search failed (the app says why).
        """
        if name is None:
            name = Path(image).name if isinstance(image, (str, os.PathLike)) else "a picture"
        return self._search(_Query("image", image=image, label=f"more like {name}"),
                            f"Searching with {name}")

    def index_folder(self, folder: str | os.PathLike) -> int:
        """Make the images in ``folder`` (and its subfolders) the gallery, as the Index button does.

        Unreadable files are skipped and named in the status line. The folder's
        ``captions.json``, if any, supplies captions. A text query on screen runs
        again on the new gallery. On an error the old gallery stays.

        Parameters
        ----------
        folder : str or path
            ``~`` is expanded.

        Returns
        -------
        int
            How many images were embedded; 0 when indexing failed (the app says why).
        """
        with self._guard("Indexing the folder"):
            if not str(folder).strip():
                raise ValueError("type the path of a folder with images first")
            path = Path(str(folder).strip()).expanduser()
            self._check_folder(path)
            paths = list_images(path)
            if not paths:
                raise ValueError(f"no images in {path} (looked for "
                                 f"{', '.join(sorted(SCAN_EXTENSIONS))})")
            captions = _read_captions(path)
            embedded = self._embed_gallery(self._model(), paths)
            # Swap only after the new gallery embedded fine: a failed index keeps the old one.
            self._paths, self.captions, self._cache = paths, captions, {self.model_name: embedded}
            self._thumbs.clear()
            self._clear_error()
            if self._query is not None and self._query.kind == "text":
                self._run(self._query, f"indexed {path}")
            else:
                self._query, self.results = None, []
                self.ui.hide_cells_from(0)
                self.ui.set_query_preview("")
                self._update_status(f"indexed {path}: type a query")
            self._warn_skipped(embedded)
            return len(embedded.items)
        return 0

    # -- callbacks -------------------------------------------------------------
    def _wire(self) -> None:
        ui = self.ui
        ui.query.observe(self._on_query_change, names="value")
        ui.search_button.on_click(self._on_search_click)
        ui.upload.observe(self._on_upload, names="value")
        ui.model.observe(self._on_model_change, names="value")
        ui.k.observe(self._on_k_change, names="value")
        ui.index_button.on_click(lambda _b: self.index_folder(ui.folder.value))

    def _on_query_change(self, change) -> None:
        # The box syncs its value on Enter (and when it loses focus); an emptied
        # box is no request to search, but a box of spaces gets an explanation.
        if change["new"] != "":
            self.search_text(change["new"])

    def _on_search_click(self, _button) -> None:
        text = self.ui.query.value.strip()
        # Clicking the button first takes the focus from the box, which already
        # ran this query: do not run it twice in a row.
        if (self._query is not None and self._query.kind == "text" and self._query.text == text
                and time.monotonic() - self._last_run < 1.0):
            return
        self.search_text(text)

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        upload = files[0]
        name = str(upload.get("name") or "upload")
        content = upload.get("content")
        data = bytes(content) if content is not None else b""
        try:
            self._search(_Query("image", image=data, label=f"more like {name}"),
                         f"Reading the upload “{name}”")
        finally:
            # Clear it so that uploading the same file again is a new event.
            self.ui.upload.value = ()

    def _on_model_change(self, change) -> None:
        with self._guard(f"Switching to {change['new']}"):
            embedded = self._ensure_embedded()
            if self._query is not None:
                self._run(self._query)
            else:
                self._clear_error()
                self._warn_skipped(embedded)
                self._update_status("ready")

    def _on_k_change(self, _change) -> None:
        if self._query is not None:
            with self._guard("Showing more results"):
                self._run(self._query)

    def _on_more(self, slot: int) -> None:
        if slot < len(self.results):
            item = self.results[slot].item
            self.search_image(item, name=Path(item).name)

    # -- work ----------------------------------------------------------------
    def _search(self, query: _Query, action: str) -> list[SearchResult]:
        with self._guard(action):
            return self._run(query)
        return []

    def _model(self) -> LoadedModel:
        return load_model(self.model_name, device=self.device)

    def _ensure_embedded(self) -> _Embedded:
        name = self.model_name
        if not self._paths:
            raise ValueError("there is no gallery yet: type a folder and click Index")
        if name not in self._cache:
            self._update_status(f"loading {name}…")
            self._cache[name] = self._embed_gallery(self._model(), self._paths)
            self._warn_skipped(self._cache[name])
        return self._cache[name]

    def _embed_gallery(self, loaded: LoadedModel, paths: list[Path]) -> _Embedded:
        """Embed ``paths`` with a progress bar; unreadable files are skipped with a reason.

        This is the one place that turns files into gallery embeddings: a
        persistent folder index can take over here without touching the rest.
        """
        self.ui.start_progress(len(paths), f"Embedding {len(paths)} images with {loaded.name}")
        try:  # one call, so that decoding overlaps the model all the way through
            matrix, ok, bad = embed_image_files(loaded, paths, progress=self.ui)
        finally:
            self.ui.stop_progress()
        items = [paths[i] for i in ok]
        skipped = [(Path(p), reason) for p, reason in bad]
        if not items:
            first = f" (e.g. {skipped[0][0].name}: {skipped[0][1]})" if skipped else ""
            raise ValueError(f"none of the {len(paths)} images could be read{first}")
        return _Embedded(matrix, items, skipped)

    def _run(self, query: _Query, note: str = "") -> list[SearchResult]:
        start = time.perf_counter()
        embedded = self._ensure_embedded()
        vector = query.vectors.get(self.model_name)
        if vector is None and query.kind == "text":
            vector = embed_texts(self._model(), query.text)[0]
        elif vector is None:
            row = embedded.row_of(query.image)
            # A gallery picture is already embedded with this model: reuse its row.
            vector = (embedded.matrix[row] if row is not None
                      else embed_images(self._model(), [query.image])[0])
        query.vectors[self.model_name] = vector
        results = search(vector, embedded.matrix, embedded.items, k=self.ui.k.value)
        self._last_ms = (time.perf_counter() - start) * 1000
        self._query, self.results, self._last_run = query, results, time.monotonic()
        self._clear_error()
        self._show(results, query, note)
        return results

    def _show(self, results: list[SearchResult], query: _Query, note: str) -> None:
        self._seq += 1
        for slot, (cell, result) in enumerate(zip(self.ui.first_cells(len(results)), results)):
            path = Path(result.item)
            cell.show(slot + 1, result.score, path.name, self.captions.get(path.name),
                      self._thumb(path), self._seq)
        self.ui.hide_cells_from(len(results))
        preview = None
        if query.kind == "image":
            try:
                preview = thumb_html(thumbnail_data_uri(query.image, 64), query.label,
                                               size=64)
            except ImageLoadError as err:
                preview = thumb_html(None, query.label, err.reason, size=64)
        title = f"Results for {query.label}" if query.kind == "text" else query.label.capitalize()
        self.ui.set_query_preview(title, preview)
        self._update_status(note, query, new_seq=False)

    def _thumb(self, path: Path) -> str:
        if path not in self._thumbs:
            try:
                self._thumbs[path] = thumb_html(
                    thumbnail_data_uri(path, THUMB_PX), path.name)
            except ImageLoadError as err:
                # e.g. deleted since it was embedded: say so in the cell, keep the rest.
                return thumb_html(None, path.name, err.reason)
        return self._thumbs[path]

    # -- messages ------------------------------------------------------------
    def _update_status(self, note: str = "", query: _Query | None = None,
                       new_seq: bool = True) -> None:
        embedded = self._cache.get(self.model_name)
        count = len(embedded.items) if embedded else len(self._paths)
        skipped = embedded.skipped if embedded else []
        parts = [f"{count} images"]
        if skipped:
            names = ", ".join(p.name for p, _ in skipped[:3]) + (", …" if len(skipped) > 3 else "")
            parts.append(f"{len(skipped)} skipped ({names})")
        parts.append(f"model {self.model_name}")
        if query is not None:
            parts += [query.label, f"{self._last_ms:.0f} ms"]
        parts.append(note)
        # _show numbers its search itself, so that cells and status share the number.
        if new_seq:
            self._seq += 1
        self.ui.set_status(parts, self._seq)

    def _warn_skipped(self, embedded: _Embedded) -> None:
        if embedded.skipped:
            lines = [f"{p.name}: {reason}" for p, reason in embedded.skipped[:10]]
            more = len(embedded.skipped) - len(lines)
            self.ui.show_message(
                f"Skipped {len(embedded.skipped)} file(s) that could not be read:\n"
                + "\n".join(lines) + (f"\n… and {more} more" if more > 0 else ""), "warning")

    def _use_index(self, index: ImageIndex) -> list[Path]:
        """Take an index's embeddings as the gallery of its model; returns the gallery."""
        if index.model_name != self.models[0]:
            raise ValueError(f"the index was built with {index.model_name}: make it the first "
                             f"of the app's models (they are {self.models})")
        paths = list(index.paths)
        self._cache[index.model_name] = _Embedded(np.asarray(index.embeddings, np.float32),
                                                  paths, list(index.skipped))
        return paths

    @staticmethod
    def _check_folder(folder: Path) -> None:
        if not folder.exists():
            raise ValueError(f"folder not found: {folder}")
        if not folder.is_dir():
            raise ValueError(f"not a folder: {folder}")

    @contextmanager
    def _guard(self, action: str):
        """Show errors inside the app instead of raising them into the notebook."""
        try:
            yield
        except ImageLoadError as err:
            self._fail(f"{action} failed: the picture cannot be read: {err.reason}")
        except _EXPECTED_ERRORS as err:
            self._fail(f"{action} failed: {err}")
        except Exception as err:  # noqa: BLE001
            # A widget callback that raises only logs a traceback the learner may never
            # see, and the app would look frozen: say what happened, keep the traceback.
            _log.exception("%s failed", action)
            self._fail(f"{action} failed unexpectedly: {type(err).__name__}: {err}")

    def _clear_error(self) -> None:
        self.last_error = None
        self.ui.clear_message()

    def _fail(self, text: str) -> None:
        self.last_error = text
        self.ui.stop_progress()
        self.ui.show_message(text, "error")
