"""How many pictures match (calibrations, the cut-off), the measures of a cut-off, and refine()."""
import json
from pathlib import Path

import numpy as np
import pytest

from imgsearch_helpers import load_model, refine, search
from imgsearch_helpers.embeddings import embed_texts
from imgsearch_helpers.matching import (CALIBRATION_FILE, DEFAULT_CALIBRATION, MATCH_PROBABILITY, Calibration,
                                        average_precision_rows, best_global_threshold,
                                        calibration_for, cutoff_score, fit_calibration,
                                        oracle_cutoff, own_sigmoid, prf, simulate_feedback,
                                        weights_sha256)


def unit(rows):
    rows = np.asarray(rows, np.float64)
    return (rows / np.linalg.norm(rows, axis=-1, keepdims=True)).astype(np.float32)


# -- calibrations ------------------------------------------------------------------------

def test_sigmoid_rule_is_siglips_formula():
    cal = Calibration("sigmoid", 10.0, -3.0)
    cos = np.array([0.1, 0.3, 0.5])
    np.testing.assert_allclose(cal.probabilities(cos), 1 / (1 + np.exp(-(10 * cos - 3))))


def test_zscore_rule_depends_on_how_a_picture_stands_out_not_on_the_raw_cosine():
    cal = Calibration("zscore", 3.0, -6.0)
    rng = np.random.default_rng(0)
    base = rng.normal(0.2, 0.02, 200)
    # The same pattern shifted (another query's cosines are all higher) gives the same p.
    np.testing.assert_allclose(cal.probabilities(base), cal.probabilities(base + 0.15))
    z = (base - base.mean()) / base.std()
    np.testing.assert_allclose(cal.logits(base), 3 * z - 6)
    # Judged against another collection, the same scores get other probabilities.
    assert not np.allclose(cal.probabilities(base[:5], base), cal.probabilities(base[:5]))


@pytest.mark.parametrize("args", [("softmax", 1.0, 0.0), ("zscore", 0.0, 1.0),
                                  ("sigmoid", float("nan"), 0.0), ("zscore", 1.0, float("inf"))])
def test_bad_calibrations_are_refused(args):
    with pytest.raises(ValueError):
        Calibration(*args)


def test_a_calibration_file_is_read_only_for_the_weights_it_was_fitted_to(tmp_path):
    path = tmp_path / "calibration.json"
    cal = Calibration("zscore", 2.5, -7.0, "fitted on something")
    cal.save(path, "abc")
    assert Calibration.load(path, "abc") == cal
    assert Calibration.load(path, "other weights") is None
    assert Calibration.load(tmp_path / "missing.json") is None
    path.write_text(json.dumps({"method": "zscore"}))
    with pytest.raises(ValueError, match="not a calibration file"):
        Calibration.load(path)


def test_fit_puts_the_boundary_between_right_and_other_pictures():
    rng = np.random.default_rng(1)
    right = rng.normal(0.40, 0.03, (30, 20))
    other = rng.normal(0.20, 0.03, (30, 200))
    scores = np.concatenate([right, other], axis=1)
    relevant = np.zeros(scores.shape, bool)
    relevant[:, :20] = True
    fitted = fit_calibration(scores, relevant, "sigmoid")
    # Right and other pictures count the same in total: the boundary is half-way.
    assert fitted.method == "sigmoid" and -fitted.bias / fitted.scale == pytest.approx(0.30, abs=0.01)
    assert cutoff_score(fitted.probabilities(scores) >= 0.5, relevant).f1 > 0.99


def test_fit_needs_both_kinds_of_pictures():
    with pytest.raises(ValueError, match="both matching and other"):
        fit_calibration(np.ones((2, 5)), np.ones((2, 5), bool))


# -- which model gets which --------------------------------------------------------------

def test_siglips_own_sigmoid_is_its_scale_and_bias(tiny_siglip, tiny_clip):
    model = load_model(tiny_siglip)
    cal = own_sigmoid(model)
    assert cal.method == "sigmoid"
    assert cal.scale == pytest.approx(model.logit_scale) and cal.bias == pytest.approx(-10.0)
    with pytest.raises(ValueError, match="softmax"):
        own_sigmoid(load_model(tiny_clip))


def test_real_models_without_a_calibration_of_their_own_get_the_default(tiny_clip, tiny_siglip):
    assert calibration_for(load_model(tiny_clip)) == DEFAULT_CALIBRATION
    assert calibration_for(load_model(tiny_siglip)) == DEFAULT_CALIBRATION


