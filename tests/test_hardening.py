"""Hostile files, names, trees, index files and disks (issue 18): one test per example.

Every failure a file causes is a skip with a reason; only a bug of ours propagates.
The index reads nothing it has not checked. Sections follow the issue's classes;
classes 2 and 3 (no external program; the index's folder) are in test_security.py,
the mutation fuzzing in test_fuzz.py.
"""
import errno
import io
import json
import multiprocessing
import os
import struct
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps, PngImagePlugin

from badfiles import FakeEmbedder, age, fake_vector, old_pictures, quadrants, read_only_disk
from conftest import make_picture
from formatseeds import seed_files
from imgsearch_helpers import (ImageLoadError, LabelsDB, embed_image_files, embed_texts, images,
                               load_image, load_model)
from imgsearch_helpers.images import is_decoding_failure
from imgsearch_helpers.index import (ImageIndex, IndexCorruptError, IndexLockedError,
                                     IndexReadOnlyError, ModelEmbedder)

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")


def _seed(fmt: str) -> bytes:
    return seed_files()[fmt]


# -- 1. a decoder error is one file's skip, never the end of the run --------------------

def _avif_that_pillow_cannot_decode() -> bytes:
    """A valid AVIF with one byte flipped so that Pillow raises RuntimeError in load()."""
    good = _seed("AVIF")
    for pos in range(len(good) // 2, len(good)):
        bad = bytearray(good)
        bad[pos] ^= 0xFF
        try:
            with Image.open(io.BytesIO(bytes(bad))) as im:
                im.load()
        except RuntimeError:
            return bytes(bad)
        except (OSError, ValueError, SyntaxError):
            continue
    raise AssertionError("no one-byte change of the AVIF made Pillow raise RuntimeError")


def _dds_unknown_pixel_format() -> bytes:
    data = bytearray(_seed("DDS"))
    data[80:84] = b"\0\0\0\0"            # pixel-format flags: Pillow raises NotImplementedError
    return bytes(data)


def _blp_unknown_compression() -> bytes:
    data = bytearray(_seed("BLP"))
    data[4:8] = struct.pack("<i", 257)    # Pillow raises BLPFormatError (NotImplementedError)
    return bytes(data)


HOSTILE = {
    "avif-one-byte-flipped.avif": (_avif_that_pillow_cannot_decode, "corrupt"),
    "dds-content.jpg": (_dds_unknown_pixel_format, "unsupported format DDS"),
    "blp-content.jpg": (_blp_unknown_compression, "unsupported format BLP"),
    "spider-content.jpg": (lambda: _seed("SPIDER"), "not an image"),
    "eps-content.jpg": (lambda: _seed("EPS"), "unsupported format EPS"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_decoder_failures_are_skips_with_reasons(name, tmp_path):
    make, word = HOSTILE[name]
    path = tmp_path / name
    path.write_bytes(make())
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert word in info.value.reason


def test_a_folder_of_hostile_files_is_indexed_around_them(tiny_clip, tmp_path):
    for name, (make, _) in HOSTILE.items():
        (tmp_path / name).write_bytes(make())
    make_picture(1).save(tmp_path / "good.png")
    loaded = load_model(tiny_clip, device="cpu")
    index = ImageIndex.build(tmp_path, loaded)
    assert index.relpaths == ["good.png"]
    assert {p.name: r for p, r in index.skipped}.keys() == HOSTILE.keys()
    paths = sorted(p for p in tmp_path.iterdir() if p.is_file())
    emb, ok, skipped = embed_image_files(loaded, paths)
    assert [paths[i].name for i in ok] == ["good.png"] and len(skipped) == len(HOSTILE)


def test_a_picture_without_pixels_is_skipped(tiny_clip):
    loaded = load_model(tiny_clip, device="cpu")
    empty = Image.new("RGB", (0, 0))
    emb, ok, skipped = embed_image_files(loaded, [make_picture(1), empty, Image.new("L", (5, 0))])
    assert ok == [0] and emb.shape[0] == 1
    assert [r for _, r in skipped] == ["the image has no pixels (0 x 0)",
                                       "the image has no pixels (5 x 0)"]


def _bug(*args, **kwargs):
    return 1 / 0          # stands for a bug in our own code


def test_a_bug_of_ours_propagates_instead_of_skipping_every_file(tiny_clip, tmp_path,
                                                                 monkeypatch):
    make_picture(1).save(tmp_path / "a.png")
    loaded = load_model(tiny_clip, device="cpu")
    monkeypatch.setattr(images, "_to_rgb", _bug)
    for run in (lambda: load_image(tmp_path / "a.png"),
                lambda: embed_image_files(loaded, [tmp_path / "a.png"], decoder="threads"),
                lambda: ImageIndex.build(tmp_path, ModelEmbedder(loaded, decoder="threads"))):
        with pytest.raises(ZeroDivisionError):
            run()
    monkeypatch.undo()
    from imgsearch_helpers.decoding import _prepare
    monkeypatch.setattr(_prepare, "processor_inputs", _bug)    # in the preprocessing step
    with pytest.raises(ZeroDivisionError):
        embed_image_files(loaded, [tmp_path / "a.png"], decoder="threads")


def test_which_exceptions_are_the_files_fault():
    try:
        ImageOps.exif_transpose(object())        # raised inside Pillow: the data's fault
    except AttributeError as err:
        assert is_decoding_failure(err)
    for exc in (ZeroDivisionError, AttributeError, NameError, KeyError, TypeError):
        try:
            raise exc("raised in our code")
        except exc as err:
            assert not is_decoding_failure(err), exc
    for exc in (OSError, ValueError, SyntaxError, EOFError, struct.error, MemoryError):
        assert is_decoding_failure(exc("bad data, wherever it was noticed")), exc
    assert not is_decoding_failure(KeyboardInterrupt())


# -- shared set-up ----------------------------------------------------------------

def _edit_manifest(index_dir: Path, **fields) -> None:
    path = index_dir / "manifest.json"
    data = json.loads(path.read_text())
    data.update(fields)
    path.write_text(json.dumps(data))


@pytest.fixture
def small_index(tmp_path):
    return ImageIndex.build(old_pictures(tmp_path / "photos"), FakeEmbedder())


# -- 4. every field, file and row of an index is checked before use ----------------------

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


def test_an_embedder_that_gives_nan_skips_that_file(tmp_path):
    class NanForB(FakeEmbedder):
        def embed_files(self, paths, progress=None):
            for batch in super().embed_files(paths, progress):
                for row, pos in enumerate(batch.positions):
                    if Path(paths[pos]).name == "b.jpg":
                        batch.embeddings[row] = np.nan
                yield batch

    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(name.encode())
    index = ImageIndex.build(tmp_path, NanForB())
    assert index.relpaths == ["a.jpg"]
    assert index.skipped == [(tmp_path / "b.jpg", "the model gave a non-finite embedding (NaN or inf)")]


# -- 5. every name a file system allows round-trips --------------------------------------

ODD_NAMES = ["line\nbreak.jpg", "tab\tand space .jpg", os.fsdecode(b"caf\xe9-latin1.jpg"),
             os.fsdecode(b"\xff\xfe-not-utf8.jpg"), "日本語.jpg", "sub dir/new\nline.jpg"]


def test_odd_file_names_round_trip_through_the_index(tmp_path):
    for k, name in enumerate(ODD_NAMES):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"picture %d" % k)
    age(tmp_path)
    fake = FakeEmbedder()
    index = ImageIndex.build(tmp_path, fake)
    assert sorted(index.relpaths) == sorted(ODD_NAMES) and not index.skipped
    again = ImageIndex.build(tmp_path, fake)         # used to fail for good after a newline
    assert again.summary["reused"] == len(ODD_NAMES)
    reopened = ImageIndex.open(index.index_dir)
    assert reopened.relpaths == index.relpaths
    hit = reopened.search_embedding(fake_vector(b"picture 3"), k=1)[0]
    assert hit.item == tmp_path / ODD_NAMES[3] and hit.item.read_bytes() == b"picture 3"


def test_lone_surrogates_round_trip_through_a_manifest(tmp_path):
    from imgsearch_helpers.index._store import Manifest, read_manifest, write_manifest

    names = sorted(["\ud800lone-high.jpg", "\udcfflone-low.jpg", "a\nb.jpg", "plain.jpg"])
    manifest = Manifest(model="m", dim=2, dtype="float32", folder="..", paths=names,
                        sizes=[1] * 4, mtimes=[1] * 4, inodes=[1] * 4,
                        skipped=[("\ud83dbroken.jpg", "why")])
    write_manifest(tmp_path, manifest)
    assert read_manifest(tmp_path) == manifest


def test_odd_file_names_round_trip_through_the_labels_db(tmp_path):
    names = [*ODD_NAMES, "\ud800lone.jpg", str(tmp_path / os.fsdecode(b"\xe9t\xe9.jpg"))]
    with LabelsDB(tmp_path / "labels.db") as db:
        for k, name in enumerate(names):
            assert db.add(name, {"lakeside": 0.5 + k / 100}) == ["lakeside"]
        db.add(Path(names[2]), {"tabby cat": 0.9})                # a Path works the same
    with LabelsDB(tmp_path / "labels.db") as db:
        assert sorted(db.images()) == sorted(names)
        assert db.labels_of(names[2]) == {"tabby cat": 0.9}
        assert db.labels_of(names[-2]) == {"lakeside": 0.5 + (len(names) - 2) / 100}
        assert {image for image, _, _ in db.search("lake")} == set(names) - {names[2]}
        with pytest.raises(ValueError, match="not valid Unicode"):
            db.search("\udcff")


# -- 6. an index_dir reached through a symbolic link -------------------------------------

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


# -- 7. read-only places --------------------------------------------------------------

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


# -- 8. pixels that lie ---------------------------------------------------------------

def _float_tiff(values: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(values.astype(np.float32), "F").save(buf, "TIFF")
    return buf.getvalue()


def test_a_float_tiff_with_infinite_pixels_keeps_its_picture():
    ramp = np.tile(np.linspace(-100.0, 400.0, 32, dtype=np.float32), (24, 1))
    ramp[:6] = -np.inf
    ramp[6:8] = np.nan
    ramp[8, 0] = np.inf
    grey = np.asarray(load_image(_float_tiff(ramp)))[..., 0]
    assert grey[:8].max() == 0 and grey[8, 0] == 255            # -inf and NaN dark, +inf bright
    row = grey[12]
    assert row[0] == 0 and row[-1] == 255 and np.all(np.diff(row.astype(int)) >= 0)
    with pytest.raises(ImageLoadError, match="no pixel has a finite value"):
        load_image(_float_tiff(np.full((4, 4), -np.inf)))


def test_a_png_with_a_huge_text_chunk_is_read():
    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "x" * (PngImagePlugin.MAX_TEXT_CHUNK + 1), zip=True)
    buf = io.BytesIO()
    quadrants().save(buf, "PNG", pnginfo=info)
    assert np.array_equal(np.asarray(load_image(buf.getvalue())), np.asarray(quadrants()))


# -- 9. messages that name the file and what to do -------------------------------------

@pytest.mark.parametrize("kind", ["text_file", "truncated", "other_program", "version_text"])
def test_labels_db_on_a_file_it_cannot_use(tmp_path, kind):
    import sqlite3

    path = tmp_path / "labels.db"
    if kind == "text_file":
        path.write_text("just some notes\n" * 100)
    elif kind == "truncated":
        with LabelsDB(path) as db:
            for k in range(500):
                db.add(f"{k}.jpg", {"lakeside": 0.5})
        path.write_bytes(path.read_bytes()[:5000])
    elif kind == "other_program":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE labels (id INTEGER, name TEXT)")
    else:
        LabelsDB(path).close()
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE meta SET value = 'one' WHERE key = 'format_version'")
    before = path.read_bytes()
    with pytest.raises(ValueError) as info:
        LabelsDB(path).images()
    message = str(info.value)
    assert str(path) in message and ("another path" in message or "Move it away" in message)
    assert path.read_bytes() == before


def _create_labels(path, barrier, results):
    barrier.wait()
    try:
        with LabelsDB(path, model="m") as db:
            db.add(f"{os.getpid()}.jpg", {"cat": 0.9})
        results.put("ok")
    except Exception as err:          # noqa: BLE001 - reported to the test
        results.put(f"{type(err).__name__}: {err}")


@pytest.mark.skipif(sys.platform == "win32", reason="uses fork")
def test_processes_creating_the_same_labels_db_take_turns(tmp_path):
    ctx = multiprocessing.get_context("fork")
    outcomes = []
    for attempt in range(5):
        path, barrier, results = tmp_path / f"{attempt}.db", ctx.Barrier(3), ctx.Queue()
        procs = [ctx.Process(target=_create_labels, args=(path, barrier, results))
                 for _ in range(3)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        outcomes += [results.get(timeout=5) for _ in procs]
        with LabelsDB(path) as db:
            assert len(db.images()) == 3
    assert outcomes == ["ok"] * 15


def test_a_lone_surrogate_query_is_a_clear_value_error(tiny_clip, tmp_path):
    loaded = load_model(tiny_clip, device="cpu")
    make_picture(1).save(tmp_path / "a.png")
    index = ImageIndex.build(tmp_path, loaded)
    for search in (lambda q: embed_texts(loaded, q), lambda q: index.search_text(loaded, q)):
        with pytest.raises(ValueError, match="not valid Unicode.*position 4"):
            search("cat \udcff on a sofa")


# -- 10. waiting for another writer ------------------------------------------------------

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
