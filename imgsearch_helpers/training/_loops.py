"""Losses and training loops of the offline models (CLIP, SigLIP, ViT)."""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .. import clipart
from ..embeddings import pooled_features
from ._data import (EVAL_SEED, TRAIN_SEED, Batches, TrainingData, augment, build_tokenizer,
                          images_to_tensor, normalise, own_negatives, prepare_data, sample_captions,
                          text_inputs)
from ._eval import (embed_pixels, embed_text, evaluate, heldout_scenes, text_features, zero_shot_top1)
from ._models import NORMALISATION, SIZES, build_model, build_processor, save

__all__ = ["contrastive_loss", "sigmoid_loss", "hard_negative_loss", "prepare_data",
           "build_tokenizer", "TrainingData", "train_clip", "train_siglip", "train_vit",
           "heldout_accuracy", "evaluate", "heldout_scenes", "build_processor", "save", "SIZES",
           "DEFAULTS", "PLAIN_RECIPE", "FINEGRAINED_RECIPE", "SHIPPED_RECIPES", "HELDOUT_THRESHOLDS",
           "HARD_NEGATIVE_RECIPE", "EVERY_LANGUAGE_RECIPE", "HARD_PICTURE_RECIPE", "hard_picture_loss",
           "RECIPE_NAMES", "recipe_name", "full_recipe", "training_step"]

# The shipped models' settings. Step counts are fixed (not time budgets) so that a
# rerun gives the same weights. attribute_share and hard_negatives are the training
# functions' defaults (the plain recipe); which recipe each shipped model gets is
# SHIPPED_RECIPES.
DEFAULTS = dict(scenes=12000, batch_size=128, clip_steps=1200, siglip_steps=1200, vit_steps=600,
                lr=1e-3, warmup=100, weight_decay=0.1, attribute_share=0.0, hard_negatives=0,
                keep_translations=False, hard_loss=0.0, translated_attributes=False, hard_pictures=0.0)
# The recipe without attribute captions and hard negatives (CLIP's and SigLIP's original one).
PLAIN_RECIPE = dict(attribute_share=0.0, hard_negatives=0, keep_translations=False, hard_loss=0.0,
                    translated_attributes=False, hard_pictures=0.0)
# Fine-grained training as FG-CLIP 2 does it: half the pairs name the picture's attributes,
# each with one hard negative.
FINEGRAINED_RECIPE = dict(attribute_share=0.5, hard_negatives=1, keep_translations=False, hard_loss=0.0,
                          translated_attributes=False, hard_pictures=0.0)
# Fine-grained training with FG-CLIP's own hard-negative term (:func:`hard_negative_loss`): each
# picture given an attribute caption also picks it among all of its hard negatives. Attribute
# captions replace English captions only (80% of them), so French and German keep their share.
HARD_NEGATIVE_RECIPE = dict(attribute_share=0.8, hard_negatives=1, keep_translations=True, hard_loss=1.0,
                            translated_attributes=False, hard_pictures=0.0)
# The same with attribute captions and hard negatives in French and German too, each taking
# the place of a caption of its own language (FG-CLIP 2's fine-grained data is bilingual).
EVERY_LANGUAGE_RECIPE = dict(HARD_NEGATIVE_RECIPE, translated_attributes=True)
# FG-CLIP's term asks each picture to pick its caption among texts; a search asks the other
# way, a text picking its pictures among pictures of the same kind ("one boat" among boats,
# some of which show two). This recipe adds that term too (:func:`hard_picture_loss`).
HARD_PICTURE_RECIPE = dict(HARD_NEGATIVE_RECIPE, hard_pictures=1.0)
RECIPE_NAMES = {"plain": PLAIN_RECIPE, "fine-grained": FINEGRAINED_RECIPE,
                "fine-grained + hard-negative term": HARD_NEGATIVE_RECIPE,
                "fine-grained + hard-negative term, in every language": EVERY_LANGUAGE_RECIPE,
                "fine-grained + hard-negative terms for texts and pictures": HARD_PICTURE_RECIPE}


