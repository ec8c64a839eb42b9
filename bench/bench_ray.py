"""Ray Data embedding vs embed_image_files on this machine: overhead and throughput.

    python bench/bench_ray.py [--images 1000] [--rounds 1]

A local Ray on all cores (started once, its start time reported apart); then, in
turns, ``embed_image_files`` in this process and ``embed_with_ray`` with two worker
layouts (one worker per core; one worker on all cores). Ray's times include
starting its workers and loading the model in each, as every run pays them;
``embed_image_files`` gets its model already loaded. Two models: the course's
offline CLIP (small, fast) and CLIP ViT-B/32 with random weights (the real model's
compute, saved to a temporary folder so that Ray's workers can load it by path).
Pictures: clip-art scenes saved as 128 px PNGs, and the 50-image gallery.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import table, write_section


def scene_folder(folder: Path, count: int) -> list[str]:
    from imgsearch_helpers.clipart import iter_scenes

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, scene in enumerate(iter_scenes(count, seed=99)):
        path = folder / f"{scene.kind}_{i:05d}.png"
        scene.image.save(path)
        paths.append(str(path))
    return paths


def random_vit_b32_folder(folder: Path) -> str:
    """CLIP ViT-B/32 with random weights, saved with a processor that load_model reads."""
    import torch
    import transformers
    from transformers import AutoTokenizer, CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    from imgsearch_helpers.models import DATA_DIR

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    CLIPModel(CLIPConfig()).save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(DATA_DIR / "models" / "clipart-clip")
    CLIPProcessor(CLIPImageProcessor(), tokenizer).save_pretrained(folder)
    return str(folder)


def main(argv=None) -> None:
    import warnings

    from imgsearch_helpers import embed_image_files, get_profile, load_model
    from imgsearch_helpers.models import ClipartModelWarning
    from imgsearch_helpers.scale import embed_with_ray, start_ray, stop_ray

    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--skip-vit", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ClipartModelWarning)   # scenes saved outside data/gallery
    tmp = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    scenes = scene_folder(tmp / "scenes", args.images)
    gallery = [str(p) for p in get_profile("offline").gallery_images()]
    models = {"imgsearch/clipart-clip": "imgsearch/clipart-clip"}
    if not args.skip_vit:
        models["random CLIP ViT-B/32"] = random_vit_b32_folder(tmp / "vit-b32")

    floor = worker_floor()
    t0 = time.perf_counter()
    resources = start_ray()
    ray_start = time.perf_counter() - t0
    cores = int(resources["CPU"])
    layouts = {f"Ray, {cores} workers x 1 CPU": dict(num_workers=cores, cpus_per_worker=1),
               f"Ray, 1 worker x {cores} CPUs": dict(num_workers=1, cpus_per_worker=cores)}
    rows, gallery_rows = [], []
    medians = {}   # (model, number of images) -> {method: median seconds}
    try:
        for label, source in models.items():
            loaded = load_model(source, device="cpu")
            for name, paths in ((f"gallery ({len(gallery)} PNGs)", gallery),
                                (f"{len(scenes)} scene PNGs", scenes)):
                times = {"embed_image_files": [], **{k: [] for k in layouts}}
                diff = 0.0
                for _ in range(args.rounds):
                    start = time.perf_counter()
                    ref, _, _ = embed_image_files(loaded, paths, progress=False)
                    times["embed_image_files"].append(time.perf_counter() - start)
                    for layout, kwargs in layouts.items():
                        start = time.perf_counter()
                        got = embed_with_ray(paths, source, **kwargs)
                        times[layout].append(time.perf_counter() - start)
                        assert got.paths == paths
                        diff = max(diff, float(np.abs(got.embeddings - ref).max()))
                med = {k: float(np.median(v)) for k, v in times.items()}
                medians[label, len(paths)] = med
                base = med["embed_image_files"]
                row = [label, name, f"{base:.1f} s ({len(paths) / base:.1f} img/s)"]
                for layout in layouts:
                    row.append(f"{med[layout]:.1f} s ({len(paths) / med[layout]:.1f} img/s)"
                               f" = **{base / med[layout]:.2f}x**")
                row.append(f"{diff:.1e}")
                (gallery_rows if name.startswith("gallery") else rows).append(row)
                print(row, flush=True)
    finally:
        left = stop_ray()
    header = ["model", "images", "embed_image_files"] + \
             [f"{k} (throughput / embed_image_files)" for k in layouts] + ["max abs diff"]
    body = (table(header, gallery_rows + rows) + "\n\n"
            f"Ray's own start (`start_ray()`, local, {cores} CPUs, bound to 127.0.0.1): "
            f"{ray_start:.1f} s, paid once per session and not in the times above; "
            f"`stop_ray()` left {left} processes running. Every `embed_with_ray` call starts "
            "its workers and loads the model in each (included above); `embed_image_files` "
            "runs with the model already loaded. Medians of "
            f"{args.rounds} round(s); the methods take turns. Target: Ray's throughput on 1,000 "
            "images >= 0.8x embed_image_files's; embeddings equal (max |diff| <= 1e-5).")
    body += "\n\n" + split_costs(medians, len(gallery), len(scenes))
    body += (f"\n\nThe floor under Ray's fixed cost: a new Python process needs {floor:.1f} s "
             "(median of 3) to import torch and transformers and load imgsearch/clipart-clip, and "
             "every Ray worker is such a process. Where `embed_image_files` finishes the whole job "
             "in less time than that, no layout of fresh workers can reach 0.8x.")
    write_section("bench_ray", body)
    print(body)


def worker_floor(rounds: int = 3) -> float:
    """Seconds a fresh process needs to import torch + transformers and load the offline CLIP."""
    import subprocess
    import sys

    code = ("import torch, transformers; from imgsearch_helpers import load_model; "
            "load_model('imgsearch/clipart-clip', device='cpu')")
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def split_costs(medians: dict, small: int, large: int) -> str:
    """Each method's time as a fixed cost per call plus a marginal rate, from the two sizes.

    With t(n) = fixed + n / rate measured at the gallery's ``small`` images and at ``large``:
    rate = (large - small) / (t(large) - t(small)). Ray's fixed cost (starting its workers, importing
    torch and loading the model in each, planning the dataset) is what makes it lose on small
    jobs; its marginal rate is what it does once running.
    """
    lines = [("Each time split into a fixed cost per call and a marginal rate (t(n) = fixed + "
              f"n / rate, from the {small}-image and the {large:,}-image runs of the same "
              "method):"), ""]
    for label in dict.fromkeys(model for model, _ in medians):
        little, big = medians.get((label, small)), medians.get((label, large))
        if not little or not big:
            continue
        parts = []
        for method in big:
            spent = big[method] - little[method]
            if spent <= 0:
                parts.append(f"{method}: too fast to split")
                continue
            rate = (large - small) / spent
            fixed = max(0.0, little[method] - small / rate)
            parts.append(f"{method}: {fixed:.1f} s + {rate:.0f} img/s")
        ratio = big["embed_image_files"] / min(v for k, v in big.items() if k.startswith("Ray"))
        verdict = "met" if ratio >= 0.8 else "missed"
        lines.append(f"- {label}: " + "; ".join(parts) +
                     f". Target (>= 0.8x on {large:,} images) **{verdict}**: best Ray layout "
                     f"{ratio:.2f}x.")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
