"""The README's terminal session: every search for a detail ("a red house") shows, first, a
picture that has it, by the attributes the painter recorded, not only the right kind of scene;
and its searches with a course model print today what the README shows."""
from __future__ import annotations

import os
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


def readme_session() -> str:
    """The README's ```console block: its terminal session."""
    return re.search(r"```console\n(.*?)```", README.read_text(), re.S).group(1)


def session_steps(console: str) -> list[tuple[str, list[str]]]:
    """The session's commands, each with the lines it printed."""
    steps = []
    for block in re.split(r"^\$ ", console, flags=re.M)[1:]:
        command, _, printed = block.partition("\n")
        steps.append((command, printed.splitlines()))
    return steps


def first_results(console: str) -> dict[str, str]:
    """query -> the first file of each `imgsearch search "..." data/gallery` result in the session."""
    out = {}
    for command, printed in session_steps(console):
        if not command.startswith("imgsearch search") or "data/gallery" not in command:
            continue
        queries = [q for q in re.findall(r'"([^"]+)"', command) if not q.startswith("+")]
        if not queries or "--paths" in command:  # --paths | ls: listed by name, not by rank
            continue
        current = queries[0] if len(queries) == 1 else None
        for line in printed:
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
    console = readme_session()
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


def test_the_readme_session_prints_what_the_command_prints_now(tmp_path, monkeypatch, capfd):
    """Every `imgsearch search` and `similar` of the README's session with a course model,
    run again on copies of its folders: the results on stdout are the lines the README shows
    (its lines on stderr, progress and notes, are left out: they name times and places)."""
    import shlex
    import shutil

    from imgsearch_helpers.cli import main

    console = readme_session()
    for folder in ("gallery", "photos"):
        shutil.copytree(README.parent / "data" / folder, tmp_path / "data" / folder,
                        ignore=shutil.ignore_patterns(".imgsearch"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMGSEARCH_PROFILE", "offline")
    monkeypatch.delenv("IMGSEARCH_MODEL", raising=False)
    replayed = 0
    for command, printed in session_steps(console):
        words = shlex.split(command)
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            monkeypatch.setenv(name, value)
            continue
        model = os.environ.get("IMGSEARCH_MODEL", "")
        if words[0] != "imgsearch" or words[1] not in ("search", "similar") or not model.startswith("imgsearch/"):
            continue
        capfd.readouterr()
        assert main(words[1:]) == 0, command
        shown = [line for line in printed if not line.startswith(("indexing:", "imgsearch:"))]
        assert capfd.readouterr().out.splitlines() == shown, command
        replayed += 1
    assert replayed >= 4, "the README's session has fewer searches with a course model than it had"
