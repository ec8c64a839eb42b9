"""ImageIndex: build, reopen, incremental updates, checkpoints, float16, property tests; bad
files are skips with reasons, every file name round-trips, another model's queries are refused.

What the index keeps on disk, and how it survives damage, is in test_index_store.py."""
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from badfiles import (FakeEmbedder, ODD_NAMES, OLD_NS, age, fake_vector, jpeg_bytes, quadrants,
                      write_bad_files)
from conftest import make_picture
from imgsearch_helpers import (ImageLoadError, embed_image_files, embed_texts, images, load_model,
                               top_k)
from imgsearch_helpers.index import (ImageIndex, IndexLockedError, IndexModelMismatchError,
                                     default_index_dir)

HOUR_NS = 3600 * 10**9


def write(folder: Path, rel: str, data: bytes) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def photo_folder(tmp_path):
    folder = tmp_path / "photos"
    (folder / "trip").mkdir(parents=True)
    for k in range(6):
        make_picture(k).save(folder / ("trip" if k % 2 else "") / f"p{k}.png")
    age(folder)
    return folder


def test_build_search_and_reopen_with_a_real_model(tiny_clip, photo_folder):
    loaded = load_model(tiny_clip, device="cpu")
    index = ImageIndex.build(photo_folder, loaded)
    assert index.index_dir == default_index_dir(photo_folder, loaded.name)
    assert index.index_dir.parent.name == ".imgsearch"
    assert len(index) == 6 and index.summary["embedded"] == 6 and index.skipped == []
    assert index.relpaths == sorted(index.relpaths) and "trip/p1.png" in index.relpaths
    assert isinstance(index.embeddings, np.memmap) and not index.embeddings.flags.writeable
    # Same as embedding the files by hand and ranking them.
    ref, ok, _ = embed_image_files(loaded, index.paths)
    assert ok == list(range(6))
    np.testing.assert_allclose(index.embeddings, ref, atol=1e-6)
    q = embed_texts(loaded, "a red circle")[0]
    expected = top_k(q, ref, 3)[0]
    hits = index.search_text(loaded, "a red circle", k=3)
    assert [h.index for h in hits] == list(expected)
    assert hits[0].item == index.paths[expected[0]] and hits[0].item.exists()
    assert index.search_image(loaded, index.paths[4], k=1)[0].index == 4
    again = ImageIndex.open(index.index_dir)
    assert again.relpaths == index.relpaths and again.model_name == loaded.name
    assert [h.index for h in again.search_text(loaded, "a red circle", k=3)] == list(expected)


def test_unchanged_folder_is_not_rewritten(photo_folder):
    fake = FakeEmbedder()
    index = ImageIndex.build(photo_folder, fake)
    files = {p: p.stat().st_mtime_ns for p in index.index_dir.iterdir() if p.is_file()}
    fake.embedded.clear()
    again = ImageIndex.build(photo_folder, fake)
    assert again.summary == dict(embedded=0, reused=6, resumed=0, moved=0, skipped=0, removed=0)
    assert fake.embedded == []
    assert {p: p.stat().st_mtime_ns for p in index.index_dir.iterdir() if p.is_file()} == files


def test_new_changed_deleted_moved_and_bad_files(photo_folder):
    fake = FakeEmbedder()
    index = ImageIndex.build(photo_folder, fake)
    changed = [write(photo_folder, "p0.png", b"changed content"),
               write(photo_folder, "new/added.jpg", b"new picture"),
               write(photo_folder, "broken.jpg", b"BAD bytes"),
               write(photo_folder, "notes.txt", b"not scanned"),
               write(photo_folder, ".hidden/secret.jpg", b"not scanned")]
    age(*changed, when_ns=OLD_NS + 10**9)
    (photo_folder / "p2.png").unlink()
    (photo_folder / "trip" / "p3.png").rename(photo_folder / "moved.png")
    fake.embedded.clear()
    index.update(fake)
    assert index.summary == dict(embedded=2, reused=3, resumed=0, moved=1, skipped=1, removed=1)
    assert sorted(p.name for p in fake.embedded) == ["added.jpg", "p0.png"]
    assert index.relpaths == ["moved.png", "new/added.jpg", "p0.png", "p4.png",
                              "trip/p1.png", "trip/p5.png"]
    assert index.skipped == [(photo_folder / "broken.jpg", "fake: unreadable")]
    for path, row in zip(index.paths, index.embeddings):
        np.testing.assert_array_equal(row, fake_vector(path.read_bytes()))
    reopened = ImageIndex.open(index.index_dir)
    assert reopened.summary == index.summary and reopened.skipped == index.skipped


