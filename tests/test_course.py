"""imgsearch_helpers.course: strict checks offline, soft ones online, what a picture shows."""
import pytest

from imgsearch_helpers.course import (SEED_KINDS, SEED_QUERIES, SEED_SUBJECTS, answers_seed, check,
                                      expect, subjects_of)
from imgsearch_helpers.models import DATA_DIR, GALLERY_DIR, PHOTOS_DIR


def test_check_stops_and_expect_goes_on(capsys):
    check(True, "holds")
    with pytest.raises(AssertionError, match="expected: fails"):
        check(False, "fails")
    assert expect(True, "the lake ranks first") is True
    assert expect(False, "the lake ranks first", got="rocket.jpg") is False
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✓ holds" and out[1] == "✓ the lake ranks first"
    assert out[2].startswith("⚠ expected: the lake ranks first; got: rocket.jpg")


def test_subjects_come_from_labels_json_or_the_file_name(tmp_path):
    assert subjects_of(PHOTOS_DIR / "lake_boats.jpg")[:2] == ("lake", "mountain")
    assert subjects_of(GALLERY_DIR / "lake_000.png") == ("lake",)
    (tmp_path / "labels.json").write_text('{"photos": {"a.jpg": ["cat", "rug"]}}')
    assert subjects_of(tmp_path / "a.jpg") == ("cat", "rug")
    assert subjects_of(tmp_path / "dog_3.jpg") == ("dog",)          # not listed: its name


def test_every_seed_query_has_a_right_photo():
    photos = sorted((PHOTOS_DIR).glob("*.jpg"))
    assert list(SEED_SUBJECTS) == list(SEED_QUERIES)
    for query, wanted in SEED_SUBJECTS.items():
        assert any(set(wanted) <= set(subjects_of(p)) for p in photos), query


def test_a_seed_query_is_answered_by_a_photos_labels_or_a_scenes_kind():
    photos, gallery = DATA_DIR / "photos", DATA_DIR / "gallery"
    assert list(SEED_KINDS) == list(SEED_QUERIES)
    assert answers_seed("water and nature", photos / "lake_boats.jpg")
    assert not answers_seed("luxury car", photos / "lake_boats.jpg")
    first = {kind: sorted(gallery.glob(f"{kind}_*.png"))[0] for kind in ("boat", "lake", "car")}
    assert answers_seed("water and nature", first["boat"])
    assert answers_seed("water and nature", first["lake"])
    assert not answers_seed("water and nature", first["car"])
    for query in SEED_QUERIES:      # every seed query has a right scene in the gallery
        assert any(answers_seed(query, p) for p in gallery.glob("*.png")), query
