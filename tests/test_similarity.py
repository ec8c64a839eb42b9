"""Combined queries and near-duplicates (notebook 04's helpers)."""
import numpy as np
import pytest

from imgsearch_helpers import similarity
from imgsearch_helpers.embeddings import normalize
from imgsearch_helpers.similarity import NEGATIVE_WEIGHT, combine_queries, near_duplicates


def test_combine_queries_adds_weighted_positives_and_subtracts_negatives():
    a, b, c = np.eye(3, dtype=np.float32)
    q = combine_queries([a, b], negatives=[c], weights=[1.0, 2.0])
    np.testing.assert_allclose(q, normalize(np.array([1.0, 2.0, -NEGATIVE_WEIGHT])), atol=1e-6)
    assert np.linalg.norm(q) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="positive"):
        combine_queries([])
    with pytest.raises(ValueError, match="one weight"):
        combine_queries([a], weights=[1.0, 2.0])


def _brute_force(emb, threshold):
    sims = emb @ emb.T
    n = len(emb)
    pairs = [(i, j, float(sims[i, j])) for i in range(n) for j in range(i + 1, n)
             if sims[i, j] >= threshold]
    return sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))


@pytest.mark.parametrize("score_bytes", [4, 4 * 7 * 3, 1 << 30])   # 1 row, 3 rows, all at once
def test_near_duplicates_in_blocks_equals_the_full_matrix(monkeypatch, score_bytes):
    rng = np.random.default_rng(0)
    base = normalize(rng.normal(size=(4, 16)))
    # 7 rows: two copies of row 0, one of row 2 (small noise), and unrelated rows.
    emb = normalize(np.concatenate([base, base[[0, 0, 2]] + 0.01 * rng.normal(size=(3, 16))]))
    monkeypatch.setattr(similarity, "_SCORE_BYTES", score_bytes)
    found = near_duplicates(emb, 0.9)
    expected = _brute_force(emb, 0.9)
    # Same pairs; scores equal up to float rounding (BLAS sums blocks in another order).
    assert [(i, j) for i, j, _ in found] == [(i, j) for i, j, _ in expected]
    np.testing.assert_allclose([s for *_, s in found], [s for *_, s in expected], atol=1e-6)
    assert {(i, j) for i, j, _ in found} == {(0, 4), (0, 5), (4, 5), (2, 6)}
    assert near_duplicates(emb[:0], 0.9) == []


def test_each_negative_may_have_its_own_weight_and_none_means_the_default():
    a, b, c = np.eye(3)
    q = combine_queries([a], [b, c], negative_weight=[2.0, None])
    np.testing.assert_allclose(q, normalize(np.array([1.0, -2.0, -NEGATIVE_WEIGHT])), atol=1e-6)
    with pytest.raises(ValueError, match="one negative_weight per negative"):
        combine_queries([a], [b, c], negative_weight=[1.0])


def test_the_duplicate_threshold_follows_what_the_registered_model_tells_apart(monkeypatch):
    """One home for the rule (similarity.duplicate_threshold), read from the registry."""
    import dataclasses

    from imgsearch_helpers.models import MODELS
    from imgsearch_helpers.settings import DUPLICATE_THRESHOLD

    # Not registered (a model folder), or not measured: the general default, no note.
    assert similarity.duplicate_threshold("/some/model/folder") == (DUPLICATE_THRESHOLD, "")
    assert similarity.duplicate_threshold("openai/clip-vit-base-patch32") == (DUPLICATE_THRESHOLD, "")
    # Copies score higher than any look-alike: midway between the two.
    name = "imgsearch/clipart-clip"
    monkeypatch.setitem(MODELS, name, dataclasses.replace(MODELS[name], copy_cosine=0.97,
                                                          lookalike_cosine=0.91))
    assert similarity.duplicate_threshold(name) == (0.94, "")
    # They overlap: the general default, and a note that names both measured numbers.
    monkeypatch.setitem(MODELS, name, dataclasses.replace(MODELS[name], copy_cosine=0.9,
                                                          lookalike_cosine=0.99))
    threshold, note = similarity.duplicate_threshold(name)
    assert threshold == DUPLICATE_THRESHOLD
    assert "cannot tell copies from look-alikes" in note and "0.990" in note and "0.900" in note
    # The model named by its folder is the same model.
    folder = MODELS[name].source
    assert similarity.duplicate_threshold(folder) == (threshold, note.replace(name, folder))
