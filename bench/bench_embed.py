"""Embedding throughput: the seed notebook's loop vs embed_image_files vs forward only.

    python bench/bench_embed.py [--large 32] [--small 128] [--rounds 2]

For each model and folder, three runs take turns in one process:

* seed loop - one image per forward pass, ``Image.open(...).convert("RGB")`` at
  full size each time, the processor, ``torch.no_grad()``;
* helpers   - ``embed_image_files`` (batches of 32, decoding threads overlapping the
  model, reduced-size JPEG decoding, ``torch.inference_mode``), as shipped and with
  ``draft_size="auto"``;
* forward   - the model alone on already preprocessed tensors, batches of 32.

Pipeline efficiency = helpers / forward (1.0 would mean decoding is free). The
ceiling on a machine whose cores are all busy is forward CPU / (forward CPU + decode
CPU), printed too: what the cores must do per image, whatever the overlap.
"""
from __future__ import annotations

import argparse
import math
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

from _common import interleaved, large_jpegs, small_pngs, table, write_section

BATCH = 32


def random_vit_b32():
    """CLIP ViT-B/32 with random weights: the real model's compute, no download."""
    import transformers
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    from imgsearch_helpers.models import LoadedModel

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    model = CLIPModel(CLIPConfig()).eval()
    processor = types.SimpleNamespace(image_processor=CLIPImageProcessor())
    return LoadedModel("random CLIP ViT-B/32", "clip", model, processor,
                       torch.device("cpu"), torch.float32)


def offline_clip():
    from imgsearch_helpers.models import ModelNotAvailableError, load_model

    try:
        return load_model("imgsearch/clipart-clip", device="cpu")
    except ModelNotAvailableError as err:
        return str(err).splitlines()[0]


def seed_loop(loaded, paths):
    """What the seed notebook did: one file, one full decode, one forward pass at a time."""
    from PIL import Image

    processor = getattr(loaded.processor, "image_processor", loaded.processor)
    out = []
    for path in paths:
        image = Image.open(path).convert("RGB")
        inputs = processor(images=image, return_tensors="pt")
        with torch.no_grad():
            feats = loaded.model.get_image_features(**inputs)
        feats = getattr(feats, "pooler_output", feats)
        out.append((feats / feats.norm(dim=-1, keepdim=True))[0].numpy())
    return np.stack(out)


def helpers(loaded, paths, draft_size=512):
    from imgsearch_helpers import embed_image_files

    emb, ok, skipped = embed_image_files(loaded, paths, batch_size=BATCH, progress=False,
                                         draft_size=draft_size)
    assert not skipped and len(ok) == len(paths), skipped
    return emb


def forward_only(loaded, pixel_values, n):
    with torch.inference_mode():
        for start in range(0, n, BATCH):
            loaded.model.get_image_features(pixel_values=pixel_values[:min(BATCH, n - start)])


def decode_cpu_ms(loaded, paths, draft_size) -> float:
    """CPU time per image of decoding + preprocessing, in this thread alone."""
    from imgsearch_helpers.embeddings import image_inputs, model_input_side
    from imgsearch_helpers.images import load_image

    sample = paths[:16]
    draft = model_input_side(loaded) if draft_size == "auto" else draft_size
    start = time.thread_time()
    for path in sample:
        image_inputs(loaded, [load_image(path, draft_size=draft)])
    return (time.thread_time() - start) * 1000 / len(sample)


