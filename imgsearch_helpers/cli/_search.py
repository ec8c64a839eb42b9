"""index, search, similar, duplicates: a folder's pictures, searched through its index."""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._common import (CliError, UsageError, check_model, choose_model, folder_arg, load,
                      model_options, note, open_index, shown, warn_clipart)
from ..embeddings import embed_images, embed_texts
from ..evaluation import detail_note
from ..images import SCAN_EXTENSIONS, ImageLoadError
from ..settings import COMMAND_TOP_K, DUPLICATE_THRESHOLD
from ..index import SORTS, parse_when
from ..matching import MATCH_PROBABILITY, calibration_for, match_words, refine
from ..similarity import NEGATIVE_WEIGHT, combine_queries, duplicate_threshold, near_duplicates

_RAW = argparse.RawDescriptionHelpFormatter

_INDEX_HELP = """\
Build the index of a folder's pictures, or bring it up to date: only new and
changed files are embedded; deleted ones are dropped, moved ones kept. The index
lives in FOLDER/.imgsearch (in your cache folder when FOLDER is read-only), one
per model. Ctrl-C stops; what was embedded is kept, and the same command goes on.

examples:
  imgsearch index                        # the current folder
  imgsearch index ~/Pictures
  imgsearch index data/gallery --model imgsearch/clipart-clip
"""

_SEARCH_HELP = """\
Search a folder's pictures with words (in any language the model knows), best
first: rank, score (cosine similarity) and path. The index is brought up to date
first, which is fast when nothing changed.

Each QUERY is words, or the path of a picture file ("more like this"). A QUERY that
starts with "+ " or "- " (plus or minus, then a space) changes the query before it:
"+ snow" moves it towards snow, "- boat" away from boats. "+2 snow" gives the
words twice the weight (pictures outweigh words; notebook 04 shows why); a minus
has weight %s unless given. The last QUERY is the FOLDER when it is a folder;
the default is the current folder.

examples:
  imgsearch search "a cat on a sofa"
  imgsearch search "a beautiful lake with mountains" data/gallery -k 3
  imgsearch search "a lake" "- boat" "a red car" ~/Pictures       # two queries
  imgsearch search data/gallery/tree_001.png "+2 snow" data/gallery
  imgsearch search "sunset" --paths | xargs -d '\\n' cp -t ~/best/
  imgsearch search "sunset" --paths -0 | xargs -0 cp -t ~/best/
  imgsearch search "sunset" --json > results.json
  imgsearch search "a red car" --matches          # only the pictures judged to match
  imgsearch search "a lake" --like lake_000.png --unlike boat_005.png
  imgsearch search "a red car" --matches --after 2024-05-01 --sort time

--matches keeps only the pictures judged to match (their match probability p is
at least %s; without -k, all of them); when none does, it names the closest
picture and its p. --like and --unlike mark pictures as right or wrong
(relevance feedback): every query moves towards the liked ones and away from
the others. --after, --before and --sort time use when each picture
was taken (EXIF DateTimeOriginal, else the file's modification time).
""" % (NEGATIVE_WEIGHT, MATCH_PROBABILITY)

_SIMILAR_HELP = """\
Pictures of FOLDER that look most like IMAGE (IMAGE itself is left out).

examples:
  imgsearch similar holiday/IMG_0042.jpg
  imgsearch similar data/gallery/cat_002.png data/gallery -k 5
"""

_DUPLICATES_HELP = """\
Groups of near-duplicate pictures: copies, resized or re-saved versions, burst
shots. Two pictures are in a group when the cosine similarity of their
embeddings is at least --threshold. Notebook 04 shows how to choose it by
measuring; lower it to find more, raise it for fewer look-alikes.

examples:
  imgsearch duplicates ~/Pictures
  imgsearch duplicates ~/Pictures --threshold 0.9 --json
"""


