"""load_model: every family through the real transformers path, caching, clear errors."""
import pytest
import torch
from transformers import pipeline

from imgsearch_helpers import ModelNotAvailableError, available_models, load_model, model_info
from imgsearch_helpers.models import MODELS

COURSE_MODELS = [
    "google/vit-base-patch16-224", "google/vit-large-patch16-224",
    "openai/clip-vit-base-patch32", "openai/clip-vit-large-patch14",
    "openai/clip-vit-large-patch14-336", "google/siglip2-base-patch16-naflex",
    "google/siglip2-so400m-patch16-naflex", "google/siglip2-so400m-patch14-224",
    "qihoo360/fg-clip2-base", "qihoo360/fg-clip2-large", "qihoo360/fg-clip2-so400m",
]


def test_registry_lists_every_course_model_with_metadata():
    names = available_models()
    for name in COURSE_MODELS:
        assert name in names
        info = model_info(name)
        assert info.family and info.task and info.size and info.note
    assert set(available_models(task="image-classification")) >= {
        "google/vit-base-patch16-224", "imgsearch/clipart-vit"}


@pytest.mark.parametrize("fixture,family", [("tiny_vit", "vit"), ("tiny_clip", "clip"),
                                            ("tiny_siglip", "siglip"), ("tiny_siglip2", "siglip2")])
def test_load_model_detects_family_and_caches(request, fixture, family):
    path = request.getfixturevalue(fixture)
    loaded = load_model(path, device="cpu")
    assert loaded.family == family
    assert loaded.device == torch.device("cpu") and loaded.dtype == torch.float32
    assert not loaded.model.training
    assert load_model(path, device="cpu") is loaded          # cached per (model, device)
    assert loaded.has_text == (family != "vit")


def test_vit_pipeline_runs_on_loaded_model(tiny_vit, pictures):
    loaded = load_model(tiny_vit, device="cpu")
    clf = pipeline("image-classification", model=loaded.model, image_processor=loaded.processor)
    out = clf(pictures[0], top_k=3)
    assert {o["label"] for o in out} == {"lakeside, lakeshore", "tabby, tabby cat", "sports car"}
    assert sum(o["score"] for o in out) == pytest.approx(1.0, abs=1e-5)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError) as err:
        load_model("openai/clip-vit-huge-does-not-exist")
    msg = str(err.value)
    assert "unknown model" in msg
    for name in COURSE_MODELS:
        assert name in msg


@pytest.mark.parametrize("profile", ["", "offline"])
def test_uncached_model_offline_explains_how_to_get_it(monkeypatch, tmp_path, profile):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("IMGSEARCH_PROFILE", profile)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelNotAvailableError) as err:
        load_model("openai/clip-vit-base-patch32", device="cpu")
    msg = str(err.value)
    assert msg.startswith("openai/clip-vit-base-patch32 is not in the local Hugging Face cache")
    assert "HF_HUB_OFFLINE is set" in msg
    assert "make prefetch MODELS=openai/clip-vit-base-patch32" in msg    # how to get it
    assert "imgsearch/clipart-clip" in msg and "save_pretrained" in msg   # what works offline
    # never the advice to set what is already set
    assert ("set IMGSEARCH_PROFILE=offline" in msg) == (profile != "offline")
    assert "No other model is substituted" in msg


def test_uncached_model_with_the_hub_unreachable_fails_fast(monkeypatch, tmp_path):
    """No HF_HUB_OFFLINE, no network: no retry loop, one clear error within 2 s."""
    import time

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("IMGSEARCH_PROFILE", raising=False)       # the offline profile fetches nothing
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")      # nothing listens there
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    start = time.monotonic()
    with pytest.raises(ModelNotAvailableError, match="cannot be reached from this machine"):
        load_model("google/siglip2-base-patch16-naflex", device="cpu")
    assert time.monotonic() - start < 10.0     # the retry loop it replaces took ~26 s


def test_the_hubs_answer_is_kept_while_fresh_and_per_endpoint(monkeypatch):
    """Checking a model and then loading it asks the Hub once; later, or elsewhere, again."""
    import contextlib

    from imgsearch_helpers import models

    calls = []
    monkeypatch.setattr(models, "_hub_answers", {}, raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.setattr(models.socket, "create_connection",
                        lambda address, timeout: calls.append(address) or contextlib.nullcontext())
    assert models.hub_reachable() and models.hub_reachable()
    assert calls == [("huggingface.co", 443)]
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    assert models.hub_reachable()
    assert calls[-1] == ("127.0.0.1", 9)
    monkeypatch.setattr(models, "HUB_ANSWER_SECONDS", 0.0)     # the answer has gone stale
    models.hub_reachable()
    assert len(calls) == 3


def test_the_offline_profile_downloads_nothing_even_with_the_hub_reachable(monkeypatch, tmp_path):
    """One rule (models.offline_reason) for the loader and the command."""
    from imgsearch_helpers import models

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("IMGSEARCH_PROFILE", "offline")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(models, "hub_reachable", lambda: True)
    with pytest.raises(ModelNotAvailableError, match="IMGSEARCH_PROFILE=offline is set"):
        load_model("openai/clip-vit-base-patch32", device="cpu")


def test_no_model_runs_remote_code():
    """FG-CLIP 2 is native (imgsearch_helpers.fgclip2): nothing asks for Hub code."""
    import dataclasses
    import inspect

    assert "trust_remote_code" not in inspect.signature(load_model).parameters
    assert "remote_code" not in {f.name for f in dataclasses.fields(MODELS["qihoo360/fg-clip2-base"])}


def test_is_cached_looks_for_config_and_weights_without_the_network(monkeypatch, tmp_path,
                                                                     tiny_siglip2):
    from conftest import install_in_hf_cache
    from imgsearch_helpers.models import is_cached

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    assert is_cached("imgsearch/clipart-clip")               # shipped in data/models
    name = "google/siglip2-base-patch16-naflex"
    assert not is_cached(name)
    install_in_hf_cache(tmp_path, name, tiny_siglip2)
    assert is_cached(name)
    weights, = (tmp_path / ("models--" + name.replace("/", "--"))).rglob("model.safetensors")
    weights.unlink()                                         # a download cut short
    assert not is_cached(name)
    with pytest.raises(ValueError, match="unknown model"):
        is_cached("no/such-model")


def test_unsupported_architecture_is_refused(tmp_path):
    from transformers import BertConfig, BertModel
    BertModel(BertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=16, vocab_size=50)).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="not one the course supports"):
        load_model(tmp_path, device="cpu")



