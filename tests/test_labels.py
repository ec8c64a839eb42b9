"""LabelsDB: round trip, threshold, literal search, hostile text, format version."""
import sqlite3

import pytest

from imgsearch_helpers import LabelsDB
from imgsearch_helpers.labels import LABELS_FORMAT_VERSION

PREDS = [{"label": "lakeside, lakeshore", "score": 0.62}, {"label": "alp", "score": 0.2},
         {"label": "boathouse", "score": 0.05}]


def test_round_trip_with_threshold(tmp_path):
    path = tmp_path / "labels.db"
    with LabelsDB(path, model="google/vit-base-patch16-224") as db:
        assert db.add("photos/lake.jpg", PREDS, threshold=0.1) == ["lakeside, lakeshore", "alp"]
        db.add("photos/cat.jpg", {"tabby, tabby cat": 0.9})
    with LabelsDB(path) as db:
        assert db.model == "google/vit-base-patch16-224"
        assert db.labels_of("photos/lake.jpg") == {"lakeside, lakeshore": 0.62, "alp": 0.2}
        assert [r[0] for r in db.search("lake")] == ["photos/lake.jpg"]
        assert [r[0] for r in db.search("LAKE")] == ["photos/lake.jpg"]
        assert db.search("water") == []              # the limit notebook 01 shows
        assert db.search("boathouse") == []          # below the threshold: not stored
        assert db.images() == ["photos/cat.jpg", "photos/lake.jpg"]


def test_re_adding_replaces_labels():
    db = LabelsDB()
    db.add("a.jpg", {"lakeside": 0.9})
    db.add("a.jpg", {"sports car": 0.8})
    assert db.labels_of("a.jpg") == {"sports car": 0.8}


@pytest.mark.parametrize("text", ["'; DROP TABLE labels; --", "%", "_", "\" OR 1=1 --"])
def test_hostile_search_text_matches_literally_and_harms_nothing(text):
    db = LabelsDB()
    db.add("a.jpg", {"lakeside": 0.9})
    db.add("b.jpg", {"50% off_sale": 0.9})
    hits = [r[0] for r in db.search(text)]
    assert hits == (["b.jpg"] if text in ("%", "_") else [])
    assert len(db.images()) == 2                      # the table is still there


def test_hostile_file_names_and_labels_are_stored_as_data():
    db = LabelsDB()
    name = "x'); DROP TABLE labels; --.jpg"
    db.add(name, {"it's a label": 0.5})
    assert db.labels_of(name) == {"it's a label": 0.5}
    assert db.search("it's")[0][0] == name


def test_other_model_and_newer_format_are_refused(tmp_path):
    path = tmp_path / "l.db"
    LabelsDB(path, model="model-a").close()
    with pytest.raises(ValueError, match="model-a"):
        LabelsDB(path, model="model-b")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'format_version'",
                     (str(LABELS_FORMAT_VERSION + 1),))
    with pytest.raises(ValueError, match="format"):
        LabelsDB(path)


def test_empty_search_is_an_error():
    with pytest.raises(ValueError):
        LabelsDB().search("  ")
