"""imgsearch_helpers.scale: Ray Data embedding, Milvus (Lite) search, ANN measurement.

One local Ray serves the whole module: started inside the tests, bound to
127.0.0.1, and stopped at the end with no process left behind.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray")
pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")
psutil = pytest.importorskip("psutil")

from badfiles import write_bad_files  # noqa: E402

from imgsearch_helpers import (ImageIndex, IndexModelMismatchError, embed_image_files,  # noqa: E402
                               get_profile, load_model, top_k)
from imgsearch_helpers.models import ClipartModelWarning  # noqa: E402
from imgsearch_helpers.scale import (SHARDS_META, MilvusImageIndex, clustered_vectors,  # noqa: E402
                                     embed_with_ray, image_sources, measure_exact, measure_faiss_hnsw,
                                     read_shards, start_ray, stop_ray)

OFFLINE = get_profile("offline")
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}


@pytest.fixture(scope="module")
def clip():
    return load_model(OFFLINE.clip)


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray for this module; afterwards none of its processes may be left."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray started elsewhere is running in this process")
    before = {p.pid for p in psutil.Process().children(recursive=True)}   # not Ray's
    resources = start_ray(num_cpus=2)
    ours = psutil.Process().children(recursive=True)
    yield resources
    # Ray's processes now, workers included, collected before it is told to stop.
    ours = [p for p in {p.pid: p for p in ours + psutil.Process().children(recursive=True)}.values()
            if p.pid not in before]
    assert stop_ray(timeout=30) == 0
    _, alive = psutil.wait_procs(list(ours), timeout=5)
    assert not alive, f"Ray left processes running: {[p.pid for p in alive]}"
    assert not ray.is_initialized()


def _ray_listeners() -> list[str]:
    pids = {p.pid for p in psutil.Process().children(recursive=True)} | {psutil.Process().pid}
    return [c.laddr.ip for c in psutil.net_connections("inet")
            if c.status == psutil.CONN_LISTEN and c.pid in pids]


@pytest.fixture
def gallery_and_bad_files(tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(OFFLINE.gallery, folder)
    expected = write_bad_files(folder / "bad")
    return folder, expected


def test_local_ray_uses_this_machines_cores_and_listens_on_loopback_only(local_ray):
    assert local_ray["CPU"] == 2
    listeners = _ray_listeners()
    assert listeners, "found none of Ray's listening sockets"
    assert set(listeners) <= LOOPBACK, listeners


def test_ray_embeddings_equal_embed_image_files_and_bad_files_are_skipped(
        local_ray, clip, gallery_and_bad_files):
    folder, expected = gallery_and_bad_files
    result = embed_with_ray(folder, OFFLINE.clip, num_workers=2)
    files = image_sources(folder)
    assert len(files) == 50 + len(expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipartModelWarning)     # a copy of the course gallery
        ref, ok, skipped = embed_image_files(clip, files)
    assert result.paths == [files[i] for i in ok]
    assert result.count == 50 and result.dim == ref.shape[1] and result.workers == 2
    assert float(np.abs(result.embeddings - ref).max()) <= 1e-5
    assert result.model == OFFLINE.clip
    reasons = {Path(p).name: r for p, r in result.skipped}
    assert set(reasons) == set(expected) and all(reasons.values())
    assert reasons == {Path(p).name: r for p, r in skipped}      # the same words as everywhere


def test_shards_hold_path_embedding_model_dim_and_load_into_milvus(local_ray, clip, tmp_path):
    out = tmp_path / "shards"
    result = embed_with_ray(OFFLINE.gallery, OFFLINE.clip, out=str(out))
    assert result.out == str(out) and result.count == 50 and result.embeddings is None
    assert list(out.glob("*.parquet")) and (out / SHARDS_META).is_file()
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    assert {"path", "embedding", "model", "dim"} <= set(table.column_names)
    shards = read_shards(out)
    ref, _, _ = embed_image_files(clip, shards.paths)
    assert float(np.abs(shards.embeddings - ref).max()) <= 1e-5
    with MilvusImageIndex(tmp_path / "images.db") as store:
        assert store.add_shards(out) == 50 and len(store) == 50
        hits = store.search_embedding(ref[7], k=1)
        assert str(hits[0].item) == shards.paths[7] and hits[0].score == pytest.approx(1, abs=1e-5)


def test_embedding_straight_into_milvus_and_the_command_line(local_ray, clip, tmp_path):
    db = tmp_path / "images.db"
    with MilvusImageIndex(db) as store:
        result = embed_with_ray(OFFLINE.gallery, OFFLINE.clip, milvus=store, num_workers=1,
                                cpus_per_worker=2)
        assert result.count == 50 and len(store) == 50 and store.model_name == OFFLINE.clip
    # A new process opens the collection as Milvus left it on disk ("released").
    done = subprocess.run([sys.executable, "-m", "imgsearch_helpers.scale", "search", "a red boat",
                           "--model", OFFLINE.clip, "--milvus", str(db), "-k", "3"],
                          capture_output=True, text=True, timeout=120)
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and len(lines) == 3, done.stderr[-2000:]
    assert all("boat_" in line for line in lines), lines


# -- Milvus, no Ray ------------------------------------------------------------------

@pytest.fixture
def gallery_index(tmp_path, clip):
    folder = tmp_path / "gallery"
    shutil.copytree(OFFLINE.gallery, folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClipartModelWarning)
        return ImageIndex.build(folder, clip, index_dir=tmp_path / "index")


def test_flat_collection_gives_exactly_what_the_index_gives(tmp_path, clip, gallery_index):
    with MilvusImageIndex(tmp_path / "m.db") as store:
        assert store.sync(gallery_index) == {"added": 50, "updated": 0, "removed": 0,
                                              "unchanged": 0}
        for query in ("a beautiful lake with mountains", "luxury car", "tree in nature",
                      "water and nature", "a red boat"):
            want = gallery_index.search_text(clip, query, k=10)
            got = store.search_text(clip, query, k=10)
            assert [r.item for r in got] == [r.item for r in want]
            np.testing.assert_allclose([r.score for r in got], [r.score for r in want], atol=1e-5)
        image = gallery_index.paths[3]
        assert ([r.item for r in store.search_image(clip, image, k=5)]
                == [r.item for r in gallery_index.search_image(clip, image, k=5)])


def test_resync_propagates_deleted_changed_and_new_files(tmp_path, clip, gallery_index):
    folder = gallery_index.folder
    with MilvusImageIndex(tmp_path / "m.db") as store:
        store.sync(gallery_index)
        (folder / "cat_002.png").unlink()
        shutil.copy(folder / "dog_009.png", folder / "car_003.png")      # content changed
        shutil.copy(folder / "boat_005.png", folder / "new_boat.png")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ClipartModelWarning)
            gallery_index.update(clip)
        assert store.sync(gallery_index) == {"added": 1, "updated": 1, "removed": 1,
                                              "unchanged": 48}
        assert len(store) == 50
        assert store.sync(gallery_index)["unchanged"] == 50
        car = np.asarray(gallery_index.embeddings[gallery_index.relpaths.index("car_003.png")])
        hit = store.search_embedding(car, k=2)
        assert {Path(h.item).name for h in hit} == {"car_003.png", "dog_009.png"}
        found = {Path(h.item).name for h in store.search_text(clip, "a cat", k=50)}
        assert "cat_002.png" not in found and "new_boat.png" in found
        for picture in folder.glob("*.png"):
            picture.unlink()
        gallery_index.update(clip)
        assert store.sync(gallery_index)["removed"] == 50 and len(store) == 0


def test_another_models_queries_are_refused_with_a_clear_message(tmp_path, clip, gallery_index):
    other = load_model(OFFLINE.siglip)
    with MilvusImageIndex(tmp_path / "m.db") as store:
        store.sync(gallery_index)
        with pytest.raises(IndexModelMismatchError, match="clipart-clip.*clipart-siglip"):
            store.search_text(other, "a cat")
        with pytest.raises(IndexModelMismatchError, match="not comparable"):
            store.add_embeddings(["x.png"], np.ones((1, store.dim)), OFFLINE.siglip)
        with pytest.raises(ValueError, match="dimension"):
            store.search_embedding(np.ones(store.dim + 1), k=1)
    # The model is recorded in the collection, so it survives a reopen.
    with MilvusImageIndex(tmp_path / "m.db") as again:
        assert again.model_name == OFFLINE.clip and len(again) == 50
        with pytest.raises(IndexModelMismatchError):
            again.search_text(other, "a cat")


def test_a_collection_made_by_someone_else_is_not_taken_over(tmp_path):
    from pymilvus import MilvusClient

    client = MilvusClient(str(tmp_path / "m.db"))
    client.create_collection("theirs", dimension=4)
    client.close()
    with pytest.raises(ValueError, match="not made by MilvusImageIndex"):
        MilvusImageIndex(tmp_path / "m.db", "theirs")


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(5)
    seeds = rng.standard_normal((200, 32)).astype(np.float32)
    return clustered_vectors(seeds, 20_000, 30, dim=64, seed=1)


def test_flat_top10_equals_top_k_on_many_vectors(tmp_path, vectors):
    base, queries = vectors
    ids = [str(i) for i in range(len(base))]
    with MilvusImageIndex(tmp_path / "m.db", index_type="FLAT") as store:
        store.add_embeddings(ids, base, "synthetic")
        got = store.search_embedding(queries, k=10)
    want_idx, want_scores = top_k(queries, base, 10)
    for row, w_idx, w_sc in zip(got, want_idx, want_scores):
        assert [int(str(r.item)) for r in row] == list(w_idx)
        np.testing.assert_allclose([r.score for r in row], w_sc, atol=1e-5)


def test_milvus_lite_hnsw_is_built_and_nearly_exact(tmp_path, vectors):
    base, queries = vectors
    ids = [str(i) for i in range(len(base))]
    with MilvusImageIndex(tmp_path / "m.db", index_type="HNSW",
                          index_params={"M": 16, "efConstruction": 64}) as store:
        store.add_embeddings(ids, base, "synthetic")
        assert list((tmp_path / "m.db").rglob("*.hnsw.idx")), "no HNSW index was built"
        got = store.search_embedding(queries, k=10, params={"ef": 64})
    truth, _ = top_k(queries, base, 10)
    recall = np.mean([len({int(str(r.item)) for r in row} & set(t)) / 10
                      for row, t in zip(got, truth)])
    assert recall >= 0.9


def test_clustered_vectors_are_unit_rows_with_neighbourhoods(vectors):
    base, queries = vectors
    assert base.shape == (20_000, 64) and queries.shape == (30, 64)
    np.testing.assert_allclose(np.linalg.norm(base, axis=1), 1, atol=1e-5)
    _, scores = top_k(queries, base, 10)
    random_pairs = float(np.mean(base[:500] @ base[500:1000].T))
    # Clustered: a query's 10th neighbour is far closer than a typical vector.
    assert scores[:, 9].mean() > random_pairs + 0.3


def test_ann_measurement_against_exact_search(vectors):
    base, queries = vectors
    exact, truth = measure_exact(base, queries)
    assert exact.recall == 1.0 and exact.bytes_per_vector == 4 * 64
    fast, slow = measure_faiss_hnsw(base, queries, truth, M=16, ef_construction=40,
                                    ef_search=(16, 256))
    # A wider search finds more of the true neighbours; a narrow one misses many.
    assert fast.recall < 0.8 < 0.95 <= slow.recall <= 1.0
    assert slow.bytes_per_vector > 4 * 64          # the vectors plus the graph


@pytest.mark.slow
def test_a_local_ray_says_nothing_on_stderr_while_it_embeds(tmp_path):
    """A learner sees only the lesson (issue 26): no token-authentication warning, no
    actor-pool advice, no "Progress bars disabled" from starting Ray and embedding."""
    script = (
        "from imgsearch_helpers import get_profile\n"
        "from imgsearch_helpers.scale import embed_with_ray, start_ray, stop_ray\n"
        "p = get_profile('offline')\n"
        "start_ray(num_cpus=2)\n"
        "run = embed_with_ray([str(x) for x in p.gallery_images()[:6]], p.clip)\n"
        "assert run.count == 6, run\n"
        "assert stop_ray() == 0\n"
        "print('done')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "done" and done.stderr.strip() == "", done.stderr[-3000:]
