"""Private: measuring the offline models on fresh scenes and writing their reports.

Everything is measured on scenes drawn with other seeds than the training set
(``EVAL_SEED``) and on the committed gallery, through the saved folders, the
Auto classes and the saved processors: what a learner will load is what is measured.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import clipart
from ._data import EVAL_SEED, TEXT_LENGTH
from ..embeddings import pooled_features
from ..course import SEED_QUERIES, kind_of
from ..images import read_captions
from ..models import GALLERY_DIR, REBUILD_COMMAND
from ..search import top_k
from ._details import limits_lines, report_lines

DEFAULT_GALLERY = GALLERY_DIR
HEADLINE_QUERIES = list(SEED_QUERIES)


def heldout_scenes(n_per_kind: int, seed: int = EVAL_SEED):
    """Fresh scenes (never used in training) and their kind indices."""
    scenes = clipart.generate_dataset(n_per_kind * len(clipart.SCENE_KINDS), seed)
    return [s.image for s in scenes], np.array([clipart.SCENE_KINDS.index(s.kind) for s in scenes])


def text_features(model, family: str, input_ids, attention_mask=None) -> torch.Tensor:
    """Unit-length text embeddings, read the way the model was trained.

    SigLIP reads text padded to 64 tokens with no attention mask (as Google's
    models do), so its mask is never passed; CLIP reads the mask.
    """
    kwargs = {"input_ids": input_ids}
    if family != "siglip":
        kwargs["attention_mask"] = attention_mask
    return torch.nn.functional.normalize(pooled_features(model.get_text_features(**kwargs)), dim=-1)


@torch.inference_mode()
def embed_text(model, tokenizer, family: str, texts) -> np.ndarray:
    """Unit-length text embeddings; SigLIP text is padded to 64 tokens as in training."""
    if family == "siglip":
        enc = tokenizer(
            list(texts),
            padding="max_length",
            max_length=TEXT_LENGTH,
            truncation=True,
            return_tensors="pt",
        )
    else:
        enc = tokenizer(
            list(texts), padding=True, truncation=True, max_length=TEXT_LENGTH, return_tensors="pt"
        )
    return text_features(model, family, enc["input_ids"], enc.get("attention_mask")).numpy()


@torch.inference_mode()
def embed_pixels(model, pixel_values: torch.Tensor, batch: int = 256) -> np.ndarray:
    """Unit-length image embeddings of already-normalised pixel tensors."""
    out = [
        pooled_features(model.get_image_features(pixel_values=pixel_values[i : i + batch]))
        for i in range(0, len(pixel_values), batch)
    ]
    return torch.nn.functional.normalize(torch.cat(out), dim=-1).numpy()


def embed_pil(model, image_processor, images, batch: int = 256) -> np.ndarray:
    """Unit-length image embeddings through the saved image processor."""
    pixels = image_processor(images=list(images), return_tensors="pt")["pixel_values"]
    return embed_pixels(model, pixels, batch)


def zero_shot_top1(image_emb: np.ndarray, prompt_emb: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of images whose most similar prompt is their own kind's."""
    return float(np.mean((image_emb @ prompt_emb.T).argmax(1) == labels))


def search_metrics(text_emb, gallery_emb, gallery_kinds, queries) -> dict:
    """recall@1 and recall@5 of text->image search, and each query's top 5 gallery rows.

    A query counts as found at k when any of its top k gallery images is of one
    of the kinds listed for it in :data:`clipart.HELDOUT_QUERIES`.
    """
    top5, _ = top_k(text_emb, gallery_emb, 5)
    hits1, hits5 = [], []
    for (query, kinds), order in zip(queries, top5):
        got = [gallery_kinds[i] for i in order]
        hits1.append(got[0] in kinds)
        hits5.append(any(k in kinds for k in got))
    return {
        "recall@1": float(np.mean(hits1)),
        "recall@5": float(np.mean(hits5)),
        "misses@1": [q for (q, _), h in zip(queries, hits1) if not h],
        "top5": top5,
    }


def image_to_image(gallery_emb: np.ndarray, gallery_kinds) -> float:
    """Fraction of gallery images whose nearest *other* image is of the same kind."""
    sims = gallery_emb @ gallery_emb.T
    np.fill_diagonal(sims, -np.inf)
    kinds = np.asarray(gallery_kinds)
    return float(np.mean(kinds[sims.argmax(1)] == kinds))


