"""FG-CLIP 2 without remote code: the native model through load_model, embeddings, zero-shot, search and the app.

A tiny random FG-CLIP 2 (the package's own classes, the official parameter names)
is saved into a temporary Hugging Face cache under the registered name
``qihoo360/fg-clip2-base`` and loaded with HF_HUB_OFFLINE=1, exactly as a
downloaded checkpoint would be. Equality with the official code is checked by
``tools/check_fgclip2.py``, which needs the official repository.
"""
from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
import torch

from conftest import make_picture
from imgsearch_helpers import (available_models, embed_images, embed_texts, load_model,
                               model_info, search, zero_shot_classify, zero_shot_scores)
from imgsearch_helpers import models
from imgsearch_helpers.embeddings import model_input_side, text_inputs
from imgsearch_helpers.fgclip2 import (PATCH_BUDGETS, Fgclip2ImageProcessor, Fgclip2Model,
                                       patch_budget)

NAME = "qihoo360/fg-clip2-base"
SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"
LONG = "A Long caption (over 64 tokens, under 196): a RED car and two black cats by a white house."
TOO_LONG = "a very long caption " * 12
# Three sizes, three patch budgets: 48x40 -> 128, 300x200 -> 256, 400x300 -> 576 patches.
SIZES = [(48, 40), (300, 200), (400, 300), (40, 48), (200, 300)]


@pytest.fixture(scope="session")
def fgclip2_hub_files(tmp_path_factory, fgclip2_folder):
    """The folder laid out as a Hugging Face cache entry for ``qihoo360/fg-clip2-base``.

    Like a remote-code repository, its config.json and preprocessor_config.json
    point at remote code through ``auto_map``; loading must not need it.
    """
    cache = tmp_path_factory.mktemp("hf-cache")
    repo = cache / "models--qihoo360--fg-clip2-base"
    snapshot = repo / "snapshots" / SNAPSHOT
    shutil.copytree(fgclip2_folder, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(SNAPSHOT)
    for name, auto_map in (("config.json", {"AutoConfig": "configuration_fgclip2.Fgclip2Config",
                                            "AutoModel": "modeling_fgclip2.Fgclip2Model"}),
                           ("preprocessor_config.json", {
                               "AutoImageProcessor": "image_processing_fgclip2.Fgclip2ImageProcessor"})):
        data = json.loads((snapshot / name).read_text())
        data["auto_map"] = auto_map
        (snapshot / name).write_text(json.dumps(data))
    return cache


@pytest.fixture
def hub_cache(fgclip2_hub_files, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(fgclip2_hub_files))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(fgclip2_hub_files))
    monkeypatch.setattr(models, "_CACHE", {})
    return fgclip2_hub_files


@pytest.fixture
def fgclip2(hub_cache):
    return load_model(NAME, device="cpu")


def _manual_text(loaded, text: str, length: int, walk_type: str) -> np.ndarray:
    """The official README recipe, by hand."""
    tokenizer = loaded.processor.tokenizer
    inputs = tokenizer([text.lower()], padding="max_length", max_length=length, truncation=True,
                       return_tensors="pt")
    with torch.no_grad():
        feats = loaded.model.get_text_features(**inputs, walk_type=walk_type)
    return (feats / feats.norm(dim=-1, keepdim=True)).numpy()


# --- registry and loading --------------------------------------------------------------

def test_fgclip2_is_a_normal_registered_model():
    assert available_models(family="fgclip2") == [
        "qihoo360/fg-clip2-base", "qihoo360/fg-clip2-large", "qihoo360/fg-clip2-so400m"]
    for name in available_models(family="fgclip2"):
        info = model_info(name)
        assert info.task == "zero-shot" and info.size and info.note
        assert "remote" not in info.note.lower()


def test_registered_name_loads_from_the_cache_without_remote_code(fgclip2, fgclip2_folder):
    assert fgclip2.family == "fgclip2" and fgclip2.has_text and fgclip2.sigmoid_scores
    assert isinstance(fgclip2.model, Fgclip2Model)
    assert isinstance(fgclip2.processor.image_processor, Fgclip2ImageProcessor)
    assert fgclip2.long_text_length == 196 and fgclip2.lowercases_text
    saved = Fgclip2Model.from_pretrained(fgclip2_folder).state_dict()
    loaded = fgclip2.model.state_dict()
    assert set(loaded) == set(saved)             # every parameter, by its own name
    assert all(torch.equal(loaded[k], saved[k]) for k in saved)
    # No buffers: nothing outside the checkpoint that loading could leave uninitialised
    # (the official code's position_ids and mask tensors were, under transformers 5).
    assert list(fgclip2.model.buffers()) == []


