"""results_html / show_results: what a notebook shows of the results."""
import warnings

import pytest

from badfiles import HOSTILE_NAME, jpeg_bytes, quadrants
from conftest import make_picture
from imgsearch_helpers import load_model, results_html
from imgsearch_helpers.index import ImageIndex


# -- hostile file names ----------------------------------------------------------------

def test_hostile_file_names_are_escaped_in_results_html(tiny_clip, tmp_path):
    names = [HOSTILE_NAME, 'x" onmouseover="alert(2).png', "a&b<script>alert(3).png"]
    (tmp_path / names[0]).write_bytes(jpeg_bytes(quadrants()))
    make_picture(1).save(tmp_path / names[1], format="PNG")
    (tmp_path / names[2]).write_bytes(b"not a picture")     # also in the "cannot show" path
    loaded = load_model(tiny_clip, device="cpu")
    index = ImageIndex.build(tmp_path, loaded)
    hits = index.search_text(loaded, "a picture", k=5)
    assert {h.item.name for h in hits} == set(names[:2])
    from imgsearch_helpers.search import SearchResult
    hits.append(SearchResult(tmp_path / names[2], 0.0, 99))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        html = results_html(hits, title="<b onclick=alert(4)>", captions={names[0]: "<i>x</i>"})
    for raw in ["<img src=x", '" onmouseover="', "<script>", "<b onclick",
                "<i>x</i>"]:
        assert raw not in html, raw
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in html
    assert "&lt;script&gt;" in html and "&quot; onmouseover=&quot;" in html


def test_images_html_escapes_titles_and_names_and_shows_each_picture(tmp_path):
    from imgsearch_helpers.display import images_html

    good = tmp_path / HOSTILE_NAME
    good.write_bytes(jpeg_bytes(quadrants()))
    bad = tmp_path / "a&b<script>alert(3).png"
    bad.write_bytes(b"not a picture")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        html = images_html([good, bad], ["lakeside <b>0.91</b>\nboathouse", None or "x"],
                           title="<i>labels</i>")
    assert html.count("<figure") == 2 and html.count("data:image/jpeg;base64,") == 1
    assert "cannot show" in html
    for raw in ["<img src=x", "<script>", "<b>0.91", "<i>labels"]:
        assert raw not in html, raw
    assert "lakeside &lt;b&gt;0.91&lt;/b&gt;<br>boathouse" in html
    with pytest.raises(ValueError, match="2 pictures but 1 titles"):
        images_html([good, bad], ["one"])