def full_recipe(recipe: dict) -> dict:
    """A recipe with every key: a record written before a key existed had it off."""
    return {**PLAIN_RECIPE, **{k: v for k, v in recipe.items() if k in PLAIN_RECIPE}}


def recipe_name(recipe: dict) -> str:
    """'plain', 'fine-grained', ... (:data:`RECIPE_NAMES`), or the settings for any other recipe."""
    recipe = full_recipe(recipe)
    for name, known in RECIPE_NAMES.items():
        if known == recipe:
            return name
    return ", ".join(f"{k}={v}" for k, v in recipe.items())


# The held-out numbers a shipped dual encoder keeps (tests/test_offline_models.py holds
# them): zero-shot top-1 over the kinds, and text->image recall@1 over the gallery in each
# language. Keys as in the fine-grained record's rows (data/models/finegrained.json).
HELDOUT_THRESHOLDS = {"zero_shot_top1": 0.88, "recall@1 en": 0.88, "recall@1 fr": 0.85,
                      "recall@1 de": 0.85}
# The recipe `make models` trains each dual encoder with, chosen by the full-length runs
# in data/models/EVAL.md: with the hard-negative term CLIP reads colours at 0.95 (0.83 with
# the fine-grained recipe, 0.45 plain) and keeps every held-out threshold; adding the same term
# for pictures (HARD_PICTURE_RECIPE) reads counts a little better (0.69 against 0.65) but drops
# English recall@1 to 0.83 and German to 0.69. Every SigLIP run
# that names attributes reads more details (colours 0.53-0.72 against 0.27) but misses a
# threshold: German recall@1 0.69 with the fine-grained recipe and with CLIP's recipe
# (attribute captions in 80% of the English pairs), English recall@1 0.86 with CLIP's recipe
# but attribute captions in half of the English pairs, French 0.81 and German 0.75 with
# attribute captions in every language (EVERY_LANGUAGE_RECIPE: colours 0.72, counts 0.72,
# 31 minutes); so SigLIP keeps the plain recipe. Its towers are not the limit: trained with
# CLIP's recipe and CLIP's softmax loss they read colours as CLIP does (0.53 against 0.54 in 400
# steps), with SigLIP's sigmoid loss at 0.28, with both losses at 0.26 (EVAL.md, "Why SigLIP
# reads fewer details"; bench_finegrained.py losses). At make models' length with the softmax
# they read colours at 0.87 and counts at 0.65, and lose every language's recall@1 (0.81):
# neither loss reaches the targets within the thresholds (bench_finegrained.py train-with-loss).
SHIPPED_RECIPES = {"clip": HARD_NEGATIVE_RECIPE, "siglip": PLAIN_RECIPE}
# Adam moves a scalar by about lr per step, so in a run of ~1,000 steps the
# temperature and bias could barely leave their start values: they get a larger step.
LOGIT_LR_FACTOR = 10.0


def contrastive_loss(image_embeds: torch.Tensor, text_embeds: torch.Tensor, logit_scale,
                     positives: torch.Tensor | None = None) -> torch.Tensor:
    """CLIP's symmetric softmax loss over all image-text pairs of a batch.

    Row ``i`` of the similarity matrix is a classification of image ``i`` among all
    texts of the batch (and column ``j`` of text ``j`` among all images); the loss
    is the cross-entropy of both, averaged. Each row competes: raising one pair's
    probability lowers the others'.

    Parameters
    ----------
    image_embeds : torch.Tensor, shape (b, d)
    text_embeds : torch.Tensor, shape (b + m, d)
        Unit-length embeddings; row ``i`` of each belongs to the same pair. Texts
        after the first b are extra candidates (hard negatives, "a blue car" for a
        red car): they join every image's softmax, but are not classified themselves.
    logit_scale : float or torch.Tensor
        The temperature multiplier (CLIP's ``logit_scale.exp()``), e.g. 100.
    positives : torch.Tensor of bool, shape (b, b + m), optional
        ``positives[i, j]``: text ``j`` also describes image ``i``. Default: the
        diagonal only. Several positives share a row's target probability.

    Returns
    -------
    torch.Tensor
        The scalar loss; ``log(b)`` for random embeddings.
    """
    logits = logit_scale * image_embeds @ text_embeds.T
    b = len(logits)
    if positives is None:
        positives = torch.eye(b, logits.shape[1], dtype=torch.bool, device=logits.device)
    target = positives.float()
    per_image = _shared_target_cross_entropy(logits, target)
    per_text = _shared_target_cross_entropy(logits[:, :b].T, target[:, :b].T)
    return (per_image + per_text) / 2


