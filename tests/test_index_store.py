"""What an index keeps on disk (index/_store.py): every field, file and row is checked before
use; crashes, damaged and hostile files, read-only places, another writer."""
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from badfiles import FakeEmbedder, age, fake_vector, old_pictures, read_only_disk
from imgsearch_helpers.index import (ImageIndex, ImageIndexError, IndexCorruptError,
                                     IndexLockedError, IndexReadOnlyError, _store as index_store)


# -- shared set-up ---------------------------------------------------------------------

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")


def _edit_manifest(index_dir: Path, **fields) -> None:
    path = index_dir / "manifest.json"
    data = json.loads(path.read_text())
    data.update(fields)
    path.write_text(json.dumps(data))


@pytest.fixture
def small_index(tmp_path):
    return ImageIndex.build(old_pictures(tmp_path / "photos"), FakeEmbedder())


# -- every field, file and row of an index is checked before use -----------------------

def _manifest_text(index_dir: Path, old: str, new: str) -> None:
    path = index_dir / "manifest.json"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("damage", [
    "dim_infinity", "dim_nan", "sizes_hold_a_list", "generation_is_text", "count_negative",
    "racy_out_of_range", "deeply_nested", "huge_integer", "skipped_not_pairs", "dim_is_true",
    "checksum_not_hex", "summary_holds_text"])
def test_malformed_manifest_values_are_index_corrupt_errors(small_index, damage):
    index_dir = small_index.index_dir
    data = json.loads((index_dir / "manifest.json").read_text())
    if damage == "dim_infinity":
        _manifest_text(index_dir, '"dim":8', '"dim":Infinity')
    elif damage == "dim_nan":
        _manifest_text(index_dir, '"dim":8', '"dim":NaN')
    elif damage == "sizes_hold_a_list":
        _edit_manifest(index_dir, sizes=[[1], *data["sizes"][1:]])
    elif damage == "generation_is_text":
        _edit_manifest(index_dir, generation="1")
    elif damage == "count_negative":
        _edit_manifest(index_dir, count=-1)
    elif damage == "racy_out_of_range":
        _edit_manifest(index_dir, racy=[99])
    elif damage == "deeply_nested":
        _manifest_text(index_dir, '"last_summary":{', '"last_summary":' + "[" * 100_000 + "{")
    elif damage == "huge_integer":
        _manifest_text(index_dir, '"dim":8', '"dim":' + "9" * 5000)
    elif damage == "skipped_not_pairs":
        _edit_manifest(index_dir, skipped=[["a.jpg"]])
    elif damage == "dim_is_true":
        _edit_manifest(index_dir, dim=True)
    elif damage == "checksum_not_hex":
        _edit_manifest(index_dir, embeddings_sha256="../../etc/passwd")
    else:
        _edit_manifest(index_dir, last_summary={"embedded": "3"})
    before = {p.name: p.read_bytes() for p in index_dir.iterdir() if p.is_file()}
    with pytest.raises(IndexCorruptError, match="left as it is"):
        ImageIndex.open(index_dir)
    with pytest.raises(IndexCorruptError):
        ImageIndex.build(small_index.folder, FakeEmbedder())
    assert {p.name: p.read_bytes() for p in index_dir.iterdir() if p.is_file()} == before


def test_a_manifest_that_is_a_directory_is_an_index_corrupt_error(small_index):
    manifest = small_index.index_dir / "manifest.json"
    manifest.unlink()
    manifest.mkdir()
    with pytest.raises(IndexCorruptError, match="directory"):
        ImageIndex.open(small_index.index_dir)


def _must_not_block(fifo: Path, run, seconds: float = 10.0):
    """Run ``run()`` in a thread; if it blocks on ``fifo``, unblock it and fail."""
    outcome = {}

    def target():
        try:
            outcome["value"] = run()
        except BaseException as err:      # noqa: BLE001 - handed to the test below
            outcome["error"] = err
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)     # a writer ends the blocked read
        os.close(fd)
        thread.join(5)
        pytest.fail(f"blocked on the FIFO {fifo}")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@needs_fifo