def load_gallery(folder=DEFAULT_GALLERY):
    """The gallery's file names, PIL images and kinds (the kind is the name's prefix)."""
    from PIL import Image

    folder = Path(folder)
    names = sorted(read_captions(folder))
    images = []
    for name in names:
        with Image.open(folder / name) as im:
            images.append(im.convert("RGB"))
    return names, images, [kind_of(n) for n in names]


def evaluate(
    model_dir, n_per_kind: int = 50, seed: int = EVAL_SEED, gallery=DEFAULT_GALLERY, heldout=None,
    finegrained=None,
) -> dict:
    """Measure one saved offline model (ViT, CLIP or SigLIP) on fresh scenes and the gallery.

    Parameters
    ----------
    model_dir : path
        A folder written by the training command.
    n_per_kind : int
        Fresh held-out scenes per kind for the classification numbers.
    seed : int
        Seed of those scenes; must differ from the training seed.
    gallery : path or None
        Folder with the gallery PNGs and captions.json; None skips the search numbers.
    heldout : (images, labels), optional
        Reuse already drawn held-out scenes (from :func:`heldout_scenes`).
    finegrained : FineGrainedSet or False, optional
        The fine-grained benchmark's scenes (default: drawn here, see
        :func:`imgsearch_helpers.evaluation.finegrained_set`); False skips the benchmark.

    Returns
    -------
    dict
        ViT: ``top1``. CLIP/SigLIP: ``zero_shot_top1``, ``recall@1``, ``recall@5``,
        ``image_to_image``, ``misses@1``, ``headline`` (top file per headline query) and
        ``languages``: {"fr"/"de": recall@1, recall@5 and misses@1 of the same search with
        that language's held-out queries}; ``finegrained``: the fine-grained benchmark
        (:func:`imgsearch_helpers.evaluation.score_finegrained`).
    """
    from transformers import (
        AutoConfig,
        AutoImageProcessor,
        AutoModel,
        AutoModelForImageClassification,
        AutoProcessor,
    )

    family = AutoConfig.from_pretrained(model_dir).model_type
    images, labels = heldout if heldout is not None else heldout_scenes(n_per_kind, seed)
    result: dict = {"family": family, "n_heldout": len(labels)}
    if family == "vit":
        model = AutoModelForImageClassification.from_pretrained(model_dir).eval()
        processor = AutoImageProcessor.from_pretrained(model_dir)
        with torch.inference_mode():
            logits = model(**processor(images=images, return_tensors="pt")).logits
        names = [model.config.id2label[i] for i in logits.argmax(1).tolist()]
        wanted = [clipart.IMAGENET_STYLE_LABELS[clipart.SCENE_KINDS[i]] for i in labels]
        result["top1"] = float(np.mean([a == b for a, b in zip(names, wanted)]))
        return result
    model = AutoModel.from_pretrained(model_dir).eval()
    processor = AutoProcessor.from_pretrained(model_dir)
    prompts = embed_text(model, processor.tokenizer, family, clipart.ZERO_SHOT_PROMPTS.values())
    result["zero_shot_top1"] = zero_shot_top1(
        embed_pil(model, processor.image_processor, images), prompts, labels
    )
    if finegrained is not False:
        result["finegrained"] = measure_finegrained(model, processor, family, finegrained)
    if gallery is not None:
        names, gimages, gkinds = load_gallery(gallery)
        gal = embed_pil(model, processor.image_processor, gimages)
        queries = clipart.HELDOUT_QUERIES
        found = search_metrics(
            embed_text(model, processor.tokenizer, family, [q for q, _ in queries]), gal, gkinds, queries
        )
        result.update({k: found[k] for k in ("recall@1", "recall@5", "misses@1")})
        top = {q: names[order[0]] for (q, _), order in zip(queries, found["top5"])}
        result["headline"] = {q: top[q] for q in HEADLINE_QUERIES}
        # The same search with the French and German held-out queries.
        result["languages"] = {}
        for lang in clipart.CAPTION_LANGUAGES[1:]:
            lq = clipart.HELDOUT_QUERIES_BY_LANGUAGE[lang]
            got = search_metrics(embed_text(model, processor.tokenizer, family, [q for q, _ in lq]),
                                 gal, gkinds, lq)
            result["languages"][lang] = {"n_queries": len(lq),
                                         **{k: got[k] for k in ("recall@1", "recall@5", "misses@1")}}
        result["image_to_image"] = image_to_image(gal, gkinds)
        result["n_gallery"], result["n_queries"] = len(names), len(queries)
    return result