def _shared_target_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over rows of the cross-entropy against a target shared by each row's positives."""
    return -(target / target.sum(1, keepdim=True) * logits.log_softmax(1)).sum(1).mean()


def sigmoid_loss(image_embeds: torch.Tensor, text_embeds: torch.Tensor, logit_scale, logit_bias,
                 positives: torch.Tensor | None = None, ignore: torch.Tensor | None = None) -> torch.Tensor:
    """SigLIP's pairwise sigmoid loss: every image-text pair is its own yes/no question.

    ``sigmoid(logit_scale * cos + logit_bias)`` is the probability that the pair
    matches; the loss is the binary cross-entropy of all b*b pairs, summed and
    divided by b, as in the paper. No row competes with the others, so the score
    of a pair does not depend on what else is in the batch.

    Parameters
    ----------
    image_embeds : torch.Tensor, shape (b, d)
    text_embeds : torch.Tensor, shape (b + m, d)
        Unit-length embeddings. Texts after the first b (hard negatives) are more
        pairs to answer, each one more yes/no question per image.
    logit_scale : float or torch.Tensor
        The multiplier t = exp(t') (SigLIP's ``logit_scale.exp()``), starts at 10.
    logit_bias : float or torch.Tensor
        b, starts at -10 so that "no match", right for almost every pair, is the start.
    positives : torch.Tensor of bool, shape (b, b + m), optional
        Matching pairs; default the diagonal.
    ignore : torch.Tensor of bool, shape (b, b + m), optional
        Pairs that are neither positive nor negative: left out of the sum. Default none
        (`make models` leaves none out; bench_finegrained.py measures a loss that does).

    Returns
    -------
    torch.Tensor
        The scalar loss.
    """
    logits = logit_scale * image_embeds @ text_embeds.T + logit_bias
    if positives is None:
        positives = torch.eye(len(logits), logits.shape[1], dtype=torch.bool, device=logits.device)
    signs = 2.0 * positives.float() - 1.0
    per_pair = -F.logsigmoid(signs * logits)
    if ignore is not None:
        per_pair = per_pair.masked_fill(ignore, 0.0)
    return per_pair.sum() / len(logits)


def hard_negative_loss(image_embeds: torch.Tensor, positive_embeds: torch.Tensor,
                       negative_embeds: torch.Tensor, valid: torch.Tensor, logit_scale) -> torch.Tensor:
    """FG-CLIP's hard-negative term: each picture picks its own caption among its negatives.

    For a picture captioned "a red car", a softmax over that caption and its hard
    negatives ("a blue car", "a white car", ...): one small classification per picture,
    in which only the named attribute differs. The batch's loss mixes those few texts
    with a hundred others of other kinds, most of which are easy; this term is made of
    hard ones only. A bias cancels in a softmax, so the same term serves SigLIP.

    Parameters
    ----------
    image_embeds : torch.Tensor, shape (t, d)
        Unit-length embeddings of the pictures that were given an attribute caption.
    positive_embeds : torch.Tensor, shape (t, d)
        Their captions' embeddings.
    negative_embeds : torch.Tensor, shape (t, k, d)
        Each one's hard negatives (rows where ``valid`` is False are ignored).
    valid : torch.Tensor of bool, shape (t, k)
    logit_scale : float or torch.Tensor

    Returns
    -------
    torch.Tensor
        The mean cross-entropy; ``log(1 + k)`` when every text scores the same.
    """
    logits = torch.cat([(image_embeds * positive_embeds).sum(-1, keepdim=True),
                        torch.einsum("td,tkd->tk", image_embeds, negative_embeds)], 1) * logit_scale
    keep = torch.cat([torch.ones(len(valid), 1, dtype=torch.bool, device=valid.device), valid], 1)
    logits = logits.masked_fill(~keep, torch.finfo(logits.dtype).min)
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))


