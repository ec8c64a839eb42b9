"""`imgsearch search --matches` (only the pictures judged to match) and --like / --unlike."""
from __future__ import annotations

import json
import shutil

import pytest

from test_cli import GALLERY, MODEL, assert_one_line_error, imgsearch

QUERY = "a red vehicle on the road"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-matches")
    shutil.copytree(GALLERY, root / "gallery")
    return root


def _results(proc) -> list[dict]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["queries"][0]["results"]


def test_matches_prints_only_the_matches_with_their_probability(workdir):
    everything = _results(imgsearch("search", QUERY, "gallery", "-k", 50, "--json",
                                    "--model", MODEL, cwd=workdir))
    matches = _results(imgsearch("search", QUERY, "gallery", "--matches", "--json",
                                 "--model", MODEL, cwd=workdir))
    assert 0 < len(matches) < len(everything)
    assert [m["path"] for m in matches] == [e["path"] for e in everything[:len(matches)]]
    assert all(m["p_match"] >= 0.5 for m in matches)
    assert all("p_match" not in e for e in everything)
    text = imgsearch("search", QUERY, "gallery", "--matches", "--model", MODEL, cwd=workdir)
    lines = text.stdout.strip().splitlines()
    assert lines[-1] == f"{len(matches)} of 50 pictures match"
    assert len(lines) == len(matches) + 1 and all(" p " in line for line in lines[:-1])
    paths = imgsearch("search", QUERY, "gallery", "--matches", "--paths", "--model", MODEL,
                      cwd=workdir)
    assert len(paths.stdout.strip().splitlines()) == len(matches)


def test_like_moves_a_liked_picture_up_and_unlike_moves_one_down(workdir):
    before = [r["path"] for r in _results(imgsearch(
        "search", QUERY, "gallery", "-k", 50, "--json", "--model", MODEL, cwd=workdir))]
    liked, disliked = before[9], before[0]
    after = [r["path"] for r in _results(imgsearch(
        "search", QUERY, "gallery", "-k", 50, "--json", "--model", MODEL, "--like", liked,
        "--unlike", disliked, cwd=workdir))]
    assert after.index(liked) < 9 and after.index(disliked) > 0


def test_like_needs_a_picture_file(workdir):
    proc = imgsearch("search", QUERY, "gallery", "--like", "no-such.png", "--model", MODEL,
                     cwd=workdir)
    assert_one_line_error(proc, 2, "--like and --unlike take picture files", "no-such.png")