def _clear_warning_once():
    import logging
    # transformers prints each such warning once per process (an lru_cache).
    logging.Logger.warning_once.cache_clear()


def test_loading_siglip_prints_no_warning_about_transformers_default_config(
        tiny_siglip, monkeypatch):
    """transformers 5 warns about the token ids of its own *default* SiglipTextConfig.

    The control load shows the warning is real; load_model must not pass it on.
    """
    import logging

    from transformers import AutoModel

    from imgsearch_helpers import models

    seen = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logging.getLogger("transformers").addHandler(handler)
    try:
        _clear_warning_once()
        AutoModel.from_pretrained(tiny_siglip)
        if not any("integer within the vocabulary" in m for m in seen):
            pytest.skip("this transformers version no longer prints the default-config warning")
        seen.clear()
        _clear_warning_once()
        monkeypatch.setattr(models, "_CACHE", {})
        assert load_model(tiny_siglip, device="cpu").family == "siglip"
    finally:
        logging.getLogger("transformers").removeHandler(handler)
    assert not any("integer within the vocabulary" in m for m in seen), seen


def test_clip_with_end_of_text_id_outside_its_vocabulary_warns(tiny_clip, tmp_path):
    import json
    import shutil

    shutil.copytree(tiny_clip, tmp_path, dirs_exist_ok=True)
    config = json.loads((tmp_path / "config.json").read_text())
    config["text_config"]["eos_token_id"] = 5000
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.warns(UserWarning, match="eos_token_id = 5000 is outside its vocabulary of 600"):
        load_model(tmp_path, device="cpu")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["imgsearch/clipart-clip", "imgsearch/clipart-siglip"])
def test_the_registry_holds_what_each_clipart_model_tells_apart_as_measured(name):
    """copy_cosine and lookalike_cosine are measurements (notebook 04's), not guesses:
    after retraining, this fails until the registry is measured again."""
    from imgsearch_helpers import load_model, model_info
    from imgsearch_helpers.folders import find_image_files
    from imgsearch_helpers.models import GALLERY_DIR
    from imgsearch_helpers.similarity import duplicate_scores

    paths = [GALLERY_DIR / f for f in find_image_files(GALLERY_DIR)[0]]
    copy, lookalike = duplicate_scores(load_model(name, device="cpu"), paths)
    info = model_info(name)
    assert (round(copy, 3), round(lookalike, 3)) == (info.copy_cosine, info.lookalike_cosine)


def test_a_course_model_named_by_its_folder_is_that_model(tmp_path, monkeypatch):
    """`--model data/models/clipart-siglip` is the course's SigLIP: its calibration, its clip-art note.

    It keeps the name it was given (an index built with it is still found), and a copy of
    the folder elsewhere is a user's own model, which the course knows nothing about.
    """
    import os
    import shutil

    from PIL import Image

    from imgsearch_helpers.matching import DEFAULT_CALIBRATION, calibration_for
    from imgsearch_helpers.models import OFFLINE_MODELS_DIR, clipart_note, course_info, known_info

    Image.new("RGB", (32, 32), "white").save(tmp_path / "photo.jpg")
    registered = load_model("imgsearch/clipart-siglip", device="cpu")
    monkeypatch.chdir(OFFLINE_MODELS_DIR)
    by_folder = load_model("clipart-siglip", device="cpu")
    assert by_folder.name == "clipart-siglip"
    assert by_folder.info is MODELS["imgsearch/clipart-siglip"] and by_folder.is_clipart
    assert known_info("clipart-siglip") is MODELS["imgsearch/clipart-siglip"]
    assert course_info("clipart-siglip") is course_info(by_folder) is MODELS["imgsearch/clipart-siglip"]
    assert known_info("openai/clip-vit-base-patch32") is not None
    assert course_info("openai/clip-vit-base-patch32") is None          # registered, not the course's
    assert "clipart-siglip is one of the course's clip-art models" in clipart_note(by_folder, tmp_path)
    assert "clip-art" in clipart_note("clipart-siglip", [tmp_path / "photo.jpg"])
    fitted = calibration_for(by_folder)
    assert fitted is not DEFAULT_CALIBRATION and fitted == calibration_for(registered)

    from imgsearch_helpers.index import ModelEmbedder
    assert ModelEmbedder(by_folder).name == os.path.abspath("clipart-siglip")   # as before: the absolute path

    copy = shutil.copytree(OFFLINE_MODELS_DIR / "clipart-siglip", tmp_path / "my-siglip")
    mine = load_model(copy, device="cpu")
    assert mine.info is None and not mine.is_clipart and known_info(copy) is None is course_info(copy)
    assert clipart_note(mine, tmp_path) == "" and calibration_for(mine) is DEFAULT_CALIBRATION
