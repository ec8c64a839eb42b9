"""LabelsDB: round trip, threshold, literal search, hostile text, format version, odd file
names, files it cannot use, processes that create it at once."""
import multiprocessing
import os
import sqlite3
import sys
from pathlib import Path

import pytest

from badfiles import ODD_NAMES
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


# -- odd names, files it cannot use, processes that create it at once ------------------

def test_odd_file_names_round_trip_through_the_labels_db(tmp_path):
    names = [*ODD_NAMES, "\ud800lone.jpg", str(tmp_path / os.fsdecode(b"\xe9t\xe9.jpg"))]
    with LabelsDB(tmp_path / "labels.db") as db:
        for k, name in enumerate(names):
            assert db.add(name, {"lakeside": 0.5 + k / 100}) == ["lakeside"]
        db.add(Path(names[2]), {"tabby cat": 0.9})                # a Path works the same
    with LabelsDB(tmp_path / "labels.db") as db:
        assert sorted(db.images()) == sorted(names)
        assert db.labels_of(names[2]) == {"tabby cat": 0.9}
        assert db.labels_of(names[-2]) == {"lakeside": 0.5 + (len(names) - 2) / 100}
        assert {image for image, _, _ in db.search("lake")} == set(names) - {names[2]}
        with pytest.raises(ValueError, match="not valid Unicode"):
            db.search("\udcff")


@pytest.mark.parametrize("kind", ["text_file", "truncated", "other_program", "version_text"])
def test_labels_db_on_a_file_it_cannot_use(tmp_path, kind):
    import sqlite3

    path = tmp_path / "labels.db"
    if kind == "text_file":
        path.write_text("just some notes\n" * 100)
    elif kind == "truncated":
        with LabelsDB(path) as db:
            for k in range(500):
                db.add(f"{k}.jpg", {"lakeside": 0.5})
        path.write_bytes(path.read_bytes()[:5000])
    elif kind == "other_program":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE labels (id INTEGER, name TEXT)")
    else:
        LabelsDB(path).close()
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE meta SET value = 'one' WHERE key = 'format_version'")
    before = path.read_bytes()
    with pytest.raises(ValueError) as info:
        LabelsDB(path).images()
    message = str(info.value)
    assert str(path) in message and ("another path" in message or "Move it away" in message)
    assert path.read_bytes() == before


def _create_labels(path, barrier, results):
    barrier.wait()
    try:
        with LabelsDB(path, model="m") as db:
            db.add(f"{os.getpid()}.jpg", {"cat": 0.9})
        results.put("ok")
    except Exception as err:          # noqa: BLE001 - reported to the test
        results.put(f"{type(err).__name__}: {err}")


@pytest.mark.skipif(sys.platform == "win32", reason="uses fork")
def test_processes_creating_the_same_labels_db_take_turns(tmp_path):
    ctx = multiprocessing.get_context("fork")
    outcomes = []
    for attempt in range(5):
        path, barrier, results = tmp_path / f"{attempt}.db", ctx.Barrier(3), ctx.Queue()
        procs = [ctx.Process(target=_create_labels, args=(path, barrier, results))
                 for _ in range(3)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        outcomes += [results.get(timeout=5) for _ in procs]
        with LabelsDB(path) as db:
            assert len(db.images()) == 3
    assert outcomes == ["ok"] * 15
