"""The app's "why?" view: each result's thumbnail with its heatmap for the query laid over it."""
from __future__ import annotations

from pathlib import Path

from ._view import THUMB_PX, thumb_html
from ..display import thumbnail_data_uri
from ..explain import explain


def why_thumb(loaded, query, path: Path) -> str:
    """HTML of ``path``'s thumbnail with the heatmap of ``query`` over it, and its method.

    ``query`` is the text or the picture (path, bytes, PIL image) that was searched for.
    """
    e = explain(loaded, query, path, words=False)
    image = thumb_html(thumbnail_data_uri(e.overlay(), THUMB_PX),
                       f"{path.name}: where {loaded.name} saw the query ({e.method})")
    return (f'<div class="imgsearch-heatmap" data-method="{e.method}" '
            f'title="bright = counted most for the query">{image}</div>')
