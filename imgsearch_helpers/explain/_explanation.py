"""What an explanation holds, and how it shows itself: the heatmap over the picture, words coloured."""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ._words import WordContribution

COLORMAP = "inferno"      # dark = did not count, bright yellow = counted most
OVERLAY_ALPHA = 0.55


@dataclass
class Explanation:
    """Why a picture matched a query: its score, where the model looked, which words counted.

    Attributes
    ----------
    query : str
        The text, or the picture's label for a picture query.
    image : PIL.Image.Image
        The picture as the model was given it.
    score : float
        The cosine of the query with the picture, the number :func:`search` gives.
    heatmap : np.ndarray
        float32, (height, width) of ``image``: higher = counts more for the query.
    words : list of WordContribution
        For text queries, each word and its contribution; empty for picture queries.
    method : str
        Which method made the heatmap (see :data:`METHODS`).
    model : str
        The model's name.
    parts : dict of str -> np.ndarray
        With ``explain(..., parts=True)``: each thing the query names and its own
        heatmap (0..1); ``heatmap`` is then their maximum.
    """

    query: str
    image: Image.Image
    score: float
    heatmap: np.ndarray
    words: list[WordContribution] = field(default_factory=list)
    method: str = ""
    model: str = ""
    parts: dict = field(default_factory=dict)

    def peak(self) -> tuple[int, int]:
        """The ``(x, y)`` pixel where the heatmap is highest."""
        y, x = np.unravel_index(int(np.argmax(self.heatmap)), self.heatmap.shape)
        return int(x), int(y)

    def overlay(self, alpha: float = OVERLAY_ALPHA) -> Image.Image:
        """The picture with the heatmap laid over it (RGB, the picture's size)."""
        return overlay_heatmap(self.image, self.heatmap, alpha)

    def words_html(self) -> str:
        """The query's words coloured by contribution (green adds, red takes away), escaped."""
        return words_html(self.words) if self.words else html.escape(self.query)

    def _repr_html_(self) -> str:
        return explanation_html(self)

    def __repr__(self) -> str:
        words = ", ".join(str(w) for w in self.words if not w.stop)
        return (f"Explanation({self.query!r}, score={self.score:.3f}, method={self.method!r}, "
                f"peak={self.peak()}" + (f", words=[{words}]" if words else "") + ")")


def overlay_heatmap(image: Image.Image, heatmap: np.ndarray, alpha: float = OVERLAY_ALPHA) -> Image.Image:
    """Blend a heatmap (scaled to 0..1 for display) over ``image`` with :data:`COLORMAP`."""
    from matplotlib import colormaps

    heat = np.asarray(heatmap, np.float32)
    low, high = float(heat.min()), float(heat.max())
    scaled = (heat - low) / (high - low) if high > low else np.zeros_like(heat)
    colours = (colormaps[COLORMAP](scaled)[..., :3] * 255).astype(np.uint8)
    base = image.convert("RGB")
    if base.size != (heat.shape[1], heat.shape[0]):
        raise ValueError(f"heatmap {heat.shape[::-1]} does not match the picture {base.size}")
    return Image.blend(base, Image.fromarray(colours), alpha)


def _data_uri(image: Image.Image, size: int) -> str:
    im = image.copy()
    im.thumbnail((size, size))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def words_html(words: list[WordContribution]) -> str:
    """Words as spans: green for a positive contribution, red for a negative one, grey stop words."""
    top = max((abs(w.contribution) for w in words if not w.stop), default=0.0) or 1.0
    spans = []
    for w in words:
        text = html.escape(w.word)
        if w.stop:
            spans.append(f'<span style="color:#999" title="stop word: not scored">{text}</span>')
            continue
        strength = min(1.0, abs(w.contribution) / top)
        rgb = "40,160,60" if w.contribution > 0 else "220,50,40"
        spans.append(f'<span style="background:rgba({rgb},{0.15 + 0.6 * strength:.2f});'
                     f'padding:0 2px;border-radius:3px" title="{w.contribution:+.3f}">{text}</span>')
    return " ".join(spans)


def explanation_html(e: Explanation, size: int = 256, label: str = "") -> str:
    """One explanation as HTML: the overlay, the score, the coloured words."""
    alt = html.escape(label or e.query)
    return (f'<figure style="margin:4px;width:{size}px;font:12px sans-serif">'
            f'<img src="{_data_uri(e.overlay(), size)}" width="{size}" alt="{alt}">'
            f'<figcaption>{html.escape(label) + "<br>" if label else ""}'
            f'score {e.score:.3f} · {html.escape(e.method)}'
            f'{" per thing: " + html.escape(", ".join(e.parts)) if e.parts else ""}'
            f'<br>{e.words_html()}</figcaption></figure>')
