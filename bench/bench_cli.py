"""`imgsearch search` from a terminal: the first search of a folder vs searching it again.

    python bench/bench_cli.py [--images 1000] [--rounds 3]

Every timed run is a new process, as from a terminal: ``python -m imgsearch_helpers.cli``
(what the installed ``imgsearch`` script runs), with the offline clip-art CLIP, on a
folder of 320 x 240 PNGs whose mtime is an hour old (bench_index.py says why).

- *first search*: no index yet; the command embeds every picture, then answers;
- *search again*: the folder unchanged; the index is checked by a scan and reused;
  their ratio is the point of the persistent index (medians of ``--rounds`` runs of
  each, in turn);
- *where "search again" goes*: a new process that takes the command's steps through
  the same public functions (load_model, ImageIndex.build, embed_texts,
  search_embedding) and times each; plus ``python -c pass`` for the interpreter.
  (A second query in one command costs what its "second query" row says: the
  difference of two whole commands would drown it in their noise.)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import small_pngs, table, write_section

ROOT = Path(__file__).resolve().parents[1]
MODEL = "imgsearch/clipart-clip"
QUERY = "a red circle"

_STEPS = r"""
import json, sys, time
t0 = time.perf_counter()
from imgsearch_helpers import ImageIndex, embed_texts, load_model
t1 = time.perf_counter()
loaded = load_model(sys.argv[1])
t2 = time.perf_counter()
index = ImageIndex.build(sys.argv[2], loaded)
assert index.summary["embedded"] == 0, index.summary
t3 = time.perf_counter()
index.search_embedding(embed_texts(loaded, "a red circle")[0], 10)
t4 = time.perf_counter()
index.search_embedding(embed_texts(loaded, "a blue square")[0], 10)
t5 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "model load": t2 - t1, "index update (unchanged)": t3 - t2,
                  "first query (embed text + rank)": t4 - t3, "second query": t5 - t4}))
"""


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMGSEARCH_")}
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
               HF_HUB_OFFLINE="1", IMGSEARCH_DEVICE="cpu")
    return env


def run(*args) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"{' '.join(args)} failed:\n{proc.stderr}")
    return seconds, proc


def imgsearch(*args) -> tuple[float, subprocess.CompletedProcess]:
    return run("-m", "imgsearch_helpers.cli", *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        folder = Path(tmp) / "photos"
        paths = small_pngs(folder, args.images, size=(320, 240))
        old = time.time_ns() - 3600 * 10**9
        for p in paths:
            os.utime(p, ns=(old, old))
        search = ["search", QUERY, str(folder), "--model", MODEL]
        first, again, interpreter = [], [], []
        # Interleaved, so that both see the same background load (this machine is shared).
        for _ in range(args.rounds):
            shutil.rmtree(folder / ".imgsearch", ignore_errors=True)
            seconds, proc = imgsearch(*search)
            assert f"embedded {args.images}" in proc.stderr, proc.stderr
            first.append(seconds)
            seconds, proc = imgsearch(*search)
            assert "index updated" not in proc.stderr, proc.stderr    # nothing embedded
            again.append(seconds)
            interpreter.append(run("-c", "pass")[0])
        steps = [json.loads(run("-c", _STEPS, MODEL, str(folder))[1].stdout)
                 for _ in range(args.rounds)]
    t_first, t_again = statistics.median(first), statistics.median(again)
    rows = [[f"{args.images:,} PNGs 320x240, {MODEL}", f"{t_first:.2f} s", f"{t_again:.2f} s",
             f"**{t_again / t_first:.1%}**"]]
    body = table(["folder, model", "first search (embeds all)", "search again (unchanged)",
                  "again / first"], rows)
    parts = {"Python start (`python -c pass`)": statistics.median(interpreter)}
    parts.update({name: statistics.median(s[name] for s in steps) for name in steps[0]})
    body += "\n\nWhere the time of \"search again\" goes (a new process taking the command's " \
            "steps with the same public functions; medians of " f"{args.rounds}):\n\n"
    body += table(["step", "seconds"], [[name, f"{s:.3f}"] for name, s in parts.items()])
    body += (f"\n\nMedians of {args.rounds} runs, each a new process (first search and search "
             "again in turn). Device: cpu. With a model this small, the command's fixed cost "
             "(imports, model load) is most of both. The first search grows with the number of "
             "pictures and the model's cost per picture; search again does not: its index "
             "update is the scan in the table above.")
    print(body)
    write_section("bench_cli", body)


if __name__ == "__main__":
    main()
