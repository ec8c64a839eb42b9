"""top_k / search: exact ranking, ties, shapes, float16 memory maps."""
import sys

import numpy as np
import pytest

from imgsearch_helpers import search, top_k


def _unit(rng, n, d=32):
    x = rng.normal(size=(n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("n,k", [(1, 1), (5, 3), (5, 10), (1000, 10), (1000, 1000)])
def test_top_k_equals_full_sort(n, k):
    rng = np.random.default_rng(n + k)
    emb, q = _unit(rng, n), _unit(rng, 3)
    idx, scores = top_k(q, emb, k)
    full = q @ emb.T
    for row in range(3):
        expected = np.argsort(-full[row], kind="stable")[:k]
        np.testing.assert_array_equal(idx[row], expected)
        np.testing.assert_allclose(scores[row], full[row, expected], rtol=1e-6, atol=1e-6)
        assert np.all(np.diff(scores[row]) <= 0)


def test_ties_are_broken_by_index():
    emb = np.array([[1, 0], [0, 1], [1, 0], [1, 0]], np.float32)
    idx, scores = top_k(np.array([1, 0], np.float32), emb, 3)
    assert idx.tolist() == [0, 2, 3] and scores.tolist() == [1, 1, 1]


def test_search_returns_ranked_items():
    emb = np.eye(3, dtype=np.float32)
    results = search(np.array([0.1, 0.9, 0.3], np.float32), emb, ["a.png", "b.png", "c.png"], k=2)
    assert [r.item for r in results] == ["b.png", "c.png"]
    assert [r.index for r in results] == [1, 2]
    assert results[0].score == pytest.approx(0.9)


def test_float16_memmap_gives_same_ranking(tmp_path):
    rng = np.random.default_rng(1)
    emb = _unit(rng, 3000)
    np.save(tmp_path / "e.npy", emb.astype(np.float16))
    mm = np.load(tmp_path / "e.npy", mmap_mode="r", allow_pickle=False)
    q = _unit(rng, 1)[0]
    idx16, _ = top_k(q, mm, 5)
    idx32, _ = top_k(q, emb, 5)
    assert len(set(idx16) & set(idx32)) >= 4   # float16 rounding may swap a near-tie


def test_bad_shapes_are_clear_errors():
    emb = np.eye(3, dtype=np.float32)
    with pytest.raises(ValueError, match="dimension"):
        top_k(np.ones(4, np.float32), emb, 1)
    with pytest.raises(ValueError, match="k must"):
        top_k(np.ones(3, np.float32), emb, 0)
    with pytest.raises(ValueError, match="items"):
        search(np.ones(3, np.float32), emb, ["a", "b"])
    idx, scores = top_k(np.ones(3, np.float32), np.zeros((0, 3), np.float32), 5)
    assert idx.shape == (0,) and scores.shape == (0,)


# -- blocks, ties and the FAISS backend -----------------------------------------
_search_module = sys.modules["imgsearch_helpers.search"]
needs_faiss = pytest.mark.skipif(not _search_module.faiss_available(), reason="faiss not installed")


def test_blockwise_scan_keeps_exact_order_and_ties(monkeypatch):
    rng = np.random.default_rng(3)
    emb = _unit(rng, 5000)
    emb[[10, 2500, 4999, 700]] = emb[1234]        # exact duplicates, in different blocks
    q = np.vstack([emb[1234], _unit(rng, 4)])
    monkeypatch.setattr(_search_module, "_BLOCK_BYTES", 4 * 1024 * 5)   # 1024-row blocks
    idx, scores = top_k(q, emb, 7, backend="numpy")
    assert idx[0, :5].tolist() == [10, 700, 1234, 2500, 4999]
    full = q.astype(np.float64) @ emb.T.astype(np.float64)
    for row in range(len(q)):
        expected = sorted(range(len(emb)), key=lambda i: (-full[row, i], i))[:7]
        assert idx[row].tolist() == expected
    # k cuts through a group of ties: the lowest indices win.
    assert top_k(emb[1234], emb, 3, backend="numpy")[0].tolist() == [10, 700, 1234]


@needs_faiss
@pytest.mark.parametrize("n,k", [(50, 5), (3000, 1), (3000, 10), (20000, 100)])
def test_faiss_and_numpy_give_identical_results(n, k):
    rng = np.random.default_rng(n + k)
    emb, q = _unit(rng, n, 64), _unit(rng, 9, 64)
    emb[n // 2] = emb[n // 3]                              # a tie for good measure
    q[0] = emb[n // 3]
    a_idx, a_sc = top_k(q, emb, k, backend="numpy")
    b_idx, b_sc = top_k(q, emb, k, backend="faiss")
    np.testing.assert_array_equal(a_idx, b_idx)
    np.testing.assert_array_equal(a_sc, b_sc)
    assert top_k(q[0], emb, 2, backend="faiss")[0].tolist() == sorted([n // 3, n // 2])


@needs_faiss
def test_auto_uses_faiss_for_large_float32_only(monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    emb, q = _unit(rng, 3000), _unit(rng, 1)[0]
    used = []
    real = _search_module._faiss_candidates
    monkeypatch.setattr(_search_module, "_faiss_candidates",
                        lambda *a: used.append(1) or real(*a))
    monkeypatch.setattr(_search_module, "FAISS_MIN_ROWS", 1000)
    auto = top_k(q, emb, 5)
    assert used and np.array_equal(auto[0], top_k(q, emb, 5, backend="numpy")[0])
    used.clear()
    np.save(tmp_path / "e.npy", emb.astype(np.float16))
    mm = np.load(tmp_path / "e.npy", mmap_mode="r", allow_pickle=False)
    top_k(q, mm, 5)                                       # float16: numpy, silently
    assert not used
    with pytest.raises(ValueError, match="float32"):
        top_k(q, mm, 5, backend="faiss")


def test_without_faiss_auto_falls_back_and_faiss_says_how_to_install(monkeypatch):
    monkeypatch.setattr(_search_module, "faiss_available", lambda: False)
    monkeypatch.setattr(_search_module, "FAISS_MIN_ROWS", 10)
    rng = np.random.default_rng(0)
    emb = _unit(rng, 100)
    assert len(top_k(emb[0], emb, 3)[0]) == 3
    with pytest.raises(ImportError, match="pip install faiss-cpu"):
        top_k(emb[0], emb, 3, backend="faiss")
    with pytest.raises(ValueError, match="backend"):
        top_k(emb[0], emb, 3, backend="annoy")
