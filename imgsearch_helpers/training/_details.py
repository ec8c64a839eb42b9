"""Private: the fine-grained part of EVAL.md and of the model cards (details: colours, counts).

The numbers of the models trained *before* fine-grained training and the ablation's
short trainings are measured by ``bench/bench_finegrained.py`` and kept in
``finegrained.json`` beside the models; this module puts them next to the new ones.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..evaluation import FINEGRAINED_TARGETS, POOL_SIZE
from ._models import SIZES

RECORD_FILE = "finegrained.json"
_GROUP_NAMES = {"colour": "colours", "count": "counts", "time": "time of day"}
# What no recipe here teaches: said in every card, beside the measured weak spots.
LIMITS = [
    "where things are (left/right, in front of, on top of): no caption says it, and training "
    "mirrors the pictures",
    "counts beyond what the painter draws (more than five trees, three cats, two boats), and "
    "the count of things that are not the scene's main kind",
    "colours of parts other than those the captions name (a boat's sail, a dog's collar, a "
    "house's door)",
    "anything outside the clip-art world: on real photos their answers mean little",
]


def full_run_lines(record: dict) -> list[str]:
    """The full-length runs of each recipe (``make models``' steps unless a row says more), beside "before"."""
    from ._loops import DEFAULTS, HELDOUT_THRESHOLDS, PLAIN_RECIPE, SHIPPED_RECIPES, full_recipe, recipe_name

    runs = record.get("full_runs", {})
    if not runs:
        return []
    before = {f: dict(r, recipe=PLAIN_RECIPE) for f, r in record.get("before", {}).get("models", {}).items()}
    rows = {"plain recipe (the weights before)": before}
    rows.update({name: run["models"] for name, run in runs.items()})
    shipped = {f: recipe_name(r) for f, r in SHIPPED_RECIPES.items()}
    parts = ["", "### Full-length runs: which recipe each model ships with", "",
             f"The steps column counts steps of {DEFAULTS['batch_size']} pairs unless it says otherwise "
             f"(`make models`: {DEFAULTS['clip_steps']:,}). The held-out thresholds the tests hold "
             "(`training.HELDOUT_THRESHOLDS`): zero-shot >= "
             f"{HELDOUT_THRESHOLDS['zero_shot_top1']}, recall@1 >= {HELDOUT_THRESHOLDS['recall@1 en']} in "
             f"English, >= {HELDOUT_THRESHOLDS['recall@1 fr']} in French and >= "
             f"{HELDOUT_THRESHOLDS['recall@1 de']} in German. Shipped: "
             + ", ".join(f"clipart-{f} with the {r} recipe" for f, r in shipped.items())
             + " (`training.SHIPPED_RECIPES`). min: the run's training time on 2 CPU threads.", "",
             "| recipe | model | colours | counts | time of day | zero-shot | R@1 en | R@1 fr | R@1 de "
             "| steps | min | shipped |",
             "|---" * 12 + "|"]
    for name, fams in rows.items():
        for family, r in fams.items():
            # a run recorded before steps were kept had make models' steps
            steps = r.get("steps", DEFAULTS[f"{family}_steps"])
            batch = r.get("batch_size", DEFAULTS["batch_size"])
            mine = (full_recipe(r["recipe"]) == SHIPPED_RECIPES.get(family) and not r.get("main_loss")
                    and (steps, batch) == (DEFAULTS[f"{family}_steps"], DEFAULTS["batch_size"]))
            size = f"{steps:,}" + (f" of {batch}" if batch != DEFAULTS["batch_size"] else "")
            minutes = f"{r['minutes']:.1f}" if "minutes" in r else ""
            model = family + (f" ({r['main_loss']} loss)" if r.get("main_loss") else "")
            parts.append(f"| {name} | {model} | " + " | ".join(
                f"{r[k]:.2f}" for k in ("colour top-1", "count top-1", "time top-1", "zero_shot_top1",
                                        "recall@1 en", "recall@1 fr", "recall@1 de"))
                + f" | {size} | {minutes} | {'yes' if mine else ''} |")
    for name, run in runs.items():
        parts += ["", f"{name}: `{run['command']}`"]
    return parts


def probe_lines(record: dict) -> list[str]:
    """Linear probes on the image embeddings beside the text queries: where a detail is lost."""
    probe = record.get("probe")
    if not probe:
        return []
    parts = ["", "### Where a detail is lost: linear probes on the image embeddings", "",
             f"`python bench/bench_finegrained.py probe`: for each task, a logistic regression fitted on "
             f"the image embeddings of {probe['scenes']:,} training scenes ranks the same pools as the "
             "text query. A detail the probe reads but the query misses is in the picture's embedding "
             "and the text side does not reach it; one the probe misses too was never put into the "
             "embedding by the image tower, and no query can find it.", "",
             "| model | group | chance | text query | linear probe |", "|---" * 5 + "|"]
    for family, r in probe["models"].items():
        for g, text in r["text"].items():
            parts.append(f"| clipart-{family} | {_GROUP_NAMES[g]} | {text['chance']:.2f} | "
                         f"{text['accuracy']:.2f} | {r['probe'][g]['accuracy']:.2f} |")
    return parts


def ceiling_lines(record: dict) -> list[str]:
    """The image tower trained on the painter's labels: what it can read at all, per size."""
    from ._loops import DEFAULTS

    runs = record.get("ceiling")
    if not runs:
        return []
    names = list(runs)
    first = runs[names[0]]
    parts = ["", "### What the image tower can read at all: trained on the labels", "",
             "`python bench/bench_finegrained.py ceiling [--family siglip] [--image-size PX --patch P] "
             "[--steps N] [--layers N]`: the shipped CLIP's vision architecture (SigLIP's, with its "
             f"attention-pooling head, where the column says so; {SIZES['small']['vision_layers']} layers "
             "unless the column says otherwise), "
             "trained from scratch with one classification head per task on the "
             f"painter's labels ({first['scenes']:,} training scenes, {first['steps']:,} steps of "
             f"{DEFAULTS['batch_size']} as "
             "`make models` unless the column says otherwise), ranks the same pools. Told exactly what to "
             "read, this is about the most the tower reads at that size in that time: a model that "
             "learns details only from captions can hardly read more.",
             "", "| | chance | " + " | ".join(n + (" (as shipped)" if runs[n].get("shipped_size") else "")
                                            for n in names) + " |",
             "|---" * (2 + len(names)) + "|"]
    for g, r in first["groups"].items():
        parts.append(f"| **{_GROUP_NAMES[g]}** | {r['chance']:.2f} | "
                     + " | ".join(f"**{runs[n]['groups'][g]['accuracy']:.2f}**" for n in names) + " |")
    for name, r in first["tasks"].items():
        if r["group"] == "count":
            parts.append(f"| {name} | {r['chance']:.2f} | "
                         + " | ".join(f"{runs[n]['tasks'][name]['accuracy']:.2f}" for n in names) + " |")
    parts.append("| min of training | | " + " | ".join(f"{runs[n]['minutes']:.1f}" for n in names) + " |")
    shipped, same = same_cost_towers(runs)
    if same:
        target = FINEGRAINED_TARGETS["count"]
        reached = [r for r in same if r["groups"]["count"]["accuracy"] >= target]
        parts += ["", f"Runs that spend the shipped tower's layer-steps differently ({_layers(shipped)} "
                  f"layers for {shipped['steps']:,} steps), counts: as shipped "
                  f"{shipped['groups']['count']['accuracy']:.2f}; "
                  + "; ".join(f"{_layers(r)} layers for {r['steps']:,} steps "
                              f"{r['groups']['count']['accuracy']:.2f}" for r in same)
                  + (f". Trading depth for steps does not reach the target ({target})." if not reached
                     else f". {len(reached)} of them {'reaches' if len(reached) == 1 else 'reach'} "
                          f"the target ({target}).")]
    return parts


def loss_lines(record: dict) -> list[str]:
    """SigLIP's towers trained with CLIP's recipe, one main loss per row: is it the loss?"""
    run = record.get("losses")
    if not run:
        return []
    rows = run["rows"]
    parts = ["", "### Why SigLIP reads fewer details: its loss, not its towers", "",
             "`python bench/bench_finegrained.py losses`: SigLIP's towers trained with the shipped CLIP's "
             f"recipe ({run['recipe']}), {run['steps']:,} steps of {run['batch_size']} on {run['scenes']:,} "
             f"scenes (warm-up {run['warmup']}): the same seed and data in every row, only the main loss "
             "changes (the hard-negative term is the recipe's own softmax in every row). The last row is "
             "CLIP trained the same way. Far shorter than `make models`: compare the rows with each other.",
             "", "| main loss | colours | counts | time of day | zero-shot | R@1 en | R@1 fr | R@1 de | "
                 "temperature t |", "|---" * 9 + "|"]
    for name, r in rows.items():
        parts.append(f"| {name} | " + " | ".join(
            f"{r[k]:.2f}" for k in ("colour top-1", "count top-1", "time top-1", "zero_shot_top1",
                                    "recall@1 en", "recall@1 fr", "recall@1 de", "logit_scale")) + " |")

    def colours(family: str, loss: str):
        return next((r["colour top-1"] for r in rows.values() if (r["family"], r["loss"]) == (family, loss)),
                    None)

    sigmoid, softmax, both = (colours("siglip", loss) for loss in ("sigmoid", "softmax", "sigmoid + softmax"))
    clip = colours("clip", "softmax")
    if sigmoid is None or softmax is None:
        return parts
    said = [f"Colours: SigLIP's towers read them at {softmax:.2f} with CLIP's softmax loss and at "
            f"{sigmoid:.2f} with their own sigmoid loss"
            + (f" (CLIP: {clip:.2f})" if clip is not None else "") + "."]
    if softmax - sigmoid >= 0.1:
        said.append("The towers learn the details from these captions; the sigmoid loss teaches them "
                    "far less in the same steps.")
    else:
        said.append("The loss makes little difference here.")
    if both is not None:
        said.append(f"With both losses added up they read colours at {both:.2f}, "
                    + ("as with the sigmoid alone: the softmax does not help while the sigmoid term "
                       "is there." if abs(both - sigmoid) < abs(both - softmax)
                       else "closer to the softmax alone."))
    return parts + ["", " ".join(said)]


def _layers(run: dict) -> int:
    # A record written before --layers existed is of the shipped depth.
    return run.get("layers", SIZES["small"]["vision_layers"])


def same_cost_towers(runs: dict) -> tuple[dict | None, list[dict]]:
    """The shipped CLIP tower's ceiling run, and the runs that trade its depth for steps.

    Parameters
    ----------
    runs : dict
        ``finegrained.json``'s "ceiling" record: name -> run.

    Returns
    -------
    (dict or None, list of dict)
        The run of the shipped size (None if there is none), and the CLIP-tower runs of
        the same picture size and patches with other depths whose layers x steps equal
        its own (the same work in the transformer layers; their minutes differ a little).
    """
    shipped = next((r for r in runs.values() if r.get("shipped_size") and r.get("family", "clip") == "clip"),
                   None)
    if shipped is None or not shipped.get("image_size"):
        return shipped, []
    same = [r for r in runs.values() if r.get("family", "clip") == "clip" and _layers(r) != _layers(shipped)
            and (r.get("image_size"), r.get("patch")) == (shipped["image_size"], shipped.get("patch"))
            and _layers(r) * r["steps"] == _layers(shipped) * shipped["steps"]]
    return shipped, same


def read_record(folder) -> dict:
    """The ``finegrained.json`` beside the models (empty if there is none)."""
    path = Path(folder) / RECORD_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _groups(m: dict) -> dict:
    return {g: r["accuracy"] for g, r in m["finegrained"]["groups"].items()}


def weak_spots(m: dict) -> list[str]:
    """The benchmark's tasks that stay below their group's target (time of day: below 0.8)."""
    out = []
    for name, r in m["finegrained"]["tasks"].items():
        target = FINEGRAINED_TARGETS.get(r["group"], 0.8)
        if r["accuracy"] < target:
            out.append(f"{name}: top-1 {r['accuracy']:.2f} (chance {r['chance']:.2f}, "
                       f"{r['trials']} trials)")
    return out


def limits_lines(m: dict) -> list[str]:
    """'What it still cannot do': the measured weak spots, then what no training here teaches."""
    weak = weak_spots(m)
    lines = ["- below target on the fine-grained benchmark: " + ("; ".join(weak) if weak else "none")]
    return lines + [f"- {limit}" for limit in LIMITS]


def report_lines(metrics: dict, folder) -> list[str]:
    """The fine-grained section of EVAL.md: targets, before/after, per task, ablation, limits."""
    duals = [f for f in ("clip", "siglip") if f in metrics and "finegrained" in metrics[f]]
    if not duals:
        return []
    record = read_record(folder)
    before = record.get("before", {}).get("models", {})
    parts = ["## Fine-grained: colours, counts, time of day", "",
             "`imgsearch_helpers.evaluation.finegrained_benchmark`: held-out scenes (seed 7) whose "
             "attributes the painter recorded. A query (\"a red car\", \"two cats\", \"a snowman with "
             f"a blue hat\") ranks a pool of {POOL_SIZE} scenes of its kind; top-1 is right when the "
             "first picture shows the queried value. Chance: the share of the pool that shows it. "
             "Targets: colours >= {colour}, counts >= {count}.".format(**FINEGRAINED_TARGETS), ""]
    header = "| model | " + " | ".join(f"{_GROUP_NAMES[g]} before | after | chance"
                                       for g in ("colour", "count", "time")) + " |"
    parts += [header, "|---" * (1 + 3 * 3) + "|"]
    for family in duals:
        now = metrics[family]["finegrained"]["groups"]
        old = before.get(family, {})
        cells = []
        for g in ("colour", "count", "time"):
            was = old.get(f"{g} top-1")
            cells += [f"{was:.2f}" if was is not None else "-", f"**{now[g]['accuracy']:.2f}**",
                      f"{now[g]['chance']:.2f}"]
        parts.append(f"| clipart-{family} | " + " | ".join(cells) + " |")
    parts += ["", "Per task (before -> after):", "",
              "| task | chance | " + " | ".join(f"{f} before | {f} after" for f in duals) + " |",
              "|---" * (2 + 2 * len(duals)) + "|"]
    tasks = metrics[duals[0]]["finegrained"]["tasks"]
    for name, r in tasks.items():
        cells = [name, f"{r['chance']:.2f}"]
        for family in duals:
            was = before.get(family, {}).get("tasks", {}).get(name)
            cells += [f"{was:.2f}" if was is not None else "-",
                      f"{metrics[family]['finegrained']['tasks'][name]['accuracy']:.2f}"]
        parts.append("| " + " | ".join(cells) + " |")
    if before:
        parts += ["", f"Before: {record['before']['what']}."]
    parts += full_run_lines(record)
    ablation = record.get("ablation")
    if ablation:
        parts += ["", "### Ablation (short trainings)", "",
                  f"Every row: {ablation['steps']} steps of batch {ablation['batch_size']} on "
                  f"{ablation['scenes']:,} scenes (the shipped models: far more), the same seed, data "
                  "and tokenizer; only the recipe changes. `python bench/bench_finegrained.py "
                  "ablation` measures it."
                  + (" The rows " + ", ".join(f'"{n}"' for n in ablation["timed_apart"]) + " were "
                     "trained later, on their own (`--rows`): compare their s/step with each other only."
                     if ablation.get("timed_apart") else ""), "",
                  "| recipe | model | colours | counts | time of day | zero-shot | R@1 en | R@1 fr | "
                  "R@1 de | s/step |", "|---" * 10 + "|"]
        for name, fams in ablation["rows"].items():
            for family, r in fams.items():
                parts.append(f"| {name} | {family} | " + " | ".join(
                    f"{r[k]:.2f}" for k in ("colour top-1", "count top-1", "time top-1", "zero_shot_top1",
                                            "recall@1 en", "recall@1 fr", "recall@1 de", "s/step")) + " |")
    parts += probe_lines(record)
    parts += ceiling_lines(record)
    parts += loss_lines(record)
    parts += ["", "### What the models still cannot do", ""]
    for family in duals:
        parts += [f"clipart-{family}:", ""] + limits_lines(metrics[family])[:1] + [""]
    parts += [f"- {limit}" for limit in LIMITS] + [""]
    return parts
