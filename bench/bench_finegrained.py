"""The fine-grained benchmark of the offline models, and the ablation of their training recipe.

    python bench/bench_finegrained.py before             # measure data/models as "before"
    python bench/bench_finegrained.py ablation --steps 250 --scenes 3000
    python bench/bench_finegrained.py full /tmp/run --name "fine-grained recipe"

``before`` records the shipped models' numbers; ``ablation`` trains CLIP and SigLIP
once per recipe (same seed, data, tokenizer and number of steps for every row; far
fewer steps than ``make models``, so that the whole table costs minutes) and measures
each; ``full`` records a full-length training run (``python -m imgsearch_helpers.training
--out RUN ...``, which measures its models itself) beside the "before" row, so that the
recipe each shipped model gets (``training.SHIPPED_RECIPES``) is chosen on full-length numbers. Both keep their numbers in data/models/finegrained.json, which the training
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
    "both (the new recipe)": dict(attribute_share=0.5, hard_negatives=1),
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


def ablation(args) -> None:
    import torch
    from imgsearch_helpers import training
    from imgsearch_helpers.evaluation import finegrained_set

    torch.set_num_threads(args.threads)
    t0 = time.time()
    data = training.prepare_data(args.scenes, progress=False)
    fset, heldout = finegrained_set(args.per_kind), training.heldout_scenes(50 if args.per_kind > 10 else 2)
    print(f"data: {time.time() - t0:.0f} s", flush=True)
    rows, seconds = {}, {}
    for name, recipe in ROWS.items():
        rows[name], seconds[name] = {}, {}
        for family, train in (("clip", training.train_clip), ("siglip", training.train_siglip)):
            start = time.perf_counter()
            model, _ = train(data, steps=args.steps, warmup=args.warmup, progress=False, **recipe)
            seconds[name][family] = (time.perf_counter() - start) / args.steps
            with tempfile.TemporaryDirectory() as tmp:
                folder = training.save(model, family, data.tokenizer, Path(tmp) / family)
                rows[name][family] = summary(training.evaluate(folder, heldout=heldout, finegrained=fset))
            rows[name][family]["s/step"] = seconds[name][family]
            print(name, family, {k: v for k, v in rows[name][family].items() if k != "tasks"}, flush=True)
    repro = reproducible(data, training)
    record = _load()
    record["ablation"] = {"steps": args.steps, "warmup": args.warmup, "scenes": args.scenes,
                          "batch_size": training.DEFAULTS["batch_size"], "reproducible": repro,
                          "recipes": {k: {kk: vv for kk, vv in v.items()} for k, v in ROWS.items()},
                          "rows": rows}
    _save(record)
    cost = table(["", "CLIP s/step", "SigLIP s/step"],
                 [[n, f"{s['clip']:.2f}", f"{s['siglip']:.2f}"] for n, s in seconds.items()])
    write_section("bench_finegrained ablation",
                  f"Short trainings: {args.steps} steps of batch {training.DEFAULTS['batch_size']} on "
                  f"{args.scenes:,} scenes for every row, warm-up {args.warmup} steps (the shipped models "
                  "train 1,200 steps on 12,000): the same seed, data and tokenizer; only the recipe "
                  "differs.\n\n" + _rows_table(rows)
                  + "\n\nTime per step, rows one after the other in the same run (on a shared machine the load "
                  "changes between rows: read the ratios as rough):\n\n" + cost)
    print(_rows_table(rows))
    print(cost)
    print(repro)


def full(args) -> None:
    run = json.loads((Path(args.run) / "eval.json").read_text())
    rows = {}
    for family in ("clip", "siglip"):
        m = run["metrics"].get(family)
        if m and "finegrained" in m:
            info = run["training"][family]
            rows[family] = dict(summary(m), image_to_image=m["image_to_image"], minutes=info["minutes"],
                                recipe={k: info.get(k, 0) for k in ("attribute_share", "hard_negatives")})
    if not rows:
        raise SystemExit(f"{args.run}/eval.json has no dual encoder measured on the fine-grained benchmark")
    record = _load()
    record.setdefault("full_runs", {})[args.name] = {"command": run["command"], "models": rows}
    _save(record)
    print(_rows_table({args.name: rows}))


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
    f = sub.add_parser("full", help="record a full-length training run (its eval.json)")
    f.add_argument("run", help="the --out folder of python -m imgsearch_helpers.training")
    f.add_argument("--name", required=True, help="the recipe's name in the table")
    args = parser.parse_args(argv)
    {"before": before, "ablation": ablation, "full": full}[args.command](args)


if __name__ == "__main__":
    main()
