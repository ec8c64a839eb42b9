"""The command that retrains the offline models: ``python -m imgsearch_helpers.training``."""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from .. import clipart
from ..evaluation import MEASURED_FILE, finegrained_set
from ..images import CAPTIONS_FILE
from ._data import EVAL_SEED, TRAIN_SEED, prepare_data
from ._eval import DEFAULT_GALLERY, evaluate, folder_size_mb, heldout_scenes, write_model_card, write_report
from ._loops import DEFAULTS, SHIPPED_RECIPES, train_clip, train_siglip, train_vit
from ._models import SIZES, count_parameters, save

__all__ = ["main"]


def _machine() -> str:
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} CPU threads"


def main(argv=None) -> dict:
    """Command line: train the chosen models, save them to ``--out``, write EVAL.md."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m imgsearch_helpers.training",
                                     description="Train the course's three offline models on clip-art, from scratch, on a CPU.")
    parser.add_argument("--out", default="data/models", help="folder for clipart-*/ and EVAL.md")
    parser.add_argument("--only", default="siglip,clip,vit",
                        help="comma-separated subset, trained in this order (default: slowest first)")
    parser.add_argument("--gallery", default=str(DEFAULT_GALLERY),
                        help="gallery to evaluate on (written first if missing)")
    parser.add_argument("--eval-per-kind", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    for key in ("scenes", "clip_steps", "siglip_steps", "vit_steps", "batch_size"):
        parser.add_argument("--" + key.replace("_", "-"), type=int, default=DEFAULTS[key])
    parser.add_argument("--attribute-share", type=float, default=None,
                        help="how often a picture gets a caption naming its attributes, for every "
                             "dual encoder (0: never; the fine-grained recipe: --attribute-share 0.5 "
                             "--hard-negatives 1). Default: each model's shipped recipe "
                             "(training.SHIPPED_RECIPES)")
    parser.add_argument("--hard-negatives", type=int, default=None,
                        help="hard negatives per attribute caption, for every dual encoder "
                             "(default: each model's shipped recipe)")
    parser.add_argument("--keep-translations", action=argparse.BooleanOptionalAction, default=None,
                        help="attribute captions replace only English captions, so French and German "
                             "keep their share (default: each model's shipped recipe)")
    parser.add_argument("--hard-loss", type=float, default=None,
                        help="weight of FG-CLIP's hard-negative term: each picture given an attribute "
                             "caption picks it among all its hard negatives (0: off; default: each "
                             "model's shipped recipe)")
    parser.add_argument("--translated-attributes", action=argparse.BooleanOptionalAction, default=None,
                        help="attribute captions and their hard negatives in French and German too, "
                             "each replacing a caption of its own language (default: each model's "
                             "shipped recipe)")
    parser.add_argument("--hard-pictures", type=float, default=None,
                        help="weight of the same term the other way round: each attribute caption "
                             "picks the pictures it is true of among the batch's pictures of its kind "
                             "(0: off; default: each model's shipped recipe)")
    parser.add_argument("--size", default="small", choices=sorted(SIZES))
    args = parser.parse_args(argv)
    if os.environ.get("OMP_WAIT_POLICY") is None:
        # OpenMP threads spin while they wait. When another process also runs on
        # these 2 cores, the spinning threads starve each other and a step takes
        # 4-5x longer (measured); passive waiting costs ~15% on an idle machine.
        # OpenMP reads the setting when torch loads, hence the restart.
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        os.execv(sys.executable, [sys.executable, "-m", "imgsearch_helpers.training", *argv])

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the per-file "loading ..." chatter hides the progress bars
    torch.set_num_threads(args.threads)
    start, cpu_start = time.time(), time.process_time()
    out, gallery = Path(args.out), Path(args.gallery)
    if not (gallery / CAPTIONS_FILE).exists():
        clipart.write_gallery(gallery)
    # Without attribute captions the tokenizer is learned on the same captions as ever, so
    # the plain recipe gives the same weights as before fine-grained training existed.
    # Each data set is a pure function of (scenes, seed, attributes) and every training
    # seeds itself, so a model's weights do not depend on which others are trained.
    datasets: dict[tuple, object] = {}

    def data_for(attributes: bool, languages=("en",)):
        if (attributes, languages) not in datasets:
            datasets[attributes, languages] = prepare_data(args.scenes, TRAIN_SEED, attributes=attributes,
                                                           attribute_languages=languages)
        return datasets[attributes, languages]

    heldout = heldout_scenes(args.eval_per_kind, EVAL_SEED)
    finegrained = finegrained_set()
    trainers = {"vit": (train_vit, args.vit_steps), "clip": (train_clip, args.clip_steps),
                "siglip": (train_siglip, args.siglip_steps)}
    metrics, infos = {}, {}
    for family in [f.strip() for f in args.only.split(",") if f.strip()]:
        train, steps = trainers[family]
        t0 = time.time()
        recipe = {} if family == "vit" else dict(SHIPPED_RECIPES[family])
        for key in recipe:
            if getattr(args, key) is not None:
                recipe[key] = getattr(args, key)
        data = data_for(bool(recipe.get("attribute_share") or recipe.get("hard_negatives")),
                        clipart.CAPTION_LANGUAGES if recipe.get("translated_attributes") else ("en",))
        model, history = train(data, steps=steps, batch_size=args.batch_size, size=args.size, **recipe)
        minutes = (time.time() - t0) / 60
        folder = save(model, family, data.tokenizer, out / f"clipart-{family}")
        metrics[family] = evaluate(folder, gallery=gallery, heldout=heldout, finegrained=finegrained)
        infos[family] = dict(parameters=count_parameters(model), size_mb=folder_size_mb(folder),
                             steps=steps, batch_size=args.batch_size, scenes=args.scenes,
                             minutes=minutes, machine=_machine(), vocab=len(data.tokenizer),
                             final_loss=float(np.mean([r["loss"] for r in history[-20:]])), **recipe)
        write_model_card(folder, family, metrics[family], infos[family])
        shown = {k: v for k, v in metrics[family].items() if k != "finegrained"}
        print(f"{family}: {minutes:.1f} min, loss {infos[family]['final_loss']:.3f}, {shown}", flush=True)
    # Families not retrained this time keep their last record (same folder, same weights).
    previous = out / MEASURED_FILE
    if previous.exists():
        old = json.loads(previous.read_text())
        for family in old.get("metrics", {}):
            if family not in metrics and (out / f"clipart-{family}").is_dir():
                metrics[family], infos[family] = old["metrics"][family], old["training"][family]
    command = " ".join(["python -m imgsearch_helpers.training", *argv])
    # CPU time too: on a machine shared with other work the wall time says little.
    write_report(out / "EVAL.md", metrics, infos, (time.time() - start) / 60, command,
                 cpu_minutes=(time.process_time() - cpu_start) / 60)
    record = {"command": command, "metrics": metrics, "training": infos}
    (out / MEASURED_FILE).write_text(json.dumps(record, indent=1) + "\n")
    print(f"done in {(time.time() - start) / 60:.1f} min; report: {out / 'EVAL.md'}", flush=True)
    return metrics

