"""SearchApp: the widget wiring of the search app (what happens on each event)."""
from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence


from ._gallery import Embedded, Gallery
from ._feedback import judged, refined
from ._view import THUMB_PX, AppView, thumb_html
from ._why import why_thumb
from ._when import Taken, search_taken
from ..display import thumbnail_data_uri
from ..embeddings import embed_images, embed_texts
from ..evaluation import detail_note
from ..images import ImageLoadError
from ..index import ImageIndex
from ..matching import MATCH_PROBABILITY, calibration_for, match_words
from ..models import LoadedModel, ModelNotAvailableError, load_model
from ..search import SearchResult

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


# The app opens with six results, not settings.TOP_K's five: six cells of about 170 px
# (_view.THUMB_PX with its padding and frame) fill one row of a notebook's or Voila's
# ~1000 px page.
# The slider goes up to four such rows.
APP_TOP_K = 6
APP_MAX_K = 4 * APP_TOP_K


class SearchApp:
    """Search a gallery by text or by image, in the notebook.

    Parameters
    ----------
    images : folder, sequence of paths, or ImageIndex
        The gallery. A folder is searched recursively, its ``captions.json``
        (file name -> caption), if any, is used when ``captions`` is None, and its
        embeddings are kept in a persistent index per model (see :class:`Gallery`).
        An :class:`~imgsearch_helpers.index.ImageIndex` gives its pictures and their
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
                 k: int = APP_TOP_K, *, device: str | None = None, max_k: int = APP_MAX_K):
        if isinstance(models, (str, os.PathLike)):
            models = [models]
        self.models = [str(m) for m in models]
        if not self.models:
            raise ValueError("SearchApp needs at least one model")
        if k < 1:
            raise ValueError("k must be at least 1")
        self.device = device
        self.last_error: str | None = None
        self.results: list[SearchResult] = []
        self._gallery: Gallery | None = None
        self._thumbs: dict[Path, str] = {}
        self._query: _Query | None = None
        self._last_run = 0.0
        self._seq = 0
        self._last_ms: float | None = None
        # Results marked right (True) or wrong (False) for the query on screen.
        self.marks: dict[Path, bool] = {}
        self._taken = Taken()
        self.matches: int | None = None
        options = [(Path(m).name if os.sep in m and Path(m).is_dir() else m, m) for m in self.models]
        self.ui = AppView(options, min(k, max_k), max(max_k, k), self._on_more, self.mark)
        self._wire()
        with self._guard("Opening the gallery"):
            if isinstance(images, ImageIndex):
                if images.model_name != self.models[0]:
                    raise ValueError(f"the index was built with {images.model_name}: make it "
                                     f"the first of the app's models (they are {self.models})")
                gallery = Gallery.from_index(images)
            elif isinstance(images, (str, os.PathLike)):
                gallery = Gallery.from_folder(images)
            else:
                gallery = Gallery(images)
            if captions is not None:
                gallery.captions = dict(captions)
            self._gallery = gallery
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
        return list(self._gallery.paths) if self._gallery else []

    @property
    def captions(self) -> dict[str, str]:
        """File name -> caption shown under a result."""
        return self._gallery.captions if self._gallery else {}

    @property
    def skipped(self) -> list[tuple[Path, str]]:
        """``(path, reason)`` of gallery files the active model could not embed."""
        embedded = self._embedded_now()
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
        self._forget_upload()
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
        self._forget_upload()
        if name is None:
            name = Path(image).name if isinstance(image, (str, os.PathLike)) else "a picture"
        return self._search(_Query("image", image=image, label=f"more like {name}"),
                            f"Searching with {name}")

    def mark(self, slot: int, right: bool = True) -> list[SearchResult]:
        """Mark result ``slot`` (0 = the first) right or wrong, as its 👍 / 👎 buttons do.

        The query moves towards the pictures marked right and away from those marked
        wrong (:func:`~imgsearch_helpers.matching.refine`) and the results are ranked
        again. Marking a result the same way twice takes the mark back.

        Returns
        -------
        list of SearchResult
            The new results; empty when the search failed (the app says why).
        """
        if self._query is None or not 0 <= slot < len(self.results):
            return []
        item = Path(self.results[slot].item)
        if self.marks.get(item) is right:
            del self.marks[item]
        else:
            self.marks[item] = right
        return self._search(self._query, "Learning from your marks")

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
            gallery = Gallery.from_folder(path)
            embedded = self._embed_gallery(gallery)
            # Swap only after the new gallery embedded fine: a failed index keeps the old one.
            self._gallery = gallery
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
        ui.why.observe(self._on_k_change, names="value")     # same thing: show the query again
        # A new date range or order runs the query on screen again, as a new k does.
        for widget in (ui.taken_after, ui.taken_before, ui.sort):
            widget.observe(self._on_k_change, names="value")
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
        # The button reads "Query image (1)" while the upload is the query; another query
        # clears it (and so lets the same file be uploaded again as a new event).
        if not self._search(_Query("image", image=data, label=f"more like {name}"),
                            f"Reading the upload “{name}”"):
            self._forget_upload()

    def _forget_upload(self) -> None:
        if self.ui.upload.value:
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
        if query != self._query:
            self.marks = {}        # marks belong to the query they were made for
        with self._guard(action):
            return self._run(query)
        return []

    def _model(self) -> LoadedModel:
        return load_model(self.model_name, device=self.device)

    def _embedded_now(self) -> Embedded | None:
        return self._gallery.cached(self.model_name) if self._gallery else None

    def _ensure_embedded(self) -> Embedded:
        if self._gallery is None:
            raise ValueError("there is no gallery yet: type a folder and click Index")
        embedded = self._embedded_now()
        if embedded is None:
            self._update_status(f"loading {self.model_name}…")
            embedded = self._embed_gallery(self._gallery)
            self._warn_skipped(embedded)
        return embedded

    def _embed_gallery(self, gallery: Gallery) -> Embedded:
        """Embed ``gallery`` with the active model, with a progress bar."""
        loaded = self._model()
        n = len(gallery.paths)
        self.ui.start_progress(n, f"Embedding {n} images with {loaded.name}")
        try:
            return gallery.embed(loaded, progress=self.ui)
        finally:
            self.ui.stop_progress()

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
        vector = refined(vector, self.marks, embedded)
        results = search_taken(self._taken, vector, embedded.matrix, embedded.items,
                               self.ui.k.value, self.ui.taken_after.value,
                               self.ui.taken_before.value, self.ui.sort.value == "time")
        results = self._judge(query, vector, embedded, results)
        self._last_ms = (time.perf_counter() - start) * 1000
        self._query, self.results, self._last_run = query, results, time.monotonic()
        self._clear_error()
        # A clip-art model on photos, or "a red car" to a model that reads no colours:
        # the results must say so.
        warnings = [embedded.warning] if embedded.warning else []
        if query.kind == "text" and (caveat := detail_note(self.model_name, query.text)):
            warnings.append(caveat)
        if warnings:
            self.ui.show_message("\n\n".join(warnings), "warning")
        self._show(results, query, note)
        return results

    def _judge(self, query: _Query, vector, embedded: Embedded,
               results: list[SearchResult]) -> list[SearchResult]:
        """Add ``p_match`` to text results and count the matches (None for picture queries)."""
        self.matches = None
        if query.kind != "text" or not len(embedded.items):
            return results
        after, before = self.ui.taken_after.value, self.ui.taken_before.value
        rows = (None if after is None and before is None
                else self._taken.rows(embedded.items, after, before))
        results, self.matches = judged(vector, embedded, results,
                                       calibration_for(self._model(), query.text), rows)
        return results

    def _show(self, results: list[SearchResult], query: _Query, note: str) -> None:
        self._seq += 1
        for slot, (cell, result) in enumerate(zip(self.ui.first_cells(len(results)), results)):
            path = Path(result.item)
            picture = (self._why_thumb(path, query) if self.ui.why.value else self._thumb(path))
            cell.show(slot + 1, result.score, path.name, self.captions.get(path.name),
                      picture, self._seq, result.p_match, self.marks.get(path))
        self.ui.hide_cells_from(len(results))
        if self.matches is None or self.ui.sort.value == "time":
            # In time order the matches are not a block: their green frames show them.
            self.ui.show_matches_end(None)
        else:
            shown_matches = sum(r.p_match >= MATCH_PROBABILITY for r in results)
            more = (f" (the first {shown_matches} shown)" if self.matches > shown_matches
                    else "")
            line = (f"↑ {match_words(self.matches)}{more} · below: judged not to match"
                    if shown_matches < len(results) else None)
            self.ui.show_matches_end(shown_matches if line else None, line or "")
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

    def _why_thumb(self, path: Path, query: _Query) -> str:
        try:
            return why_thumb(self._model(), query.text if query.kind == "text" else query.image,
                             path)
        except ImageLoadError as err:
            return thumb_html(None, path.name, err.reason)

    # -- messages ------------------------------------------------------------
    def _update_status(self, note: str = "", query: _Query | None = None,
                       new_seq: bool = True) -> None:
        embedded = self._embedded_now()
        count = len(embedded.items) if embedded else len(self.gallery)
        skipped = embedded.skipped if embedded else []
        parts = [f"{count} images"]
        if skipped:
            names = ", ".join(p.name for p, _ in skipped[:3]) + (", …" if len(skipped) > 3 else "")
            parts.append(f"{len(skipped)} skipped ({names})")
        parts.append(f"model {self.model_name}")
        if query is not None:
            parts += [query.label, f"{self._last_ms:.0f} ms"]
            if self.matches is not None:
                parts.append(match_words(self.matches))
            if self.marks:
                liked = sum(self.marks.values())
                parts.append(f"refined: {liked} marked right, {len(self.marks) - liked} wrong")
        parts.append(note)
        # _show numbers its search itself, so that cells and status share the number.
        if new_seq:
            self._seq += 1
        self.ui.set_status(parts, self._seq)

    def _warn_skipped(self, embedded: Embedded) -> None:
        parts = [embedded.warning] if embedded.warning else []
        if embedded.skipped:
            lines = [f"{p.name}: {reason}" for p, reason in embedded.skipped[:10]]
            more = len(embedded.skipped) - len(lines)
            parts.append(f"Skipped {len(embedded.skipped)} file(s) that could not be read:\n"
                         + "\n".join(lines) + (f"\n… and {more} more" if more > 0 else ""))
        if parts:
            self.ui.show_message("\n\n".join(parts), "warning")

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

