"""Training code: the two losses, the tokenizer, and a few real steps of each model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from imgsearch_helpers import clipart, training
from imgsearch_helpers.training import TEXT_LENGTH, save

STEPS = 40


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # The tiny models are all small ops: a second thread only adds OpenMP
    # synchronisation, which is very slow when other work shares the CPU.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data():
    return training.prepare_data(240, seed=5, progress=False)


def _unit(x):
    return torch.nn.functional.normalize(x, dim=-1)


# ------------------------------------------------------------------ losses
def test_contrastive_loss_is_log_b_for_uninformative_embeddings():
    same = _unit(torch.ones(8, 4))
    assert training.contrastive_loss(same, same, 10.0).item() == pytest.approx(math.log(8), rel=1e-5)


def test_contrastive_loss_matches_cross_entropy_both_ways():
    g = torch.Generator().manual_seed(0)
    img, txt = _unit(torch.randn(6, 5, generator=g)), _unit(torch.randn(6, 5, generator=g))
    logits = 20.0 * img @ txt.T
    target = torch.arange(6)
    expected = (
        torch.nn.functional.cross_entropy(logits, target)
        + torch.nn.functional.cross_entropy(logits.T, target)
    ) / 2
    assert training.contrastive_loss(img, txt, 20.0).item() == pytest.approx(expected.item(), rel=1e-5)


def test_contrastive_loss_shares_the_target_between_positives():
    # Two pairs with the same text ("a cat" drawn twice): each image's target is
    # split evenly between the texts that describe it, in both directions.
    g = torch.Generator().manual_seed(1)
    img, txt = _unit(torch.randn(4, 3, generator=g)), _unit(torch.randn(4, 3, generator=g))
    positives = torch.eye(4, dtype=torch.bool)
    positives[1, 2] = positives[2, 1] = True
    target = positives.float() / positives.float().sum(1, keepdim=True)
    logits = 10.0 * img @ txt.T
    expected = (
        torch.nn.functional.cross_entropy(logits, target)
        + torch.nn.functional.cross_entropy(logits.T, target.T)
    ) / 2
    got = training.contrastive_loss(img, txt, 10.0, positives)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)
    assert got.item() != pytest.approx(training.contrastive_loss(img, txt, 10.0).item(), rel=1e-3)


def test_sigmoid_loss_by_hand():
    img = _unit(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    txt = _unit(torch.tensor([[1.0, 0.0], [1.0, 1.0]]))
    t, b = 10.0, -10.0
    logits = t * img @ txt.T + b
    by_hand = (
        -(
            torch.nn.functional.logsigmoid(logits[0, 0])
            + torch.nn.functional.logsigmoid(logits[1, 1])
            + torch.nn.functional.logsigmoid(-logits[0, 1])
            + torch.nn.functional.logsigmoid(-logits[1, 0])
        )
        / 2
    )
    assert training.sigmoid_loss(img, txt, t, b).item() == pytest.approx(by_hand.item(), rel=1e-6)
    # A pair left out (neither positive nor negative) drops its own term, and only it.
    ignore = torch.tensor([[False, True], [False, False]])
    without = by_hand + torch.nn.functional.logsigmoid(-logits[0, 1]) / 2
    assert training.sigmoid_loss(img, txt, t, b, ignore=ignore).item() == pytest.approx(without.item(), rel=1e-6)


def test_sigmoid_loss_rows_do_not_compete():
    # Adding an unrelated pair to the batch leaves the first pair's terms unchanged
    # (softmax would renormalise): only the new pair's own terms are added.
    a = _unit(torch.tensor([[1.0, 0.0, 0.0]]))
    two = _unit(torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]))
    one = training.sigmoid_loss(a, a, 10.0, -5.0).item()
    both = training.sigmoid_loss(two, two, 10.0, -5.0).item() * 2
    extra = 2 * -torch.nn.functional.logsigmoid(torch.tensor(-(10.0 * 0 - 5.0))).item()
    extra += -torch.nn.functional.logsigmoid(torch.tensor(10.0 - 5.0)).item()
    assert both == pytest.approx(one + extra, rel=1e-5)


# ------------------------------------------------------------------ data and tokenizer
def test_tokenizer_is_deterministic_and_never_unknown(data):
    again = training.build_tokenizer(data.captions)
    assert again.get_vocab() == data.tokenizer.get_vocab()
    tok = data.tokenizer
    ids = tok("Ünïcode giraffe 🐱 zxqv")["input_ids"]
    assert tok.unk_token_id not in ids[1:-1]
    assert ids[-1] == tok.eos_token_id == max(tok.get_vocab().values())
    assert tok.eos_token_id != 2  # transformers' legacy CLIP pooling would kick in
    assert tok.model_max_length == TEXT_LENGTH
    assert len(tok.tokenize("a photo of a cat")) == 5  # caption words are single tokens


def test_positives_are_the_diagonal_plus_true_descriptions(data):
    from imgsearch_helpers.training import sample_captions

    idx = torch.arange(64)
    chosen, positives = sample_captions(data, idx, np.random.default_rng(0))
    assert positives.diagonal().all() and chosen.shape == (64,)
    labels = data.labels[idx]
    for i, j in positives.nonzero().tolist():
        caption = data.captions[chosen[j]]
        # caption j belongs to scene i's own captions, or is true of every scene of its kind
        own = chosen[j] in data.scene_captions[i]
        generic = data.caption_kinds[chosen[j]] == labels[i]
        assert own or generic, (i, j, caption)
    generic_pairs = (data.caption_kinds[chosen].view(1, -1) == labels.view(-1, 1))
    assert generic_pairs.sum() > 64 and positives[generic_pairs].all()


def test_generic_captions_keep_their_framing_but_not_a_time():
    from imgsearch_helpers.clipart import generic_kind

    assert generic_kind("a photo of a dog") == "dog"
    assert generic_kind("a cartoon of snow.") == "snow"
    assert generic_kind("a dog at sunset") is None
    assert generic_kind("two dogs") is None


# ------------------------------------------------------------------ a few steps of each model
def _falls(history) -> bool:
    losses = [r["loss"] for r in history]
    return np.mean(losses[-8:]) < 0.9 * np.mean(losses[:8])


@pytest.mark.parametrize("family", ["clip", "siglip", "vit"])
def test_a_few_steps_lower_the_loss(data, family, tmp_path):
    train = {"clip": training.train_clip, "siglip": training.train_siglip, "vit": training.train_vit}[
        family
    ]
    seen = []
    model, history = train(
        data,
        steps=STEPS,
        batch_size=32,
        lr=2e-3,
        warmup=5,
        size="tiny",
        progress=False,
        progress_callback=seen.append,
    )
    assert len(history) == STEPS and seen == history
    assert _falls(history), [round(r["loss"], 3) for r in history]
    if family == "siglip":
        assert model.logit_bias.item() < -5  # started at -10, moves slowly
    folder = save(model, family, data.tokenizer, tmp_path / family)
    assert (folder / "config.json").exists() and (folder / "model.safetensors").exists()


def test_training_is_deterministic(data):
    a = training.train_clip(data, steps=5, batch_size=16, size="tiny", progress=False)[1]
    b = training.train_clip(data, steps=5, batch_size=16, size="tiny", progress=False)[1]
    assert [r["loss"] for r in a] == [r["loss"] for r in b]


def test_eval_every_records_zero_shot_accuracy(data):
    _, history = training.train_clip(
        data, steps=4, batch_size=16, size="tiny", eval_every=2, eval_per_kind=2, progress=False
    )
    assert [r["step"] for r in history if "zero_shot" in r] == [2, 4]
    assert all(0.0 <= r["zero_shot"] <= 1.0 for r in history if "zero_shot" in r)


@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_accuracy_during_training_reads_text_as_the_saved_model_does(data, family, tmp_path):
    """eval_every's zero-shot numbers embed prompts with the training tokenizer;
    they must equal what the saved folder (its own processor) gives."""
    from transformers import AutoProcessor

    from imgsearch_helpers.training import embed_text

    train = training.train_clip if family == "clip" else training.train_siglip
    model = train(data, steps=2, batch_size=8, size="tiny", progress=False)[0]
    folder = save(model, family, data.tokenizer, tmp_path / family)
    prompts = list(clipart.ZERO_SHOT_PROMPTS.values())
    during = embed_text(model, data.tokenizer, family, prompts)
    saved = embed_text(model, AutoProcessor.from_pretrained(folder).tokenizer, family, prompts)
    np.testing.assert_allclose(during, saved, atol=1e-6)


# ------------------------------------------------------------------ saved folders load without our code
def test_saved_models_load_with_auto_classes_and_pipelines(data, tmp_path):
    from transformers import AutoModel, AutoProcessor, AutoTokenizer, pipeline

    image, _ = clipart.make_scene("cat", np.random.default_rng(0))
    labels = list(clipart.ZERO_SHOT_PROMPTS.values())
    for family in ("clip", "siglip"):
        model = training.train_clip if family == "clip" else training.train_siglip
        folder = save(
            model(data, steps=1, batch_size=8, size="tiny", progress=False)[0],
            family,
            data.tokenizer,
            tmp_path / family,
        )
        processor = AutoProcessor.from_pretrained(folder)
        assert type(processor).__name__ == {"clip": "CLIPProcessor", "siglip": "SiglipProcessor"}[family]
        tok = AutoTokenizer.from_pretrained(folder)
        assert tok.get_vocab() == data.tokenizer.get_vocab()
        loaded = AutoModel.from_pretrained(folder)
        assert loaded.config.text_config.eos_token_id == tok.eos_token_id
        out = pipeline("zero-shot-image-classification", model=str(folder))(
            image, candidate_labels=labels, hypothesis_template="{}"
        )
        assert {r["label"] for r in out} == set(labels)
    siglip_inputs = AutoProcessor.from_pretrained(tmp_path / "siglip")(
        text=["a cat"], padding="max_length", max_length=TEXT_LENGTH, return_tensors="pt"
    )
    assert list(siglip_inputs) == ["input_ids"] and siglip_inputs["input_ids"].shape == (1, TEXT_LENGTH)

    vit = save(
        training.train_vit(data, steps=1, batch_size=8, size="tiny", progress=False)[0],
        "vit",
        None,
        tmp_path / "vit",
    )
    out = pipeline("image-classification", model=str(vit))(image, top_k=10)
    assert {r["label"] for r in out} == set(clipart.IMAGENET_STYLE_LABELS.values())


@pytest.mark.parametrize("seconds, expected", [(1e-6, 15), (1e6, 30)])
def test_a_time_budget_picks_the_step_count_between_its_bounds(data, capsys, seconds, expected):
    model, history = training.train_clip(data, steps=30, seconds=seconds, min_steps=15,
                                         batch_size=8, size="tiny", eval_every=10,
                                         eval_per_kind=1, progress=False)
    assert len(history) == expected and history[-1]["step"] == expected
    assert "zero_shot" in history[9]          # the timed probe also measured accuracy
    assert f"{expected} steps, about" in capsys.readouterr().out


def test_a_time_budget_holds_when_the_machine_gets_busier_after_the_plan(data, capsys,
                                                                         monkeypatch):
    """The first 10 steps take 10 ms each, then every step 100 ms (another job started):
    the plan made after the probe (over 100 steps) would take 10 s of a 1.5 s budget. Fitted
    again every 10 steps, the run ends near its budget. (A clock of our own: the test
    does not depend on how busy this machine is.)"""
    from imgsearch_helpers.training import _loops

    clock = {"now": 0.0}

    class Clock:
        @staticmethod
        def perf_counter():
            return clock["now"]

        time = perf_counter

    monkeypatch.setattr(_loops, "time", Clock)

    def busier(row):
        clock["now"] += 0.01 if row["step"] <= 10 else 0.1

    model, history = training.train_clip(data, steps=400, seconds=1.5, min_steps=12,
                                         batch_size=8, size="tiny", progress=False,
                                         progress_callback=busier)
    import re

    first_plan = int(re.search(r"(\d+) steps, about", capsys.readouterr().out).group(1))
    assert first_plan > 100                      # what the probe promised: 10 s past the budget
    assert 12 <= len(history) < 40 and clock["now"] <= 1.5 + 0.5


def test_interrupting_training_keeps_the_model_trained_so_far(data, capsys):
    def stop_at_step_4(row):
        if row["step"] == 4:
            raise KeyboardInterrupt

    model, history = training.train_clip(data, steps=50, batch_size=8, size="tiny",
                                         eval_every=25, eval_per_kind=1, progress=False,
                                         progress_callback=stop_at_step_4)
    assert [r["step"] for r in history] == [1, 2, 3, 4] and "zero_shot" in history[-1]
    assert not model.training and "stopped at step 4 of 50" in capsys.readouterr().out


def test_hard_negatives_are_wrong_for_their_own_picture(data):
    from imgsearch_helpers.training import FINEGRAINED_RECIPE, sample_captions

    idx = torch.arange(64)
    chosen, positives = sample_captions(data, idx, np.random.default_rng(0), **FINEGRAINED_RECIPE)
    b, m = len(idx), len(chosen) - len(idx)
    assert m > 10 and positives.shape == (b, b + m) and positives[:, :b].diagonal().all()
    # each hard negative came from one picture's attribute caption, and is false of that picture
    negatives = set(data.negatives[idx].flatten().tolist()) - {-1}
    assert set(chosen[b:].tolist()) <= negatives
    for j, neg in enumerate(chosen[b:].tolist()):
        owners = [i for i in range(b) if neg in data.negatives[idx[i]].flatten().tolist()]
        assert owners and not all(positives[i, b + j] for i in owners)
    # both losses take the extra texts
    img = torch.nn.functional.normalize(torch.randn(b, 8), dim=-1)
    txt = torch.nn.functional.normalize(torch.randn(b + m, 8), dim=-1)
    assert training.contrastive_loss(img, txt, 10.0, positives).isfinite()
    assert training.sigmoid_loss(img, txt, 10.0, -10.0, positives).isfinite()


def test_every_caption_knows_its_language_and_attribute_captions_are_english(data):
    scene = clipart.draw_scene("car", np.random.default_rng(0))
    assert len(scene.languages) == len(scene.captions) and set(scene.languages) == {"en", "fr", "de"}
    # the English captions come first, then French, then German
    assert scene.languages == sorted(scene.languages, key=["en", "fr", "de"].index)
    assert "une" in " ".join(c for c, l in zip(scene.captions, scene.languages) if l == "fr").split()
    by_text = dict(zip(data.captions, data.english.tolist()))
    assert by_text["a red car"] is True and sum(not v for v in by_text.values()) > 50
    assert all(by_text[data.captions[i]] for i in data.attribute_captions.flatten().tolist() if i >= 0)


def test_keeping_translations_replaces_only_english_captions(data):
    from imgsearch_helpers.training import sample_captions

    idx = torch.arange(len(data))
    plain, _ = sample_captions(data, idx, np.random.default_rng(4))
    kept, _ = sample_captions(data, idx, np.random.default_rng(4), attribute_share=1.0,
                              keep_translations=True)
    anyway, _ = sample_captions(data, idx, np.random.default_rng(4), attribute_share=1.0)
    translated = ~data.english[plain]
    assert translated.sum() > 40
    # the same draws: a caption picked in French or German stays, an English one is replaced
    assert torch.equal(kept[translated], plain[translated])
    has_attributes = (data.attribute_captions[idx] >= 0).any(1)
    named = (data.attribute_captions[idx] == kept.view(-1, 1)).any(1)  # one of its attribute captions
    assert named[~translated & has_attributes].all() and not named[translated].any()
    assert (data.attribute_captions[idx] == anyway.view(-1, 1)).any(1)[has_attributes].all()


def test_attribute_captions_in_every_language_replace_a_caption_of_their_own_language():
    from imgsearch_helpers.training import sample_captions

    english_only = training.prepare_data(60, seed=5, progress=False)
    data = training.prepare_data(60, seed=5, progress=False,
                                 attribute_languages=clipart.CAPTION_LANGUAGES)
    language = dict(zip(data.captions, (clipart.CAPTION_LANGUAGES[i] for i in data.language.tolist())))
    assert language["a red car"] == "en" and language["une voiture rouge"] == "fr"
    assert language["ein rotes Auto"] == "de" and language["zwei Katzen"] == "de"
    assert torch.equal(data.english, data.language == 0)
    # English-only data (the default) has the same scenes and English attribute captions only
    assert torch.equal(english_only.images, data.images)
    assert all(language[english_only.captions[i]] == "en"
               for i in english_only.attribute_captions.flatten().tolist() if i >= 0)
    idx = torch.arange(len(data))
    plain, _ = sample_captions(data, idx, np.random.default_rng(4))
    chosen, positives = sample_captions(data, idx, np.random.default_rng(4), attribute_share=1.0,
                                        hard_negatives=1, translated_attributes=True)
    first = chosen[:len(idx)]
    # every pick keeps its language, and becomes an attribute caption where one exists in it
    assert torch.equal(data.language[first], data.language[plain])
    attr = data.attribute_captions[idx]
    in_language = (attr >= 0) & (data.language[attr.clamp(min=0)] == data.language[plain].view(-1, 1))
    named = (attr == first.view(-1, 1)).any(1)
    assert torch.equal(named, in_language.any(1)) and (~data.english[first] & named).sum() > 10
    # each hard negative is in the language of the caption it stands against
    negatives = chosen[len(idx):]
    assert len(negatives) == int(named.sum())
    assert torch.equal(data.language[negatives], data.language[first[named]])
    assert not positives[named.nonzero().flatten(), len(idx) + torch.arange(len(negatives))].any()


def test_own_negatives_are_the_given_captions_hard_negatives(data):
    from imgsearch_helpers.training import FINEGRAINED_RECIPE, own_negatives, sample_captions

    idx = torch.arange(64)
    chosen, _ = sample_captions(data, idx, np.random.default_rng(0), **FINEGRAINED_RECIPE)
    negatives = own_negatives(data, idx, chosen[:64])
    scenes = list(clipart.iter_scenes(64, 5))  # the fixture's first 64 scenes, drawn again
    given = 0
    for i in range(64):
        row = [c for c in negatives[i].tolist() if c >= 0]
        pairs = dict(scenes[i].attribute_captions())
        caption = data.captions[chosen[i]]
        if caption in pairs:
            given += 1
            assert sorted(data.captions[c] for c in row) == sorted(pairs[caption])
        else:
            assert row == []
    assert 10 < given < 64


def test_the_hard_negative_term_is_a_softmax_over_the_own_caption_and_its_negatives():
    g = torch.Generator().manual_seed(2)
    img, pos = _unit(torch.randn(3, 4, generator=g)), _unit(torch.randn(3, 4, generator=g))
    neg = _unit(torch.randn(3, 2, 4, generator=g))
    valid = torch.tensor([[True, True], [True, False], [False, False]])
    loss = training.hard_negative_loss(img, pos, neg, valid, 10.0)
    expected = []
    for i in range(3):
        texts = torch.cat([pos[i:i + 1], neg[i][valid[i]]])
        expected.append(-torch.log_softmax(10.0 * texts @ img[i], 0)[0])
    assert loss.item() == pytest.approx(torch.stack(expected).mean().item(), rel=1e-5)
    assert expected[2].item() == pytest.approx(0.0, abs=1e-6)  # no negatives: nothing to learn
    same = _unit(torch.ones(2, 4))
    assert training.hard_negative_loss(same, same, same.view(2, 1, 4).repeat(1, 3, 1),
                                       torch.ones(2, 3, dtype=torch.bool), 10.0).item() == pytest.approx(math.log(4))


def test_the_hard_negative_term_trains_and_gives_the_same_weights_twice(data):
    recipe = dict(attribute_share=0.8, hard_negatives=1, keep_translations=True, hard_loss=1.0)
    weights = []
    for _ in range(2):
        model, history = training.train_clip(data, steps=3, batch_size=16, size="tiny", progress=False,
                                             **recipe)
        assert all(math.isfinite(r["loss"]) for r in history)
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(*weights)
    plain, _ = training.train_clip(data, steps=3, batch_size=16, size="tiny", progress=False)
    assert not torch.equal(weights[0], torch.cat([p.detach().flatten() for p in plain.parameters()]))


def test_the_hard_picture_term_is_a_softmax_over_the_pictures_of_the_captions_kind():
    g = torch.Generator().manual_seed(4)
    txt, img = _unit(torch.randn(3, 4, generator=g)), _unit(torch.randn(5, 4, generator=g))
    candidates = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 0, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    targets = torch.tensor([[1, 0, 1, 0, 1], [0, 0, 0, 1, 0], [1, 0, 0, 0, 0]], dtype=torch.bool)
    loss = training.hard_picture_loss(txt, img, candidates, targets, 10.0)
    expected = []
    for i in range(2):  # caption 2 has no wrong candidate: nothing to learn
        logp = torch.log_softmax(10.0 * img[candidates[i]] @ txt[i], 0)
        right = targets[i][candidates[i]]
        expected.append(-logp[right].mean())  # the right pictures share the target
    assert loss.item() == pytest.approx(torch.stack(expected).mean().item(), rel=1e-5)
    # a caption that cannot tell its pictures apart: log(candidates) / ... as the softmax says
    blind = training.hard_picture_loss(torch.zeros(3, 4), img, candidates, targets, 10.0)
    assert blind.item() == pytest.approx((math.log(3) + math.log(2)) / 2)
    none = training.hard_picture_loss(txt, img, candidates, candidates, 10.0)
    assert none.item() == 0.0


def test_the_hard_picture_term_changes_training_but_not_the_batches(data):
    from imgsearch_helpers.training import HARD_NEGATIVE_RECIPE, HARD_PICTURE_RECIPE, sample_captions

    drawn = [sample_captions(data, torch.arange(32), np.random.default_rng(3), **r)
             for r in (HARD_NEGATIVE_RECIPE, HARD_PICTURE_RECIPE)]
    assert all(torch.equal(a, b) for a, b in zip(*drawn))
    weights = []
    for recipe in (HARD_NEGATIVE_RECIPE, HARD_PICTURE_RECIPE, HARD_PICTURE_RECIPE):
        model, history = training.train_siglip(data, steps=3, batch_size=16, size="tiny",
                                               progress=False, **recipe)
        assert all(math.isfinite(r["loss"]) for r in history)
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(weights[1], weights[2]) and not torch.equal(weights[0], weights[1])


def test_the_default_recipe_draws_the_same_captions_as_before(data):
    from imgsearch_helpers.training import PLAIN_RECIPE, sample_captions

    a = sample_captions(data, torch.arange(32), np.random.default_rng(3))
    b = sample_captions(data, torch.arange(32), np.random.default_rng(3), **PLAIN_RECIPE)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[1].shape == (32, 32)


def test_training_curves_draw_the_loss_and_the_accuracy_of_each_run(capsys):
    from imgsearch_helpers.training import TrainingCurves, plot_history
    from imgsearch_helpers.training._plot import smoothed

    assert np.allclose(smoothed([4, 2, 0, 2], window=2), [4, 3, 1, 1])
    run = [{"step": s, "loss": 4.0 - s / 50, **({"zero_shot": s / 120} if s % 40 == 0 else {})}
           for s in range(1, 101)]
    loss_ax, acc_ax = plot_history({"plain": run, "longer": run + run[-1:]})
    assert len(loss_ax.lines) == 4 and len(acc_ax.lines) == 3      # 2 runs + the guessing line
    assert list(acc_ax.lines[0].get_xdata()) == [40, 80]
    curves = TrainingCurves(every=1000)
    for row in run[:41]:
        curves(row)
    out = capsys.readouterr().out
    assert out.count("accuracy") == 1 and "   40   3.200" in out and curves.history == run[:41]
    assert len(curves._axes[1].lines) == 2                           # drawn at the evaluation


def test_recipes_have_one_name_each_and_old_records_read_as_their_recipe():
    from imgsearch_helpers.training import (FINEGRAINED_RECIPE, HARD_NEGATIVE_RECIPE, PLAIN_RECIPE,
                                            full_recipe, recipe_name)

    from imgsearch_helpers.training import EVERY_LANGUAGE_RECIPE

    from imgsearch_helpers.training import HARD_PICTURE_RECIPE

    assert [recipe_name(r) for r in (PLAIN_RECIPE, FINEGRAINED_RECIPE, HARD_NEGATIVE_RECIPE,
                                     EVERY_LANGUAGE_RECIPE, HARD_PICTURE_RECIPE)] == [
        "plain", "fine-grained", "fine-grained + hard-negative term",
        "fine-grained + hard-negative term, in every language",
        "fine-grained + hard-negative terms for texts and pictures"]
    # a record written before keep_translations and hard_loss existed had them off
    assert full_recipe({"attribute_share": 0.5, "hard_negatives": 1}) == FINEGRAINED_RECIPE
    assert recipe_name({"attribute_share": 0.25, "hard_negatives": 1}) == (
        "attribute_share=0.25, hard_negatives=1, keep_translations=False, hard_loss=0.0, "
        "translated_attributes=False, hard_pictures=0.0")


def test_eval_md_shows_the_probes_beside_the_text_queries():
    from imgsearch_helpers.training._details import probe_lines

    group = lambda a: {"accuracy": a, "chance": 0.2, "trials": 10}  # noqa: E731
    record = {"probe": {"scenes": 6000, "models": {"clip": {"text": {"count": group(0.67)},
                                                            "probe": {"count": group(0.70)}}}}}
    lines = probe_lines(record)
    assert "| clipart-clip | counts | 0.20 | 0.67 | 0.70 |" in lines and "6,000 training scenes" in lines[3]
    assert probe_lines({}) == []


def test_eval_md_shows_what_the_tower_reads_when_trained_on_the_labels():
    from imgsearch_helpers.training._details import ceiling_lines

    def run(count, tree, shipped):
        return {"scenes": 12000, "steps": 1200, "shipped_size": shipped, "minutes": 5.5,
                "groups": {"colour": {"accuracy": 0.99, "chance": 0.2},
                           "count": {"accuracy": count, "chance": 0.34}},
                "tasks": {"car colour": {"group": "colour", "accuracy": 0.96, "chance": 0.17},
                          "tree count": {"group": "count", "accuracy": tree, "chance": 0.23}}}

    lines = ceiling_lines({"ceiling": {"64 px, patches of 8": run(0.74, 0.53, True),
                                       "128 px, patches of 16": run(0.9, 0.85, False)}})
    assert "| | chance | 64 px, patches of 8 (as shipped) | 128 px, patches of 16 |" in lines
    assert "| **counts** | 0.34 | **0.74** | **0.90** |" in lines
    assert "| tree count | 0.23 | 0.53 | 0.85 |" in lines
    assert not any(line.startswith("| car colour") for line in lines)  # counts only, per task
    assert lines[-1] == "| min of training | | 5.5 | 5.5 |"
    assert "12,000 training scenes, 1,200 steps of 128 as `make models`" in lines[3]
    assert not any(line.startswith("Runs that spend") for line in lines)  # no run of the same work
    assert ceiling_lines({}) == []


def test_eval_md_says_whether_trading_depth_for_steps_reaches_the_count_target():
    """Ceiling runs with the shipped tower's layer-steps (layers x steps) are summed up under the table."""
    from imgsearch_helpers.training._details import ceiling_lines

    def run(layers, steps, count, shipped=False, family="clip"):
        return {"scenes": 12000, "steps": steps, "layers": layers, "shipped_size": shipped, "minutes": 5.7,
                "family": family, "image_size": 64, "patch": 8,
                "groups": {"count": {"accuracy": count, "chance": 0.34}}, "tasks": {}}

    runs = {"64 px, patches of 8": run(4, 1200, 0.74, shipped=True),
            "SigLIP's tower": run(4, 1200, 0.75, shipped=True, family="siglip"),
            "2 layers": run(2, 2400, 0.72), "6 layers": run(6, 800, 0.69),
            "2,400 steps": run(4, 2400, 0.84)}                      # twice the cost: not summed up
    summary = ceiling_lines({"ceiling": runs})[-1]
    assert summary == ("Runs that spend the shipped tower's layer-steps differently (4 layers for 1,200 "
                       "steps), counts: as shipped 0.74; 2 layers for 2,400 steps 0.72; 6 layers for 800 "
                       "steps 0.69. Trading depth for steps does not reach the target (0.8).")
    runs["6 layers"] = run(6, 800, 0.81)
    assert ceiling_lines({"ceiling": runs})[-1].endswith("1 of them reaches the target (0.8).")
    runs["2 layers"] = run(2, 2400, 0.85)
    assert ceiling_lines({"ceiling": runs})[-1].endswith("2 of them reach the target (0.8).")
    runs["6 layers"]["image_size"] = 128                              # another picture size: left out
    assert ceiling_lines({"ceiling": runs})[-1].endswith("; 2 layers for 2,400 steps 0.85. 1 of them "
                                                         "reaches the target (0.8).")