def hard_picture_loss(text_embeds: torch.Tensor, image_embeds: torch.Tensor, candidates: torch.Tensor,
                      targets: torch.Tensor, logit_scale) -> torch.Tensor:
    """The other way round: each attribute caption picks its pictures among those of its kind.

    A search ranks pictures for a text. For "one boat" the batch's softmax over
    pictures is mostly pictures of other kinds, which are easy; the few that decide
    the search are the other boats, some of which show two. This term is a softmax
    over those only: the caption's candidates are the batch's pictures of its kind,
    and the pictures it is true of share the target (other one-boat pictures too).
    A bias cancels in a softmax, so the same term serves SigLIP.

    Parameters
    ----------
    text_embeds : torch.Tensor, shape (t, d)
        Unit-length embeddings of the attribute captions of the batch.
    image_embeds : torch.Tensor, shape (b, d)
        The batch's pictures.
    candidates : torch.Tensor of bool, shape (t, b)
        The pictures each caption chooses among (those of its kind).
    targets : torch.Tensor of bool, shape (t, b)
        The pictures each caption is true of.
    logit_scale : float or torch.Tensor

    Returns
    -------
    torch.Tensor
        The mean cross-entropy over the captions that have both a right and a wrong
        candidate; 0 when none has.
    """
    right = candidates & targets
    rows = right.any(1) & (candidates & ~targets).any(1)
    if not rows.any():
        return text_embeds.new_zeros(())
    logits = (text_embeds[rows] @ image_embeds.T) * logit_scale
    logits = logits.masked_fill(~candidates[rows], torch.finfo(logits.dtype).min)
    return _shared_target_cross_entropy(logits, right[rows].float())