def test_revision_pin_is_optional_and_works(hub_cache):
    pinned = load_model(NAME, device="cpu", revision=SNAPSHOT)
    assert np.allclose(embed_texts(pinned, "a cat"), embed_texts(load_model(NAME, device="cpu"), "a cat"))


def test_a_local_save_pretrained_folder_loads_too(fgclip2, fgclip2_folder):
    local = load_model(fgclip2_folder, device="cpu")
    assert local.family == "fgclip2"
    texts = ["a red car", LONG]
    np.testing.assert_allclose(embed_texts(local, texts), embed_texts(fgclip2, texts), atol=1e-6)


def test_load_model_has_no_remote_code_switch(hub_cache):
    with pytest.raises(TypeError):
        load_model(NAME, device="cpu", trust_remote_code=True)


# --- text --------------------------------------------------------------------------------

def test_short_text_is_padded_to_64_and_uses_the_short_mode(fgclip2):
    inputs = text_inputs(fgclip2, ["a red car", "a cat"])
    assert inputs["input_ids"].shape == (2, 64)
    np.testing.assert_allclose(embed_texts(fgclip2, "a red car"),
                               _manual_text(fgclip2, "a red car", 64, "short"), atol=1e-6)


def test_text_is_lower_cased_as_fg_clip2_was_trained(fgclip2):
    tokenizer = fgclip2.processor.tokenizer
    assert tokenizer("A Red CAR")["input_ids"] != tokenizer("a red car")["input_ids"]  # case matters
    mixed = embed_texts(fgclip2, "A Red CAR")
    np.testing.assert_allclose(mixed, embed_texts(fgclip2, "a red car"), atol=1e-6)
    as_typed = tokenizer(["A Red CAR"], padding="max_length", max_length=64, return_tensors="pt")
    with torch.no_grad():
        unlowered = fgclip2.model.get_text_features(**as_typed).numpy()
    unlowered /= np.linalg.norm(unlowered, axis=1, keepdims=True)
    assert not np.allclose(mixed, unlowered, atol=1e-3)     # so lower-casing did something


def test_long_text_uses_the_long_mode_without_truncation(fgclip2):
    tokens = len(fgclip2.processor.tokenizer(LONG.lower())["input_ids"])
    assert 64 < tokens <= 196
    with warnings.catch_warnings():
        warnings.simplefilter("error")                         # no truncation warning
        got = embed_texts(fgclip2, LONG)
    np.testing.assert_allclose(got, _manual_text(fgclip2, LONG, 196, "long"), atol=1e-6)
    assert not np.allclose(got, _manual_text(fgclip2, LONG, 64, "short"), atol=1e-3)
    assert text_inputs(fgclip2, [LONG], long=True)["input_ids"].shape == (1, 196)