@pytest.mark.parametrize("name", ["imgsearch/clipart-clip", "imgsearch/clipart-siglip"])
def test_the_course_models_have_a_zscore_calibration_fitted_to_their_weights(name):
    model = load_model(name, device="cpu")
    cal = calibration_for(model)
    assert cal.method == "zscore" and cal.scale > 0 and "generated clip-art" in cal.source
    # A second rule, with a measure of its own, for queries that name a colour or a count.
    assert isinstance(cal.detail, Calibration) and cal.detail.detail is None
    # The committed file is what fitting gives today (nothing stale ships). Refitted on
    # another machine, float rounding moves the fit in its last digits (measured: scale
    # 5.183483212 against the committed 5.183483019); other weights move it far more.
    from imgsearch_helpers.matching import fit_clipart_calibration
    refit = fit_clipart_calibration(model)
    for new, old in ((refit, cal), (refit.detail, cal.detail)):
        assert (new.method, new.source) == (old.method, old.source)
        assert (new.scale, new.bias) == (pytest.approx(old.scale, rel=1e-5), pytest.approx(old.bias, rel=1e-5))
    assert calibration_for(model, "a red car") == cal.for_query("a red car") != cal.for_query("a car")
    # Saved beside the weights for the weights it was fitted to.
    assert Calibration.load(Path(model.info.source) / CALIBRATION_FILE,
                            weights_sha256(model.info.source)) == cal


def test_a_classifier_cannot_judge_text_matches(tiny_vit):
    with pytest.raises(ValueError, match="no text encoder"):
        calibration_for(load_model(tiny_vit))


# -- search(matches=...) -------------------------------------------------------------------

@pytest.fixture
def collection():
    rng = np.random.default_rng(3)
    emb = unit(rng.normal(size=(60, 8)))
    return emb, [f"p{i}" for i in range(60)]


def test_matches_are_the_head_of_the_plain_ranking_each_with_its_probability(collection):
    emb, items = collection
    query = emb[7]
    cal = Calibration("sigmoid", 8.0, -2.0)
    found = search(query, emb, items, k=None, matches="auto", calibration=cal)
    plain = search(query, emb, items, k=len(items))
    p = cal.probabilities(emb @ query)
    assert len(found) == int((p >= MATCH_PROBABILITY).sum()) > 0
    assert [r.index for r in found] == [r.index for r in plain[:len(found)]]
    for r in found:
        assert r.p_match == pytest.approx(p[r.index], rel=1e-5) and r.p_match >= 0.5
    assert all(r.p_match is None for r in plain)
    assert len(search(query, emb, items, k=2, matches="auto", calibration=cal)) == 2
    # A stricter probability keeps fewer.
    strict = search(query, emb, items, k=None, matches=0.9, calibration=cal)
    assert len(strict) < len(found) and all(r.p_match >= 0.9 for r in strict)


def test_nothing_matches_is_an_empty_list_not_the_top_k(collection):
    emb, items = collection
    cal = Calibration("sigmoid", 1.0, -50.0)
    assert search(emb[0], emb, items, k=5, matches="auto", calibration=cal) == []


@pytest.mark.parametrize("matches", ["yes", 0.0, 1.0, True, -0.5])
def test_bad_matches_values_are_refused(collection, matches):
    emb, items = collection
    with pytest.raises(ValueError, match="matches must be"):
        search(emb[0], emb, items, matches=matches, calibration=DEFAULT_CALIBRATION)


def test_matches_need_a_calibration(collection):
    emb, items = collection
    with pytest.raises(ValueError, match="calibration="):
        search(emb[0], emb, items, matches="auto")


def test_k_none_without_matches_ranks_everything(collection):
    emb, items = collection
    assert len(search(emb[0], emb, items, k=None)) == len(items)
    with pytest.raises(ValueError, match="k must be"):
        search(emb[0], emb, items, k=0)


# -- measuring a cut-off -------------------------------------------------------------------

def test_precision_recall_f1_by_hand():
    relevant = np.array([[1, 1, 0, 0], [0, 0, 0, 1]], bool)
    predicted = np.array([[1, 0, 1, 0], [0, 0, 0, 0]], bool)
    p, r, f = prf(predicted, relevant)
    np.testing.assert_allclose(p, [0.5, 0.0])
    np.testing.assert_allclose(r, [0.5, 0.0])
    np.testing.assert_allclose(f, [0.5, 0.0])
    assert cutoff_score(predicted, relevant).f1 == pytest.approx(0.25)


