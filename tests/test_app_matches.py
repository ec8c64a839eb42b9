"""The app's "N pictures match", the line where matches end, and its 👍 / 👎 buttons."""
from __future__ import annotations

import numpy as np
import pytest

from imgsearch_helpers import SearchApp, embed_texts, load_model
from imgsearch_helpers.matching import MATCH_PROBABILITY, calibration_for, refine
from imgsearch_helpers.models import DATA_DIR
from imgsearch_helpers.search import all_scores

MODEL = "imgsearch/clipart-clip"


@pytest.fixture
def app():
    paths = sorted((DATA_DIR / "gallery").glob("*.png"))
    # A list of files is embedded in memory: nothing is written next to the gallery.
    return SearchApp(paths, [MODEL], k=24, device="cpu")


def test_the_app_counts_the_matches_and_draws_the_line_where_they_end(app):
    results = app.search_text("a red vehicle on the road")
    model = load_model(MODEL, device="cpu")
    p = calibration_for(model).probabilities(
        all_scores(embed_texts(model, ["a red vehicle on the road"])[0], app._embedded_now().matrix))
    expected = int((p >= MATCH_PROBABILITY).sum())
    assert app.matches == expected and 0 < expected < len(results)
    assert f"{expected} pictures match" in app.ui.status.value
    flags = [r.p_match >= MATCH_PROBABILITY for r in results]
    assert flags == sorted(flags, reverse=True), "the matches come first"
    # The line sits in the grid right after the last match, and says how many match.
    children = list(app.ui.grid.children)
    line = children.index(app.ui.matches_end)
    assert line == sum(flags) and app.ui.matches_end.layout.display is None
    assert f"{expected} pictures match" in app.ui.matches_end.value
    assert all(f"p {r.p_match:.2f}" in cell.label.value
               for cell, r in zip(app.ui.cells, results))


def test_a_picture_query_has_no_match_count(app):
    app.search_text("a red vehicle on the road")
    app.search_image(app.gallery[0])
    assert app.matches is None and app.ui.matches_end.layout.display == "none"
    assert "match" not in app.ui.status.value


def test_thumbs_up_refines_the_query_and_a_second_click_takes_it_back(app):
    query = "a red vehicle on the road"
    before = app.search_text(query)
    liked = before[3].item
    app.ui.cells[3].like.click()          # as the browser's click does
    assert app.marks == {liked: True}
    after = app.results
    model = load_model(MODEL, device="cpu")
    matrix = app._embedded_now().matrix
    row = app._embedded_now().row_of(liked)
    expected = refine(embed_texts(model, [query])[0], [matrix[row]], [])
    order = np.lexsort((np.arange(len(matrix)), -(matrix @ expected)))[:len(after)]
    assert [r.index for r in after] == list(order)
    assert [r.item for r in after].index(liked) <= 3
    assert "refined: 1 marked right, 0 wrong" in app.ui.status.value
    slot = [r.item for r in after].index(liked)
    assert app.ui.cells[slot].like.button_style == "success"
    app.mark(slot, True)                  # the same mark again: taken back
    assert app.marks == {} and [r.item for r in app.results] == [r.item for r in before]


def test_thumbs_down_lowers_a_picture_and_a_new_query_forgets_the_marks(app):
    before = app.search_text("a red vehicle on the road")
    disliked = before[0].item
    app.ui.cells[0].unlike.click()
    assert app.marks == {disliked: False}
    after = {r.item: r for r in app.results}
    # Rocchio subtracts a quarter of it from the query: exactly what the app ranks by.
    model = load_model(MODEL, device="cpu")
    embedded = app._embedded_now()
    expected = refine(embed_texts(model, ["a red vehicle on the road"])[0], [],
                      [embedded.matrix[embedded.row_of(disliked)]])
    assert after[disliked].score == pytest.approx(
        float(embedded.matrix[embedded.row_of(disliked)] @ expected), abs=1e-5)
    assert after[disliked].score < before[0].score
    slot = list(after).index(disliked)
    assert app.ui.cells[slot].unlike.button_style == "danger"
    app.search_text("a cottage with a chimney and smoke")
    assert app.marks == {} and "refined" not in app.ui.status.value


def test_the_date_range_and_time_order(tmp_path, tiny_clip):
    import datetime as dt
    from pathlib import Path

    from test_capture import jpeg

    dates = {"a.jpg": "2024:04:20 09:00:00", "b.jpg": "2024:05:01 10:00:00",
             "c.jpg": "2024:06:15 18:00:00", "d.jpg": "2024:05:20 12:00:00"}
    paths = [jpeg(tmp_path / name, (40 * i, 200 - 40 * i, 90), date, "+02:00")
             for i, (name, date) in enumerate(dates.items())]
    app = SearchApp(paths, [tiny_clip], k=4, device="cpu")
    names = lambda: [Path(r.item).name for r in app.results]      # noqa: E731
    app.search_text("a picture")
    assert sorted(names()) == sorted(dates)
    app.ui.taken_after.value = dt.date(2024, 5, 1)      # the query on screen runs again
    app.ui.taken_before.value = dt.date(2024, 5, 31)
    assert sorted(names()) == ["b.jpg", "d.jpg"]
    assert app.matches is not None and app.matches <= 2
    app.ui.taken_after.value = None
    app.ui.sort.value = "time"
    assert names() == ["a.jpg", "b.jpg", "d.jpg"]
    assert app.ui.matches_end.layout.display == "none"