def measure_finegrained(model, processor, family: str, fset=None) -> dict:
    """The fine-grained benchmark (colours, counts, time of day) of one CLIP or SigLIP model."""
    from ..evaluation import finegrained_set, score_finegrained

    fset = fset or finegrained_set()
    return score_finegrained(fset, embed_pil(model, processor.image_processor, fset.images),
                             lambda texts: embed_text(model, processor.tokenizer, family, texts))


def folder_size_mb(folder) -> float:
    return sum(f.stat().st_size for f in Path(folder).iterdir() if f.is_file()) / 1e6


_FAMILY_TEXT = {
    "vit": ("ViTForImageClassification",
            "a classifier over the 10 clip-art scene kinds (labels named in ImageNet style), "
            "trained with cross-entropy (label smoothing 0.1)"),
    "clip": ("CLIPModel", "a CLIP dual encoder trained with the contrastive (softmax) loss"),
    "siglip": ("SiglipModel",
               "a SigLIP dual encoder trained with the sigmoid loss (learned logit_scale and "
               "logit_bias, initialised as in the paper at t' = log 10 and b = -10)"),
}
_USAGE = {
    "vit": """from transformers import pipeline

classify = pipeline("image-classification", model="data/models/clipart-vit")
classify("data/gallery/lake_000.png")""",
    "clip": """from transformers import pipeline

zero_shot = pipeline("zero-shot-image-classification", model="data/models/clipart-clip")
zero_shot("data/gallery/lake_000.png", hypothesis_template="{}",
          candidate_labels=["a photo of a lake", "a photo of a cat", "a photo of a car"])""",
    "siglip": """from transformers import pipeline

# SigLIP reads the last token of text padded to 64 tokens (the pipeline does this).
zero_shot = pipeline("zero-shot-image-classification", model="data/models/clipart-siglip")
zero_shot("data/gallery/lake_000.png", hypothesis_template="{}",
          candidate_labels=["a photo of a lake", "a photo of a cat", "a photo of a car"])""",
}


_LANGUAGE_NAMES = {"fr": "French", "de": "German"}


def metric_lines(m: dict) -> list[str]:
    """Human-readable lines for one model's measured numbers."""
    fresh = f"({m['n_heldout']} fresh scenes)"
    if m["family"] == "vit":
        return [f"- top-1 accuracy over the 10 kinds: **{m['top1']:.1%}** {fresh}"]
    lines = [f"- zero-shot top-1 over the 10 kinds (\"a photo of a ...\" prompts): "
             f"**{m['zero_shot_top1']:.1%}** {fresh}"]
    if "recall@1" in m:
        lines += [f"- text->image search over data/gallery ({m['n_gallery']} images, "
                  f"{m['n_queries']} held-out queries): recall@1 **{m['recall@1']:.2f}**, "
                  f"recall@5 **{m['recall@5']:.2f}**",
                  f"- image->image: nearest other gallery image of the same kind: "
                  f"**{m['image_to_image']:.1%}**"]
        lines += [f'  - "{q}" -> `{f}`' for q, f in m["headline"].items()]
        if m["misses@1"]:
            lines.append("  - queries whose first hit is wrong: "
                         + ", ".join(f'"{q}"' for q in m["misses@1"]))
        for lang, lm in m.get("languages", {}).items():
            lines.append(f"- the same search with {lm['n_queries']} held-out queries in "
                         f"{_LANGUAGE_NAMES[lang]}: recall@1 **{lm['recall@1']:.2f}**, "
                         f"recall@5 **{lm['recall@5']:.2f}**")
            if lm["misses@1"]:
                lines.append("  - first hit wrong: " + ", ".join(f'"{q}"' for q in lm["misses@1"]))
    if "finegrained" in m:
        groups = m["finegrained"]["groups"]
        lines.append("- fine-grained top-1 among scenes of the same kind (chance in brackets): "
                     + ", ".join(f"{g}s **{r['accuracy']:.2f}** ({r['chance']:.2f})" if g != "time" else
                                 f"time of day **{r['accuracy']:.2f}** ({r['chance']:.2f})"
                                 for g, r in groups.items()))
        lines.append("  - " + ", ".join(f"{name} {r['accuracy']:.2f}"
                                        for name, r in m["finegrained"]["tasks"].items()))
    return lines


