"""Where a training step of the offline CLIP spends its time, and what would make it faster.

    python bench/bench_training_speed.py [--rounds 4] [--steps 5]

`make models` trains CLIP for 1,200 steps; twice that reads details past the targets of
the fine-grained benchmark but takes twice the time (data/models/EVAL.md). This measures
whether the step itself could be made cheaper on a CPU: the shipped recipe's training
step (``training.training_step``, batch 128), run eagerly in float32 as `make models`
runs it, under ``torch.autocast`` to bfloat16, and compiled with ``torch.compile``. The
variants start from the same weights and take their steps in turn, a few steps each per
round, so that they share the machine's load; the table gives each one's median time per
step and its ratio to the eager step.

Beside them: the floating-point work of one step (``torch.utils.flop_counter``: the
matrix products and attention, which is nearly all of it) and the rate this CPU
multiplies matrices of the model's own shape at, in float32 and bfloat16. Their ratio is
the shortest a float32 step could take if everything but the matrix products cost
nothing.
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import table, write_section  # noqa: E402


def _widest_product() -> tuple[int, int, int]:
    """(rows, width, mlp) of the model's widest product: a batch of pictures' tokens into its MLP."""
    from imgsearch_helpers import clipart, training

    size = training.SIZES["small"]
    tokens = (clipart.MODEL_IMAGE_SIZE // size["patch"]) ** 2 + 1     # patches and the class token
    return training.DEFAULTS["batch_size"] * tokens, size["width"], size["mlp"]


def _matmul_rate(dtype, rounds: int = 200) -> float:
    """GFLOP/s of the model's widest product (:func:`_widest_product`) in ``dtype``."""
    import torch

    n_rows, width, mlp = _widest_product()
    a = torch.randn(n_rows, width, dtype=dtype)
    b = torch.randn(width, mlp, dtype=dtype)
    for _ in range(10):
        a @ b
    start = time.perf_counter()
    for _ in range(rounds):
        a @ b
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] * rounds / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4, help="rounds of steps, variants in turn")
    parser.add_argument("--steps", type=int, default=5, help="steps of each variant per round")
    parser.add_argument("--scenes", type=int, default=3000, help="training scenes to draw batches from")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    args = parser.parse_args()

    import numpy as np
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from imgsearch_helpers import training
    from imgsearch_helpers.training._data import Batches, prepare_data
    from imgsearch_helpers.training._loops import _optimiser
    from imgsearch_helpers.training._models import build_model

    torch.set_num_threads(args.threads)
    data = prepare_data(args.scenes, progress=False)
    recipe = training.SHIPPED_RECIPES["clip"]
    torch.manual_seed(0)
    start_weights = build_model("clip", data.tokenizer, "small")

    class Variant:
        def __init__(self, name: str, autocast: bool = False, compiled: bool = False):
            self.name, self.autocast, self.note = name, autocast, ""
            self.model = copy.deepcopy(start_weights)
            if compiled:
                self.model.vision_model = torch.compile(self.model.vision_model)
                self.model.text_model = torch.compile(self.model.text_model, dynamic=True)
            self.opt, self.sched = _optimiser(self.model, training.DEFAULTS["lr"],
                                              training.DEFAULTS["weight_decay"],
                                              {"steps": training.DEFAULTS["clip_steps"]},
                                              training.DEFAULTS["warmup"])
            # The same batches and captions for every variant.
            self.rng = np.random.default_rng(0)
            self.batches = Batches(len(data), training.DEFAULTS["batch_size"], self.rng)
            self.times: list[float] = []
            self.loss = float("nan")

        def step(self) -> None:
            loss = training.training_step(self.model, "clip", data, self.batches.next(), self.rng, recipe,
                                          self.opt, self.sched, autocast=self.autocast)
            self.loss = float(loss.detach())

    eager = Variant("eager, float32 (as make models trains)")
    eager.step()          # warm-up, not timed
    with FlopCounterMode(display=False) as counter:
        eager.step()
    gflop = counter.get_total_flops() / 1e9
    # Where the eager step's time goes: the profiler's self time of the matrix products
    # and of attention, against all of it. Measured first, before anything is compiled: in
    # one run that profiled after the timed rounds, the eager step's element-wise work took
    # about four times as long as here (cause not found).
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            eager.step()
    spent = {e.key: e.self_cpu_time_total for e in prof.key_averages()}
    total = sum(spent.values())
    products = sum(t for k, t in spent.items() if k in ("aten::mm", "aten::addmm", "aten::bmm")) / total
    attention = sum(t for k, t in spent.items() if k.startswith("aten::_scaled_dot_product")) / total
    untimed = 5           # the warm-up, the counted and the three profiled steps

    variants = [eager, Variant("torch.autocast to bfloat16", autocast=True)]
    try:
        compiled = Variant("torch.compile (vision and text towers)", compiled=True)
        started = time.perf_counter()
        compiled.step()   # compiles; not timed
        compiled.note = (f"compiling took {time.perf_counter() - started:.0f} s (less when Inductor's "
                         "cache holds an earlier run's)")
        variants.append(compiled)
    except Exception as err:  # no C++ compiler, an unsupported platform: say so, measure the rest
        print(f"torch.compile is not available here: {type(err).__name__}: {err}".splitlines()[0])
    for v in variants[1:]:
        for _ in range(untimed - (1 if v.note else 0)):
            v.step()      # untimed, so that every variant has taken the same steps
    for _ in range(args.rounds):
        for v in variants:
            for _ in range(args.steps):
                started = time.perf_counter()
                v.step()
                v.times.append(time.perf_counter() - started)
    losses = [v.loss for v in variants]  # all after the same steps
    fp32, bf16 = _matmul_rate(torch.float32), _matmul_rate(torch.bfloat16)
    n_rows, width, mlp = _widest_product()
    eager = statistics.median(variants[0].times)
    steps_done = untimed + args.rounds * args.steps
    rows = [[v.name, f"{statistics.median(v.times) * 1000:.0f}",
             f"{statistics.median(v.times) / eager:.2f}", f"{gflop / statistics.median(v.times):.0f}",
             f"{loss:.4f}", v.note or "-"] for v, loss in zip(variants, losses)]
    long_run = 2 * training.DEFAULTS["clip_steps"]
    floor = gflop / fp32
    text = table(["variant", "ms per step (median)", "x eager", "GFLOP/s",
                  f"loss after {steps_done} steps", "note"], rows)
    ratio = {v.name: statistics.median(v.times) / eager for v in variants}
    others = list(ratio.items())[1:]
    best_name, best = min(others, key=lambda item: item[1]) if others else ("", 1.0)
    faster = "; ".join(f"{name}: {r:.2f} x the eager step's time" for name, r in others)
    verdict = (f"the best, {best_name.split(' (')[0]}, saves {1 - best:.0%} of the step" if best < 1
               else "none of them is faster")
    summary = (
        f"One step of the shipped CLIP recipe (batch {training.DEFAULTS['batch_size']}, its hard "
        f"negatives included) is {gflop:.1f} GFLOP of matrix products and attention. This CPU "
        f"multiplies the model's widest matrices ({n_rows} x {width} by {width} x {mlp}) at {fp32:.0f} GFLOP/s "
        f"in float32 and {bf16:.0f} GFLOP/s in bfloat16 ({bf16 / fp32:.1f} x). The eager float32 step "
        f"runs at {gflop / eager:.0f} GFLOP/s, {gflop / eager / fp32:.0%} of that float32 rate; the "
        f"profiler puts {products:.0%} of its time in the matrix products, {attention:.0%} in attention "
        f"and the rest in the element-wise work, the loss and the optimiser. Of the other ways to run "
        f"it ({faster}), {verdict}. {long_run:,} steps take {long_run * eager / 60:.1f} min "
        f"at the eager speed measured here; even if everything but the products cost nothing and they "
        f"all ran at the rate above, they would take {long_run * floor / 60:.1f} min in float32.")
    print(text)
    print()
    print(summary)
    if not args.no_write:
        write_section("bench_training_speed",
                      "Can a step of the offline CLIP's training be made cheaper on this CPU? The shipped "
                      "recipe's step, eager in float32 as `make models` runs it, under torch.autocast to "
                      "bfloat16, and compiled with torch.compile: the same start weights and batches, "
                      f"{args.rounds} rounds of {args.steps} steps per variant in turn (after {untimed} "
                      "untimed steps each: a warm-up, or the compiling one, then for the eager step the "
                      f"one whose work is counted and three under the profiler), medians.\n\n{text}\n\n{summary}")


if __name__ == "__main__":
    main()