def measure(loaded, paths, rounds):
    from imgsearch_helpers.embeddings import image_inputs
    from imgsearch_helpers.images import load_image

    n = len(paths)
    pixels = image_inputs(loaded, [load_image(p) for p in paths[:BATCH]])["pixel_values"]
    pixels = pixels.repeat(math.ceil(BATCH / len(pixels)), 1, 1, 1)[:BATCH]
    helpers(loaded, paths[:4])           # warm up threads and one-time setup
    forward_only(loaded, pixels, 2)
    emb = {}
    times = interleaved({
        "seed": lambda: emb.__setitem__("seed", seed_loop(loaded, paths)),
        "helpers": lambda: emb.__setitem__("helpers", helpers(loaded, paths)),
        "auto": lambda: helpers(loaded, paths, draft_size="auto"),
        "forward": lambda: forward_only(loaded, pixels, n),
    }, rounds)
    cpu_start = time.process_time()
    forward_only(loaded, pixels, n)
    fwd_cpu = (time.process_time() - cpu_start) * 1000 / n
    same = 1 - np.sum(emb["seed"] * emb["helpers"], axis=1)
    others = 1 - (emb["seed"] @ emb["seed"].T)[~np.eye(n, dtype=bool)]
    rate = {k: n / t for k, t in times.items()}
    dec = {d: decode_cpu_ms(loaded, paths, d) for d in (512, "auto")}
    return [f"{rate['seed']:.2f}", f"{rate['helpers']:.2f}", f"{rate['auto']:.2f}",
            f"{rate['forward']:.2f}",
            f"**{rate['helpers'] / rate['seed']:.2f}x** / {rate['auto'] / rate['seed']:.2f}x",
            f"**{rate['helpers'] / rate['forward']:.2f}** / {rate['auto'] / rate['forward']:.2f}",
            f"{dec[512]:.1f} / {dec['auto']:.1f}", f"{fwd_cpu:.1f}",
            f"{fwd_cpu / (fwd_cpu + dec[512]):.2f} / {fwd_cpu / (fwd_cpu + dec['auto']):.2f}",
            f"{same.max():.1e} / {np.median(others):.1e}"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", type=int, default=32, help="12 MP JPEGs (default 32)")
    parser.add_argument("--small", type=int, default=128, help="256 px PNGs (default 128)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="folder to keep the generated images in")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        start = time.perf_counter()
        folders = {"12 MP JPEG": large_jpegs(root / "large", args.large),
                   "256 px PNG": small_pngs(root / "small", args.small)}
        print(f"generated the pictures in {time.perf_counter() - start:.0f} s", flush=True)
        models = {"random CLIP ViT-B/32": random_vit_b32(), "imgsearch/clipart-clip": offline_clip()}
        rows, notes = [], []
        for model_name, loaded in models.items():
            if isinstance(loaded, str):
                notes.append(f"**{model_name} not measured: {loaded}**")
                print(notes[-1], flush=True)
                continue
            for folder_name, paths in folders.items():
                rows.append([model_name, f"{folder_name} x{len(paths)}",
                             *measure(loaded, paths, args.rounds)])
                print(table(HEADER, rows[-1:]).splitlines()[-1], flush=True)
    body = table(HEADER, rows) + "\n\n" + "\n\n".join(notes + [LEGEND])
    print("\n" + body)
    write_section("bench_embed", body)


HEADER = ["model", "folder", "seed img/s", "helpers img/s", "helpers 'auto' img/s",
          "forward-only img/s", "helpers / seed (default / 'auto')",
          "efficiency = helpers / forward (default / 'auto')",
          "decode+prep CPU ms/img (default / 'auto')", "forward CPU ms/img",
          "efficiency ceiling (default / 'auto')",
          "1 - cos: seed vs helpers (max) / between images (median)"]
LEGEND = (
    "Batch 32, decoding threads = min(4, cores). *helpers* is `embed_image_files` as "
    "shipped (draft_size=512, the same pixels as `load_image`); *'auto'* decodes JPEGs "
    "at the model's input size (224 px). Targets: ViT-B/32 on 12 MP JPEGs helpers/seed "
    ">= 3x and efficiency >= 0.8. *Efficiency ceiling* = forward CPU / (forward CPU + "
    "decode CPU): once every core is busy no overlap can beat it. Decode CPU is "
    "`time.thread_time()` of one thread decoding and preprocessing 16 files; forward CPU "
    "is `time.process_time()` of the forward-only run (all threads). The last column "
    "checks that the helpers embed what the seed loop embeds: the largest distance "
    "between the two embeddings of one file against the typical distance between two "
    "different files (random weights put all pictures close together).")


if __name__ == "__main__":
    main()
