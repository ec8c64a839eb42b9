"""The pointing game: does an explanation's heatmap point at the thing the query names?

    python bench/bench_explain.py [--n 60] [--grids 2 3] [--threads 2] [--no-write]

Mosaics of the course's clip-art scenes, ``grid x grid`` scenes of different kinds
(imgsearch_helpers.explain.pointing_trials, seeded); the query names one of them
("a photo of a lake"). A hit is a heatmap whose highest pixel lies in that scene's
tile. For every offline dual encoder and every method: accuracy, chance (one
tile's share), the centre baseline (always point at the middle pixel) and the cost
of one explanation (score + heatmap, no word contributions; median wall time,
torch on ``--threads`` threads). The methods take turns on each mosaic, so they
share the machine's load. Nothing here knows the weights: after a retrain, run it
again and the table and plot are rewritten (bench/RESULTS.md, section bench_explain;
bench/explain_pointing.png).
"""
from __future__ import annotations

import argparse
import os
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from _common import table, write_section  # noqa: E402
from imgsearch_helpers import load_model  # noqa: E402
from imgsearch_helpers.explain import (DEFAULT_METHODS, METHODS, POINTING_TARGET,  # noqa: E402
                                       PointingResult, pointing_game, pointing_trials)
from imgsearch_helpers.explain import WINDOW_SCALES  # noqa: E402

MODELS = ("imgsearch/clipart-clip", "imgsearch/clipart-siglip")
PLOT = Path(__file__).with_name("explain_pointing.png")


def play(models, grids, n: int) -> tuple[dict, dict]:
    """{(model, grid, method): PointingResult} and {same key: Counter of missed kinds}.

    The methods take turns on each mosaic.
    """
    results: dict[tuple, PointingResult] = {}
    misses: dict[tuple, Counter] = {}
    for grid in grids:
        trials = pointing_trials(n, grid)
        for name in models:
            loaded = load_model(name, device="cpu")
            pointing_game(loaded, "windows", trials=trials[:1])      # warm-up, not counted
            for trial in trials:
                for method in METHODS:
                    one = pointing_game(loaded, method, trials=[trial])
                    key = (name, grid, method)
                    total = results.setdefault(key, PointingResult(name, method, grid))
                    total.hits += one.hits
                    total.centre_hits += one.centre_hits
                    total.seconds += one.seconds
                    if not one.hits[0]:
                        mosaic, target = trial
                        misses.setdefault(key, Counter())[mosaic.kinds[target]] += 1
            print(f"{name} {grid}x{grid}: " + ", ".join(
                f"{m} {results[(name, grid, m)].accuracy:.2f}" for m in METHODS), flush=True)
    return results, misses


def plot(results: dict, models, grids) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(grids), figsize=(5.2 * len(grids), 3.6), squeeze=False)
    methods = list(METHODS)
    width = 0.8 / len(models)
    for ax, grid in zip(axes[0], grids):
        for i, name in enumerate(models):
            values = [results[(name, grid, m)].accuracy for m in methods]
            xs = [j + (i - (len(models) - 1) / 2) * width for j in range(len(methods))]
            ax.bar(xs, values, width, label=name.split("/")[-1])
        ax.axhline(1 / grid ** 2, color="grey", ls="--", lw=1, label="chance")
        if grid == 2:
            ax.axhline(POINTING_TARGET, color="green", ls=":", lw=1, label="target")
        ax.set_xticks(range(len(methods)), methods)
        ax.set_ylim(0, 1)
        ax.set_title(f"pointing game, {grid}x{grid} mosaics")
        ax.set_ylabel("accuracy")
    axes[0][0].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)


def report(results: dict, misses: dict, models, grids, n: int, threads: int) -> str:
    rows = []
    for name in models:
        for method in METHODS:
            default = DEFAULT_METHODS[load_model(name, device="cpu").family] == method
            row = [name, method + (" (default)" if default else "")]
            for grid in grids:
                r = results[(name, grid, method)]
                row += [f"{r.accuracy:.2f}", f"{r.chance:.2f}", f"{r.centre:.2f}"]
            r2 = results[(name, grids[0], method)]
            row.append(f"{r2.ms_per_explanation:.0f}")
            rows.append(row)
    header = ["model", "method"]
    for grid in grids:
        header += [f"{grid}x{grid} accuracy", "chance", "centre"]
    header.append(f"ms / explanation ({grids[0]}x{grids[0]})")
    lines = [f"{n} mosaics per grid size (seeded), one query each; torch on {threads} threads. "
             "A hit: the heatmap's highest pixel lies in the queried scene's tile. "
             f"Target for the default: >= {POINTING_TARGET} on 2x2 at <= 1,000 ms.", "",
             table(header, rows), ""]
    for name in models:
        family = load_model(name, device="cpu").family
        method = DEFAULT_METHODS[family]
        r = results[(name, grids[0], method)]
        met = r.accuracy >= POINTING_TARGET and r.ms_per_explanation <= 1000
        missed = misses.get((name, grids[0], method), Counter())
        lines.append(f"- {name} ({family}), default `{method}`: {r.accuracy:.2f} at "
                     f"{r.ms_per_explanation:.0f} ms: target {'met' if met else 'NOT met'}"
                     + (f"; missed queries: {_counts(missed)}" if missed else "") + ".")
    lines += ["", "Why the defaults: the one-pass methods (dense, gradcam) read the 64-px input's "
              "8 x 8 patches, so a 2x2 mosaic gives each scene 4 x 4 patches; occlusion greys out "
              "parts of that same input. Windows resize each window to the model's input, so a "
              "scene is seen at full resolution. Window sides are "
              f"{', '.join(f'{s:g}' for s in WINDOW_SCALES)} of the picture's shorter side: a "
              "3x3 tile (a third) is smaller than the smallest window, so on 3x3 every window "
              "straddles several scenes, which is why windows fall there.", "",
              f"![pointing game]({PLOT.name})"]
    return "\n".join(lines)


def _counts(counter: Counter) -> str:
    return ", ".join(f"{kind} x{count}" for kind, count in counter.most_common())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=60, help="mosaics per grid size")
    parser.add_argument("--grids", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results, misses = play(args.models, args.grids, args.n)
    body = report(results, misses, args.models, args.grids, args.n, args.threads)
    print(body)
    if not args.no_write:
        plot(results, args.models, args.grids)
        write_section("bench_explain", body)


if __name__ == "__main__":
    main()
