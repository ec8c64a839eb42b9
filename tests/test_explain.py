"""imgsearch_helpers.explain: every method on every family, words, the pointing game, the command."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from conftest import make_picture
from imgsearch_helpers import embed_images, embed_texts, load_model
from imgsearch_helpers.cli import main
from imgsearch_helpers.explain import (DEFAULT_METHODS, METHODS, POINTING_TARGET, Explanation,
                                       explain, explanations_html, make_mosaic, pointing_game,
                                       pointing_trials)

FAMILIES = ["tiny_clip", "tiny_siglip", "tiny_siglip2", "fgclip2_folder"]
GALLERY = "data/gallery"


@pytest.fixture(scope="module", params=FAMILIES)
def tiny(request):
    return load_model(request.getfixturevalue(request.param), device="cpu")


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_gives_a_finite_map_of_the_pictures_size(tiny, method):
    picture = make_picture(3, size=(56, 40))    # not square: the map must still fit it
    e = explain(tiny, "a red ball", picture, method=method)
    assert e.heatmap.shape == (40, 56) and e.heatmap.dtype == np.float32
    assert np.isfinite(e.heatmap).all()
    assert e.method == method and e.model == tiny.name
    # the score is the number search gives for this pair
    expected = float(embed_images(tiny, [picture])[0] @ embed_texts(tiny, "a red ball")[0])
    assert e.score == pytest.approx(expected, abs=1e-5)
    assert e.overlay().size == picture.size


def test_every_family_has_a_default_that_runs(tiny):
    e = explain(tiny, make_picture(1), make_picture(2))      # a picture query: no words
    assert e.method == DEFAULT_METHODS[tiny.family]
    assert e.words == [] and e.query == "a picture"


def test_a_classifier_and_an_unknown_method_are_clear_errors(tiny_vit, tiny_clip):
    with pytest.raises(ValueError, match="image classifier"):
        explain(load_model(tiny_vit, device="cpu"), "a cat", make_picture(0))
    with pytest.raises(ValueError, match="unknown method 'magic'"):
        explain(load_model(tiny_clip, device="cpu"), "a cat", make_picture(0), method="magic")


@pytest.fixture(scope="module", params=["imgsearch/clipart-clip", "imgsearch/clipart-siglip"])
def offline(request):
    return load_model(request.param, device="cpu")


def test_a_word_the_picture_lacks_counts_against_it(offline):
    e = explain(offline, "a lake with a cat", f"{GALLERY}/lake_000.png")
    by_word = {w.word: w for w in e.words}
    assert by_word["cat"].contribution <= 0
    assert by_word["cat"].contribution < by_word["lake"].contribution
    assert by_word["a"].stop and by_word["a"].contribution == 0.0
    assert [w.word for w in e.words] == "a lake with a cat".split()


def test_the_default_points_at_the_queried_scene_of_a_mosaic(offline):
    """The pointing game on 2x2 mosaics: the default's peak lands in the queried tile."""
    result = pointing_game(offline, n=40, trials=pointing_trials(40, grid=2))
    assert result.chance == 0.25
    assert result.accuracy >= POINTING_TARGET, (result.accuracy, result.method)
    assert result.accuracy > result.centre + 0.4


def test_a_mosaic_knows_its_tiles():
    mosaic = make_mosaic(["lake", "cat", "car", "tree"], np.random.default_rng(0))
    assert mosaic.image.size == (256, 256)
    assert [mosaic.tile_at(x, y) for x, y in [(0, 0), (200, 10), (10, 200), (255, 255)]] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="needs 4 kinds"):
        make_mosaic(["lake"], np.random.default_rng(0))


def test_html_shows_the_overlay_and_escapes_the_query(tiny_clip):
    model = load_model(tiny_clip, device="cpu")
    e = explain(model, "<b>cat</b>", make_picture(0))
    page = explanations_html([e], ["<i>x.png</i>"])
    assert "<b>cat</b>" not in page and "&lt;b&gt;cat&lt;/b&gt;" in page
    assert "&lt;i&gt;x.png&lt;/i&gt;" in page and "data:image/png;base64," in page
    assert isinstance(e, Explanation) and "data:image/png" in e._repr_html_()


def test_the_command_prints_the_score_and_writes_the_heatmap(tmp_path, capsys):
    out = tmp_path / "heat.png"
    picture = f"{GALLERY}/cat_002.png"
    status = main(["explain", "a cat and a car", picture, "-o", str(out),
                   "--model", "imgsearch/clipart-clip"])
    text = capsys.readouterr().out
    assert status == 0
    assert text.startswith("score ") and "counted most: around" in text and "words:" in text
    with Image.open(out) as im:
        assert im.size == Image.open(picture).size
    status = main(["explain", "a cat and a car", picture, "--json", "--method", "occlusion",
                   "--model", "imgsearch/clipart-clip"])
    data = json.loads(capsys.readouterr().out)
    assert status == 0 and data["method"] == "occlusion"
    assert [w["word"] for w in data["words"]] == ["a", "cat", "and", "a", "car"]
    assert data["words"][0]["contribution"] is None and data["words"][0]["stop_word"]


def test_the_command_says_when_the_model_reads_the_asked_detail_poorly(capsys):
    from imgsearch_helpers.evaluation import detail_note

    picture = f"{GALLERY}/car_033.png"
    expected = detail_note("imgsearch/clipart-siglip", "a red car")
    assert expected
    assert main(["explain", "a red car", picture, "--model", "imgsearch/clipart-siglip"]) == 0
    captured = capsys.readouterr()
    assert "note: " + expected in captured.err and captured.out.startswith("score ")
    assert main(["explain", "a car", picture, "--model", "imgsearch/clipart-siglip"]) == 0
    assert "poorly" not in capsys.readouterr().err


def test_the_command_refuses_a_missing_picture(capsys):
    assert main(["explain", "a cat", "no/such/picture.png", "--model", "imgsearch/clipart-clip"]) == 2
    assert "picture not found" in capsys.readouterr().err
    assert main(["explain", "nothing.jpg", f"{GALLERY}/cat_002.png",
                 "--model", "imgsearch/clipart-clip"]) == 2
    assert "query picture not found" in capsys.readouterr().err


def test_the_apps_why_toggle_overlays_each_result_and_keeps_the_ranking(tmp_path, tiny_clip):
    from imgsearch_helpers import SearchApp

    paths = []
    for kind in range(4):
        paths.append(tmp_path / f"pic_{kind}.png")
        make_picture(kind).save(paths[-1])
    app = SearchApp(paths, [str(tiny_clip)], k=3, device="cpu")
    before = app.search_text("a red ball")
    plain = [cell.image.value for cell in app.ui.cells[:3]]
    app.ui.why.value = True
    assert [r.item for r in app.results] == [r.item for r in before]
    shown = [cell.image.value for cell in app.ui.cells[:3]]
    assert all('class="imgsearch-heatmap"' in v for v in shown) and shown != plain
    assert app.last_error is None
    app.ui.why.value = False
    assert [cell.image.value for cell in app.ui.cells[:3]] == plain


def test_parts_map_each_thing_a_query_names(offline):
    pair = make_mosaic(["cat", "snow", "flower", "car"], np.random.default_rng(2))
    e = explain(offline, "a cat and a car", pair.image, parts=True, words=False)
    assert list(e.parts) == ["a cat", "a car"]
    peaks = {phrase: pair.kinds[pair.tile_at(*np.unravel_index(h.argmax(), h.shape)[::-1])]
             for phrase, h in e.parts.items()}
    assert peaks == {"a cat": "cat", "a car": "car"}
    assert e.heatmap.max() == pytest.approx(1.0)