def test_file_rewritten_in_the_same_mtime_tick_is_not_missed(tmp_path):
    """A file changed right after it was indexed, same size and mtime: the index
    cannot tell from its stat, so it had marked it racy and embeds it again."""
    fake = FakeEmbedder()
    path = write(tmp_path, "a.jpg", b"version 1")
    stamp = time.time_ns()
    os.utime(path, ns=(stamp, stamp))
    index = ImageIndex.build(tmp_path, fake)
    path.write_bytes(b"version 2")
    os.utime(path, ns=(stamp, stamp))
    index.update(fake)
    np.testing.assert_array_equal(index.embeddings[0], fake_vector(b"version 2"))
    age(tmp_path)           # once old enough, an unchanged file is trusted again
    index.update(fake)
    index.update(fake)
    assert index.summary["reused"] == 1


class Interrupt(Exception):
    """Stands for a crash (or Ctrl-C) in the middle of an update."""


@pytest.mark.parametrize("dies_after", [3, 5])     # batches of 4; 5: all were saved
def test_interrupted_build_resumes_from_checkpoints(tmp_path, dies_after):
    for k in range(20):
        write(tmp_path, f"{k:02d}.jpg", b"picture %d" % k)
    age(tmp_path)

    class Dies(FakeEmbedder):
        def embed_files(self, paths, progress=None):
            for n, batch in enumerate(super().embed_files(paths, progress)):
                if n == dies_after:
                    raise Interrupt
                yield batch
            raise Interrupt

    with pytest.raises(Interrupt):
        ImageIndex.build(tmp_path, Dies(), checkpoint_every=4)
    index_dir = default_index_dir(tmp_path, "fake/bytes-v1")
    assert not (index_dir / "manifest.json").exists()
    with pytest.raises(FileNotFoundError, match="no index"):
        ImageIndex.open(index_dir)
    fake = FakeEmbedder()
    index = ImageIndex.build(tmp_path, fake)
    saved = 4 * dies_after
    assert index.summary["resumed"] == saved and index.summary["embedded"] == 20 - saved
    assert sorted(p.name for p in fake.embedded) == [f"{k:02d}.jpg" for k in range(saved, 20)]
    assert not (index_dir / "checkpoints").exists()
    for path, row in zip(index.paths, index.embeddings):
        np.testing.assert_array_equal(row, fake_vector(path.read_bytes()))


def test_ctrl_c_keeps_every_row_embedded_so_far(tmp_path):
    """Unlike a crash, Ctrl-C loses nothing: rows since the last checkpoint are saved too."""
    for k in range(20):
        write(tmp_path, f"{k:02d}.jpg", b"picture %d" % k)
    age(tmp_path)
    bars = []

    class Bar:
        def __init__(self, total, desc):
            self.total, self.desc, self.n, self.closed = total, desc, 0, False
            bars.append(self)

        def update(self, n):
            self.n += n

        def close(self):
            self.closed = True

    class CtrlC(FakeEmbedder):
        def embed_files(self, paths, progress=None):
            for n, batch in enumerate(super().embed_files(paths, progress)):
                if n == 3:
                    raise KeyboardInterrupt
                yield batch

    # A checkpoint every 1,000 rows: without the save on Ctrl-C nothing would be kept.
    with pytest.raises(KeyboardInterrupt):
        ImageIndex.build(tmp_path, CtrlC(), checkpoint_every=1000, progress=Bar)
    # The bar was made with the number of files to embed, and closed; the 4th batch was
    # counted by the embedder but never handed over, so 12 rows are saved, not 16.
    assert [(b.total, b.desc, b.n, b.closed) for b in bars] == [(20, "indexing", 16, True)]
    fake = FakeEmbedder()
    index = ImageIndex.build(tmp_path, fake)
    assert index.summary["resumed"] == 12 and index.summary["embedded"] == 8
    assert sorted(p.name for p in fake.embedded) == [f"{k:02d}.jpg" for k in range(12, 20)]