def test_oracle_beats_one_global_threshold_when_queries_live_on_different_scales():
    # Query 0's right pictures score 0.9, its others 0.6; query 1's right 0.5, others 0.2.
    scores = np.array([[0.9, 0.9, 0.6, 0.6], [0.5, 0.2, 0.2, 0.2]])
    relevant = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], bool)
    oracle = oracle_cutoff(scores, relevant)
    best = best_global_threshold(scores, relevant)
    assert oracle.f1 == pytest.approx(1.0)
    assert best.f1 < 1.0 and best.threshold in (0.5, 0.6, 0.9)
    # A z-score cut-off sees that each query's right pictures stand out: perfect.
    z = Calibration("zscore", 4.0, -2.0)
    assert cutoff_score(z.probabilities(scores) >= 0.5, relevant).f1 == pytest.approx(1.0)


# -- refine ----------------------------------------------------------------------------------

def test_refine_moves_towards_likes_and_away_from_unlikes():
    rng = np.random.default_rng(4)
    q, good, bad = unit(rng.normal(size=(3, 16)))
    new = refine(q, [good], [bad])
    assert np.linalg.norm(new) == pytest.approx(1.0, abs=1e-6)
    assert new @ good > q @ good and new @ bad < q @ bad
    np.testing.assert_allclose(refine(q), q, atol=1e-6)


def test_refine_refuses_what_it_cannot_use():
    q = unit(np.ones(4))
    with pytest.raises(ValueError, match="dimension"):
        refine(q, [np.ones(5)])
    with pytest.raises(ValueError, match="cancels"):
        refine(q, [], [q], gamma=1.0)
    with pytest.raises(ValueError, match="finite"):
        refine(np.zeros(4), [q])


def test_a_simulated_user_improves_map_on_clustered_pictures():
    rng = np.random.default_rng(5)
    centres = unit(rng.normal(size=(4, 32)))
    labels = np.repeat(np.arange(4), 25)
    pictures = unit(centres[labels] + 0.6 * rng.normal(size=(100, 32)) / np.sqrt(32))
    # Noisy queries: halfway between their cluster and a random direction.
    queries = unit(centres + 1.2 * unit(rng.normal(size=(4, 32))))
    relevant = labels[None, :] == np.arange(4)[:, None]
    maps = simulate_feedback(queries, pictures, relevant, rounds=2, marks=10)
    assert len(maps) == 3
    assert maps[1] > maps[0] and maps[2] >= maps[1] - 1e-9
    np.testing.assert_allclose(maps[0], average_precision_rows(queries @ pictures.T,
                                                               relevant).mean())


def test_the_words_of_a_query_say_whether_it_names_a_detail():
    from imgsearch_helpers.clipart import ATTRIBUTE_VALUES, COUNT_WORDS
    from imgsearch_helpers.matching import names_a_detail

    for text in ["a red car", "two dogs playing outside", "an orange tabby in the garden",
                 "a snowman with a blue hat", "one tree", "3 boats", "une voiture rouge",
                 "des chats noirs", "deux chats", "eine rote Katze", "ein schwarzes Auto",
                 "zwei Hunde", "rosa Tulpen", "pine trees on a green hill"]:
        assert names_a_detail(text), text
    for text in ["a cat", "a beautiful lake with mountains", "un chat", "une photo d'un lac",
                 "ein Auto", "eine Katze", "photos from 2019", "Rotkehlchen", "", None]:
        assert not names_a_detail(text), text
    # Every colour and count the painter records is a word the rule knows.
    colours = {v for (_, key), values in ATTRIBUTE_VALUES.items() if key in ("colour", "hat", "roof")
               for v in values if v}
    assert all(names_a_detail(c) for c in colours)
    assert all(names_a_detail(w) for w in COUNT_WORDS.values())


def test_the_words_of_a_query_say_which_details_it_names():
    from imgsearch_helpers.matching import named_details

    assert named_details("a red car") == {"colour"}
    assert named_details("two dogs playing outside") == {"count"}
    assert named_details("zwei rote Autos") == {"colour", "count"}
    assert named_details("trois chats noirs") == {"colour", "count"}
    assert named_details("12 boats") == {"count"} and named_details("photos from 2019") == set()
    assert named_details("a cat") == set() and named_details(None) == set()
    # A number word joined to another word counts nothing; a colour inside a compound is a colour.
    assert named_details("a one-way street") == set() and named_details("a two-story house") == set()
    assert named_details("dix-sept chats") == {"count"} and named_details("dix-huit bateaux") == {"count"}
    assert named_details("a red-roofed house") == {"colour"}
    assert named_details("a black-and-white photo of two cats") == {"colour", "count"}


