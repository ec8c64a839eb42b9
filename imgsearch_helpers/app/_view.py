"""The widgets of :class:`~imgsearch_helpers.widgets.SearchApp`: layout and HTML, no search logic.

Every piece of text that comes from outside (file names, captions, queries,
error messages) passes through :func:`html.escape` before it is put into an
``HTML`` widget, because those widgets render their value as markup.
The stable CSS classes (``imgsearch-*``) are what the browser test looks for.
"""
from __future__ import annotations

import html
from typing import Callable

import ipywidgets as W

from ..matching import MATCH_PROBABILITY

THUMB_PX = 128
_CELL_PX = THUMB_PX + 20
_MESSAGE_COLORS = {"error": ("#fdecea", "#b3261e"), "warning": ("#fff4e0", "#8a5300"),
                   "info": ("#e8f0fe", "#1a4d8f")}


def message_html(text: str, kind: str = "error") -> str:
    """A coloured box with ``text`` (escaped; line breaks kept)."""
    background, color = _MESSAGE_COLORS[kind]
    return (f'<div class="imgsearch-message-{kind}" style="background:{background};color:{color};'
            f'padding:6px 10px;border-radius:6px;white-space:pre-wrap;font:13px sans-serif">'
            f"{html.escape(text)}</div>")


def thumb_html(src: str | None, alt: str, problem: str | None = None, size: int = THUMB_PX) -> str:
    """An ``<img>`` for a thumbnail data URI, or a grey box saying why there is none."""
    if src is None:
        return (f'<div style="width:{size}px;height:{size}px;background:#eee;'
                f'font:11px sans-serif;color:#555;overflow:hidden">cannot show: '
                f"{html.escape(problem or 'unknown problem')}</div>")
    return (f'<img src="{src}" alt="{html.escape(alt)}" title="{html.escape(alt)}" '
            f'style="width:{size}px;height:{size}px;object-fit:contain;display:block;'
            f'background:#f4f4f4">')


class ResultCell:
    """One slot of the results grid: thumbnail, rank, score, name, caption and a button.

    The grid keeps a pool of cells and updates their values for each search
    instead of creating new widgets: changing a value is one small message to
    the browser, while a new widget also needs a new view there.
    """

    def __init__(self, slot: int, on_more: Callable[[int], None],
                 on_mark: Callable[[int, bool], None] | None = None):
        self.image = W.HTML()
        self.image.add_class("imgsearch-thumb")
        self.label = W.HTML()
        self.label.add_class("imgsearch-label")
        self.caption = W.HTML(layout=W.Layout(display="none"))
        self.caption.add_class("imgsearch-caption")
        self.more = W.Button(description="More like this", icon="search",
                             tooltip="Search with this picture as the query",
                             layout=W.Layout(width=f"{THUMB_PX}px"))
        self.more.add_class("imgsearch-more")
        self.more.on_click(lambda _button: on_more(slot))
        # Relevance feedback: mark a result right or wrong and the search re-ranks.
        self.like = W.Button(icon="thumbs-up", tooltip="Right: more like this one",
                             layout=W.Layout(width=f"{THUMB_PX // 2 - 2}px"))
        self.like.add_class("imgsearch-like")
        self.unlike = W.Button(icon="thumbs-down", tooltip="Wrong: fewer like this one",
                               layout=W.Layout(width=f"{THUMB_PX // 2 - 2}px"))
        self.unlike.add_class("imgsearch-unlike")
        if on_mark is not None:
            self.like.on_click(lambda _button: on_mark(slot, True))
            self.unlike.on_click(lambda _button: on_mark(slot, False))
        self.box = W.VBox([self.image, self.label, self.caption, self.more,
                           W.HBox([self.like, self.unlike])],
                          layout=W.Layout(width=f"{_CELL_PX}px", margin="4px", padding="6px",
                                          border="1px solid #ddd", display="none"))
        self.box.add_class("imgsearch-result")

    def show(self, rank: int, score: float, name: str, caption: str | None,
             image_html: str, seq: int, p_match: float | None = None,
             mark: bool | None = None) -> None:
        """Fill the cell with one result and make it visible.

        ``p_match``: its match probability, shown when known; ``mark``: True or
        False when the user marked it right or wrong.
        """
        self.image.value = image_html
        match = ("" if p_match is None else
                 f' <span class="imgsearch-pmatch" title="probability that it matches">'
                 f"p {p_match:.2f}</span>")
        # data-seq tells a browser test which search these values belong to.
        self.label.value = (
            f'<div data-seq="{seq}" style="font:12px sans-serif;line-height:1.3;'
            f'word-break:break-all"><b>#{rank}</b> '
            f'<span class="imgsearch-score">{score:.3f}</span>{match}<br>'
            f'<span class="imgsearch-name">{html.escape(name)}</span></div>')
        self.caption.value = (f'<div style="font:11px sans-serif;color:#555;line-height:1.25">'
                              f"{html.escape(caption)}</div>" if caption else "")
        self.caption.layout.display = None if caption else "none"
        self.like.button_style = "success" if mark is True else ""
        self.unlike.button_style = "danger" if mark is False else ""
        matched = p_match is not None and p_match >= MATCH_PROBABILITY
        self.box.layout.border = "2px solid #2e7d32" if matched else "1px solid #ddd"
        self.box.layout.display = None

    def hide(self) -> None:
        """Take the cell out of the grid (it stays in the pool)."""
        self.box.layout.display = "none"

    @property
    def visible(self) -> bool:
        """True while the cell shows a result."""
        return self.box.layout.display != "none"