def test_a_manifest_that_is_a_fifo_does_not_block(small_index):
    manifest = small_index.index_dir / "manifest.json"
    manifest.unlink()
    os.mkfifo(manifest)
    with pytest.raises(IndexCorruptError, match="FIFO"):
        _must_not_block(manifest, lambda: ImageIndex.open(small_index.index_dir))
    with pytest.raises(IndexCorruptError, match="FIFO"):
        _must_not_block(manifest, lambda: ImageIndex.build(small_index.folder, FakeEmbedder()))


@needs_fifo
def test_a_checkpoint_that_is_a_fifo_does_not_block(small_index):
    (small_index.folder / "new.jpg").write_bytes(b"new")
    ckpt = small_index.index_dir / "checkpoints"
    ckpt.mkdir()
    os.mkfifo(ckpt / f"{small_index._manifest.generation}-000000.json")
    with pytest.warns(UserWarning, match="ignored unreadable checkpoint"):
        index = _must_not_block(ckpt / f"{small_index._manifest.generation}-000000.json",
                                lambda: ImageIndex.build(small_index.folder, FakeEmbedder()))
    assert len(index) == 4


def _overwrite_float(index: ImageIndex, row: int, col: int, value: float) -> None:
    path = index.index_dir / index._manifest.embeddings_file
    with open(path, "r+b") as fh:
        np.lib.format.read_magic(fh)
        np.lib.format.read_array_header_1_0(fh)
        fh.seek(fh.tell() + 4 * (row * index.dim + col))
        fh.write(struct.pack("<f", value))


@pytest.mark.parametrize("value", [6e28, float("nan"), float("inf")])
def test_one_overwritten_float_never_wins_a_query(small_index, value):
    query = fake_vector(b"a query")
    _overwrite_float(small_index, 1, int(np.argmax(query)), value)
    index = ImageIndex.open(small_index.index_dir)           # same size: open is cheap
    with pytest.raises(IndexCorruptError, match="1.jpg.*not a unit vector"):
        index.search_embedding(query, k=3)
    with pytest.raises(IndexCorruptError, match="checksum"):
        index.verify()
    # An update that would copy the damaged rows into a new generation refuses to.
    (index.folder / "new.jpg").write_bytes(b"new picture")
    with pytest.raises(IndexCorruptError, match="checksum"):
        ImageIndex.build(index.folder, FakeEmbedder())


def test_lone_surrogates_round_trip_through_a_manifest(tmp_path):
    from imgsearch_helpers.index._store import Manifest, read_manifest, write_manifest

    names = sorted(["\ud800lone-high.jpg", "\udcfflone-low.jpg", "a\nb.jpg", "plain.jpg"])
    manifest = Manifest(model="m", dim=2, dtype="float32", folder="..", paths=names,
                        sizes=[1] * 4, mtimes=[1] * 4, inodes=[1] * 4,
                        skipped=[("\ud83dbroken.jpg", "why")])
    write_manifest(tmp_path, manifest)
    assert read_manifest(tmp_path) == manifest


# -- crashes (SIGKILL) mid-way and damaged files ---------------------------------------

TESTS = Path(__file__).resolve().parent


_UPDATE_SCRIPT = textwrap.dedent("""
    import sys
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    from badfiles import FakeEmbedder
    from imgsearch_helpers.index import ImageIndex
    ImageIndex.build(sys.argv[3], FakeEmbedder(delay=0.15), checkpoint_every=4)
    print("finished")
""")