def register(sub) -> None:
    """Add the four subcommands to the ``imgsearch`` parser."""
    common = model_options()
    p = sub.add_parser("index", parents=[common], formatter_class=_RAW, description=_INDEX_HELP,
                       help="build or update the index of a folder")
    p.add_argument("folder", nargs="?", help="default: the current folder")
    p.set_defaults(run=run_index)

    p = sub.add_parser("search", parents=[common], formatter_class=_RAW,
                       description=_SEARCH_HELP, help="search pictures with words")
    p.add_argument("words", nargs="+", metavar="QUERY",
                   help='words, a picture file, "+ WORDS" or "- WORDS"; the last may be the FOLDER')
    _output_options(p)
    p.add_argument("--matches", action="store_true",
                   help="only the pictures judged to match, with their match probability")
    p.add_argument("--like", action="append", default=[], metavar="PICTURE",
                   help="a picture that is right (may be repeated)")
    p.add_argument("--unlike", action="append", default=[], metavar="PICTURE",
                   help="a picture that is wrong (may be repeated)")
    p.add_argument("--after", metavar="DATE", type=_when,
                   help="only pictures taken on or after DATE (YYYY-MM-DD[THH:MM])")
    p.add_argument("--before", metavar="DATE", type=_when_end,
                   help="only pictures taken before DATE (a bare date: up to its end)")
    p.add_argument("--sort", choices=SORTS, default="relevance",
                   help="relevance (default) or time: the results oldest first")
    p.set_defaults(run=run_search)

    p = sub.add_parser("similar", parents=[common], formatter_class=_RAW,
                       description=_SIMILAR_HELP, help="pictures that look like a picture")
    p.add_argument("image")
    p.add_argument("folder", nargs="?", help="default: the current folder")
    _output_options(p)
    p.set_defaults(run=run_similar)

    p = sub.add_parser("duplicates", parents=[common], formatter_class=_RAW,
                       description=_DUPLICATES_HELP, help="groups of near-duplicate pictures")
    p.add_argument("folder", nargs="?", help="default: the current folder")
    p.add_argument("-t", "--threshold", type=_cosine, default=None,
                   help="smallest cosine similarity of two duplicates (default: between the "
                        "model's measured copy and look-alike scores where they separate, "
                        f"else {DUPLICATE_THRESHOLD})")
    p.add_argument("--json", action="store_true", help="print the groups as JSON")
    p.set_defaults(run=run_duplicates)


