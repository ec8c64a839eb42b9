"""The README's terminal session: every search for a detail ("a red house") shows, first, a
picture that has it, by the attributes the painter recorded, not only the right kind of scene."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from imgsearch_helpers import clipart

README = Path(__file__).resolve().parents[1] / "README.md"
COLOURS = sorted({c for (kind, key), values in clipart.ATTRIBUTE_VALUES.items() if key == "colour"
                  for c in values})


def wanted(query: str) -> dict | None:
    """The attributes a query asks for, read from its words (None: it asks for no detail)."""
    hat = re.search(r"snowman with an? (\w+) hat", query)
    if hat:
        return {"kind": "snow", "hat": hat.group(1)}
    for kind, (sing, plural) in clipart.THING_NOUNS.items():
        m = re.search(rf"\b({'|'.join(COLOURS)}) ({sing}|{plural})\b", query)
        if m:
            return {"kind": kind, "colour": m.group(1)}
    return None


def first_results(console: str) -> dict[str, str]:
    """query -> the first file of each `imgsearch search "..." data/gallery` result in the session."""
    out = {}
    for block in re.split(r"^\$ ", console, flags=re.M):
        command, _, printed = block.partition("\n")
        if not command.startswith("imgsearch search") or "data/gallery" not in command:
            continue
        queries = [q for q in re.findall(r'"([^"]+)"', command) if not q.startswith("+")]
        if not queries or "--paths" in command:  # --paths | ls: listed by name, not by rank
            continue
        current = queries[0] if len(queries) == 1 else None
        for line in printed.splitlines():
            if line.endswith(":") and line[:-1] in queries:
                current = line[:-1]
            found = re.match(r"\s+1\s+[\d.]+\s+data/gallery/(\S+)", line)
            if found and current:
                out[current] = found.group(1)
    return out


def test_the_parser_reads_queries_and_files():
    assert wanted("a red house") == {"kind": "house", "colour": "red"}
    assert wanted("a snowman with a red hat") == {"kind": "snow", "hat": "red"}
    assert wanted("a beautiful lake with mountains") is None


def test_every_detail_searched_in_the_readme_is_true_of_the_first_picture():
    console = re.search(r"```console\n(.*?)```", README.read_text(), re.S).group(1)
    results = first_results(console)
    scenes = clipart.gallery_scenes()
    checked = 0
    for query, name in results.items():
        want = wanted(query)
        if want is None:
            continue
        assert clipart.shows(scenes[name].attributes, **want), (query, name, scenes[name].attributes)
        checked += 1
    if not checked:
        pytest.skip(f"the README's session searches for no detail (colour, hat): {sorted(results)}")


def test_the_readme_gives_make_models_the_time_that_eval_md_records():
    """The README's training time is EVAL.md's, which `make models` rewrites with each retraining."""
    import re

    eval_md = (README.parent / "data" / "models" / "EVAL.md").read_text()
    recorded = re.search(r"^Training time: ([\d.]+) min", eval_md, re.M).group(1)
    said = re.search(r"`data/models/EVAL.md` add up to ([\d.]+);", " ".join(README.read_text().split()))
    assert said and said.group(1) == recorded, (said and said.group(1), recorded)