def test_sigkill_mid_update_loses_nothing_and_resumes(tmp_path):
    folder = tmp_path / "photos"
    for k in range(8):
        (folder / "old").mkdir(parents=True, exist_ok=True)
        (folder / "old" / f"{k}.jpg").write_bytes(b"old picture %d" % k)
    age(folder)
    before = ImageIndex.build(folder, FakeEmbedder())
    for k in range(40):
        (folder / f"new{k:02d}.jpg").write_bytes(b"new picture %d" % k)
    age(folder)
    ckpt_dir = before.index_dir / "checkpoints"
    proc = subprocess.Popen([sys.executable, "-c", _UPDATE_SCRIPT, str(TESTS), str(TESTS.parent),
                             str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while len(list(ckpt_dir.glob("*.json"))) < 3:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the update never checkpointed"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    saved = sorted(p for f in ckpt_dir.glob("*.json") for p in json.loads(f.read_text())["paths"])
    assert 12 <= len(saved) < 40
    # The index on disk is still the old one, whole.
    still = ImageIndex.open(before.index_dir)
    assert still.relpaths == before.relpaths
    np.testing.assert_array_equal(still.embeddings, before.embeddings)
    # Re-running embeds exactly what had not been saved.
    fake = FakeEmbedder()
    after = ImageIndex.build(folder, fake)
    assert after.summary["resumed"] == len(saved) and after.summary["reused"] == 8
    assert sorted(p.name for p in fake.embedded) == sorted(
        f"new{k:02d}.jpg" for k in range(40) if f"new{k:02d}.jpg" not in saved)
    assert len(after) == 48
    for path, row in zip(after.paths, after.embeddings):
        np.testing.assert_array_equal(row, fake_vector(path.read_bytes()))


def test_crash_while_committing_keeps_the_old_index(tmp_path, monkeypatch):
    for k in range(5):
        (tmp_path / f"{k}.jpg").write_bytes(b"pic %d" % k)
    age(tmp_path)
    index = ImageIndex.build(tmp_path, FakeEmbedder())
    (tmp_path / "5.jpg").write_bytes(b"pic 5")
    age(tmp_path)
    real_replace = os.replace

    def crash_on_manifest(src, dst):
        if str(dst).endswith("manifest.json"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)
    monkeypatch.setattr(index_store.os, "replace", crash_on_manifest)
    with pytest.raises(OSError, match="No space"):
        ImageIndex.build(tmp_path, FakeEmbedder())
    monkeypatch.setattr(index_store.os, "replace", real_replace)
    assert len(ImageIndex.open(index.index_dir)) == 5
    leftovers = sorted(p.name for p in index.index_dir.iterdir())
    # The failed write removed its temporary file (it held the little space left).
    assert "embeddings-2.npy" in leftovers and not any(n.endswith(".tmp") for n in leftovers)
    done = ImageIndex.build(tmp_path, FakeEmbedder())
    assert len(done) == 6 and done.summary["resumed"] + done.summary["embedded"] == 1
    assert not any(n.endswith(".tmp") for n in os.listdir(index.index_dir))


@pytest.mark.parametrize("damage", ["manifest_cut", "manifest_edited", "embeddings_cut",
                                    "embeddings_garbage", "embeddings_missing"])
def test_damaged_index_is_a_clear_error_and_left_untouched(tmp_path, damage):
    for k in range(5):
        (tmp_path / f"{k}.jpg").write_bytes(b"pic %d" % k)
    index = ImageIndex.build(tmp_path, FakeEmbedder())
    manifest, emb = index.index_dir / "manifest.json", index.index_dir / "embeddings-1.npy"
    if damage == "manifest_cut":
        manifest.write_bytes(manifest.read_bytes()[:100])
    elif damage == "manifest_edited":
        data = json.loads(manifest.read_text())
        data["sizes"] = data["sizes"][:-1]
        manifest.write_text(json.dumps(data))
    elif damage == "embeddings_cut":
        emb.write_bytes(emb.read_bytes()[:-7])
    elif damage == "embeddings_garbage":
        emb.write_bytes(os.urandom(emb.stat().st_size))
    else:
        emb.unlink()
    files = {p.name: p.read_bytes() for p in index.index_dir.iterdir() if p.is_file()}
    with pytest.raises(IndexCorruptError, match="left as it is"):
        ImageIndex.open(index.index_dir)
    with pytest.raises(IndexCorruptError):
        ImageIndex.build(tmp_path, FakeEmbedder())
    assert {p.name: p.read_bytes() for p in index.index_dir.iterdir() if p.is_file()} == files


# -- no pickle is ever loaded; the manifest cannot point outside its folder ------------

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


# -- the folder an index belongs to comes from where it was opened ---------------------

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


# -- an index_dir reached through a symbolic link --------------------------------------

def test_index_dir_through_a_symlink_to_a_deeper_folder(tmp_path):
    photos = old_pictures(tmp_path / "photos")
    real = tmp_path / "store" / "deep" / "er" / "index"
    real.mkdir(parents=True)
    link = tmp_path / "index-link"
    link.symlink_to(real, target_is_directory=True)
    first = ImageIndex.build(photos, FakeEmbedder(), index_dir=link)
    assert len(first) == 3 and first.index_dir == real
    again = ImageIndex.build(photos, FakeEmbedder(), index_dir=link)
    assert again.summary["reused"] == 3
    assert ImageIndex.open(link, folder=photos).paths == first.paths


# -- read-only places ------------------------------------------------------------------

def test_an_up_to_date_index_on_a_read_only_disk_is_searched(small_index, monkeypatch):
    photos = small_index.folder
    read_only_disk(monkeypatch, photos)
    index = ImageIndex.build(photos, FakeEmbedder())
    assert len(index) == 3 and index.summary["reused"] == 3
    assert index.search_embedding(fake_vector(b"picture 1"), k=1)[0].item == photos / "1.jpg"
    assert len(ImageIndex.open(small_index.index_dir)) == 3
    # Once the folder changed, the index cannot be brought up to date: say what to do.
    monkeypatch.undo()
    (photos / "new.jpg").write_bytes(b"new")
    read_only_disk(monkeypatch, photos)
    with pytest.raises(IndexReadOnlyError, match="Read-only") as info:
        ImageIndex.build(photos, FakeEmbedder())
    assert "ImageIndex.open" in str(info.value) and "index_dir=" in str(info.value)


def test_a_read_only_folder_is_indexed_in_the_user_cache_by_the_index_itself(tmp_path,
                                                                             monkeypatch):
    """The fallback belongs to the index, so the app and the notebooks get it too; the
    test needs no other user, so it works wherever the clone lives."""
    photos, cache = tmp_path / "photos", tmp_path / "cache"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(b"a")
    age(photos)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    read_only_disk(monkeypatch, photos)
    index = ImageIndex.build(photos, FakeEmbedder())
    assert index.in_user_cache and index.index_dir.is_relative_to(cache / "imgsearch")
    assert len(index) == 1 and not (photos / ".imgsearch").exists()
    again = ImageIndex.build(photos, FakeEmbedder())
    assert again.index_dir == index.index_dir and again.summary["reused"] == 1
    # Given an index_dir that cannot be written, the error says where to put one.
    with pytest.raises(IndexReadOnlyError, match="cannot create an index.*index_dir="):
        ImageIndex.build(photos, FakeEmbedder(), index_dir=photos / "idx")


# -- waiting for another writer --------------------------------------------------------

def test_build_can_wait_for_another_writer(small_index):
    fcntl = pytest.importorskip("fcntl")
    (small_index.folder / "new.jpg").write_bytes(b"new")
    fd = os.open(small_index.index_dir / "lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)          # stands for another process's update
    try:
        with pytest.raises(IndexLockedError, match=r"waited 0.2 s.*wait="):
            ImageIndex.build(small_index.folder, FakeEmbedder(), wait=0.2)
        threading.Timer(0.5, fcntl.flock, (fd, fcntl.LOCK_UN)).start()   # ...which ends
        start = time.monotonic()
        index = ImageIndex.build(small_index.folder, FakeEmbedder(), wait=30)
        assert time.monotonic() - start >= 0.4 and len(index) == 4
    finally:
        os.close(fd)
    with pytest.raises(ValueError, match="wait"):
        ImageIndex.build(small_index.folder, FakeEmbedder(), wait=-1)
