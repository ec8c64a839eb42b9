"""The search app (imgsearch_helpers.app), driven through its widgets as a user would.

Widgets work without a browser: setting a Text's value or calling Button.click()
runs the same handlers the browser's messages run. The tiny random models give
no meaningful text ranking, so text searches are compared with search()
computed directly, and image searches use gallery pictures, which rank first
with a score of 1.0.
"""
from __future__ import annotations

import datetime as dt
import html
import io
import json
import re

import numpy as np
import pytest

from conftest import make_picture
from imgsearch_helpers import SearchApp, embed_texts, load_model, search
from imgsearch_helpers.app import _app as widgets_module
from imgsearch_helpers.matching import MATCH_PROBABILITY, calibration_for, refine
from imgsearch_helpers.models import GALLERY_DIR
from imgsearch_helpers.search import all_scores

HOSTILE = "<img src=x onerror=alert(1)>.png"


def _save_pictures(folder, names):
    paths = []
    for kind, name in enumerate(names):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        make_picture(kind).save(folder / name)
        paths.append(folder / name)
    return paths


@pytest.fixture
def gallery(tmp_path):
    return _save_pictures(tmp_path / "gallery", [f"pic_{i}.png" for i in range(5)])


@pytest.fixture
def captions():
    return {f"pic_{i}.png": f"picture number {i}" for i in range(5)}


@pytest.fixture
def app(gallery, captions, tiny_clip, tiny_siglip):
    return SearchApp(gallery, [str(tiny_clip), str(tiny_siglip)], captions, k=3, device="cpu")


def _grid(app):
    """(name, score, caption) of the visible result cells, in order, as the browser shows them."""
    rows = []
    for cell in app.ui.cells:
        if cell.visible:
            name = re.search(r'class="imgsearch-name">(.*?)</span>', cell.label.value).group(1)
            score = float(re.search(r'class="imgsearch-score">(.*?)</span>', cell.label.value).group(1))
            caption = re.sub(r"<[^>]+>", "", cell.caption.value)
            rows.append((html.unescape(name), score, html.unescape(caption)))
    return rows


def _upload_value(name, data):
    # The shape ipywidgets 8 gives FileUpload.value after a browser upload.
    return ({"name": name, "type": "image/png", "size": len(data), "content": memoryview(data),
             "last_modified": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)},)


def test_app_is_displayable_and_has_stable_css_classes(app):
    bundle = app._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "imgsearch-app" in app.widget._dom_classes
    assert "imgsearch-query" in app.ui.query._dom_classes
    assert "imgsearch-status" in app.ui.status._dom_classes
    assert "5 images" in app.ui.status.value and "ready" in app.ui.status.value
    assert app.last_error is None


def test_enter_in_the_query_box_shows_the_same_ranking_as_search(app, gallery, tiny_clip):
    app.ui.query.value = "a red circle"          # what the browser sends on Enter
    loaded = load_model(str(tiny_clip), device="cpu")
    matrix = widgets_module.embed_images(loaded, gallery)
    expected = search(embed_texts(loaded, "a red circle")[0], matrix, gallery, k=3)
    shown = _grid(app)
    assert [name for name, _, _ in shown] == [r.item.name for r in expected]
    assert [s for _, s, _ in shown] == [round(r.score, 3) for r in expected]
    assert shown[0][2] == f"picture number {expected[0].item.name[4]}"
    status = app.ui.status.value
    assert "“a red circle”" in status and re.search(r"\d+ ms", status)
    assert str(tiny_clip) in status


def test_search_button_runs_the_typed_query(app):
    app.ui.query.value = "blue sky"
    app._last_run = 0.0                          # as if the user clicked much later
    calls = []
    app._run = lambda query, note="": calls.append(query.text) or []
    app.ui.search_button.click()
    assert calls == ["blue sky"]


def test_empty_query_is_a_message_not_an_exception(app):
    app.ui.query.value = "   "                   # spaces, then Enter
    assert "query is empty" in app.ui.message.value
    app.ui.query.value = ""
    app.ui.search_button.click()
    assert "query is empty" in app.last_error
    assert _grid(app) == []


def test_more_like_this_ranks_the_clicked_picture_first(app, gallery):
    app.search_text("anything")
    clicked = _grid(app)[1][0]
    app.ui.cells[1].more.click()
    top = _grid(app)[0]
    assert top[0] == clicked and top[1] == pytest.approx(1.0, abs=1e-3)
    assert "more like " + clicked in app.ui.status.value


