"""Course profiles: online picks the real models and photos, offline the course's own."""
import json

import pytest

from imgsearch_helpers import get_profile, model_info
from imgsearch_helpers import profiles


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("IMGSEARCH_PROFILE", raising=False)


def test_online_profile_uses_real_models_and_photos():
    p = get_profile("online")
    assert p.classifier == "google/vit-base-patch16-224"
    assert p.clip == "openai/clip-vit-base-patch32"
    assert p.siglip == "google/siglip2-base-patch16-naflex"
    assert p.gallery.name == "photos"
    photos = p.gallery_images()
    assert len(photos) >= 24 and all(f.suffix == ".jpg" for f in photos)
    for name in (p.classifier, p.clip, p.siglip):
        assert model_info(name).local_dir is None        # real Hub models, not ours


def test_photos_are_small_labelled_and_tell_the_seed_story():
    from PIL import Image

    photos = get_profile("online").gallery_images()
    assert sum(f.stat().st_size for f in photos) <= 8 * 1024 * 1024
    for f in photos:
        with Image.open(f) as im:
            assert max(im.size) <= 1024, f.name
    labels = json.loads((photos[0].parent / "labels.json").read_text())["photos"]
    assert sorted(labels) == sorted(f.name for f in photos)       # every photo, no stale entry
    assert all(labels[f.name] for f in photos)
    shown = {label for subjects in labels.values() for label in subjects}
    assert {"lake", "mountain", "tree", "cat", "car", "water", "snow", "flower", "city", "food",
            "animal", "person", "night"} <= shown
    credited = (photos[0].parent.parent / "README.md").read_text()
    assert all(f"`{f.name}`" in credited for f in photos)        # each one listed with its licence


def test_offline_profile_uses_course_models():
    p = get_profile("offline")
    assert (p.classifier, p.clip, p.siglip) == (
        "imgsearch/clipart-vit", "imgsearch/clipart-clip", "imgsearch/clipart-siglip")
    assert p.gallery.name == "gallery"
    assert "trained by this course" in p.banner() and "make prefetch" in p.banner()


def test_env_variable_chooses(monkeypatch):
    monkeypatch.setenv("IMGSEARCH_PROFILE", "Offline")
    p = get_profile()
    assert p.name == "offline" and "IMGSEARCH_PROFILE" in p.reason
    monkeypatch.setenv("IMGSEARCH_PROFILE", "cloud")
    with pytest.raises(ValueError, match="online"):
        get_profile()


def test_auto_choice(monkeypatch):
    monkeypatch.setattr(profiles, "is_cached", lambda repo: True)
    assert get_profile().name == "online"
    monkeypatch.setattr(profiles, "is_cached", lambda repo: False)
    monkeypatch.setattr(profiles, "hub_reachable", lambda: True)
    assert get_profile().name == "online"
    monkeypatch.setattr(profiles, "hub_reachable", lambda: False)
    p = get_profile()
    assert p.name == "offline" and "not reachable" in p.reason
    assert "OFFLINE" in p._repr_html_()


def test_hub_offline_env_means_unreachable(monkeypatch):
    from imgsearch_helpers.models import hub_reachable

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_reachable() is False


def test_clipart_note_only_for_course_models_outside_the_gallery(tmp_path):
    from imgsearch_helpers.models import clipart_note

    gallery = get_profile("offline").gallery
    assert clipart_note("imgsearch/clipart-clip", gallery) == ""
    # Decided by what the folder is, not by its path: a copy of the gallery is clip-art...
    import shutil

    copy = tmp_path / "my-copy"
    shutil.copytree(gallery, copy)
    assert clipart_note("imgsearch/clipart-clip", copy) == ""
    assert clipart_note("imgsearch/clipart-clip", sorted(copy.glob("*.png"))[:3]) == ""
    # ...a photo beside it is not, and neither is a picture the captions do not know.
    shutil.copy(get_profile("online").gallery / "temple.jpg", copy / "temple.jpg")
    assert "clip-art" in clipart_note("imgsearch/clipart-clip", copy)
    assert "clip-art" in clipart_note("imgsearch/clipart-clip", [copy / "temple.jpg"])
    assert clipart_note("google/siglip2-base-patch16-naflex", tmp_path) == ""
    assert clipart_note(str(tmp_path), tmp_path) == ""      # a local model folder
    note = clipart_note("imgsearch/clipart-siglip", tmp_path)
    assert "clip-art" in note and "prefetch" in note and "\n" not in note


def test_a_byte_copy_of_a_gallery_picture_is_clipart_under_any_name(tmp_path):
    """Notebook 08 copies a picture to new_picture.png: the course's own picture, no warning.
    An edited copy (new bytes) beside no captions.json is judged as any other picture."""
    import shutil

    from PIL import Image

    from imgsearch_helpers.models import clipart_note

    picture = get_profile("offline").gallery_images()[0]
    shutil.copy(picture, tmp_path / "new_picture.png")
    assert clipart_note("imgsearch/clipart-clip", [tmp_path / "new_picture.png"]) == ""
    assert clipart_note("imgsearch/clipart-clip", tmp_path) == ""
    Image.open(picture).rotate(90).save(tmp_path / "turned.png")
    assert "clip-art" in clipart_note("imgsearch/clipart-clip", [tmp_path / "turned.png"])


def test_a_profile_check_stops_offline_and_warns_online(capsys):
    with pytest.raises(AssertionError, match="expected: the lake comes first"):
        get_profile("offline").check(False, "the lake comes first", got="cat_001.png")
    assert get_profile("online").check(False, "the lake comes first", got="cat.jpg") is False
    assert get_profile("offline").check(True, "it holds") is True
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("⚠ expected: the lake comes first; got: cat.jpg")
    assert out[1] == "✓ it holds"
