"""The fine-grained benchmark of the offline models, and the ablation of their training recipe.

    python bench/bench_finegrained.py before             # measure data/models as "before"
    python bench/bench_finegrained.py ablation --steps 250 --scenes 3000
    python bench/bench_finegrained.py full /tmp/run --name "fine-grained recipe"
    python bench/bench_finegrained.py probe              # what the image embeddings hold
    python bench/bench_finegrained.py ceiling [--family siglip] [--steps 2400] [--layers 2]   # the tower on labels
    python bench/bench_finegrained.py losses             # SigLIP's towers, one main loss per row
    python bench/bench_finegrained.py train-with-loss softmax -- --out /tmp/run --only siglip ...

``before`` records the shipped models' numbers; ``ablation`` trains CLIP and SigLIP
once per recipe (same seed, data, tokenizer and number of steps for every row; far
fewer steps than ``make models``, so that the whole table costs minutes) and measures
each; ``probe`` fits a linear probe per task on the shipped models' image embeddings
of training scenes and scores it on the benchmark's pools, beside the text queries (is a
detail missing from the picture's embedding, or only from the query's?); ``ceiling`` trains
the same image tower from scratch on the painter's labels, one head per task (what can the tower
read at all at this size in this time?); ``full`` records a full-length training run (``python -m imgsearch_helpers.training
--out RUN ...``, which measures its models itself) beside the "before" row, so that the
recipe each shipped model gets (``training.SHIPPED_RECIPES``) is chosen on full-length numbers;
``train-with-loss`` runs that training command with SigLIP's main loss swapped as a ``losses`` row
swaps it (a row at full length; ``full`` then records it, its loss named). Both keep their numbers in data/models/finegrained.json, which the training
command puts into data/models/EVAL.md, and write a section of bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RECORD = Path(os.environ.get("FINEGRAINED_RECORD", ROOT / "data" / "models" / "finegrained.json"))
ROWS = {  # one change per row
    "baseline recipe": dict(attribute_share=0.0, hard_negatives=0),
    "+ attribute captions (half the pairs)": dict(attribute_share=0.5, hard_negatives=0),
    "+ hard negatives (attribute captions at their natural share)": dict(attribute_share=None,
                                                                       hard_negatives=1),
    "both (the fine-grained recipe)": dict(attribute_share=0.5, hard_negatives=1),
    "+ FG-CLIP's hard-negative term": dict(attribute_share=0.5, hard_negatives=1, hard_loss=1.0),
    "+ attribute captions in place of English ones only (the shipped CLIP's recipe)":
        dict(attribute_share=0.8, hard_negatives=1, keep_translations=True, hard_loss=1.0),
}


def summary(m: dict) -> dict:
    """The numbers one row of a table shows."""
    fg = m["finegrained"]["groups"]
    return {"zero_shot_top1": m["zero_shot_top1"], "recall@1 en": m["recall@1"],
            "recall@1 fr": m["languages"]["fr"]["recall@1"], "recall@1 de": m["languages"]["de"]["recall@1"],
            **{f"{g} top-1": r["accuracy"] for g, r in fg.items()},
            **{f"{g} chance": r["chance"] for g, r in fg.items()},
            "tasks": {name: r["accuracy"] for name, r in m["finegrained"]["tasks"].items()}}


def _load() -> dict:
    return json.loads(RECORD.read_text()) if RECORD.exists() else {}


def _save(record: dict) -> None:
    RECORD.write_text(json.dumps(record, indent=1) + "\n")


def _rows_table(rows: dict) -> str:
    header = ["", "model", "colours top-1", "counts top-1", "time top-1", "zero-shot", "R@1 en",
              "R@1 fr", "R@1 de"]
    body = [[name, fam, *(f"{r[k]:.2f}" for k in ("colour top-1", "count top-1", "time top-1",
                                                    "zero_shot_top1", "recall@1 en", "recall@1 fr",
                                                    "recall@1 de"))]
            for name, fams in rows.items() for fam, r in fams.items()]
    return table(header, body)


def before(args) -> None:
    from imgsearch_helpers import training
    from imgsearch_helpers.evaluation import finegrained_set

    fset, heldout = finegrained_set(), training.heldout_scenes(50)
    rows = {}
    for family in ("clip", "siglip"):
        m = training.evaluate(ROOT / "data" / "models" / f"clipart-{family}", heldout=heldout,
                              finegrained=fset)
        rows[family] = summary(m)
    record = _load()
    record["before"] = {"what": args.what, "models": rows}
    _save(record)
    write_section("bench_finegrained before", f"{args.what}\n\n" + _rows_table({"before": rows}))
    print(_rows_table({"before": rows}))


def _check_rows_fit(record: dict, key: str, args) -> None:
    """--rows adds rows to a recorded run: refuse, before training, a run of other settings."""
    old = record.get(key, {})
    if (old.get("steps"), old.get("scenes"), old.get("warmup")) != (args.steps, args.scenes, args.warmup):
        raise SystemExit(f"--rows adds rows to the recorded {key}: give its --steps, --scenes "
                         f"and --warmup ({old.get('steps')}, {old.get('scenes')}, {old.get('warmup')})")


def ablation(args) -> None:
    import torch
    from imgsearch_helpers import training
    from imgsearch_helpers.evaluation import finegrained_set

    torch.set_num_threads(args.threads)
    t0 = time.time()
    data = training.prepare_data(args.scenes, progress=False)
    fset, heldout = finegrained_set(args.per_kind), training.heldout_scenes(50 if args.per_kind > 10 else 2)
    print(f"data: {time.time() - t0:.0f} s", flush=True)
    record = _load()
    chosen = ROWS if not args.rows else {name: ROWS[name] for name in ROWS if name in args.rows}
    if args.rows and len(chosen) < len(set(args.rows)):
        raise SystemExit(f"unknown rows {sorted(set(args.rows) - set(chosen))}; rows: {list(ROWS)}")
    if args.rows:  # only these rows again: the others keep their recorded numbers
        _check_rows_fit(record, "ablation", args)
    rows = {}
    for name, recipe in chosen.items():
        rows[name] = {}
        for family, train in (("clip", training.train_clip), ("siglip", training.train_siglip)):
            start = time.perf_counter()
            model, _ = train(data, steps=args.steps, warmup=args.warmup, progress=False, **recipe)
            per_step = (time.perf_counter() - start) / args.steps
            with tempfile.TemporaryDirectory() as tmp:
                folder = training.save(model, family, data.tokenizer, Path(tmp) / family)
                rows[name][family] = summary(training.evaluate(folder, heldout=heldout, finegrained=fset))
            rows[name][family]["s/step"] = per_step
            print(name, family, {k: v for k, v in rows[name][family].items() if k != "tasks"}, flush=True)
    if args.rows:
        repro = record["ablation"]["reproducible"]
        kept = record["ablation"]["rows"]
        rows = {name: rows.get(name, kept.get(name)) for name in ROWS if name in rows or name in kept}
    else:
        repro = reproducible(data, training)
    later = sorted(set(record.get("ablation", {}).get("timed_apart", [])) | set(chosen)) if args.rows else []
    record["ablation"] = {"steps": args.steps, "warmup": args.warmup, "scenes": args.scenes,
                          "batch_size": training.DEFAULTS["batch_size"], "reproducible": repro,
                          "timed_apart": [name for name in rows if name in later],
                          "recipes": {k: training.full_recipe(v) for k, v in ROWS.items() if k in rows},
                          "rows": rows}
    _save(record)
    cost = table(["", "CLIP s/step", "SigLIP s/step"],
                 [[n, f"{r['clip']['s/step']:.2f}", f"{r['siglip']['s/step']:.2f}"] for n, r in rows.items()])
    write_section("bench_finegrained ablation",
                  f"Short trainings: {args.steps} steps of batch {training.DEFAULTS['batch_size']} on "
                  f"{args.scenes:,} scenes for every row, warm-up {args.warmup} steps (the shipped models "
                  "train 1,200 steps on 12,000): the same seed, data and tokenizer; only the recipe "
                  "differs.\n\n" + _rows_table(rows)
                  + "\n\nTime per step, rows one after the other in the same run (on a shared machine the load "
                  "changes between rows: read the ratios as rough)"
                  + (f"; the rows {', '.join(repr(r) for r in chosen)} were trained later, on their own "
                     "(--rows), and timed in that run: compare their times with each other only"
                     if args.rows else "")
                  + ":\n\n" + cost)
    print(_rows_table(rows))
    print(cost)
    print(repro)


def full(args) -> None:
    from imgsearch_helpers import training
    from imgsearch_helpers.evaluation import MEASURED_FILE

    run = json.loads((Path(args.run) / MEASURED_FILE).read_text())
    rows = {}
    for family in ("clip", "siglip"):
        m = run["metrics"].get(family)
        if m and "finegrained" in m:
            info = run["training"][family]
            rows[family] = dict(summary(m), image_to_image=m["image_to_image"], minutes=info["minutes"],
                                steps=info["steps"], batch_size=info["batch_size"],
                                recipe=training.full_recipe(info))
            if "main_loss" in info:     # trained by train-with-loss: not the family's own loss
                rows[family]["main_loss"] = info["main_loss"]
    if not rows:
        raise SystemExit(f"{args.run}/{MEASURED_FILE} has no dual encoder measured on the fine-grained benchmark")
    record = _load()
    record.setdefault("full_runs", {})[args.name] = {"command": run["command"], "models": rows}
    _save(record)
    print(_rows_table({args.name: rows}))


def _fit_probe(x, y, classes: int, l2: float = 1e-3, steps: int = 200):
    """Multinomial logistic regression on fixed features (full batch, L-BFGS): the weights."""
    import torch

    x, y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
    w = torch.zeros(x.shape[1] + 1, classes, requires_grad=True)
    xb = torch.cat([x, torch.ones(len(x), 1)], 1)
    opt = torch.optim.LBFGS([w], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xb @ w, y) + l2 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach()


def probe(args) -> None:
    """Linear probes on the image embeddings against the text queries, per task."""
    import numpy as np
    import torch
    from imgsearch_helpers import clipart, load_model
    from imgsearch_helpers.embeddings import embed_images, embed_texts
    from imgsearch_helpers.evaluation import FINEGRAINED_TASKS as TASKS, finegrained_set, score_finegrained

    torch.set_num_threads(args.threads)
    fset = finegrained_set()
    queries = fset.queries()
    train = list(clipart.iter_scenes(args.scenes, 0))  # the training scenes' seed: seen in training
    rows, body = {}, []
    for family in ("clip", "siglip"):
        loaded = load_model(f"imgsearch/clipart-{family}")
        x_train = embed_images(loaded, [s.image for s in train], progress=False)
        x_test = embed_images(loaded, fset.images, progress=False)
        # Each benchmark picture gets one score per query: the probe's log-probability of the
        # query's value, from the probe of the query's task (-inf for pictures of other kinds).
        probe_scores = np.full((len(fset), len(queries)), -1e9, dtype=np.float32)
        for task in TASKS:
            values = task.values()
            pairs = [(i, task.value(s.attributes)) for i, s in enumerate(train) if task.takes_part(s.attributes)]
            pairs = [(i, v) for i, v in pairs if v in values]
            w = _fit_probe(x_train[[i for i, _ in pairs]], [values.index(v) for _, v in pairs], len(values))
            mine = [i for i, a in enumerate(fset.attributes) if a["kind"] == task.kind]
            logp = torch.log_softmax(torch.cat([torch.as_tensor(x_test[mine]), torch.ones(len(mine), 1)], 1) @ w, 1)
            for j, v in enumerate(values):
                probe_scores[mine, queries.index(task.query(v))] = logp[:, j].numpy()
        onehot = np.eye(len(queries), dtype=np.float32)
        by_probe = score_finegrained(fset, probe_scores, lambda qs: onehot[[queries.index(q) for q in qs]])
        by_text = score_finegrained(fset, x_test, lambda qs: embed_texts(loaded, qs))
        rows[family] = {"probe": by_probe, "text": by_text}
        for name, r in by_text["tasks"].items():
            body.append([f"clipart-{family}", name, f"{r['chance']:.2f}", f"{r['accuracy']:.2f}",
                         f"{by_probe['tasks'][name]['accuracy']:.2f}"])
        for g, r in by_text["groups"].items():
            body.append([f"clipart-{family}", f"**all {g}**", f"{r['chance']:.2f}", f"**{r['accuracy']:.2f}**",
                         f"**{by_probe['groups'][g]['accuracy']:.2f}**"])
    record = _load()
    record["probe"] = {"scenes": args.scenes, "models": {f: {k: v["groups"] for k, v in r.items()}
                                                        for f, r in rows.items()}}
    _save(record)
    text = table(["model", "task", "chance", "text query top-1", "linear probe top-1"], body)
    write_section("bench_finegrained probe",
                  f"A linear probe per task (multinomial logistic regression, L-BFGS) fitted on the shipped "
                  f"models' image embeddings of {args.scenes:,} training scenes (seed 0), scored on the "
                  "benchmark's own pools: the probe's log-probability of the queried value ranks the pool "
                  "where the text query's cosine did. Where the probe reads a detail that the query misses, "
                  "the picture's embedding holds it and the text side does not reach it; where the probe "
                  "misses it too, the image tower never encoded it.\n\n" + text)
    print(text)


def ceiling(args) -> None:
    """The shipped image tower trained from scratch to read the details directly (a ceiling).

    The dual encoders learn details only through captions. Here the same vision
    architecture (CLIP's, or SigLIP's with ``--family siglip``; 64 px unless
    ``--image-size``) gets one classification head per task ("how many trees": 1-5) and
    the painter's labels, on the same 12,000 training scenes, for the same 1,200 steps of
    128 unless ``--steps``: what this tower can read at this size in this time when told
    exactly what to read. Scored on the benchmark's own pools, as the probes are.
    """
    import numpy as np
    import torch
    import torch.nn.functional as F
    from transformers import CLIPVisionConfig, CLIPVisionModel, SiglipVisionConfig, SiglipVisionModel

    from imgsearch_helpers import clipart, training
    from imgsearch_helpers.evaluation import FINEGRAINED_TASKS as TASKS, finegrained_set, score_finegrained
    from imgsearch_helpers.training._data import Batches, augment, normalise, to_model_size
    from imgsearch_helpers.training._loops import warmup_cosine
    from imgsearch_helpers.training._models import NORMALISATION, _size, _vision

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    t0 = time.time()
    scenes = list(clipart.iter_scenes(args.scenes, 0))  # the training scenes' seed
    images = torch.from_numpy(np.stack([to_model_size(s.image, args.image_size) for s in scenes]))
    values = [task.values() for task in TASKS]
    # labels[i, t]: the index of scene i's value for task t, -1 where the task does not apply
    labels = torch.tensor([[vals.index(task.value(s.attributes))
                            if task.takes_part(s.attributes) and task.value(s.attributes) in vals else -1
                            for task, vals in zip(TASKS, values)] for s in scenes])
    vision = dict(_vision(_size("small")), image_size=args.image_size, patch_size=args.patch)
    if args.layers:
        vision["num_hidden_layers"] = args.layers
    tower = (CLIPVisionModel(CLIPVisionConfig(**vision)) if args.family == "clip"
             else SiglipVisionModel(SiglipVisionConfig(**vision)))  # SigLIP's: attention-pooling head
    mean, std = NORMALISATION[args.family]
    heads = torch.nn.ModuleList(torch.nn.Linear(tower.config.hidden_size, len(v)) for v in values)
    params = list(tower.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=training.DEFAULTS["lr"], weight_decay=training.DEFAULTS["weight_decay"])
    sched = torch.optim.lr_scheduler.LambdaLR(  # the schedule every training here uses
        opt, lambda k: warmup_cosine(k, args.steps, training.DEFAULTS["warmup"]))
    batches = Batches(len(scenes), training.DEFAULTS["batch_size"], rng)
    for step in range(args.steps):
        idx = batches.next()
        pooled = tower(pixel_values=normalise(augment(images[idx], rng), mean, std)).pooler_output
        y = labels[idx]
        loss = sum(F.cross_entropy(head(pooled[y[:, t] >= 0]), y[y[:, t] >= 0, t])
                   for t, head in enumerate(heads) if (y[:, t] >= 0).any())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if (step + 1) % 100 == 0:
            print(f"step {step + 1}: loss {loss.item():.3f}", flush=True)
    minutes = (time.time() - t0) / 60
    fset = finegrained_set()
    queries = fset.queries()
    tower.eval()
    with torch.inference_mode():
        test = torch.from_numpy(np.stack([to_model_size(im, args.image_size) for im in fset.images]))
        pooled = torch.cat([tower(pixel_values=normalise(test[i:i + 256], mean, std)).pooler_output
                            for i in range(0, len(test), 256)])
        scores = np.full((len(fset), len(queries)), -1e9, dtype=np.float32)
        for task, vals, head in zip(TASKS, values, heads):
            mine = [i for i, a in enumerate(fset.attributes) if a["kind"] == task.kind]
            logp = head(pooled[mine]).log_softmax(1).numpy()
            for j, v in enumerate(vals):
                scores[mine, queries.index(task.query(v))] = logp[:, j]
    onehot = np.eye(len(queries), dtype=np.float32)
    result = score_finegrained(fset, scores, lambda qs: onehot[[queries.index(q) for q in qs]])
    record = _load()
    shipped = (args.image_size, args.patch) == (clipart.MODEL_IMAGE_SIZE, _size("small")["patch"])
    longer = args.steps != training.DEFAULTS["clip_steps"]
    layers = vision["num_hidden_layers"]
    other_depth = layers != _size("small")["vision_layers"]
    name = ("SigLIP's tower, " if args.family == "siglip" else "") + (
        f"{args.image_size} px, patches of {args.patch}" + (f", {layers} layers" if other_depth else "")
        + (f", {args.steps:,} steps" if longer else ""))
    record.setdefault("ceiling", {})[name] = {
        "scenes": args.scenes, "steps": args.steps, "minutes": minutes,
        "shipped_size": shipped and not longer and not other_depth, "layers": layers,
        "image_size": args.image_size, "patch": args.patch, "family": args.family,
        "groups": result["groups"], "tasks": result["tasks"]}
    _save(record)
    body = [[name, f"{r['chance']:.2f}", f"{r['accuracy']:.2f}"] for name, r in result["tasks"].items()]
    body += [[f"**all {g}**", f"{r['chance']:.2f}", f"**{r['accuracy']:.2f}**"] for g, r in result["groups"].items()]
    text = table(["task", "chance", "supervised tower top-1"], body)
    write_section(f"bench_finegrained ceiling {args.family} {args.image_size}px"
                  + (f" {layers} layers" if other_depth else "") + (f" {args.steps} steps" if longer else ""),
                  f"The shipped {'CLIP' if args.family == 'clip' else 'SigLIP'}'s vision architecture "
                  + (f"with {layers} layers instead of its {_size('small')['vision_layers']} (width "
                     f"{_size('small')['width']})" if other_depth
                     else f"({layers} layers of width {_size('small')['width']})") + f" at {args.image_size} px with "
                  f"patches of {args.patch} ({(args.image_size // args.patch) ** 2} patches; the shipped models: "
                  f"{clipart.MODEL_IMAGE_SIZE} px, patches of {_size('small')['patch']}), trained "
                  f"from scratch with one classification head per task on the painter's labels: "
                  f"{args.scenes:,} training scenes (seed 0), {args.steps} steps of "
                  f"{training.DEFAULTS['batch_size']}, {minutes:.1f} min. Scored on the benchmark's own pools, "
                  "as the probes are: what this tower reads at this size when it is told exactly what "
                  "to read.\n\n" + text)
    print(text)


# The main loss of each row of `losses` (the hard-negative term is the recipe's own in every row).
LOSS_ROWS = {
    "sigmoid (SigLIP's loss, as make models trains it)": ("siglip", "sigmoid"),
    "softmax (CLIP's loss) on SigLIP's towers": ("siglip", "softmax"),
    "sigmoid + softmax on SigLIP's towers": ("siglip", "sigmoid + softmax"),
    "sigmoid, other pictures' kind-level captions left out": ("siglip", "sigmoid, kind-level left out"),
    "CLIP's towers and loss (softmax)": ("clip", "softmax"),
}


class _MainLoss:
    """Swap the SigLIP loss that `_dual_step` calls for the duration of one run of `losses`.

    ``make models`` has no such option: this measures, on the same towers, data and steps,
    how much of SigLIP's weak reading of details comes from its loss.
    """

    def __init__(self, kind: str):
        self.kind = kind

    def __enter__(self):
        import torch
        from imgsearch_helpers.training import _loops

        self._saved = (_loops.sigmoid_loss, _loops.sample_captions)
        sigmoid, sample = self._saved
        left_out = {}
        if self.kind == "softmax":
            _loops.sigmoid_loss = lambda img, txt, scale, bias, positives=None: _loops.contrastive_loss(
                img, txt, scale, positives)
        elif self.kind == "sigmoid + softmax":
            _loops.sigmoid_loss = lambda img, txt, scale, bias, positives=None: (
                sigmoid(img, txt, scale, bias, positives) + _loops.contrastive_loss(img, txt, scale, positives))
        elif self.kind == "sigmoid, kind-level left out":
            # A caption true of every picture of its kind ("a photo of a car") counts as a
            # positive for the other pictures of that kind in make models' loss; here such
            # pairs are neither positive nor negative (Google's SigLIP loss has only its
            # diagonal as positives).
            def sample_captions(data, idx, rng, **recipe):
                captions, positives = sample(data, idx, rng, **recipe)
                kind_level = (data.caption_kinds[captions] >= 0).view(1, -1)
                own = torch.eye(len(idx), len(captions), dtype=torch.bool)
                left_out["mask"] = positives & kind_level & ~own
                return captions, positives

            _loops.sample_captions = sample_captions
            _loops.sigmoid_loss = lambda img, txt, scale, bias, positives=None: sigmoid(
                img, txt, scale, bias, positives, ignore=left_out["mask"])
        elif self.kind != "sigmoid":
            raise ValueError(self.kind)
        return self

    def __exit__(self, *exc):
        from imgsearch_helpers.training import _loops

        _loops.sigmoid_loss, _loops.sample_captions = self._saved


# train-with-loss reads these two of the training command's options (the command parses them all).
_TRAINED = argparse.ArgumentParser(add_help=False)
_TRAINED.add_argument("--out")
_TRAINED.add_argument("--only")


def train_with_loss(args) -> None:
    """`make models`' training command, with SigLIP's main loss swapped as a ``losses`` row swaps it.

    The full-length counterpart of a ``losses`` row: the run's eval.json names this command
    (not the training command, which cannot swap the loss), so that ``full`` records how the
    run was made.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # as the training command sets it, before torch loads
    from imgsearch_helpers.evaluation import MEASURED_FILE
    from imgsearch_helpers.training._command import main as train_main

    kinds = {kind for family, kind in LOSS_ROWS.values() if family == "siglip"}
    if args.loss not in kinds:
        raise SystemExit(f"unknown loss {args.loss!r}; one of {sorted(kinds)}")
    # The two training options this needs: a run folder of its own (never data/models, the
    # command's default) and SigLIP among the models trained (--only, by default all of them).
    given, _ = _TRAINED.parse_known_args(args.training_args)
    trained = None if given.only is None else [f.strip() for f in given.only.split(",")]
    if given.out is None or (trained is not None and "siglip" not in trained):
        raise SystemExit("give the training command's --out, and SigLIP among --only "
                         "(the loss swapped is SigLIP's)")
    with _MainLoss(args.loss):
        train_main(args.training_args)
    _mark_run(Path(given.out) / MEASURED_FILE, args.loss, args.training_args)