def test_uploaded_picture_is_the_query(app, gallery):
    data = gallery[3].read_bytes()
    app.ui.upload.value = _upload_value("my photo.png", data)
    name, score, _ = _grid(app)[0]
    assert name == "pic_3.png" and score == pytest.approx(1.0, abs=1e-3)
    assert len(app.ui.upload.value) == 1         # the button says "Query image (1)"
    assert "my photo.png" in app.ui.query_preview.value
    app.search_text("trees")
    assert app.ui.upload.value == ()             # no longer the query: "(0)" again
    app.ui.upload.value = _upload_value("my photo.png", data)   # the same file, a new event
    assert _grid(app)[0][0] == "pic_3.png" and "my photo.png" in app.ui.status.value


def test_unreadable_upload_is_a_message(app):
    app.search_text("first")
    before = _grid(app)
    app.ui.upload.value = _upload_value("notes.png", b"this is not a picture")
    assert "notes.png" in app.last_error and "cannot be read" in app.last_error
    assert "imgsearch-message-error" in app.ui.message.value
    assert _grid(app) == before and app.ui.upload.value == ()


def test_embedding_the_gallery_advances_the_progress_bar_to_every_picture(tmp_path, tiny_clip,
                                                                         monkeypatch):
    from imgsearch_helpers.app import _view as app_view

    paths = _save_pictures(tmp_path / "g", [f"pic_{i}.png" for i in range(40)])
    (tmp_path / "g" / "broken.png").write_bytes(b"not a picture")
    steps = []
    real = app_view.AppView.update
    monkeypatch.setattr(app_view.AppView, "update",
                        lambda self, n: steps.append((n, self.progress.max)) or real(self, n))
    app = SearchApp(paths + [tmp_path / "g" / "broken.png"], [tiny_clip], k=2, device="cpu")
    assert sum(n for n, _ in steps) == 41 and {m for _, m in steps} == {41}
    assert len(steps) > 1                       # it moves batch by batch, not at the end
    assert [p.name for p, _ in app.skipped] == ["broken.png"]


def test_switching_models_embeds_the_gallery_once_per_model(gallery, tiny_clip, tiny_siglip,
                                                           monkeypatch):
    calls = []
    from imgsearch_helpers.app import _gallery

    real = _gallery.embed_image_files

    def counting(loaded, paths, **kwargs):
        calls.append(loaded.name)
        return real(loaded, paths, **kwargs)

    monkeypatch.setattr(_gallery, "embed_image_files", counting)
    app = SearchApp(gallery, [tiny_clip, tiny_siglip], k=2, device="cpu")
    app.search_image(gallery[0])
    for model in (str(tiny_siglip), str(tiny_clip), str(tiny_siglip)):
        app.ui.model.value = model
        # The last query runs again with the new model.
        assert _grid(app)[0][0] == "pic_0.png"
        assert f"model {model}" in app.ui.status.value
    assert calls == [str(tiny_clip), str(tiny_siglip)]
    assert app.last_error is None


def test_index_folder_searches_new_pictures_and_reports_broken_files(app, tmp_path):
    folder = tmp_path / "my photos"
    paths = _save_pictures(folder, ["beach.png", "dog.png", "sub/cat.png"])
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    (folder / "notes.txt").write_text("not an image")
    (folder / "captions.json").write_text(json.dumps({"dog.png": "my dog"}))
    app.search_text("a dog")
    app.ui.folder.value = str(folder)
    app.ui.index_button.click()
    assert len(app.gallery) == 4
    status = app.ui.status.value
    assert "3 images" in status and "1 skipped (broken.png)" in status
    assert "broken.png" in app.ui.message.value and "imgsearch-message-warning" in app.ui.message.value
    # The text query ran again on the new folder.
    assert {name for name, _, _ in _grid(app)} <= {"beach.png", "dog.png", "cat.png"}
    app.search_image(paths[1])
    assert _grid(app)[0][:2] == ("dog.png", pytest.approx(1.0, abs=1e-3))
    assert _grid(app)[0][2] == "my dog"


@pytest.mark.parametrize("folder, expected", [
    ("", "type the path of a folder"),
    ("{tmp}/missing", "folder not found"),
    ("{tmp}/empty", "no images in"),
])
def test_index_folder_errors_keep_the_old_gallery(app, tmp_path, folder, expected):
    (tmp_path / "empty").mkdir()
    app.ui.folder.value = folder.format(tmp=tmp_path)
    app.ui.index_button.click()
    assert expected in app.last_error and expected in app.ui.message.value
    assert len(app.gallery) == 5 and "5 images" in app.ui.status.value