def test_float16_storage(tmp_path):
    for k in range(50):
        write(tmp_path, f"{k}.jpg", b"img %d" % k)
    age(tmp_path)
    fake = FakeEmbedder(dim=64)
    i32 = ImageIndex.build(tmp_path, fake, index_dir=tmp_path / "i32")
    i16 = ImageIndex.build(tmp_path, fake, index_dir=tmp_path / "i16", dtype="float16")
    assert i16.embeddings.dtype == np.float16 and i16.dtype == "float16"
    assert (i16.index_dir / "embeddings-1.npy").stat().st_size < \
        0.6 * (i32.index_dir / "embeddings-1.npy").stat().st_size
    np.testing.assert_allclose(i16.embeddings, i32.embeddings, atol=1e-3)
    q = fake.embed_text("query")
    assert {h.index for h in i16.search_embedding(q, 5)} & {h.index for h in i32.search_embedding(q, 5)}
    with pytest.raises(ValueError, match="float16"):
        ImageIndex.build(tmp_path, fake, index_dir=tmp_path / "i16")     # dtype defaults to float32


def test_second_writer_is_refused_while_an_update_runs(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    write(tmp_path, "a.jpg", b"a")
    index = ImageIndex.build(tmp_path, FakeEmbedder())
    fd = os.open(index.index_dir / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(IndexLockedError, match="another process"):
            index.update(FakeEmbedder())
    finally:
        os.close(fd)
    index.update(FakeEmbedder())


def test_empty_folder_and_bad_arguments(tmp_path):
    index = ImageIndex.build(tmp_path, FakeEmbedder())
    assert len(index) == 0 and index.search_embedding(np.ones(8), 3) == []
    assert len(ImageIndex.open(index.index_dir)) == 0
    with pytest.raises(NotADirectoryError):
        ImageIndex.build(tmp_path / "missing", FakeEmbedder())
    with pytest.raises(ValueError, match="dtype"):
        ImageIndex.build(tmp_path, FakeEmbedder(), dtype="int8")
    with pytest.raises(TypeError, match="LoadedModel"):
        ImageIndex.build(tmp_path, "openai/clip-vit-base-patch32")
    with pytest.raises(FileNotFoundError, match="fake_bytes-v1"):
        ImageIndex.open(tmp_path)      # the photo folder instead of its index: say where


# -- property test: any sequence of changes, then search == brute force ------------

NAMES = ["a.jpg", "b.png", "sub/c.jpg", "sub/d.jpg", "e.jpg"]
_op = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(NAMES), st.binary(min_size=1, max_size=3)),
    st.tuples(st.just("bad"), st.sampled_from(NAMES), st.just(b"BAD")),
    st.tuples(st.just("delete"), st.sampled_from(NAMES), st.just(b"")),
    st.tuples(st.just("move"), st.sampled_from(NAMES), st.sampled_from(NAMES)),
    st.tuples(st.just("save"), st.just(""), st.just(b"")),
    st.tuples(st.just("load"), st.just(""), st.just(b"")),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(_op, max_size=12), query=st.binary(min_size=1, max_size=4))
def test_any_sequence_of_changes_keeps_search_exact(ops, query):
    fake = FakeEmbedder(dim=4, batch_size=2)
    clock = [time.time_ns() - 100 * HOUR_NS]    # a file system clock that always moves on

    def touch(path):
        clock[0] += 10**9
        os.utime(path, ns=(clock[0], clock[0]))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        index = ImageIndex.build(folder, fake, checkpoint_every=1)
        indexed: dict[str, bytes] = {}       # what the index should hold after a save
        for op, name, data in ops:
            path = folder / name
            if op in ("write", "bad"):
                touch(write(folder, name, data))
            elif op == "delete" and path.exists():
                path.unlink()
            elif op == "move" and path.exists() and name != data:
                target = folder / data
                target.parent.mkdir(parents=True, exist_ok=True)
                path.rename(target)
            elif op == "save":
                index.update(fake)
                indexed = {str(p.relative_to(folder)): p.read_bytes()
                           for p in folder.rglob("*") if p.is_file() and ".imgsearch" not in p.parts}
            elif op == "load":
                index = ImageIndex.open(index.index_dir)
        good = {p: d for p, d in indexed.items() if not d.startswith(b"BAD")}
        assert index.relpaths == sorted(good)
        assert sorted(str(p.relative_to(folder)) for p, _ in index.skipped) == \
            sorted(set(indexed) - set(good))
        if good:
            names = sorted(good)
            matrix = np.stack([fake_vector(good[n], 4) for n in names])
            q = fake_vector(query, 4)
            scores = matrix.astype(np.float64) @ q.astype(np.float64)
            ref = sorted(range(len(names)), key=lambda i: (-scores[i], i))[:3]
            hits = index.search_embedding(q, 3)
            assert [h.index for h in hits] == ref
            assert [h.item for h in hits] == [folder / names[i] for i in ref]
            np.testing.assert_allclose([h.score for h in hits], scores[ref], atol=1e-6)