class AppView:
    """All widgets of the app, laid out; callbacks are wired by the app.

    Parameters
    ----------
    model_options : list of (label, value)
        What the model picker offers.
    k, max_k : int
        Initial and largest number of results.
    on_more : callable
        Called with a grid slot when its "More like this" button is clicked.
    """

    def __init__(self, model_options: list[tuple[str, str]], k: int, max_k: int,
                 on_more: Callable[[int], None],
                 on_mark: Callable[[int, bool], None] | None = None):
        self._on_more, self._on_mark = on_more, on_mark
        self.query = W.Text(placeholder="Describe a picture, then press Enter",
                            continuous_update=False, layout=W.Layout(flex="1 1 auto"))
        self.query.add_class("imgsearch-query")
        self.search_button = W.Button(description="Search", icon="search", button_style="primary")
        self.search_button.add_class("imgsearch-search")
        self.upload = W.FileUpload(accept="image/*", multiple=False, description="Query image")
        self.upload.add_class("imgsearch-upload")
        self.model = W.Dropdown(options=model_options, description="Model",
                                layout=W.Layout(width="360px"))
        self.model.add_class("imgsearch-model")
        self.k = W.IntSlider(value=k, min=1, max=max_k, description="Top k",
                             continuous_update=False)
        self.k.add_class("imgsearch-k")
        self.why = W.ToggleButton(value=False, description="why?", icon="eye",
                                  tooltip="Show where each result matches the query (a heatmap)",
                                  layout=W.Layout(width="90px"))
        self.why.add_class("imgsearch-why")
        self.folder = W.Text(placeholder="a folder of your own photos, e.g. ~/Pictures",
                             description="Folder", layout=W.Layout(flex="1 1 auto"))
        self.folder.add_class("imgsearch-folder")
        self.index_button = W.Button(description="Index", icon="folder-open",
                                     tooltip="Embed the images in this folder and search them")
        self.index_button.add_class("imgsearch-index")
        self.taken_after = W.DatePicker(description="Taken from", layout=W.Layout(width="260px"))
        self.taken_after.add_class("imgsearch-after")
        self.taken_before = W.DatePicker(description="to", layout=W.Layout(width="200px"),
                                         style={"description_width": "24px"})
        self.taken_before.add_class("imgsearch-before")
        self.sort = W.Dropdown(options=[("best first", "relevance"), ("oldest first", "time")],
                               description="Order", layout=W.Layout(width="220px"))
        self.sort.add_class("imgsearch-sort")
        self.progress = W.IntProgress(value=0, min=0, max=1, description="",
                                      layout=W.Layout(display="none", width="480px"),
                                      style={"description_width": "initial"})
        self.progress.add_class("imgsearch-progress")
        self.message = W.HTML()
        self.message.add_class("imgsearch-message")
        self.status = W.HTML()
        self.status.add_class("imgsearch-status")
        self.query_preview = W.HTML()
        self.query_preview.add_class("imgsearch-query-preview")
        self.cells: list[ResultCell] = []
        self.grid = W.Box(layout=W.Layout(display="flex", flex_flow="row wrap"))
        self.grid.add_class("imgsearch-grid")
        # A full-width line in the grid after the last result judged to match.
        self.matches_end = W.HTML(layout=W.Layout(width="100%", display="none"))
        self.matches_end.add_class("imgsearch-matches-end")
        self._line_at: int | None = None
        title = W.HTML('<h3 style="margin:4px 0">Image search</h3>')
        self.root = W.VBox([
            title,
            W.HBox([self.query, self.search_button, self.upload]),
            W.HBox([self.model, self.k, self.why]),
            W.HBox([self.taken_after, self.taken_before, self.sort]),
            W.HBox([self.folder, self.index_button]),
            self.progress, self.message, self.status, self.query_preview, self.grid,
        ], layout=W.Layout(max_width="980px"))
        self.root.add_class("imgsearch-app")

    # -- messages and status -------------------------------------------------
    def show_message(self, text: str, kind: str = "error") -> None:
        """Show ``text`` in the message area (escaped)."""
        self.message.value = message_html(text, kind)

    def clear_message(self) -> None:
        """Empty the message area."""
        self.message.value = ""

    def set_status(self, parts: list[str], seq: int) -> None:
        """Show the status line: ``parts`` (plain text, escaped) joined by dots."""
        text = " · ".join(html.escape(p) for p in parts if p)
        self.status.value = (f'<div data-seq="{seq}" style="font:13px sans-serif;color:#333;'
                             f'margin:4px 0">{text}</div>')

    def set_query_preview(self, title: str, image_html: str | None = None) -> None:
        """Say what the results are for: a title and, for image queries, the picture."""
        picture = (f'<div style="display:inline-block;vertical-align:middle;margin-right:8px">'
                   f"{image_html}</div>") if image_html else ""
        self.query_preview.value = (f'<div style="font:14px sans-serif;margin:4px 0">{picture}'
                                    f"<b>{html.escape(title)}</b></div>") if title else ""

    # -- progress ------------------------------------------------------------
    def start_progress(self, total: int, description: str) -> None:
        """Show the progress bar at 0 of ``total``."""
        self.progress.max = max(total, 1)
        self.progress.value = 0
        self.progress.description = description
        self.progress.layout.display = None

    def update(self, n: int) -> None:
        """Advance the progress bar by ``n`` images (tqdm's method, for embed_image_files)."""
        self.progress.value += n

    def stop_progress(self) -> None:
        """Hide the progress bar."""
        self.progress.layout.display = "none"

    # -- results grid ----------------------------------------------------------
    def first_cells(self, n: int) -> list[ResultCell]:
        """The first ``n`` pooled cells, creating missing ones with one update of the grid."""
        if len(self.cells) < n:
            self.cells += [ResultCell(i, self._on_more, self._on_mark)
                           for i in range(len(self.cells), n)]
            self._lay_out_grid()
        return self.cells[:n]

    def _lay_out_grid(self) -> None:
        boxes = [c.box for c in self.cells]
        at = len(boxes) if self._line_at is None else self._line_at
        self.grid.children = tuple(boxes[:at] + [self.matches_end] + boxes[at:])

    def show_matches_end(self, after: int | None, text: str = "") -> None:
        """Draw the "matches end here" line after result ``after`` (None: no line)."""
        if after is None:
            self.matches_end.layout.display = "none"
        else:
            self.matches_end.value = (
                f'<div style="border-top:3px solid #2e7d32;margin:6px 4px 2px;padding-top:2px;'
                f'font:12px sans-serif;color:#2e7d32">{html.escape(text)}</div>')
            self.matches_end.layout.display = None
        if after != self._line_at:
            self._line_at = after
            self._lay_out_grid()

    def hide_cells_from(self, slot: int) -> None:
        """Hide every cell at ``slot`` or later."""
        for cell in self.cells[slot:]:
            cell.hide()