def test_unavailable_model_is_a_message_and_the_app_recovers(gallery, tiny_clip):
    app = SearchApp(gallery, [tiny_clip, "imgsearch/no-such-model"], device="cpu")
    app.ui.model.value = "imgsearch/no-such-model"
    assert "unknown model" in app.last_error
    app.search_text("a lake")
    assert "unknown model" in app.last_error and _grid(app) == []
    app.ui.model.value = str(tiny_clip)
    assert app.last_error is None and app.ui.message.value == ""
    app.search_text("a lake")
    assert len(_grid(app)) == 5


def test_k_slider_changes_how_many_results_show(app):
    app.search_text("trees")
    assert len(_grid(app)) == 3
    app.ui.k.value = 5
    assert len(_grid(app)) == 5
    app.ui.k.value = 2
    assert len(_grid(app)) == 2


def test_a_new_k_reuses_the_query_embedding(app, gallery, monkeypatch):
    calls = []
    for name in ("embed_texts", "embed_images"):
        real = getattr(widgets_module, name)
        monkeypatch.setattr(widgets_module, name,
                            lambda *a, _real=real, _name=name, **kw: calls.append(_name) or _real(*a, **kw))
    first = app.search_text("trees")
    app.search_image(make_picture(1))
    assert calls == ["embed_texts", "embed_images"]
    app.ui.k.value = 5
    app.search_text("trees")           # a new query embeds again
    assert calls == ["embed_texts", "embed_images", "embed_texts"]
    app.ui.k.value = 3
    assert [r.item for r in app.results] == [r.item for r in first]
    assert calls == ["embed_texts", "embed_images", "embed_texts"]


def test_hostile_file_names_and_captions_show_as_text(tmp_path, tiny_clip):
    paths = _save_pictures(tmp_path / "g", [HOSTILE, "plain.png"])
    captions = {HOSTILE: "<script>alert(2)</script>"}
    app = SearchApp(paths, [tiny_clip], captions, device="cpu")
    app.search_image(paths[0])
    cell = app.ui.cells[0]
    markup = cell.label.value + cell.caption.value + cell.image.value
    markup += app.ui.status.value + app.ui.query_preview.value
    assert "<img src=x" not in markup and "<script>" not in markup
    assert html.escape(HOSTILE) in cell.label.value
    assert _grid(app)[0][0] == HOSTILE and _grid(app)[0][2] == captions[HOSTILE]


def test_a_folder_as_gallery_reads_its_captions(tmp_path, tiny_clip):
    folder = tmp_path / "g"
    paths = _save_pictures(folder, ["a.png", "b.png"])
    (folder / "captions.json").write_text(json.dumps({"b.png": "the second one"}))
    app = SearchApp(folder, str(tiny_clip), device="cpu")
    assert app.gallery == paths
    app.search_image(paths[1])
    assert _grid(app)[0] == ("b.png", pytest.approx(1.0, abs=1e-3), "the second one")


def test_broken_captions_file_and_missing_folder_are_messages(tmp_path, tiny_clip):
    app = SearchApp(tmp_path / "nowhere", [tiny_clip], device="cpu")
    assert "folder not found" in app.last_error and "not ready" in app.ui.status.value
    folder = tmp_path / "g"
    _save_pictures(folder, ["a.png"])
    (folder / "captions.json").write_text("{not json")
    assert app.index_folder(folder) == 0
    assert "captions.json" in app.last_error


def test_picture_query_from_pil_and_bytes(app, gallery):
    from PIL import Image

    with Image.open(gallery[2]) as im:
        assert _grid_after(app, im.copy())[0][0] == "pic_2.png"
    buf = io.BytesIO()
    make_picture(2).save(buf, format="PNG")
    assert _grid_after(app, buf.getvalue())[0][:2] == ("pic_2.png", pytest.approx(1.0, abs=1e-3))


def _grid_after(app, image):
    results = app.search_image(image)
    assert results and np.isclose(results[0].score, _grid(app)[0][1], atol=1e-3)
    return _grid(app)


def test_a_folder_gallery_is_a_persistent_index_reused_by_the_next_app(tmp_path, tiny_clip):
    from badfiles import age
    from imgsearch_helpers.app._gallery import Gallery

    folder = tmp_path / "photos"
    age(*_save_pictures(folder, ["a.png", "b.png", "sub/c.png"]))   # not changing right now
    loaded = load_model(str(tiny_clip), device="cpu")
    first = Gallery.from_folder(folder).embed(loaded)
    assert "3 embedded, 0 reused" in first.note
    assert (folder / ".imgsearch").is_dir()
    _save_pictures(folder, ["d.png"])
    app = SearchApp(folder, [tiny_clip], k=2, device="cpu")   # a new app, as after a restart
    embedded = app._gallery.cached(str(tiny_clip))
    assert "1 embedded, 3 reused" in embedded.note and len(embedded.items) == 4
    assert "4 images" in app.ui.status.value and app.last_error is None