def _output_options(p) -> None:
    p.add_argument("-k", type=_positive, default=None,
                   help=f"how many results (default {COMMAND_TOP_K}; with --matches, every match)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the results as JSON")
    out.add_argument("--paths", action="store_true",
                     help="print only the paths, one a line (for xargs and friends)")
    p.add_argument("-0", "--null", action="store_true",
                   help="with --paths: end each path with a NUL byte instead of a newline, "
                        "as `find -print0` does (for `xargs -0`; any file name survives)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _when(text: str, end: bool = False):
    try:
        return parse_when(text, end)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _when_end(text: str):
    return _when(text, end=True)


def _cosine(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not -1.0 < value <= 1.0:
        raise argparse.ArgumentTypeError("a cosine similarity is above -1 and at most 1")
    return value


# -- index -----------------------------------------------------------------------------

def _prepare(args, folder_value):
    """Folder, then model (the cheap checks first), then the up-to-date index."""
    folder = folder_arg(folder_value)
    name, is_default = choose_model(args.model, folder)
    name = check_model(name, is_default)
    loaded = load(name, args.device)
    resume = f"imgsearch index {shlex.quote(shown(folder))}"
    if not is_default:
        resume += f" --model {shlex.quote(loaded.name)}"
    index = open_index(folder, loaded, resume)
    return folder, loaded, index


def run_index(args) -> int:
    folder, loaded, index = _prepare(args, args.folder)
    s = index.summary
    print(f"indexed {shown(folder)} with {index.model_name}: {len(index)} pictures")
    print("  " + ", ".join(f"{key} {s.get(key, 0)}" for key in
                           ("embedded", "reused", "resumed", "moved", "removed", "skipped")))
    _print_skipped(index.skipped)
    print(f"index: {index.index_dir}")
    warn_clipart(loaded.name, folder)
    return 0


def _print_skipped(skipped, limit: int = 20) -> None:
    for path, reason in skipped[:limit]:
        print(f"  skipped {shown(path)}: {reason}")
    if len(skipped) > limit:
        print(f"  ... and {len(skipped) - limit} more skipped")


def _searchable(folder, index, loaded) -> None:
    s = index.summary
    changed = {k: s.get(k, 0) for k in ("embedded", "resumed", "moved", "removed") if s.get(k)}
    if changed:
        note("index updated: " + ", ".join(f"{k} {v}" for k, v in changed.items())
             + (f"; {len(index.skipped)} files skipped (`imgsearch index` lists them)"
                if index.skipped else ""))
    if len(index) == 0:
        n = len(index.skipped)
        why = f" ({n} {'file' if n == 1 else 'files'} could not be read)" if n else ""
        raise CliError(f"no pictures to search in {shown(folder)}{why}")
    warn_clipart(loaded.name, folder)


# -- search ----------------------------------------------------------------------------

_MODIFIER = re.compile(r"([+-])(\d+(?:\.\d*)?|\.\d+)?\s+(\S.*)", re.S)


@dataclass(frozen=True)
class Term:
    """One part of a query: a text or a picture, added (+) or subtracted (-) with a weight."""

    value: str
    is_image: bool
    sign: int = 1
    weight: float | None = None


def parse_queries(words: list[str]) -> list[tuple[str, list[Term]]]:
    """Group the words into queries: each plain word starts one, "+ x" / "- x" extend it.

    Returns ``(label, terms)`` per query.
    """
    queries: list[tuple[str, list[Term]]] = []
    for word in words:
        match = _MODIFIER.fullmatch(word)
        value = match.group(3).strip() if match else word.strip()
        if not value:
            raise UsageError("an empty query: give words to search for")
        term = Term(value, _is_picture_file(value),
                    -1 if match and match.group(1) == "-" else 1,
                    float(match.group(2)) if match and match.group(2) else None)
        if match:
            if not queries:
                raise UsageError(f"{word!r} changes the query before it, but it comes first: "
                                 f"e.g. imgsearch search \"a lake\" {shlex.quote(word)}")
            label, terms = queries[-1]
            queries[-1] = (f"{label} {word}", terms + [term])
        else:
            queries.append((word, [term]))
    return queries


def _is_picture_file(value: str) -> bool:
    # A file with a picture's extension; "cat" stays a word even if a file "cat" is here.
    path = Path(value).expanduser()
    return path.suffix.lower() in SCAN_EXTENSIONS and path.is_file()


def embed_query(loaded, terms: list[Term]) -> np.ndarray:
    """One unit vector for a query (notebook 04's combine_queries for several terms)."""
    vectors = []
    for term in terms:
        if term.is_image:
            try:
                vectors.append(embed_images(loaded, [term.value])[0])
            except ImageLoadError as err:
                raise CliError(f"cannot read the query picture {term.value}: "
                               f"{err.reason}") from None
        else:
            vectors.append(embed_texts(loaded, term.value)[0])
    if len(terms) == 1:
        return vectors[0]
    positives = [(v, t.weight or 1.0) for v, t in zip(vectors, terms) if t.sign > 0]
    if not positives:
        raise UsageError("a query needs something to look for, not only things to avoid")
    negatives = [(v, t.weight) for v, t in zip(vectors, terms) if t.sign < 0]
    return combine_queries([v for v, _ in positives], [v for v, _ in negatives],
                           weights=[w for _, w in positives],
                           negative_weight=[w for _, w in negatives])


def looks_like_path(value: str) -> bool:
    """Whether a word is meant as a path: "/x", "./x", "~/x", "x/", "x.png", or "a/b"
    whose folder "a" exists. "AC/DC" (no folder "AC" here) and "a cat" stay words."""
    value = value.strip()
    if value.startswith(("/", "./", "../", "~")) or value.endswith(("/", os.sep)) \
            or value in (".", ".."):
        return True
    if Path(value).suffix.lower() in SCAN_EXTENSIONS:
        return True
    parent = os.path.dirname(value)
    return bool(parent) and not any(c.isspace() for c in value) and os.path.isdir(parent)


def _check_missing_paths(words: list[str]) -> None:
    """A word that looks like a path and does not exist is a typo, never a query."""
    for word in words:
        match = _MODIFIER.fullmatch(word)
        value = (match.group(3) if match else word).strip()
        if looks_like_path(value) and not os.path.exists(os.path.expanduser(value)):
            if Path(value).suffix.lower() in SCAN_EXTENSIONS:
                raise UsageError(f"picture not found: {value}")
            raise UsageError(f"no such folder: {value}")


def _split_folder(words: list[str]) -> tuple[list[str], str | None]:
    _check_missing_paths(words)
    if len(words) > 1 and Path(words[-1]).expanduser().is_dir():
        return words[:-1], words[-1]
    return words, None


def _check_output(args) -> None:
    if args.null and not args.paths:
        raise UsageError("-0/--null goes with --paths (NUL-separated paths for xargs -0)")


# The smallest probability above zero: a search for "every picture whose p is above zero".
_ANY_PROBABILITY = float(np.nextafter(0.0, 1.0))


def run_search(args) -> int:
    _check_output(args)
    words, folder_value = _split_folder(args.words)
    queries = parse_queries(words)
    for value in args.like + args.unlike:
        if not _is_picture_file(value):
            raise UsageError(f"--like and --unlike take picture files; not found: {value}")
    folder, loaded, index = _prepare(args, folder_value)
    _searchable(folder, index, loaded)
    likes = [embed_query(loaded, [Term(v, True)]) for v in args.like]
    unlikes = [embed_query(loaded, [Term(v, True)]) for v in args.unlike]
    matches = "auto" if args.matches else None
    k = args.k if args.k is not None or args.matches else COMMAND_TOP_K
    calibration = calibration_for(loaded) if args.matches else None
    answers, counts, closest, said = [], {}, {}, set()
    for label, terms in queries:
        vector = embed_query(loaded, terms)
        if likes or unlikes:
            vector = refine(vector, likes, unlikes)
        # Every match, so that the count is right however many -k shows.
        # A query that names a colour or a count ("a red car") is judged by its own rule;
        # only the words it adds count ("cat - red" asks for no colour).
        words = " ".join(t.value for t in terms if not t.is_image and t.sign > 0)
        caveat = detail_note(loaded, words)     # "a red car" to a model that reads no colours
        if caveat and caveat not in said:
            note("note: " + caveat)
            said.add(caveat)
        hits = index.search_embedding(
            vector, None if matches else k, matches, calibration, text=words,
            taken_after=args.after, taken_before=args.before, sort=args.sort)
        counts[label] = len(hits)
        answers.append((label, hits[:k] if k is not None else hits))
        if matches and not hits:
            # None matches: say how close the best picture came, as the app shows it
            # below its line. Any probability above zero lets it through.
            closest[label] = next(iter(index.search_embedding(
                vector, 1, _ANY_PROBABILITY, calibration, text=words,
                taken_after=args.after, taken_before=args.before)), None)
    _print_results(args, folder, index, answers, counts if args.matches else None, closest)
    return 0


def run_similar(args) -> int:
    _check_output(args)
    query = Path(args.image).expanduser()
    if not query.is_file():
        raise UsageError(f"picture not found: {args.image}")
    folder, loaded, index = _prepare(args, args.folder)
    _searchable(folder, index, loaded)
    k = args.k or COMMAND_TOP_K
    hits = index.search_embedding(embed_query(loaded, [Term(str(query), True)]), k + 1)
    itself = query.resolve()
    hits = [h for h in hits if Path(h.item).resolve() != itself][:k]
    _print_results(args, folder, index, [(f"more like {shown(query)}", hits)])
    return 0


def _print_results(args, folder, index, answers, counts=None, closest=None) -> None:
    """Print each query's results; ``counts``: how many match each query (with --matches).

    ``closest``: for a query that nothing matches, its best picture (with its ``p_match``),
    named after the count.
    """
    if args.null:
        out = sys.stdout.buffer
        for _, hits in answers:
            for r in hits:
                # Bytes, as the file system has them: a name that is not UTF-8 survives too.
                out.write(os.fsencode(shown(r.item)) + b"\0")
        out.flush()
        return
    if args.json:
        print(json.dumps({
            "model": index.model_name, "folder": str(folder), "index": str(index.index_dir),
            "queries": [{"query": label,
                         **({} if counts is None else {"matches": counts[label]}),
                         "results": [
                {"rank": rank, "score": round(r.score, 6), "path": str(Path(r.item).absolute()),
                 **({} if r.p_match is None else {"p_match": round(r.p_match, 6)}),
                 **(_taken_json(index, r.index) if _uses_time(args) else {})}
                for rank, r in enumerate(hits, 1)]} for label, hits in answers]},
            indent=2, ensure_ascii=False))
        return
    # With --after/--before the matches are counted among the pictures taken then.
    dated = None
    if counts is not None and (args.after is not None or args.before is not None):
        dated = len(index.rows_taken(args.after, args.before))
    for number, (label, hits) in enumerate(answers):
        if args.paths:
            for r in hits:
                print(shown(r.item))
            continue
        if len(answers) > 1:
            print(("\n" if number else "") + f"{label}:")
        for rank, r in enumerate(hits, 1):
            p = "" if r.p_match is None else f"  p {r.p_match:4.2f}"
            when = f"  {_taken(index, r.index)}" if _uses_time(args) else ""
            print(f"{rank:3d}  {r.score:6.3f}{p}{when}  {shown(r.item)}")
        if counts is not None:
            print(_count_line(len(index), dated, len(hits), counts[label], (closest or {}).get(label)))


def _count_line(total: int, dated: int | None, shown_n: int, n: int, best) -> str:
    """The line under a query's matches: "3 of 50 pictures match", and what qualifies it.

    ``total``: pictures in the index; ``dated``: how many of them were taken in the
    --after/--before dates (None without dates), among which the matches are counted;
    ``best``: for a query nothing matches, its best picture (with its ``p_match``), or None.
    """
    notes = [f"{shown_n} shown"] if shown_n < n else []
    if dated == 0:
        return f"no picture of the {total} was taken in those dates"
    if dated is not None and dated < total:
        notes.append(f"{dated} of the {total} were taken in those dates")
    line = match_words(n, total if dated is None else dated) + (f" ({'; '.join(notes)})" if notes else "")
    if best is not None:
        line += (f"; the closest, {shown(best.item)}, has p {best.p_match:.2f} "
                 f"(a match needs {MATCH_PROBABILITY:.2f})")
    return line


def _uses_time(args) -> bool:
    return (getattr(args, "sort", None) == "time" or getattr(args, "after", None) is not None
            or getattr(args, "before", None) is not None)


def _taken_json(index, row: int) -> dict:
    capture = index.captures[row]
    return {"taken": capture.taken.isoformat(), "taken_from": capture.source,
            "camera": capture.camera}


def _taken(index, row: int) -> str:
    capture = index.captures[row]
    mark = "" if capture.source == "exif" else " (file time)" if capture.source == "mtime" \
        else " (camera's local time)"
    return capture.taken.isoformat(sep=" ", timespec="minutes") + mark


# -- duplicates ------------------------------------------------------------------------

def duplicate_groups(pairs: list[tuple[int, int, float]]) -> list[tuple[list[int], float, float]]:
    """Connected groups of near-duplicate pairs: (rows, lowest score, highest score).

    Best group first (by its highest score).
    """
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.setdefault(i, i) != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j, _ in pairs:
        parent[root(i)] = root(j)
    groups: dict[int, list] = {}
    for i, j, score in pairs:
        members, scores = groups.setdefault(root(i), [set(), []])
        members.update((i, j))
        scores.append(score)
    out = [(sorted(m), min(s), max(s)) for m, s in groups.values()]
    return sorted(out, key=lambda g: (-g[2], g[0]))


def run_duplicates(args) -> int:
    folder, loaded, index = _prepare(args, args.folder)
    _searchable(folder, index, loaded)
    threshold, lookalikes = duplicate_threshold(index.model_name)
    if args.threshold is not None:
        threshold = args.threshold
    args.threshold = threshold
    groups = duplicate_groups(near_duplicates(index.embeddings, args.threshold))
    if lookalikes and groups:
        note("note: " + lookalikes)
    paths = index.paths
    if args.json:
        print(json.dumps({
            "model": index.model_name, "folder": str(folder), "threshold": args.threshold,
            "pictures": len(index), "look_alikes": bool(lookalikes),
            "groups": [{"paths": [str(paths[i]) for i in rows], "min_score": round(lo, 6),
                        "max_score": round(hi, 6)} for rows, lo, hi in groups]},
            indent=2, ensure_ascii=False))
        return 0
    if not groups:
        print(f"no near-duplicates among {len(index)} pictures at cosine >= {args.threshold} "
              "(a lower --threshold finds more)")
        return 0
    in_groups = sum(len(rows) for rows, _, _ in groups)
    kind = "look-alikes (not necessarily copies)" if lookalikes else "near-duplicates"
    print(f"{len(groups)} groups of {kind} ({in_groups} of {len(index)} pictures, "
          f"cosine >= {args.threshold}):")
    for number, (rows, lo, hi) in enumerate(groups, 1):
        scores = f"{hi:.3f}" if lo == hi else f"{lo:.3f} to {hi:.3f}"
        print(f"\ngroup {number}: {len(rows)} pictures, cosine {scores}")
        for i in rows:
            print(f"  {shown(paths[i])}")
    return 0
