"""The fine-grained benchmark: scoring (an oracle scores 1, a blind model scores chance)."""
import numpy as np
import pytest

from imgsearch_helpers import evaluation as ev


@pytest.fixture(scope="module")
def fset():
    return ev.finegrained_set(per_kind=30)


def _oracle(fset, rng):
    """Unit text vectors per query; each image is the sum of the queries true of it."""
    queries = fset.queries()
    vectors = {q: v / np.linalg.norm(v) for q, v in zip(queries, rng.normal(size=(len(queries), 256)))}
    images = []
    for attrs in fset.attributes:
        v = sum(vectors[t.query(t.value(attrs))] for t in ev.FINEGRAINED_TASKS
                if t.kind == attrs["kind"] and (t.value(attrs) is not None or t.key == "hat" and attrs.get("snowman")))
        v = v if not np.isscalar(v) else rng.normal(size=256)
        images.append(v / np.linalg.norm(v))
    return np.array(images), lambda texts: np.array([vectors[t] for t in texts])


def test_an_oracle_reads_every_attribute(fset):
    images, embed = _oracle(fset, np.random.default_rng(0))
    result = ev.score_finegrained(fset, images, embed)
    assert set(result["groups"]) == {"colour", "count", "time"}
    for group in result["groups"].values():
        assert group["accuracy"] == 1.0 and 0 < group["chance"] < 0.6
    assert {"car colour", "snowman's hat", "tree count", "cat count", "boat count"} <= set(result["tasks"])


def test_a_model_blind_to_details_scores_near_chance(fset):
    images, embed = _oracle(fset, np.random.default_rng(0))
    shuffled = images[np.random.default_rng(1).permutation(len(images))]
    result = ev.score_finegrained(fset, shuffled, embed)
    for group in result["groups"].values():
        assert abs(group["accuracy"] - group["chance"]) < 0.2


def test_the_table_has_a_row_per_task_and_group(fset):
    images, embed = _oracle(fset, np.random.default_rng(0))
    table = ev.finegrained_table(ev.score_finegrained(fset, images, embed), title="oracle")
    assert table["all colours"]["top-1"] == 1.0 and "chance" in table.columns
    assert "car colour" in str(table)