def test_a_clipart_model_on_photos_says_its_results_mean_nothing(tmp_path):

    folder = tmp_path / "photos"
    _save_pictures(folder, ["a.png", "b.png"])
    app = SearchApp(folder, ["imgsearch/clipart-clip"], k=2, device="cpu")
    app.search_text("a cat")
    assert "knows only the drawn scenes" in app.ui.message.value
    assert "google/siglip2-base-patch16-naflex" in app.ui.message.value
    gallery_app = SearchApp(sorted(GALLERY_DIR.glob("*.png"))[:5],
                            ["imgsearch/clipart-clip"], k=2, device="cpu")
    gallery_app.search_text("a cat")
    assert gallery_app.ui.message.value == ""      # on its own clip-art: no warning


def test_a_detail_the_model_reads_poorly_is_said_above_the_results():
    from imgsearch_helpers.evaluation import detail_note

    expected = detail_note("imgsearch/clipart-siglip", "a red car")
    assert expected                              # the clip-art SigLIP reads colours poorly
    app = SearchApp(sorted(GALLERY_DIR.glob("*.png"))[:5], ["imgsearch/clipart-siglip"], k=2,
                    device="cpu")
    app.search_text("a red car")
    assert html.escape(expected) in app.ui.message.value and app.results
    assert "imgsearch-message-warning" in app.ui.message.value
    app.search_text("a lake")                    # no detail named: the note goes
    assert app.ui.message.value == ""


def test_an_index_is_the_gallery_and_nothing_is_embedded_again(tmp_path, gallery, tiny_clip,
                                                               tiny_siglip, monkeypatch):
    """`imgsearch app` hands the app a folder's index: its embeddings are used as they are."""
    from imgsearch_helpers.index import ImageIndex

    folder = gallery[0].parent
    (folder / "captions.json").write_text(json.dumps({"pic_1.png": "the second picture"}))
    loaded = load_model(tiny_clip, device="cpu")
    index = ImageIndex.build(folder, loaded)
    models = [index.model_name, str(tiny_siglip)]

    def no_embedding(*args, **kwargs):
        raise AssertionError("the gallery was embedded again")
    from imgsearch_helpers.app import _gallery

    monkeypatch.setattr(_gallery, "embed_image_files", no_embedding)
    monkeypatch.setattr(_gallery.ImageIndex, "build", no_embedding)
    app = SearchApp(index, models, k=5, device="cpu")
    assert app.last_error is None and app.gallery == index.paths
    results = app.search_image(index.paths[1])
    assert results[0].item == index.paths[1] and results[0].score == pytest.approx(1.0, abs=1e-5)
    assert _grid(app)[0][2] == "the second picture"            # captions.json of the folder
    expected = search(embed_texts(loaded, "a red circle")[0], np.asarray(index.embeddings),
                      index.paths, k=5)
    assert [r.item for r in app.search_text("a red circle")] == [r.item for r in expected]
    # The index's model must come first: the app says so instead of mixing two models.
    wrong = SearchApp(index, [str(tiny_siglip), index.model_name], device="cpu")
    assert "the index was built with" in wrong.last_error


# -- the course clip-art: how many match, the line where they end, thumbs up and down ---

CLIPART_MODEL = "imgsearch/clipart-clip"


@pytest.fixture
def clipart_app():
    paths = sorted(GALLERY_DIR.glob("*.png"))
    # A list of files is embedded in memory: nothing is written next to the gallery.
    return SearchApp(paths, [CLIPART_MODEL], k=24, device="cpu")


def test_the_app_counts_the_matches_and_draws_the_line_where_they_end(clipart_app):
    query = "a snowman with a red hat"
    results = clipart_app.search_text(query)
    model = load_model(CLIPART_MODEL, device="cpu")
    scores = all_scores(embed_texts(model, [query])[0], clipart_app._embedded_now().matrix)
    expected = int((calibration_for(model, query).probabilities(scores) >= MATCH_PROBABILITY).sum())
    assert clipart_app.matches == expected and 0 < expected < len(results)
    # The query names a colour, so the app judged it by the stricter rule.
    assert expected < int((calibration_for(model).probabilities(scores) >= MATCH_PROBABILITY).sum())
    said = "1 picture matches" if expected == 1 else f"{expected} pictures match"
    assert said in clipart_app.ui.status.value
    flags = [r.p_match >= MATCH_PROBABILITY for r in results]
    assert flags == sorted(flags, reverse=True), "the matches come first"
    # The line sits in the grid right after the last match, and says how many match.
    children = list(clipart_app.ui.grid.children)
    line = children.index(clipart_app.ui.matches_end)
    assert line == sum(flags) and clipart_app.ui.matches_end.layout.display is None
    assert said in clipart_app.ui.matches_end.value
    assert all(f"p {r.p_match:.2f}" in cell.label.value
               for cell, r in zip(clipart_app.ui.cells, results))


