"""No pickle anywhere, no external program, hostile index files and file names."""
import ast
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import imgsearch_helpers
from badfiles import HOSTILE_NAME, FakeEmbedder, jpeg_bytes, quadrants
from conftest import make_picture
from formatseeds import seed_files
from imgsearch_helpers import (ImageLoadError, embed_image_files, load_image, load_model,
                               results_html)
from imgsearch_helpers.index import ImageIndex, ImageIndexError, IndexCorruptError

PACKAGE = Path(imgsearch_helpers.__file__).parent


def _calls(tree, name):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == name:
                yield node


@pytest.mark.parametrize("source", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_pickle_in_the_package(source):
    tree = ast.parse(source.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert not {"pickle", "cPickle", "dill", "joblib", "shelve", "marshal"} & \
                {n.split(".")[0] for n in names}, f"{source.name}:{node.lineno}"
    for call in _calls(tree, "load"):
        keywords = {k.arg: k.value for k in call.keywords}
        owner = getattr(call.func.value, "id", "") if isinstance(call.func, ast.Attribute) else ""
        where = f"{source.name}:{call.lineno}"
        if "allow_pickle" in keywords:
            value = keywords["allow_pickle"]
            assert isinstance(value, ast.Constant) and value.value is False, where
        elif "weights_only" in keywords:
            value = keywords["weights_only"]
            assert isinstance(value, ast.Constant) and value.value is True, where
        else:
            assert owner not in ("np", "numpy", "torch"), \
                f"{where}: {owner}.load without allow_pickle=False / weights_only=True"


class _Payload:
    """Unpickling this creates a marker file: proof that the pickle ran."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _pickle_bomb_npy(path: Path, marker: Path) -> None:
    _Payload.marker = marker
    arr = np.empty(1, dtype=object)
    arr[0] = _Payload()
    np.save(path, arr, allow_pickle=True)


def test_pickled_embeddings_file_is_refused_not_run(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"a")
    index = ImageIndex.build(tmp_path, FakeEmbedder())
    emb = index.index_dir / "embeddings-1.npy"
    marker = tmp_path / "PWNED"
    _pickle_bomb_npy(emb, marker)
    data = json.loads((index.index_dir / "manifest.json").read_text())
    data["embeddings_bytes"] = emb.stat().st_size      # an attacker can edit that too
    (index.index_dir / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(IndexCorruptError, match="not a readable .npy"):
        ImageIndex.open(index.index_dir)
    assert not marker.exists()


def test_pickled_checkpoint_is_ignored_not_run(tmp_path):
    for k in range(3):
        (tmp_path / f"{k}.jpg").write_bytes(b"pic %d" % k)
    index_dir = tmp_path / "idx"
    (index_dir / "checkpoints").mkdir(parents=True)
    marker = tmp_path / "PWNED"
    _pickle_bomb_npy(index_dir / "checkpoints" / "0-000000.npy", marker)
    (index_dir / "checkpoints" / "0-000000.json").write_text(json.dumps({
        "model": "fake/bytes-v1", "dtype": "float32", "paths": ["0.jpg"],
        "stats": [[5, 0, 0]], "racy": [False]}))
    with pytest.warns(UserWarning, match="ignored unreadable checkpoint"):
        index = ImageIndex.build(tmp_path, FakeEmbedder(), index_dir=index_dir)
    assert not marker.exists() and index.summary["embedded"] == 3


@pytest.mark.parametrize("path", ["../outside.jpg", "/etc/passwd", "a/../../b.jpg", ""])
def test_manifest_cannot_point_outside_the_folder(tmp_path, path):
    (tmp_path / "a.jpg").write_bytes(b"a")
    index = ImageIndex.build(tmp_path, FakeEmbedder())
    manifest = index.index_dir / "manifest.json"
    data = json.loads(manifest.read_text())
    data["paths"] = [path]
    manifest.write_text(json.dumps(data))
    with pytest.raises(IndexCorruptError, match="not relative"):
        ImageIndex.open(index.index_dir)


def test_hostile_file_names_are_escaped_in_results_html(tiny_clip, tmp_path):
    names = [HOSTILE_NAME, 'x" onmouseover="alert(2).png', "a&b<script>alert(3).png"]
    (tmp_path / names[0]).write_bytes(jpeg_bytes(quadrants()))
    make_picture(1).save(tmp_path / names[1], format="PNG")
    (tmp_path / names[2]).write_bytes(b"not a picture")     # also in the "cannot show" path
    loaded = load_model(tiny_clip, device="cpu")
    index = ImageIndex.build(tmp_path, loaded)
    hits = index.search_text(loaded, "a picture", k=5)
    assert {h.item.name for h in hits} == set(names[:2])
    from imgsearch_helpers.search import SearchResult
    hits.append(SearchResult(tmp_path / names[2], 0.0, 99))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        html = results_html(hits, title="<b onclick=alert(4)>", captions={names[0]: "<i>x</i>"})
    for raw in ["<img src=x", '" onmouseover="', "<script>", "<b onclick",
                "<i>x</i>"]:
        assert raw not in html, raw
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in html
    assert "&lt;script&gt;" in html and "&quot; onmouseover=&quot;" in html


def test_images_html_escapes_titles_and_names_and_shows_each_picture(tmp_path):
    from imgsearch_helpers.display import images_html

    good = tmp_path / HOSTILE_NAME
    good.write_bytes(jpeg_bytes(quadrants()))
    bad = tmp_path / "a&b<script>alert(3).png"
    bad.write_bytes(b"not a picture")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        html = images_html([good, bad], ["lakeside <b>0.91</b>\nboathouse", None or "x"],
                           title="<i>labels</i>")
    assert html.count("<figure") == 2 and html.count("data:image/jpeg;base64,") == 1
    assert "cannot show" in html
    for raw in ["<img src=x", "<script>", "<b>0.91", "<i>labels"]:
        assert raw not in html, raw
    assert "lakeside &lt;b&gt;0.91&lt;/b&gt;<br>boathouse" in html
    with pytest.raises(ValueError, match="2 pictures but 1 titles"):
        images_html([good, bad], ["one"])


# -- no external program, whatever a file's content (issue 18) ------------------------

@pytest.fixture
def fake_ghostscript(tmp_path, monkeypatch):
    """A `gs` on PATH that records every call and fails, as a broken Ghostscript would."""
    from PIL import EpsImagePlugin

    bin_dir, marker = tmp_path / "bin", tmp_path / "gs-was-run"
    bin_dir.mkdir()
    (bin_dir / "gs").write_text(f"#!/bin/sh\necho \"$@\" >> {marker}\nexit 1\n")
    (bin_dir / "gs").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)       # look for gs again
    return marker


@pytest.mark.skipif(sys.platform.startswith("win"), reason="a shell-script gs")
def test_eps_named_jpg_never_runs_ghostscript(tiny_clip, tmp_path, fake_ghostscript):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "holiday.jpg").write_bytes(seed_files()["EPS"])
    with pytest.raises(ImageLoadError, match="unsupported format EPS"):
        load_image(photos / "holiday.jpg")
    loaded = load_model(tiny_clip, device="cpu")
    _, ok, skipped = embed_image_files(loaded, [photos / "holiday.jpg"])
    assert ok == [] and "EPS" in skipped[0][1]
    index = ImageIndex.build(photos, loaded)
    assert len(index) == 0 and "EPS" in index.skipped[0][1]
    assert not fake_ghostscript.exists(), fake_ghostscript.read_text()


# -- the folder an index belongs to comes from where it was opened (issue 18) -------

def _edit_manifest(index_dir: Path, **fields) -> None:
    path = index_dir / "manifest.json"
    data = json.loads(path.read_text())
    data.update(fields)
    path.write_text(json.dumps(data))


def _small_index(tmp_path) -> ImageIndex:
    photos = tmp_path / "photos"
    photos.mkdir()
    for k in range(3):
        (photos / f"{k}.jpg").write_bytes(b"picture %d" % k)
    return ImageIndex.build(photos, FakeEmbedder())


@pytest.mark.parametrize("folder", ["/etc", "..", "../../..", "<outside>"])
def test_an_edited_folder_field_is_refused(tmp_path, folder):
    small_index = _small_index(tmp_path)
    outside = tmp_path / "outside"       # the same file names, someone else's pictures
    outside.mkdir()
    for k in range(3):
        (outside / f"{k}.jpg").write_bytes(b"secret %d" % k)
    _edit_manifest(small_index.index_dir, folder=folder.replace("<outside>", str(outside)))
    with pytest.raises(IndexCorruptError, match="says it indexes"):
        ImageIndex.open(small_index.index_dir)
    with pytest.raises(ImageIndexError, match="is the index of"):
        ImageIndex.build(small_index.folder, FakeEmbedder())


def test_an_index_kept_elsewhere_is_opened_with_its_folder(tmp_path):
    photos, index_dir = tmp_path / "photos", tmp_path / "indexes" / "mine"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(b"a")
    ImageIndex.build(photos, FakeEmbedder(), index_dir=index_dir)
    with pytest.raises(ImageIndexError, match="folder="):
        ImageIndex.open(index_dir)
    assert ImageIndex.open(index_dir, folder=photos).paths == [photos / "a.jpg"]
    _edit_manifest(index_dir, folder="../..")          # now claims to index tmp_path
    with pytest.raises(ImageIndexError, match="is the index of"):
        ImageIndex.open(index_dir, folder=photos)
    with pytest.raises(ImageIndexError, match="is the index of"):
        ImageIndex.open(index_dir, folder=tmp_path / "other")


