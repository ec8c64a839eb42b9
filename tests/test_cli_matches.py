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
    # -k shows fewer; the count stays the number of matches.
    two = imgsearch("search", QUERY, "gallery", "--matches", "-k", 2, "--json", "--model", MODEL,
                    cwd=workdir)
    data = json.loads(two.stdout)["queries"][0]
    assert data["matches"] == len(matches) and len(data["results"]) == 2


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


def test_after_before_and_sort_time(tmp_path):
    from test_capture import jpeg

    folder = tmp_path / "trip"
    folder.mkdir()
    jpeg(folder / "c.jpg", (200, 30, 30), "2024:06:15 18:00:00", "+02:00", "Canon", "Canon EOS R6")
    jpeg(folder / "a.jpg", (30, 200, 30), "2024:04:20 09:00:00", "+02:00")
    jpeg(folder / "b.jpg", (30, 30, 200), "2024:05:01 10:00:00")
    proc = imgsearch("search", "a red car", folder, "--json", "--sort", "time", "--after",
                     "2024-05-01", "--model", MODEL, cwd=tmp_path)
    results = _results(proc)
    assert [r["path"].rsplit("/", 1)[1] for r in results] == ["b.jpg", "c.jpg"]
    assert results[1]["taken"] == "2024-06-15T18:00:00+02:00"
    assert results[1]["camera"] == "Canon EOS R6" and results[0]["taken_from"] == "exif-local"
    text = imgsearch("search", "a red car", folder, "--before", "2024-04-30", "--model", MODEL,
                     cwd=tmp_path).stdout
    assert "a.jpg" in text and "2024-04-20 09:00+02:00" in text and "b.jpg" not in text
    bad = imgsearch("search", "a red car", folder, "--after", "last May", "--model", MODEL,
                    cwd=tmp_path)
    assert bad.returncode == 2 and "not a date" in bad.stderr
