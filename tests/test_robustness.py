"""Real photo folders: bad files, crashes (SIGKILL) mid-way, damaged indexes, odd queries."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from badfiles import FakeEmbedder, age, fake_vector, jpeg_bytes, quadrants, write_bad_files
from conftest import make_picture
from imgsearch_helpers import ImageLoadError, embed_image_files, images, load_model
from imgsearch_helpers.index import _store as index_store
from imgsearch_helpers.index import (ImageIndex, IndexCorruptError, IndexModelMismatchError,
                                     default_index_dir)

TESTS = Path(__file__).resolve().parent
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


def test_extreme_aspect_ratio_is_embedded_in_bounded_memory(tiny_clip, tmp_path):
    # A 1 x 60,000 px strip is a 100-byte PNG; resized naively (short side to 32 px)
    # it would need ~700 MB of float32 pixels.
    Image.new("RGB", (60_000, 1), (200, 30, 30)).save(tmp_path / "strip.png")
    loaded = load_model(tiny_clip, device="cpu")
    tracemalloc.start()
    try:
        emb, ok, skipped = embed_image_files(loaded, [tmp_path / "strip.png"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ok == [0] and not skipped and np.isfinite(emb).all()
    assert peak < 50 << 20, peak


def test_images_are_batched_by_shape():
    """Equal shapes stack into one batch; other shapes (FG-CLIP 2's patch budgets) form their own."""
    import torch

    from imgsearch_helpers.embeddings import _collate

    same = [(0, ({"pixel_values": torch.zeros(1, 3, 4, 4)}, None)), (1, (None, "bad")),
            (2, ({"pixel_values": torch.ones(1, 3, 4, 4)}, None))]
    positions, batches, skipped = _collate(same)
    assert positions == [0, 2] and skipped == [(1, "bad")]
    assert [rows for rows, _ in batches] == [[0, 1]] and batches[0][1]["pixel_values"].shape[0] == 2
    mixed = [(0, ({"pixel_values": torch.zeros(1, 3, 4, 4)}, None)),
             (1, ({"pixel_values": torch.full((1, 3, 5, 4), 1.0)}, None)),
             (2, ({"pixel_values": torch.full((1, 3, 4, 4), 2.0)}, None))]
    positions, batches, _ = _collate(mixed)
    assert positions == [0, 1, 2]
    assert [(rows, b["pixel_values"][:, 0, 0, 0].tolist()) for rows, b in batches] == [
        ([0, 2], [0.0, 2.0]), ([1], [1.0])]