def write_model_card(folder, family: str, metrics: dict, info: dict) -> None:
    """Write ``README.md`` (a model card) into a saved model folder."""
    cls, what = _FAMILY_TEXT[family]
    text = f"""# clipart-{family}

A **small model trained on synthetic clip-art**, for the offline track of the
imgsearch course: {what}. It is a stock `transformers` `{cls}` with its
processor, so `AutoModel`/`AutoProcessor` and `transformers.pipeline` load it
with no custom code. It knows only the drawn world of `imgsearch_helpers.clipart`
(lake, tree, cat, car, house, boat, snow, night, flower, dog) and a caption
vocabulary of a few hundred words in English, French and German; on real photos
its answers mean little.

- parameters: {info["parameters"]:,} ({info["size_mb"]:.1f} MB on disk)
- images: 64 x 64 px (scenes drawn at 128 px)
- text: byte-level BPE, {info.get("vocab", "-")} tokens, at most 64 per text
- training: {info["steps"]} steps of batch {info["batch_size"]} on {info["scenes"]:,} generated scenes
  (random mirror and shift), AdamW, linear warm-up then cosine decay;
  {info["minutes"]:.1f} min on {info["machine"]}{_recipe(family, info)}

## Use

```python
{_USAGE[family]}
```

## Measured (fresh scenes drawn with another seed, never the training images)

{chr(10).join(metric_lines(metrics))}

{_limits(metrics)}## Reproduce

```
{REBUILD_COMMAND}
```

regenerates all three offline models from scratch (seeded) and writes
`data/models/EVAL.md`.
"""
    (Path(folder) / "README.md").write_text(text)


def _recipe(family: str, info: dict) -> str:
    if not info.get("attribute_share") and not info.get("hard_negatives"):
        if family == "vit":  # a classifier: no captions, so no recipe to choose
            return ""
        return ("\n- the plain recipe (no attribute captions, no hard negatives); what the recipes "
                "that name attributes gave at full length, and why this model does not use one, is "
                "in data/models/EVAL.md, \"Full-length runs\"")
    share = info["attribute_share"]
    pairs = ("some pairs" if share is None
             else f"{share:.0%} of the pairs picked in each language, in that language"
             if info.get("translated_attributes")
             else f"{share:.0%} of the pairs picked in English"
             if info.get("keep_translations") else f"{share:.0%} of the pairs")
    return ("\n- fine-grained training, as FG-CLIP 2: " + pairs
            + " use a caption naming the picture's attributes (\"a red car\", \"two cats\")"
            + (f", each with {info['hard_negatives']} hard negative(s) (\"a blue car\", \"three cats\") "
               "in the loss" if info.get("hard_negatives") else "")
            + (f"; FG-CLIP's hard-negative term (weight {info['hard_loss']:g}): each such picture "
               "picks its caption among all of its hard negatives" if info.get("hard_loss") else "")
            + (f"; and the other way round (weight {info['hard_pictures']:g}): each attribute caption "
               "picks the pictures it is true of among the batch's pictures of its kind"
               if info.get("hard_pictures") else ""))


def _limits(metrics: dict) -> str:
    if "finegrained" not in metrics:
        return ""
    return "## What it still cannot do\n\n" + "\n".join(limits_lines(metrics)) + "\n\n"


def write_report(path, metrics: dict, infos: dict, total_minutes: float, command: str,
                 cpu_minutes: float | None = None) -> None:
    """Write ``EVAL.md``: every model's numbers, sizes and training time."""
    machine = next(iter(infos.values()))["machine"]
    parts = ["# Offline models: evaluation", "", f"Command: `{command}`  ",
             f"Total wall time: {total_minutes:.1f} min ({machine})"
             + (f"; CPU time {cpu_minutes:.1f} min." if cpu_minutes is not None else "."), "",
             "All numbers are measured on scenes drawn with a different seed than the training "
             "scenes, and on the committed gallery `data/gallery` with the held-out queries "
             "`imgsearch_helpers.clipart.HELDOUT_QUERIES_BY_LANGUAGE` in English, French and German "
             "(none of them is, or is inside, a training caption).", ""]
    Path(path).write_text("\n".join(parts + report_body(metrics, infos, Path(path).parent)))


def report_body(metrics: dict, infos: dict, folder) -> list[str]:
    """EVAL.md's lines from its first model's section on: what ``make models`` writes there.

    Parameters
    ----------
    metrics, infos : dict
        Per family, as eval.json records them ("metrics", "training").
    folder : path
        The models' folder, whose records (finegrained.json) the later sections read.
    """
    parts = []
    for family in sorted(metrics, key=["vit", "clip", "siglip"].index):
        m, info = metrics[family], infos[family]
        parts += [f"## clipart-{family}", "",
                  f"{info['parameters']:,} parameters, {info['size_mb']:.1f} MB, "
                  f"{info['steps']} steps, {info['minutes']:.1f} min", ""]
        parts += metric_lines(m) + [""]
    return parts + report_lines(metrics, Path(folder))