def test_kind_queries_are_right_only_where_the_painter_drew_the_detail_they_name():
    from imgsearch_helpers.matching import (clipart_collections, kind_queries, recorded_details,
                                            split_by_detail)

    assert recorded_details("a fancy black sedan", ("car",)) == {"colour": "black"}
    assert recorded_details("two dogs playing outside", ("dog",)) == {"count": 2}
    assert recorded_details("an orange tabby in the garden", ("cat",)) == {"colour": "orange"}
    # a colour the painter does not record for that kind, or no colour or count at all
    assert recorded_details("snowy peaks above blue water", ("lake",)) == {}
    assert recorded_details("a beautiful lake with mountains", ("lake",)) == {}
    assert recorded_details("one tree", ("tree",)) == {}   # "one" says nothing a kind does not

    scenes = clipart_collections(heldout_per_kind=4)["held-out scenes"]
    strict, loose = kind_queries(scenes), kind_queries(scenes, details=False)
    assert loose.name == "kind, any of the kind right" and strict.name == "kind"
    query = "a fancy black sedan"
    if query in strict.queries:
        right = strict.relevant[strict.queries.index(query)]
        assert all(scenes[i].attributes["colour"] == "black" for i in np.flatnonzero(right))
    cars = loose.relevant[loose.queries.index(query)]
    assert np.array_equal(cars, [s.kind == "car" for s in scenes])
    pond = "a quiet pond between the hills"
    assert np.array_equal(strict.relevant[strict.queries.index(pond)],
                          loose.relevant[loose.queries.index(pond)])

    plain, detailed = split_by_detail(strict)
    assert len(plain) + len(detailed) == len(strict)
    assert "two cats sitting indoors" in detailed.queries or "two cats sitting indoors" \
        not in strict.queries
    assert pond in plain.queries and "pine trees on a green hill" in detailed.queries
    for part in (plain, detailed):
        rows = [strict.queries.index(q) for q in part.queries]
        assert np.array_equal(part.relevant, strict.relevant[rows])


def test_a_query_that_names_a_detail_is_judged_by_its_own_rule(tmp_path):
    cal = Calibration("zscore", 4.0, -6.0, "both", detail=Calibration("sigmoid", 5.0, -2.5))
    plain, strict = cal.for_query("a cat"), cal.for_query("a red cat")
    assert (plain.method, plain.scale, plain.bias, plain.detail) == ("zscore", 4.0, -6.0, None)
    assert (strict.method, strict.scale, strict.bias, strict.detail) == ("sigmoid", 5.0, -2.5, None)
    assert plain.cut() == "z >= 1.5" and strict.cut() == "cosine >= 0.5"
    assert cal.for_query(None) == plain and plain.for_query("a red cat") == plain
    scores = np.array([[0.1, 0.2, 0.3, 0.9], [0.1, 0.2, 0.3, 0.9]])
    both = cal.query_probabilities(["a cat", "a red cat"], scores)
    np.testing.assert_allclose(both[0], plain.probabilities(scores[0]))
    np.testing.assert_allclose(both[1], strict.probabilities(scores[1]))
    with pytest.raises(ValueError, match="2 queries but 1 rows"):
        cal.query_probabilities(["a", "b"], scores[:1])
    # Saved and read back with both rules; a file with a broken second rule is refused.
    path = tmp_path / "calibration.json"
    cal.save(path, "abc")
    assert Calibration.load(path, "abc") == cal
    for broken in ('[1, 2]', '{"method": "sigmoid", "scale": 0, "bias": 0}'):
        path.write_text('{"method": "zscore", "scale": 1, "bias": 0, "detail": %s}' % broken)
        with pytest.raises(ValueError, match="not a calibration file"):
            Calibration.load(path)
    for detail in [(5.0, 1.0), "ab", cal]:     # cal has a second rule of its own
        with pytest.raises(ValueError, match="detail must be"):
            Calibration("zscore", 1.0, 0.0, detail=detail)


def test_an_f1_cut_calls_exactly_the_best_global_threshold_matches():

    rng = np.random.default_rng(3)
    relevant = rng.random((6, 80)) < 0.15
    relevant[:, 0] = True
    scores = rng.normal(size=(6, 80)) + 1.5 * relevant
    logistic = fit_calibration(scores, relevant, "sigmoid")
    f1 = fit_calibration(scores, relevant, "sigmoid", cut="f1")
    assert f1.scale == pytest.approx(logistic.scale) and f1.bias != logistic.bias
    best = best_global_threshold(scores, relevant)
    called = f1.probabilities(scores) >= MATCH_PROBABILITY
    assert np.array_equal(called, scores >= best.threshold)
    assert cutoff_score(called, relevant).f1 == pytest.approx(best.f1)
    assert cutoff_score(called, relevant).f1 >= cutoff_score(
        logistic.probabilities(scores) >= MATCH_PROBABILITY, relevant).f1
    with pytest.raises(ValueError, match="cut must be"):
        fit_calibration(scores, relevant, cut="median")