def test_eval_md_says_whether_siglips_loss_or_its_towers_hold_the_details_back():
    """bench_finegrained.py losses: one main loss per row; the sentence under the table follows the numbers."""
    from imgsearch_helpers.training._details import loss_lines

    def row(family, loss, colours):
        return {"family": family, "loss": loss, "colour top-1": colours, "count top-1": 0.4,
                "time top-1": 0.8, "zero_shot_top1": 0.85, "recall@1 en": 0.7, "recall@1 fr": 0.7,
                "recall@1 de": 0.6, "logit_scale": 15.5}

    def record(sigmoid, softmax, both):
        return {"losses": {"steps": 400, "scenes": 6000, "warmup": 50, "batch_size": 128, "recipe": "r",
                           "rows": {"sigmoid (as shipped)": row("siglip", "sigmoid", sigmoid),
                                    "softmax": row("siglip", "softmax", softmax),
                                    "both": row("siglip", "sigmoid + softmax", both),
                                    "CLIP": row("clip", "softmax", 0.54)}}}

    lines = loss_lines(record(0.28, 0.52, 0.26))
    assert "| sigmoid (as shipped) | 0.28 | 0.40 | 0.80 | 0.85 | 0.70 | 0.70 | 0.60 | 15.50 |" in lines
    assert "400 steps of 128 on 6,000 scenes (warm-up 50)" in lines[3]
    assert lines[-1] == ("Colours: SigLIP's towers read them at 0.52 with CLIP's softmax loss and at 0.28 "
                         "with their own sigmoid loss (CLIP: 0.54). The towers learn the details from "
                         "these captions; the sigmoid loss teaches them far less in the same steps. With "
                         "both losses added up they read colours at 0.26, as with the sigmoid alone: the "
                         "softmax does not help while the sigmoid term is there.")
    other = loss_lines(record(0.30, 0.35, 0.34))[-1]
    assert "The loss makes little difference here." in other and other.endswith("closer to the softmax alone.")
    assert loss_lines({}) == []

