"""formats.Format: one helper for every persisted format's version and upgrade steps."""
import json

import pytest

from badfiles import FakeEmbedder
from conftest import make_picture
from imgsearch_helpers import __version__
from imgsearch_helpers.formats import Format, NewerFormatError, UnknownFormatError
from imgsearch_helpers.index import ImageIndex, ImageIndexError, IndexCorruptError
from imgsearch_helpers.index._store import MANIFEST_FORMAT


def test_steps_run_in_order_from_the_stored_version_to_the_current_one():
    fmt = Format("demo", 3, "demo file")
    ran = []

    @fmt.upgrade(2)
    def _two(data):
        ran.append(2)
        return {**data, "b": data["a"] * 10}

    @fmt.upgrade(1)
    def _one(data):
        ran.append(1)
        return {**data, "a": 1}

    old = {"format": "demo", "format_version": 1}
    assert fmt.read(old, "x.json") == {"format": "demo", "format_version": 3, "a": 1, "b": 10}
    assert ran == [1, 2]
    ran.clear()
    assert fmt.read({"format": "demo", "format_version": 3, "a": 5}, "x")["a"] == 5
    assert ran == []


def test_newer_foreign_and_malformed_versions_are_refused_with_the_file_named():
    fmt = Format("demo", 1, "demo file")
    with pytest.raises(NewerFormatError, match=r"x\.json has demo file format 2.*reads up to 1"):
        fmt.read({"format": "demo", "format_version": 2}, "x.json")
    for bad in ({"format": "other", "format_version": 1}, {"format": "demo"},
                {"format": "demo", "format_version": True}, {"format": "demo",
                                                             "format_version": "1"}, []):
        with pytest.raises(UnknownFormatError, match="x.json"):
            fmt.read(bad, "x.json")
    with pytest.raises(ValueError):
        fmt.upgrade(1)          # a step from the current version leads nowhere


def test_a_missing_step_is_our_bug_not_the_files():
    fmt = Format("demo", 2, "demo file")
    with pytest.raises(RuntimeError, match="no upgrade step from version 1"):
        fmt.read({"format": "demo", "format_version": 1}, "x")


def test_stamp_records_the_format_and_what_made_it():
    stamp = Format("demo", 4, "demo file").stamp()
    assert stamp == {"format": "demo", "format_version": 4,
                     "made_by": {"package": "imgsearch_helpers", "version": __version__}}


def test_an_index_of_format_1_is_upgraded_and_its_weights_are_unknown(tmp_path):
    folder = tmp_path / "pics"
    folder.mkdir()
    for k in range(3):
        make_picture(k).save(folder / f"p{k}.png")
    index = ImageIndex.build(folder, FakeEmbedder())
    manifest = index.index_dir / "manifest.json"
    data = json.loads(manifest.read_text())
    current = MANIFEST_FORMAT.version
    assert data["format_version"] == current and data["made_by"]["package"] == "imgsearch_helpers"
    # What version 1 wrote: no weights, no made_by (and no capture times, from version 3).
    old = {k: v for k, v in data.items() if k not in ("weights", "made_by", "captures")}
    manifest.write_text(json.dumps({**old, "format_version": 1}))
    again = ImageIndex.open(index.index_dir)
    assert again.relpaths == index.relpaths and again.weights is None
    manifest.write_text(json.dumps({**data, "format_version": current + 1}))
    with pytest.raises(ImageIndexError, match=f"index format {current + 1}.*reads up to {current}"):
        ImageIndex.open(index.index_dir)
    manifest.write_text(json.dumps({**data, "format": "something else"}))
    with pytest.raises(IndexCorruptError, match="not an imgsearch-index file"):
        ImageIndex.open(index.index_dir)