def test_an_index_judges_a_text_query_by_its_words(tmp_path):
    from imgsearch_helpers.index import ImageIndex

    model = load_model("imgsearch/clipart-clip", device="cpu")
    gallery = Path(__file__).resolve().parents[1] / "data" / "gallery"
    index = ImageIndex.build(gallery, model, index_dir=tmp_path / "index")
    query = "a snowman with a red hat"
    found = index.search_text(model, query, k=None, matches="auto")
    vector = embed_texts(model, [query])[0]
    assert found == index.search_embedding(vector, None, "auto", calibration_for(model, query))
    # The same query judged as if it named no detail calls more pictures matches.
    loose = index.search_embedding(vector, None, "auto", calibration_for(model).for_query(None))
    assert 0 < len(found) < len(loose)
    # A calibration passed in is also judged by the query's words, given as text= too.
    assert index.search_text(model, query, k=None, matches="auto",
                             calibration=calibration_for(model)) == found
    assert index.search_embedding(vector, None, "auto", model, text=query) == found
    # search() on the same rows: the same matches when it is given the words.
    same = search(vector, np.asarray(index.embeddings), index.paths, k=None, matches="auto",
                  calibration=model, text=query)
    assert [r.item for r in same] == [r.item for r in found]


def test_each_rule_is_fitted_on_queries_like_those_it_judges():
    from imgsearch_helpers.clipart import ZERO_SHOT_PROMPTS, generate_dataset
    from imgsearch_helpers.matching import (CALIBRATION_SEED, attribute_queries,
                                            calibration_queries, names_a_detail)

    scenes = generate_dataset(60, CALIBRATION_SEED, check=False)
    plain, detailed = calibration_queries(scenes, per_kind=3)
    assert set(ZERO_SHOT_PROMPTS.values()) <= set(plain.queries)
    assert len(plain) > len(ZERO_SHOT_PROMPTS) and not any(map(names_a_detail, plain.queries))
    attributes = attribute_queries(scenes)
    assert detailed.queries[:len(attributes)] == attributes.queries
    captions = detailed.queries[len(attributes):]
    assert captions and all(map(names_a_detail, captions))
    assert plain.relevant.shape == (len(plain), len(scenes)) and plain.relevant.any(axis=1).all()
    assert detailed.relevant.any(axis=1).all()
    # A caption is right for pictures of one kind only; the same seed draws the same captions.
    kinds = np.array([s.kind for s in scenes])
    assert all(len(set(kinds[row])) == 1 for row in detailed.relevant[len(attributes):])
    assert calibration_queries(scenes, per_kind=3)[1].queries == detailed.queries


def test_attribute_queries_no_picture_answers_are_kept_apart():
    from imgsearch_helpers.clipart import colour_query, gallery_scenes
    from imgsearch_helpers.matching import absent_queries, attribute_queries

    scenes = list(gallery_scenes().values())
    answered, absent = attribute_queries(scenes), absent_queries(scenes)
    assert answered.relevant.any(axis=1).all()
    assert absent.relevant.shape == (len(absent), len(scenes)) and not absent.relevant.any()
    assert not set(answered.queries) & set(absent.queries)
    # the gallery's cars are yellow, blue, ... but none is red
    cars = [s.attributes for s in scenes if s.kind == "car"]
    assert "a red car" in absent.queries and all(a["colour"] != "red" for a in cars)
    assert any(colour_query("car", a["colour"]) in answered.queries for a in cars if a["colour"])
    # together they are every query the painter's values allow, whatever the scenes
    both = attribute_queries(scenes[:3]), absent_queries(scenes[:3])
    assert len(both[0]) + len(both[1]) == len(answered) + len(absent)


def test_how_many_match_is_said_the_same_way_everywhere():
    from imgsearch_helpers.matching import match_words

    assert [match_words(n) for n in (0, 1, 23)] == [
        "0 pictures match", "1 picture matches", "23 pictures match"]
    assert match_words(1, 50) == "1 of 50 pictures matches"
    assert match_words(5, 50) == "5 of 50 pictures match"