def _optimiser(model, lr: float, weight_decay: float, plan: dict, warmup: int):
    # No weight decay on biases, norms and the logit scale/bias: decaying those
    # only pulls them towards 0, which for logit_bias would undo its -10 start.
    groups: dict[str, list] = {"decay": [], "rest": [], "logit": []}
    for name, p in model.named_parameters():
        if name in ("logit_scale", "logit_bias"):
            groups["logit"].append(p)
        elif p.ndim >= 2 and "embedding" not in name:
            groups["decay"].append(p)
        else:
            groups["rest"].append(p)
    opt = torch.optim.AdamW([
        {"params": groups["decay"], "weight_decay": weight_decay},
        {"params": groups["rest"], "weight_decay": 0.0},
        {"params": groups["logit"], "weight_decay": 0.0, "lr": lr * LOGIT_LR_FACTOR},
    ], lr=lr, betas=(0.9, 0.98), eps=1e-6)

    def schedule(step: int) -> float:
        # plan is read at every step: a time budget may change it while training runs, and a
        # run it cuts short warms up for at most a fifth of its steps (fixed runs: as asked).
        w = max(1, min(warmup, plan["steps"] // 5) if plan.get("budget") else warmup)
        return warmup_cosine(step, plan["steps"], w)

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, schedule)


def warmup_cosine(step: int, steps: int, warmup: int) -> float:
    """The learning-rate factor at ``step``: linear warm-up, then cosine decay to 0 at ``steps``."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, steps - warmup))))


def _heldout_tensors(n_per_kind: int):
    images, labels = heldout_scenes(n_per_kind, EVAL_SEED)
    return images_to_tensor(images), labels


def _dual_step(model, family, data, idx, pixels, rng, recipe):
    captions, positives = sample_captions(data, idx, rng, **recipe)
    texts = captions
    if recipe.get("hard_loss"):
        negatives = own_negatives(data, idx, captions[:len(idx)])  # (b, k), -1 padded
        rows = (negatives >= 0).any(1)
        negatives, valid = negatives[rows], negatives[rows] >= 0
        # One text pass for the batch's captions and the pictures' own negatives.
        texts = torch.cat([captions, negatives[valid]])
    ids, mask = text_inputs(data, texts, full_length=family == "siglip")
    img = F.normalize(pooled_features(model.get_image_features(pixel_values=pixels)), dim=-1)
    txt = text_features(model, family, ids, mask)
    main = txt[:len(captions)]
    scale = model.logit_scale.exp()
    if family == "siglip":
        loss = sigmoid_loss(img, main, scale, model.logit_bias, positives)
    else:
        loss = contrastive_loss(img, main, scale, positives)
    if recipe.get("hard_loss") and rows.any():
        negative_embeds = txt.new_zeros(*valid.shape, txt.shape[1])
        negative_embeds[valid] = txt[len(captions):]
        loss = loss + recipe["hard_loss"] * hard_negative_loss(
            img[rows], main[:len(idx)][rows], negative_embeds, valid, scale)
    if recipe.get("hard_pictures") and data.attribute_captions is not None:
        given = captions[:len(idx)]
        named = (data.attribute_captions[idx] == given.view(-1, 1)).any(1)  # an attribute caption
        kinds = data.labels[idx]
        same_kind = kinds[named].view(-1, 1) == kinds.view(1, -1)
        loss = loss + recipe["hard_pictures"] * hard_picture_loss(
            main[:len(idx)][named], img, same_kind, positives[:, :len(idx)].T[named], scale)
    return loss


def training_step(model, family: str, data: TrainingData, idx: torch.Tensor, rng: np.random.Generator,
                  recipe: dict, opt, sched, autocast: bool = False) -> torch.Tensor:
    """One step of `make models`' training on the scenes ``idx``; returns the loss.

    The pictures are augmented and normalised, the loss is ViT's cross-entropy or the dual
    encoders' (:func:`_dual_step`, with ``recipe``'s terms), then AdamW takes its step with
    the gradient norm clipped at 1, and CLIP's temperature is capped at 100.
    ``autocast=True`` runs the forward pass under ``torch.autocast`` to bfloat16: never in
    `make models`, only measured (bench/bench_training_speed.py).
    """
    mean, std = NORMALISATION[family]
    pixels = normalise(augment(data.images[idx], rng), mean, std)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        if family == "vit":
            logits = model(pixel_values=pixels).logits
            loss = F.cross_entropy(logits, data.labels[idx], label_smoothing=0.1)
        else:
            loss = _dual_step(model, family, data, idx, pixels, rng, recipe)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    if family == "clip":
        with torch.no_grad():  # CLIP caps the temperature at 100
            model.logit_scale.clamp_(max=math.log(100.0))
    return loss


def _train(family: str, data: TrainingData, steps: int, *, batch_size: int = DEFAULTS["batch_size"],
           lr: float = DEFAULTS["lr"], seed: int = TRAIN_SEED, size="small",
           warmup: int = DEFAULTS["warmup"], weight_decay: float = DEFAULTS["weight_decay"],
           eval_every: int | None = None, eval_per_kind: int = 20,
           progress_callback: Callable | None = None, progress: bool = True,
           seconds: float | None = None, min_steps: int = 1,
           attribute_share: float | None = DEFAULTS["attribute_share"],
           hard_negatives: int = DEFAULTS["hard_negatives"],
           keep_translations: bool = DEFAULTS["keep_translations"],
           hard_loss: float = DEFAULTS["hard_loss"],
           translated_attributes: bool = DEFAULTS["translated_attributes"],
           hard_pictures: float = DEFAULTS["hard_pictures"]):
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model(family, data.tokenizer if family != "vit" else None, size)
    plan = {"steps": steps, "budget": seconds is not None}
    recipe = dict(attribute_share=attribute_share, hard_negatives=hard_negatives,
                  keep_translations=keep_translations, hard_loss=hard_loss,
                  translated_attributes=translated_attributes, hard_pictures=hard_pictures)
    opt, sched = _optimiser(model, lr, weight_decay, plan, warmup)
    batches = Batches(len(data), batch_size, rng)
    heldout = _heldout_tensors(eval_per_kind) if eval_every else None
    key = "accuracy" if family == "vit" else "zero_shot"
    history = []
    bar = tqdm(total=steps, desc=f"training {family}", unit="step", disable=not progress,
               mininterval=2)
    start = time.perf_counter()
    step = 0
    try:
        while step < plan["steps"]:
            step += 1
            model.train()
            loss = training_step(model, family, data, batches.next(), rng, recipe, opt, sched)
            row = {"step": step, "loss": float(loss.detach())}
            if seconds is not None and step > _PROBE_STEPS and step % _REFIT_EVERY == 0:
                _refit_budget(plan, step, steps, min_steps, seconds, start)
                bar.total = plan["steps"]
            if seconds is not None and step == _PROBE_STEPS:
                row[key] = _fit_budget(plan, steps, min_steps, seconds, start, eval_every,
                                       lambda: heldout_accuracy(model, family, data.tokenizer,
                                                                *heldout) if heldout else None)
                bar.total = plan["steps"]
                bar.refresh()
            elif eval_every and (step % eval_every == 0 or step == plan["steps"]):
                row[key] = heldout_accuracy(model, family, data.tokenizer, *heldout)
            if row.get(key, 0) is None:
                del row[key]
            history.append(row)
            bar.update(1)
            bar.set_postfix(loss=f"{row['loss']:.3f}", refresh=False)
            if progress_callback is not None:
                progress_callback(row)
    except KeyboardInterrupt:
        # Interrupting the kernel stops training early and keeps what was learned.
        print(f"stopped at step {step} of {plan['steps']}: the model keeps what it learned so far")
        if heldout is not None and history and key not in history[-1]:
            history[-1][key] = heldout_accuracy(model, family, data.tokenizer, *heldout)
    finally:
        bar.close()
    model.eval()
    return model, history


_PROBE_STEPS = 10   # steps timed to fit a time budget
_REFIT_EVERY = 10   # then the plan is fitted again to the time left, every so many steps


def _fit_budget(plan: dict, max_steps: int, min_steps: int, seconds: float, start: float,
                eval_every: int | None, evaluate) -> float | None:
    """Choose the step count that fits ``seconds``, from the first steps' time; print the plan."""
    per_step = (time.perf_counter() - start) / _PROBE_STEPS
    t0 = time.perf_counter()
    accuracy = evaluate()            # also times one evaluation, for the budget
    per_eval = time.perf_counter() - t0 if accuracy is not None else 0.0
    per_step_all = per_step + (per_eval / eval_every if eval_every else 0.0)
    fitted = int(seconds / per_step_all)
    plan["steps"] = max(min(fitted, max_steps), min_steps, _PROBE_STEPS)
    plan["last"] = (_PROBE_STEPS, time.perf_counter())
    note = ("" if fitted >= min_steps else
            f"; this machine is slow (or busy), so it takes the minimum of {min_steps} steps")
    print(f"{per_step * 1000:.0f} ms per step here: {plan['steps']} steps, about "
          f"{plan['steps'] * per_step_all / 60:.1f} min in all{note}", flush=True)
    return accuracy


