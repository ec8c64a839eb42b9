"""Show images and ranked results as HTML (every name escaped)."""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Sequence

from .matching import MATCH_PROBABILITY
from .images import ImageLoadError, load_image
from .search import SearchResult

__all__ = ["thumbnail_data_uri", "results_html", "show_results", "images_html", "show_images"]


def thumbnail_data_uri(image, size: int = 160) -> str:
    """Return a small JPEG of ``image`` as a ``data:`` URI for HTML."""
    im = load_image(image).copy()
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _label(item) -> str:
    return Path(item).name if isinstance(item, (str, Path)) else str(item)


def _match_text(result) -> str:
    p = getattr(result, "p_match", None)
    return "" if p is None else f" · p {p:.2f}"


def results_html(results: Sequence[SearchResult], title: str | None = None,
                 captions: dict | None = None, size: int = 160) -> str:
    """Render ranked results as a grid of thumbnails with rank, score and file name.

    File names, captions and the title are HTML-escaped, so a file called
    ``<img src=x onerror=alert(1)>.jpg`` shows as text and runs nothing.
    """
    cells = []
    for rank, r in enumerate(results, 1):
        name = _label(r.item)
        caption = (captions or {}).get(name)
        try:
            img = f'<img src="{thumbnail_data_uri(r.item, size)}" width="{size}" alt="{html.escape(name)}">'
        except ImageLoadError as err:
            img = f'<div style="width:{size}px;height:{size}px">cannot show: {html.escape(err.reason)}</div>'
        cap = f'<div style="color:#555">{html.escape(caption)}</div>' if caption else ""
        match = _match_text(r)
        # A result judged to match gets a green frame, one judged not to a grey one.
        p = getattr(r, "p_match", None)
        frame = ("" if p is None else
                 f"outline:3px solid {'#2e7d32' if p >= MATCH_PROBABILITY else '#ccc'};")
        cells.append(
            f'<figure style="margin:6px;width:{size}px;font:12px sans-serif;{frame}">{img}'
            f'<figcaption><b>#{rank}</b> {r.score:.3f}{match}<br>{html.escape(name)}{cap}'
            '</figcaption></figure>')
    head = f"<h4>{html.escape(title)}</h4>" if title else ""
    return f'{head}<div style="display:flex;flex-wrap:wrap">{"".join(cells)}</div>'


def show_results(results: Sequence[SearchResult], title: str | None = None,
                 captions: dict | None = None, size: int = 160) -> None:
    """Display :func:`results_html` in a notebook, with a plain-text fallback."""
    from IPython.display import display

    text = "\n".join(f"#{i} {r.score:.3f}{_match_text(r)} {_label(r.item)}"
                     for i, r in enumerate(results, 1))
    display({"text/html": results_html(results, title, captions, size),
             "text/plain": (f"{title}\n" if title else "") + text}, raw=True)


def images_html(items: Sequence, titles: Sequence[str] | None = None, title: str | None = None,
                size: int = 160) -> str:
    """Render pictures as a grid, each with its title (labels, a score) under it.

    Parameters
    ----------
    items : sequence of paths or PIL images
    titles : sequence of str, optional
        One text per picture (default: the file name); HTML-escaped, line breaks kept.
    title : str, optional
        A heading over the grid.
    size : int
        The thumbnails' longer side in pixels.

    Returns
    -------
    str : HTML.
    """
    titles = [_label(item) for item in items] if titles is None else list(titles)
    if len(titles) != len(items):
        raise ValueError(f"{len(items)} pictures but {len(titles)} titles")
    cells = []
    for item, text in zip(items, titles):
        try:
            img = f'<img src="{thumbnail_data_uri(item, size)}" width="{size}" alt="{html.escape(_label(item))}">'
        except ImageLoadError as err:
            img = f'<div style="width:{size}px;height:{size}px">cannot show: {html.escape(err.reason)}</div>'
        caption = html.escape(text).replace("\n", "<br>")
        cells.append(f'<figure style="margin:6px;width:{size}px;font:12px sans-serif">{img}'
                     f'<figcaption>{caption}</figcaption></figure>')
    head = f"<h4>{html.escape(title)}</h4>" if title else ""
    return f'{head}<div style="display:flex;flex-wrap:wrap">{"".join(cells)}</div>'


def show_images(items: Sequence, titles: Sequence[str] | None = None, title: str | None = None,
                size: int = 160) -> None:
    """Display :func:`images_html` in a notebook, with the titles as a plain-text fallback."""
    from IPython.display import display

    titles = [_label(item) for item in items] if titles is None else list(titles)
    text = "\n".join(t.replace("\n", " | ") for t in titles)
    display({"text/html": images_html(items, titles, title, size),
             "text/plain": (f"{title}\n" if title else "") + text}, raw=True)
