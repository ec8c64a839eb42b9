"""The shipped offline models (data/models/clipart-*): they load without our code and
still reach their measured quality on fresh scenes.

The thresholds sit a little below the numbers on the model cards, because these
tests use fewer held-out scenes (another seed than the cards and than training).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from imgsearch_helpers import clipart
from imgsearch_helpers.evaluation import FINEGRAINED_TARGETS, MEASURED_FILE, finegrained_set
from imgsearch_helpers.training import HELDOUT_THRESHOLDS, evaluate, heldout_scenes

MODELS = Path(__file__).resolve().parents[1] / "data" / "models"
FOLDERS = {f: MODELS / f"clipart-{f}" for f in ("vit", "clip", "siglip")}
HELDOUT_SEED = 11  # training uses 0, the model cards 1, the gallery 2024

missing = [str(p) for p in FOLDERS.values() if not (p / "model.safetensors").exists()]
pytestmark = pytest.mark.skipif(
    bool(missing),
    reason=f"offline models not built yet ({', '.join(missing)}); "
    "run `python -m imgsearch_helpers.training --out data/models`",
)


@pytest.fixture(scope="module")
def heldout():
    return heldout_scenes(20, HELDOUT_SEED)


@pytest.fixture(scope="module")
def measured(heldout):
    # The fine-grained benchmark's own scenes (seed 7, as on the model cards and EVAL.md).
    fset = finegrained_set()
    return {family: evaluate(folder, heldout=heldout, finegrained=fset) for family, folder in FOLDERS.items()}


def test_the_three_models_are_small():
    total = sum(f.stat().st_size for folder in FOLDERS.values() for f in folder.iterdir())
    assert total < 30e6


@pytest.mark.parametrize("family", list(FOLDERS))
def test_folders_are_plain_hugging_face_format_with_a_card(family):
    folder = FOLDERS[family]
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "README.md"} <= names
    assert "processor_config.json" in names or "preprocessor_config.json" in names
    if family != "vit":
        assert {"tokenizer.json", "tokenizer_config.json"} <= names
    assert not any(n.endswith(".py") for n in names)  # no custom code
    card = (folder / "README.md").read_text()
    assert "synthetic clip-art" in card and "python -m imgsearch_helpers.training" in card
    assert (MODELS / "EVAL.md").exists()


@pytest.mark.parametrize("family", ["vit", "clip", "siglip"])
def test_each_card_is_what_the_training_command_writes(family, tmp_path):
    """A card edited by hand would drift from the numbers in eval.json and from the next
    `make models`: it must be exactly what write_model_card makes of the recorded run."""
    from imgsearch_helpers.training._eval import write_model_card

    record = json.loads((MODELS / MEASURED_FILE).read_text())
    write_model_card(tmp_path, family, record["metrics"][family], record["training"][family])
    assert (tmp_path / "README.md").read_text() == (FOLDERS[family] / "README.md").read_text()


def test_eval_md_is_what_the_training_command_writes():
    """Like the cards: EVAL.md from its first model's section on is what write_report makes
    of eval.json and the records beside it (its first lines say how the run was made)."""
    from imgsearch_helpers.training._eval import report_body

    record = json.loads((MODELS / MEASURED_FILE).read_text())
    text = (MODELS / "EVAL.md").read_text()
    assert text[text.index("## clipart-vit"):] == "\n".join(
        report_body(record["metrics"], record["training"], MODELS))


def test_vit_classifies_fresh_scenes(measured):
    assert measured["vit"]["top1"] >= 0.93


@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_dual_encoders_zero_shot_and_search(measured, family):
    m = measured[family]
    assert m["zero_shot_top1"] >= HELDOUT_THRESHOLDS["zero_shot_top1"] == 0.88, m
    assert m["recall@1"] >= HELDOUT_THRESHOLDS["recall@1 en"] == 0.88, m["misses@1"]
    assert m["recall@5"] >= 0.97, m
    assert m["image_to_image"] >= 0.88, m


@pytest.mark.parametrize("family", ["clip", "siglip"])
@pytest.mark.parametrize("lang", ["fr", "de"])
def test_dual_encoders_search_in_french_and_german(measured, family, lang):
    m = measured[family]["languages"][lang]
    assert m["n_queries"] >= 15 and m["recall@1"] >= HELDOUT_THRESHOLDS[f"recall@1 {lang}"] == 0.85, \
        m["misses@1"]


@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_headline_queries_find_a_matching_scene_first(measured, family):
    wanted = dict(clipart.HELDOUT_QUERIES)
    for query, top_file in measured[family]["headline"].items():
        assert top_file.split("_")[0] in wanted[query], (query, top_file)


SHIPPED = json.loads((MODELS / MEASURED_FILE).read_text())["metrics"]


@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_the_fine_grained_benchmark_gives_the_recorded_numbers(measured, family):
    """The benchmark is seeded: the shipped weights give what eval.json and EVAL.md say."""
    got = measured[family]["finegrained"]["groups"]
    recorded = SHIPPED[family]["finegrained"]["groups"]
    for group in ("colour", "count", "time"):
        assert got[group]["accuracy"] == pytest.approx(recorded[group]["accuracy"], abs=0.005), group
        assert got[group]["chance"] == pytest.approx(recorded[group]["chance"], abs=0.005), group


_NOT_REACHED = pytest.mark.xfail(strict=True, reason=(
    "not reached: counts 0.65 (CLIP, fine-grained recipe with the hard-negative term: its image "
    "embeddings hold counts only at 0.73, by a linear probe, and the same tower trained on the count "
    "labels themselves reads them at 0.74 in make models' 1,200 steps, 0.84 in 2,400; 2 layers for "
    "2,400 steps or 6 for 800, the same cost, read them no better), colours 0.27 and counts 0.31 "
    "(SigLIP, plain recipe: each of its four runs that name attributes, best colours 0.72 and counts 0.72, lost German or English queries below training.HELDOUT_THRESHOLDS; its tower "
    "trained on the labels reads colours at 0.99, so what it lacks is the training, not the size; "
    "the same towers trained 400 steps with CLIP's softmax loss read colours at 0.53, with SigLIP's "
    "sigmoid loss 0.28, with both 0.26: the sigmoid loss is what holds the details back; at make models' "
    "length with the softmax, colours 0.87 and counts 0.65, with recall@1 0.81 in every language, below "
    "the thresholds). "
    "data/models/EVAL.md: full-length runs, probes, the tower trained on the labels. strict: once it "
    "passes, remove this mark"))


@pytest.mark.parametrize("family, group", [
    ("clip", "colour"),
    pytest.param("clip", "count", marks=_NOT_REACHED),
    pytest.param("siglip", "colour", marks=_NOT_REACHED),
    pytest.param("siglip", "count", marks=_NOT_REACHED),
])
def test_dual_encoders_read_colours_and_counts(measured, family, group):
    """The fine-grained targets (FINEGRAINED_TARGETS): top-1 among scenes of one kind, colours >= 0.9, counts >= 0.8."""
    got = measured[family]["finegrained"]["groups"][group]
    assert got["accuracy"] >= FINEGRAINED_TARGETS[group], (got, measured[family]["finegrained"]["tasks"])


def test_pipelines_work_on_the_shipped_folders(heldout):
    from transformers import pipeline

    images, labels = heldout
    picks = list(range(0, len(labels), 7))[:6]
    classify = pipeline("image-classification", model=str(FOLDERS["vit"]))
    names = [clipart.IMAGENET_STYLE_LABELS[clipart.SCENE_KINDS[labels[i]]] for i in picks]
    assert [classify(images[i])[0]["label"] for i in picks] == names
    from imgsearch_helpers import load_model
    from imgsearch_helpers.embeddings import embed_images, embed_texts

    prompts = list(clipart.ZERO_SHOT_PROMPTS.values())
    picks = list(range(0, len(labels), 7))[:12]
    for family in ("clip", "siglip"):
        zero_shot = pipeline("zero-shot-image-classification", model=str(FOLDERS[family]))
        got = [
            zero_shot(images[i], candidate_labels=prompts, hypothesis_template="{}")[0]["label"]
            for i in picks
        ]
        # transformers' pipeline answers as the course's own code does, picture by picture ...
        loaded = load_model(str(FOLDERS[family]))
        ours = (embed_images(loaded, [images[i] for i in picks]) @ embed_texts(loaded, prompts).T).argmax(1)
        assert got == [prompts[k] for k in ours], family
        # ... and mostly right (zero-shot top-1 on the model cards: 0.96 and more)
        assert sum(g == prompts[labels[i]] for g, i in zip(got, picks)) >= 10, (family, got)


def test_siglip_processor_pads_to_64_without_a_mask():
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(FOLDERS["siglip"])
    enc = processor(text=["a cat"], padding="max_length", max_length=64, return_tensors="pt")
    assert list(enc) == ["input_ids"] and enc["input_ids"].shape == (1, 64)


def test_the_course_loader_finds_them_by_name():
    from imgsearch_helpers import embeddings, models     # our own: an error, never a skip

    names, images, kinds = __import__(
        "imgsearch_helpers.training._eval", fromlist=["load_gallery"]
    ).load_gallery()
    for family in ("clip", "siglip"):
        loaded = models.load_model(f"imgsearch/clipart-{family}", device="cpu")
        assert loaded.family == family
        gallery = embeddings.embed_images(loaded, images)
        query = embeddings.embed_texts(loaded, ["a beautiful lake with mountains", "luxury car"])
        top = np.argmax(query @ gallery.T, axis=1)
        assert [kinds[i] for i in top] == ["lake", "car"], family