def _refit_budget(plan: dict, step: int, max_steps: int, min_steps: int, seconds: float,
                  start: float) -> None:
    """Fit the step count again to the time left, at the rate measured since the last fit.

    The first steps' rate is a guess: a machine that gets busier (another job starts)
    would overrun the budget with the first plan. The rate measured since (evaluations
    included), or over the whole run if that is slower, says how many steps the time
    left still holds.
    """
    now = time.perf_counter()
    elapsed = now - start
    last_step, last_time = plan.get("last", (0, start))
    # The slower of the whole run's rate and the last steps' rate: a machine that just
    # got busy is planned at its new speed, not at the average of old and new.
    per_step = max(elapsed / step, (now - last_time) / max(1, step - last_step))
    plan["last"] = (step, now)
    fitted = step + int(max(0.0, seconds - elapsed) / per_step)
    plan["steps"] = max(min(fitted, max_steps), min_steps, step)


def heldout_accuracy(model, family: str, tokenizer, images_u8: torch.Tensor, labels) -> float:
    """Top-1 on uint8 64 px images: ViT's class, or zero-shot with :data:`clipart.ZERO_SHOT_PROMPTS`."""
    was_training = model.training
    model.eval()
    pixels = normalise(images_u8, *NORMALISATION[family])
    if family == "vit":
        with torch.inference_mode():
            acc = float(np.mean(model(pixel_values=pixels).logits.argmax(1).numpy() == labels))
    else:
        prompts = embed_text(model, tokenizer, family, clipart.ZERO_SHOT_PROMPTS.values())
        acc = zero_shot_top1(embed_pixels(model, pixels), prompts, labels)
    model.train(was_training)
    return acc