def _mark_run(run: Path, loss: str, training_args: list[str]) -> None:
    """Write into a run's eval.json how ``train-with-loss`` made it: its command, SigLIP's main loss."""
    import shlex

    record = json.loads(run.read_text())
    record["command"] = "python " + shlex.join(["bench/bench_finegrained.py", "train-with-loss", loss,
                                                "--", *training_args])
    record["training"]["siglip"]["main_loss"] = loss
    run.write_text(json.dumps(record, indent=1) + "\n")
    print(f"{run}: {record['command']}")


def losses(args) -> None:
    """SigLIP's towers trained with the shipped CLIP's recipe, only the main loss changed.

    SigLIP reads details far worse than CLIP after every recipe (EVAL.md's full-length
    runs). Its towers are not the reason (the ceiling: trained on the labels, SigLIP's
    image tower reads colours at 0.99). This trains the SigLIP architecture with
    :data:`training.HARD_NEGATIVE_RECIPE` (the shipped CLIP's) on the same scenes, seed and
    steps once per main loss, and CLIP the same way beside them.
    """
    import torch
    from imgsearch_helpers import training
    from imgsearch_helpers.evaluation import finegrained_set

    torch.set_num_threads(args.threads)
    t0 = time.time()
    data = training.prepare_data(args.scenes, progress=False)
    fset, heldout = finegrained_set(), training.heldout_scenes(50)
    print(f"data: {time.time() - t0:.0f} s", flush=True)
    chosen = {n: LOSS_ROWS[n] for n in LOSS_ROWS if not args.rows or n in args.rows}
    if args.rows and len(chosen) < len(set(args.rows)):
        raise SystemExit(f"unknown rows {sorted(set(args.rows) - set(chosen))}; rows: {list(LOSS_ROWS)}")
    record = _load()
    if args.rows:  # only these rows again: the others keep their recorded numbers
        _check_rows_fit(record, "losses", args)
    rows = {}
    for name, (family, kind) in chosen.items():
        train = training.train_siglip if family == "siglip" else training.train_clip
        with _MainLoss(kind if family == "siglip" else "sigmoid"):
            start = time.perf_counter()
            model, _ = train(data, steps=args.steps, warmup=args.warmup, progress=False,
                             **training.HARD_NEGATIVE_RECIPE)
            per_step = (time.perf_counter() - start) / args.steps
        with tempfile.TemporaryDirectory() as tmp:
            folder = training.save(model, family, data.tokenizer, Path(tmp) / family)
            rows[name] = summary(training.evaluate(folder, heldout=heldout, finegrained=fset))
        rows[name].update({"family": family, "loss": kind, "s/step": per_step,
                           "logit_scale": float(model.logit_scale.detach().exp()),
                           "logit_bias": float(model.logit_bias.detach()) if family == "siglip" else None})
        print(name, {k: v for k, v in rows[name].items() if k != "tasks"}, flush=True)
    if args.rows:
        kept = record["losses"]["rows"]
        rows = {n: rows.get(n, kept.get(n)) for n in LOSS_ROWS if n in rows or n in kept}
    recipe = training.recipe_name(training.HARD_NEGATIVE_RECIPE)
    record["losses"] = {"steps": args.steps, "scenes": args.scenes, "warmup": args.warmup,
                        "batch_size": training.DEFAULTS["batch_size"], "recipe": recipe, "rows": rows}
    _save(record)
    header = ["main loss", "colours", "counts", "time of day", "zero-shot", "R@1 en", "R@1 fr", "R@1 de",
              "temperature t", "s/step"]
    body = [[name, *(f"{r[k]:.2f}" for k in ("colour top-1", "count top-1", "time top-1", "zero_shot_top1",
                                             "recall@1 en", "recall@1 fr", "recall@1 de", "logit_scale")),
             f"{r['s/step']:.2f}"] for name, r in rows.items()]
    text = table(header, body)
    write_section("bench_finegrained losses",
                  f"SigLIP's towers trained with the shipped CLIP's recipe ({recipe}), "
                  f"{args.steps} steps of {training.DEFAULTS['batch_size']} on {args.scenes:,} scenes, warm-up "
                  f"{args.warmup}, the same seed and data in every row; only the main loss changes (the "
                  "hard-negative term is the recipe's own softmax in every row). Chance: colours "
                  f"{next(iter(rows.values()))['colour chance']:.2f}, counts "
                  f"{next(iter(rows.values()))['count chance']:.2f}.\n\n" + text)
    print(text)