def test_a_picture_query_has_no_match_count(clipart_app):
    clipart_app.search_text("a red vehicle on the road")
    clipart_app.search_image(clipart_app.gallery[0])
    assert clipart_app.matches is None and clipart_app.ui.matches_end.layout.display == "none"
    assert "match" not in clipart_app.ui.status.value


def test_thumbs_up_refines_the_query_and_a_second_click_takes_it_back(clipart_app):
    query = "a red vehicle on the road"
    before = clipart_app.search_text(query)
    liked = before[3].item
    clipart_app.ui.cells[3].like.click()          # as the browser's click does
    assert clipart_app.marks == {liked: True}
    after = clipart_app.results
    model = load_model(CLIPART_MODEL, device="cpu")
    matrix = clipart_app._embedded_now().matrix
    row = clipart_app._embedded_now().row_of(liked)
    expected = refine(embed_texts(model, [query])[0], [matrix[row]], [])
    order = np.lexsort((np.arange(len(matrix)), -(matrix @ expected)))[:len(after)]
    assert [r.index for r in after] == list(order)
    assert [r.item for r in after].index(liked) <= 3
    assert "refined: 1 marked right, 0 wrong" in clipart_app.ui.status.value
    slot = [r.item for r in after].index(liked)
    assert clipart_app.ui.cells[slot].like.button_style == "success"
    clipart_app.mark(slot, True)                  # the same mark again: taken back
    assert clipart_app.marks == {} and [r.item for r in clipart_app.results] == [r.item for r in before]


def test_thumbs_down_lowers_a_picture_and_a_new_query_forgets_the_marks(clipart_app):
    before = clipart_app.search_text("a red vehicle on the road")
    disliked = before[0].item
    clipart_app.ui.cells[0].unlike.click()
    assert clipart_app.marks == {disliked: False}
    after = {r.item: r for r in clipart_app.results}
    # Rocchio subtracts a quarter of it from the query: exactly what the clipart_app ranks by.
    model = load_model(CLIPART_MODEL, device="cpu")
    embedded = clipart_app._embedded_now()
    expected = refine(embed_texts(model, ["a red vehicle on the road"])[0], [],
                      [embedded.matrix[embedded.row_of(disliked)]])
    assert after[disliked].score == pytest.approx(
        float(embedded.matrix[embedded.row_of(disliked)] @ expected), abs=1e-5)
    assert after[disliked].score < before[0].score
    slot = list(after).index(disliked)
    assert clipart_app.ui.cells[slot].unlike.button_style == "danger"
    clipart_app.search_text("a cottage with a chimney and smoke")
    assert clipart_app.marks == {} and "refined" not in clipart_app.ui.status.value


def test_the_date_range_and_time_order(tmp_path, tiny_clip):
    import datetime as dt
    from pathlib import Path

    from test_capture import jpeg

    dates = {"a.jpg": "2024:04:20 09:00:00", "b.jpg": "2024:05:01 10:00:00",
             "c.jpg": "2024:06:15 18:00:00", "d.jpg": "2024:05:20 12:00:00"}
    paths = [jpeg(tmp_path / name, (40 * i, 200 - 40 * i, 90), date, "+02:00")
             for i, (name, date) in enumerate(dates.items())]
    clipart_app = SearchApp(paths, [tiny_clip], k=4, device="cpu")
    names = lambda: [Path(r.item).name for r in clipart_app.results]      # noqa: E731
    clipart_app.search_text("a picture")
    assert sorted(names()) == sorted(dates)
    clipart_app.ui.taken_after.value = dt.date(2024, 5, 1)      # the query on screen runs again
    clipart_app.ui.taken_before.value = dt.date(2024, 5, 31)
    assert sorted(names()) == ["b.jpg", "d.jpg"]
    assert clipart_app.matches is not None and clipart_app.matches <= 2
    clipart_app.ui.taken_after.value = None
    clipart_app.ui.sort.value = "time"
    assert names() == ["a.jpg", "b.jpg", "d.jpg"]
    assert clipart_app.ui.matches_end.layout.display == "none"
