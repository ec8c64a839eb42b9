"""explain: why a picture matches a query, as a heatmap file and word contributions."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import UsageError, check_model, choose_model, load, model_options, note, shown
from ..evaluation import detail_note
from ..explain import METHODS, explain
from ..images import SCAN_EXTENSIONS
from ..models import clipart_note

_HELP = """\
Why does PICTURE match QUERY? Prints the score (the cosine similarity `imgsearch
search` shows), which part of the picture counted most, and how much each word
of the query added (+) or took away (-): a word the picture lacks gets a minus.
With -o, writes the picture with the heatmap laid over it (bright = counted most).

QUERY is words, or the path of a picture file. The method is the model family's
default unless --method says otherwise (notebook 09 and bench/RESULTS.md compare
them).

examples:
  imgsearch explain "a cat and a car" data/gallery/cat_002.png -o heat.png \\
      --model imgsearch/clipart-clip
  imgsearch explain "a lake with mountains" IMG_0042.jpg --json
  imgsearch explain other.jpg IMG_0042.jpg --method occlusion -o why.png
"""


def register(sub) -> None:
    """Add ``explain`` to the ``imgsearch`` parser."""
    p = sub.add_parser("explain", parents=[model_options()],
                       formatter_class=argparse.RawDescriptionHelpFormatter, description=_HELP,
                       help="why a picture matches a query: heatmap and words")
    p.add_argument("query", metavar="QUERY", help="words, or a picture file")
    p.add_argument("picture", metavar="PICTURE", help="the picture to explain")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the picture with the heatmap over it (PNG, JPEG, ...)")
    p.add_argument("--method", choices=["auto", *METHODS], default="auto",
                   help="how the heatmap is made (default: auto, the model family's default)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run_explain)


def _query(value: str):
    path = Path(value).expanduser()
    if path.suffix.lower() in SCAN_EXTENSIONS:
        if not path.is_file():
            raise UsageError(f"query picture not found: {value}")
        return path
    return value


def run_explain(args) -> int:
    picture = Path(args.picture).expanduser()
    if not picture.is_file():
        raise UsageError(f"picture not found: {args.picture}")
    query = _query(args.query)
    if not str(args.query).strip():
        raise UsageError("an empty query: give words or a picture file")
    output = Path(args.output).expanduser() if args.output else None
    if output is not None and output.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise UsageError(f"-o {args.output}: give a file name ending in .png, .jpg or .webp")
    name, is_default = choose_model(args.model)
    loaded = load(check_model(name, is_default), args.device)
    warned = clipart_note(loaded, [picture])
    if warned:
        note("note: " + warned)
    caveat = detail_note(loaded, query) if isinstance(query, str) else ""
    if caveat:      # "a red car" to a model that reads no colours: its heatmap says little of red
        note("note: " + caveat)
    e = explain(loaded, query, picture, args.method)
    if output is not None:
        e.overlay().save(output)
    x, y = e.peak()
    width, height = e.image.size
    if args.json:
        print(json.dumps({
            "model": e.model, "method": e.method, "query": e.query, "picture": str(picture.absolute()),
            "score": round(e.score, 6), "peak": {"x": x, "y": y, "width": width, "height": height},
            "words": [{"word": w.word, "contribution": None if w.stop else round(w.contribution, 6),
                       "stop_word": w.stop} for w in e.words],
            "heatmap": str(output.absolute()) if output else None}, indent=2, ensure_ascii=False))
        return 0
    print(f"score {e.score:.3f}  {shown(picture)}  ({e.model}, method {e.method})")
    print(f"counted most: around x={x}, y={y} of {width}x{height} ({_region(x, y, width, height)})")
    if e.words:
        print("words: " + "  ".join(str(w) for w in e.words))
    if output is not None:
        print(f"heatmap: {shown(output)}")
    return 0


def _region(x: int, y: int, width: int, height: int) -> str:
    """"top left", "centre", ... for a point: where to look, in words."""
    rows, cols = ("top", "middle", "bottom"), ("left", "centre", "right")
    row, col = rows[min(2, 3 * y // height)], cols[min(2, 3 * x // width)]
    return "centre" if (row, col) == ("middle", "centre") else f"{row} {col}"