def reproducible(data, training, steps: int = 20) -> str:
    """Train the new recipe twice with the same seed: are the weights byte-identical?"""
    import torch

    states = []
    for _ in range(2):
        model, _ = training.train_siglip(data, steps=steps, progress=False, **training.FINEGRAINED_RECIPE)
        states.append(b"".join(t.numpy().tobytes() for t in model.state_dict().values()))
    same = states[0] == states[1]
    return (f"new recipe (SigLIP, hard negatives), {steps} steps twice with seed "
            f"{training.DEFAULTS.get('seed', 0)}: weights {'byte-identical' if same else 'DIFFER'} "
            f"({len(states[0]):,} bytes; torch {torch.__version__})")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("before", help="measure data/models and record them as the baseline")
    b.add_argument("--what", default="the shipped weights before fine-grained training")
    a = sub.add_parser("ablation", help="short trainings, one per recipe")
    a.add_argument("--steps", type=int, default=250)
    a.add_argument("--scenes", type=int, default=3000)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--warmup", type=int, default=30)
    a.add_argument("--per-kind", type=int, default=100, help="benchmark scenes per kind")
    a.add_argument("--rows", nargs="+", metavar="NAME",
                   help="train only these rows again (names as in the table) and keep the others' numbers")
    f = sub.add_parser("full", help="record a full-length training run (its eval.json)")
    f.add_argument("run", help="the --out folder of python -m imgsearch_helpers.training")
    f.add_argument("--name", required=True, help="the recipe's name in the table")
    p = sub.add_parser("probe", help="linear probes on the shipped models' image embeddings")
    p.add_argument("--scenes", type=int, default=6000, help="training scenes to fit the probes on")
    p.add_argument("--threads", type=int, default=2)
    c = sub.add_parser("ceiling", help="the image tower trained with labels to read each detail")
    c.add_argument("--scenes", type=int, default=12000)
    c.add_argument("--steps", type=int, default=1200)
    c.add_argument("--threads", type=int, default=2)
    c.add_argument("--image-size", type=int, default=64,
                   help="pixels the tower sees (the shipped models: 64; the scenes are drawn at 128)")
    c.add_argument("--patch", type=int, default=8, help="patch size (the shipped models: 8)")
    c.add_argument("--layers", type=int, default=0, help="the tower's layers (default: the shipped 4)")
    c.add_argument("--family", default="clip", choices=("clip", "siglip"),
                   help="whose vision tower: CLIP's (class token) or SigLIP's (attention-pooling head)")
    lo = sub.add_parser("losses", help="SigLIP's towers with the shipped CLIP's recipe, one main loss per row")
    lo.add_argument("--steps", type=int, default=400)
    lo.add_argument("--scenes", type=int, default=6000)
    lo.add_argument("--warmup", type=int, default=50)
    lo.add_argument("--threads", type=int, default=2)
    lo.add_argument("--rows", nargs="+", metavar="NAME", help="only these rows (names as in LOSS_ROWS)")
    t = sub.add_parser("train-with-loss", help="the training command with SigLIP's main loss swapped "
                                               "(a losses row at full length)")
    t.add_argument("loss", help="SigLIP's main loss, as in the losses rows: softmax, 'sigmoid + softmax', ...")
    t.add_argument("training_args", nargs=argparse.REMAINDER,
                   help="-- then the arguments of python -m imgsearch_helpers.training")
    args = parser.parse_args(argv)
    if args.command == "train-with-loss" and args.training_args[:1] == ["--"]:
        args.training_args = args.training_args[1:]
    {"before": before, "ablation": ablation, "full": full, "probe": probe,
     "ceiling": ceiling, "losses": losses, "train-with-loss": train_with_loss}[args.command](args)


if __name__ == "__main__":
    main()