def test_a_clipart_model_on_photos_warns_and_the_index_carries_the_note(tmp_path):
    import warnings

    from conftest import make_picture
    from imgsearch_helpers import load_model
    from imgsearch_helpers.models import ClipartModelWarning

    for i in range(2):
        make_picture(i).save(tmp_path / f"photo_{i}.png")
    loaded = load_model("imgsearch/clipart-clip", device="cpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        index = ImageIndex.build(tmp_path, loaded)
    assert any(issubclass(w.category, ClipartModelWarning) for w in caught)
    assert "clip-art models" in index.note and "mean nothing" in index.note


def test_a_full_disk_during_a_first_build_leaves_no_temporary_file(photo_folder, monkeypatch):
    import errno

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("imgsearch_helpers.index._store._HashingWriter.write", full)
    with pytest.raises(OSError, match="No space left"):
        ImageIndex.build(photo_folder, FakeEmbedder())
    left = [p.name for p in (photo_folder / ".imgsearch").rglob("*") if p.name.endswith(".tmp")]
    assert left == []


def test_a_retrained_model_with_the_same_name_re_embeds(tiny_clip, photo_folder, tmp_path,
                                                         monkeypatch):
    """`make models` rewrites the weights under the same name: the index must notice."""
    import shutil

    import torch
    from transformers import CLIPModel

    folder = tmp_path / "model"
    shutil.copytree(tiny_clip, folder)
    first = load_model(folder, device="cpu")
    index = ImageIndex.build(photo_folder, first)
    assert index.weights == first.weights and index.weights.startswith("files:")
    before = np.array(index.embeddings)
    # "Retrain": other weights, same folder, same name.
    torch.manual_seed(1)
    CLIPModel(CLIPModel.from_pretrained(folder).config).save_pretrained(folder)
    monkeypatch.setattr("imgsearch_helpers.models._CACHE", {})
    second = load_model(folder, device="cpu")
    assert second.name == first.name and second.weights != first.weights
    stale = ImageIndex.open(index.index_dir)
    with pytest.raises(IndexModelMismatchError, match="other weights"):
        stale.search_text(second, "a red circle")
    again = ImageIndex.build(photo_folder, second)
    assert again.summary["embedded"] == 6 and again.summary["reused"] == 0
    assert again.weights_changed == (first.weights, second.weights)
    assert again.weights == second.weights
    assert not np.allclose(np.array(again.embeddings), before, atol=1e-3)
    ref, _, _ = embed_image_files(second, again.paths)
    np.testing.assert_allclose(again.embeddings, ref, atol=1e-6)
    assert ImageIndex.build(photo_folder, second).summary["reused"] == 6


def test_a_skipped_file_that_has_not_changed_is_not_tried_again(photo_folder):
    class Asked(FakeEmbedder):
        def embed_files(self, paths, progress=None):
            self.asked.extend(paths)
            return super().embed_files(paths, progress)

    bad = write(photo_folder, "broken.jpg", b"BAD bytes")
    age(bad)
    fake = Asked()
    fake.asked = []
    index = ImageIndex.build(photo_folder, fake)
    assert [(p.name, r) for p, r in index.skipped] == [("broken.jpg", "fake: unreadable")]
    assert bad in fake.asked
    fake.asked.clear()
    again = ImageIndex.build(photo_folder, fake)
    assert fake.asked == [] and again.summary["skipped"] == 1
    assert [(p.name, r) for p, r in again.skipped] == [("broken.jpg", "fake: unreadable")]
    # Changed (size, mtime): tried again.
    bad.write_bytes(b"a good picture now")
    age(bad, when_ns=OLD_NS + 10**9)
    third = ImageIndex.build(photo_folder, fake)
    assert fake.asked == [bad] and third.skipped == [] and len(third) == 7


# -- real photo folders: bad files are skips, odd queries, another model's queries -----

@pytest.fixture
def messy_folder(tmp_path):
    """Six good pictures and one of every kind of bad file."""
    folder = tmp_path / "messy"
    expected = write_bad_files(folder)
    for k in range(6):
        make_picture(k).save(folder / f"good{k}.png")
    (folder / "secret.jpg").write_bytes(jpeg_bytes(quadrants()))
    (folder / "album.jpg").mkdir()          # a folder with an image name: just a folder
    return folder, expected


def _deny_secret(monkeypatch):
    # Tests run as root, for whom chmod 000 changes nothing: fake the refusal.
    real_open = open

    def fake_open(path, *args, **kwargs):
        if str(path).endswith("secret.jpg"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(images, "open", fake_open, raising=False)


def test_bad_files_are_skipped_with_reasons_and_counted(tiny_clip, messy_folder, monkeypatch):
    folder, expected = messy_folder
    expected["secret.jpg"] = "permission denied"
    _deny_secret(monkeypatch)
    loaded = load_model(tiny_clip, device="cpu")
    index = ImageIndex.build(folder, loaded)
    assert sorted(index.relpaths) == [f"good{k}.png" for k in range(6)]
    reasons = {p.name: r for p, r in index.skipped}
    assert set(reasons) == set(expected)
    for name, word in expected.items():
        assert word.lower() in reasons[name].lower(), (name, reasons[name])
    assert index.summary["skipped"] == len(expected) and index.summary["embedded"] == 6
    # Plain embedding of the same files goes on past every bad one too.
    paths = sorted(folder.iterdir())
    emb, ok, skipped = embed_image_files(loaded, paths, batch_size=3)
    assert len(ok) == emb.shape[0] == 6 and len(skipped) == len(paths) - 6
    assert any("directory" in r for p, r in skipped if p.name == "album.jpg")


def test_index_refuses_another_models_queries(tiny_clip, tiny_siglip, tmp_path):
    make_picture(1).save(tmp_path / "a.png")
    clip, siglip = load_model(tiny_clip, device="cpu"), load_model(tiny_siglip, device="cpu")
    index = ImageIndex.build(tmp_path, clip)
    for search in (lambda: index.search_text(siglip, "a cat"),
                   lambda: index.search_image(siglip, tmp_path / "a.png"),
                   lambda: ImageIndex.build(tmp_path, siglip, index_dir=index.index_dir)):
        with pytest.raises(IndexModelMismatchError) as info:
            search()
        assert clip.name in str(info.value) and siglip.name in str(info.value)
    # Each model has its own index in the same folder.
    other = ImageIndex.build(tmp_path, siglip)
    assert other.index_dir != index.index_dir == default_index_dir(tmp_path, clip.name)


def test_queries_in_any_language_and_bad_query_inputs(tiny_clip, tmp_path):
    for k in range(3):
        make_picture(k).save(tmp_path / f"{k}.png")
    loaded = load_model(tiny_clip, device="cpu")
    index = ImageIndex.build(tmp_path, loaded)
    for text in ["un chat sur le canapé", "猫がソファにいる", "кошка на диване", "🐈 ✨", "a"]:
        hits = index.search_text(loaded, text, k=2)
        assert len(hits) == 2 and all(np.isfinite(h.score) for h in hits)
    for bad in ["", "   ", "\n"]:
        with pytest.raises(ValueError, match="non-empty"):
            index.search_text(loaded, bad)
    with pytest.warns(UserWarning, match="truncated"):
        index.search_text(loaded, "a very long query " * 40)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    for query, reason in [(tmp_path / "missing.jpg", "not found"),
                          (tmp_path / "broken.jpg", "not an image"),
                          (tmp_path, "directory")]:
        with pytest.raises(ImageLoadError, match=reason) as info:
            index.search_image(loaded, query)
        assert str(query) in str(info.value)


# -- an embedder that gives NaN; every name a file system allows round-trips -----------

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