def test_short_and_long_texts_in_one_call_keep_their_order(fgclip2):
    texts = ["a cat", LONG, "a red car", LONG.upper(), "a dog"]
    together = embed_texts(fgclip2, texts, batch_size=2)
    one_by_one = np.concatenate([embed_texts(fgclip2, t) for t in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)


def test_text_longer_than_196_tokens_is_cut_with_a_warning(fgclip2):
    assert len(fgclip2.processor.tokenizer(TOO_LONG)["input_ids"]) > 196
    with pytest.warns(UserWarning, match="196 tokens were truncated"):
        embed_texts(fgclip2, TOO_LONG)


# --- images -----------------------------------------------------------------------------

def test_patch_budget_follows_the_official_thresholds():
    assert PATCH_BUDGETS == (128, 256, 576, 784, 1024)
    # (width // 16) * (height // 16) whole patches -> the smallest budget that holds them
    cases = {(128, 256): 128, (129, 256): 256, (256, 256): 256, (257, 576): 576,
             (576, 576): 576, (577, 784): 784, (784, 784): 784, (785, 1024): 1024,
             (5000, 1024): 1024}
    for (whole, _), budget in zip(cases, cases.values()):
        assert patch_budget(16, 16 * whole) == budget
    assert patch_budget(40, 48) == 128 and patch_budget(300, 400) == 576


def test_each_image_gets_its_own_patch_budget(fgclip2):
    proc = fgclip2.processor.image_processor
    for (w, h) in SIZES:
        out = proc(images=make_picture(0, (w, h)), return_tensors="pt")
        budget = patch_budget(h, w)
        assert out["pixel_values"].shape[1] == budget == out["pixel_attention_mask"].shape[1]
        rows, cols = out["spatial_shapes"][0].tolist()
        assert rows * cols <= budget and int(out["pixel_attention_mask"].sum()) == rows * cols
    assert model_input_side(fgclip2) == 16 * 32          # the largest budget, 1,024 patches


def test_mixed_size_batch_equals_one_by_one_in_one_pass_per_budget(fgclip2, monkeypatch):
    pictures = [make_picture(k, size) for k, size in enumerate(SIZES)]
    one_by_one = np.concatenate([embed_images(fgclip2, [p]) for p in pictures])
    calls = []
    real = fgclip2.model.get_image_features

    def counting(**inputs):
        calls.append((sorted(inputs), inputs["pixel_values"].shape[:2]))
        return real(**inputs)

    monkeypatch.setattr(fgclip2.model, "get_image_features", counting)
    together = embed_images(fgclip2, pictures, batch_size=len(pictures))
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    assert all(keys == ["pixel_attention_mask", "pixel_values", "spatial_shapes"] for keys, _ in calls)
    assert sorted(shape for _, shape in calls) == [(1, 576), (2, 128), (2, 256)]


# --- zero-shot, search, app ------------------------------------------------------------

def test_zero_shot_scores_are_fg_clip2s_sigmoid(fgclip2):
    labels = ["a photo of a cat", "a photo of a red car", LONG]
    texts = embed_texts(fgclip2, labels)
    images = embed_images(fgclip2, [make_picture(1), make_picture(2)])
    scale = fgclip2.model.logit_scale.exp().item()
    bias = fgclip2.model.logit_bias.item()
    expected = 1.0 / (1.0 + np.exp(-(scale * images.astype(np.float64) @ texts.T + bias)))
    np.testing.assert_allclose(zero_shot_scores(fgclip2, images, texts), expected, rtol=1e-6)
    # The same as the model's own forward pass on the short labels.
    proc = fgclip2.processor.image_processor
    inputs = proc(images=make_picture(1), return_tensors="pt")
    ids = text_inputs(fgclip2, labels[:2])
    with torch.no_grad():
        logits = fgclip2.model(**ids, **inputs).logits_per_image
    np.testing.assert_allclose(zero_shot_scores(fgclip2, images[0], texts[:2]),
                               torch.sigmoid(logits)[0].numpy(), atol=1e-5)
    ranked = zero_shot_classify(fgclip2, make_picture(1), ["cat", "car"])
    assert [r["label"] for r in ranked] and all(0 < r["score"] < 1 for r in ranked)


def test_search_ranks_a_gallery_picture_first(fgclip2, tmp_path):
    paths = []
    for k, size in enumerate(SIZES):
        paths.append(tmp_path / f"pic_{k}.png")
        make_picture(k, size).save(paths[-1])
    matrix = embed_images(fgclip2, paths)
    query = embed_images(fgclip2, [paths[2]])[0]
    hits = search(query, matrix, paths, k=3)
    assert hits[0].item == paths[2] and hits[0].score == pytest.approx(1.0, abs=1e-5)
    text_hits = search(embed_texts(fgclip2, "a red car")[0], matrix, paths, k=5)
    assert sorted(h.index for h in text_hits) == list(range(5))


def test_app_model_picker_switches_to_fg_clip2(hub_cache, tmp_path, tiny_clip):
    from imgsearch_helpers import SearchApp

    paths = []
    for k, size in enumerate(SIZES):
        paths.append(tmp_path / f"pic_{k}.png")
        make_picture(k, size).save(paths[-1])
    app = SearchApp(paths, [str(tiny_clip), NAME], k=3, device="cpu")
    app.search_text("a red car")
    app.ui.model.value = NAME                       # what the picker sends
    assert app.last_error is None and f"model {NAME}" in app.ui.status.value
    loaded = load_model(NAME, device="cpu")
    expected = search(embed_texts(loaded, "a red car")[0], embed_images(loaded, paths), paths, k=3)
    shown = [cell for cell in app.ui.cells if cell.visible]
    assert [r.item.name for r in expected] == [
        next(p.name for p in paths if f">{p.name}<" in cell.label.value) for cell in shown]