def train_clip(data: TrainingData, steps: int = DEFAULTS["clip_steps"], **options):
    """Train a ``CLIPModel`` from scratch with :func:`contrastive_loss`.

    Parameters
    ----------
    data : TrainingData
        From :func:`prepare_data`; its tokenizer becomes the model's.
    steps : int
    **options
        ``batch_size`` (128), ``lr`` (1e-3), ``seed``, ``warmup`` (100 steps),
        ``weight_decay`` (0.1): AdamW with linear warm-up then cosine decay to 0.
        ``attribute_share`` (0) and ``hard_negatives`` (0): how often a picture is
        paired with a caption naming its attributes, and how many hard negatives
        each such caption brings (see :func:`sample_captions`);
        ``FINEGRAINED_RECIPE`` (0.5 and 1) turns them on.
        ``size``: a key of :data:`SIZES` ('small' ships, 'mini' is notebook 06's,
        'tiny' the tests') or a dict like them.
        ``eval_every``: every so many steps, measure zero-shot accuracy on
        ``eval_per_kind`` (20) fresh scenes per kind, stored as ``row['zero_shot']``.
        ``progress_callback``: called with each step's history row
        ``{'step', 'loss'[, 'zero_shot']}``. ``progress``: show a tqdm bar (True),
        with the time left.
        ``seconds``: a time budget. The first 10 steps (and one evaluation) are
        timed and the run is fitted to the budget: ``steps`` becomes the largest
        number of steps, ``min_steps`` the smallest; the plan is printed. Every 10
        steps after that the plan is fitted again to the time left, at the rate
        measured so far, so a machine that gets busier ends on time too (unless
        ``min_steps`` take longer than the budget).
        Interrupting (Ctrl-C, or the kernel's stop button) ends training early
        and returns the model as trained so far.

    Returns
    -------
    (CLIPModel, list of dict)
        The model (in eval mode) and one history row per step.
    """
    return _train("clip", data, steps, **options)


def train_siglip(data: TrainingData, steps: int = DEFAULTS["siglip_steps"], **options):
    """Train a ``SiglipModel`` from scratch with :func:`sigmoid_loss`.

    Text is always padded to 64 tokens, because SigLIP pools the last token.
    Parameters and return value as :func:`train_clip`.
    """
    return _train("siglip", data, steps, **options)


def train_vit(data: TrainingData, steps: int = DEFAULTS["vit_steps"], **options):
    """Train a ``ViTForImageClassification`` over the scene kinds (cross-entropy).

    Parameters and return value as :func:`train_clip`; with ``eval_every``, history
    rows carry ``'accuracy'`` on fresh scenes.
    """
    return _train("vit", data, steps, **options)