def test_the_full_length_table_marks_the_recipe_each_model_ships_with():
    """EVAL.md's "Full-length runs": a row is marked shipped when its recipe is the model's
    training.SHIPPED_RECIPES entry, whatever the row is called."""
    from imgsearch_helpers.training import HARD_NEGATIVE_RECIPE, PLAIN_RECIPE, SHIPPED_RECIPES
    from imgsearch_helpers.training._details import full_run_lines

    numbers = {k: 0.5 for k in ("colour top-1", "count top-1", "time top-1", "zero_shot_top1",
                                "recall@1 en", "recall@1 fr", "recall@1 de")}
    # "an old run" was recorded before keep_translations and hard_loss existed: it reads as
    # the fine-grained recipe, which ships with no model
    old = {"attribute_share": 0.5, "hard_negatives": 1}
    record = {"before": {"models": {"clip": numbers, "siglip": numbers}},
              "full_runs": {name: {"command": "python -m imgsearch_helpers.training --out x",
                                   "models": {f: dict(numbers, recipe=recipe) for f in ("clip", "siglip")}}
                            for name, recipe in (("an old run", old), ("a run", HARD_NEGATIVE_RECIPE))}}
    # the shipped recipe trained longer than make models trains it is not what ships
    record["full_runs"]["a longer run"] = {
        "command": "python -m imgsearch_helpers.training --clip-steps 2400",
        "models": {f: dict(numbers, recipe=SHIPPED_RECIPES[f], steps=2400) for f in ("clip", "siglip")}}
    # the shipped recipe with another main loss (bench_finegrained.py train-with-loss) is not what ships
    record["full_runs"]["another loss"] = {
        "command": "python bench/bench_finegrained.py train-with-loss softmax -- --only siglip",
        "models": {"siglip": dict(numbers, recipe=SHIPPED_RECIPES["siglip"], main_loss="softmax")}}
    rows = [line for line in full_run_lines(record) if line.startswith("| ") and "recipe |" not in line]
    marked = {(line.split(" | ")[0][2:], line.split(" | ")[1]) for line in rows if line.endswith("| yes |")}
    names = {"plain recipe (the weights before)": PLAIN_RECIPE, "a run": HARD_NEGATIVE_RECIPE}
    expected = {(name, f) for f in ("clip", "siglip") for name, recipe in names.items()
                if SHIPPED_RECIPES[f] == recipe}
    assert len(rows) == 9 and marked == expected and len(expected) == 2
    assert sum(" | 2,400 | " in line for line in rows) == 2 and sum(" | 1,200 | " in line for line in rows) == 7
    assert [line.split(" | ")[1] for line in rows if "another loss" in line] == ["siglip (softmax loss)"]
