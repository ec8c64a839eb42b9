"""Course profiles: online picks the real models and photos, offline the course's own."""
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
    assert len(photos) >= 8 and all(f.suffix == ".jpg" for f in photos)
    for name in (p.classifier, p.clip, p.siglip):
        assert model_info(name).local_dir is None        # real Hub models, not ours


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
    assert clipart_note("imgsearch/clipart-clip", gallery / "sub") == ""
    assert clipart_note("google/siglip2-base-patch16-naflex", tmp_path) == ""
    assert clipart_note(str(tmp_path), tmp_path) == ""      # a local model folder
    note = clipart_note("imgsearch/clipart-siglip", tmp_path)
    assert "clip-art" in note and "prefetch" in note and "\n" not in note
