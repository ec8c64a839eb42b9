"""Draft size by evidence: how much do reduced-size JPEG decoding and the GPU path change embeddings?

    python bench/bench_draft.py [--large-side 4000] [--keep DIR]

For each model, every picture is embedded from a full-size decode (``draft_size=None``),
with today's default (``draft_size=512``), with ``draft_size="auto"`` (the model's
input side) and through the GPU JPEG path (here with a Pillow stand-in for nvJPEG and
the tensor preprocessing on the CPU: the same code as on a GPU but the decoder). The
table gives ``1 - cosine`` against the full-size decode, the largest over the pictures.

Pictures: the course's photos (``data/photos``, <= 640 px), the same photos enlarged
to ``--large-side`` px on the long side (Lanczos, JPEG quality 92), and those enlarged
photos with camera-like grain added (Gaussian noise, sigma 6), which is what makes a
real 12 MP photo hard to decode small.

Models: the course's two trained offline models (64 px input: CLIP with shortest-edge
resize and centre crop, SigLIP with a square resize), and randomly initialised models
of the real classes at the real geometry (CLIP ViT-B/32 at 224 px, SigLIP base at
224 px). A random model tells how much the *pixels* change, seen through the real
preprocessing; it puts all pictures close together, so its distances are small for
any change: the "between pictures" column gives its scale.
"""
from __future__ import annotations

import argparse
import io
import tempfile
import types
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from _common import table, write_section

AUTO_TOLERANCE = 1e-3


def pictures(folder: Path, large_side: int) -> dict[str, list[Path]]:
    from imgsearch_helpers.models import PHOTOS_DIR

    photos = sorted(PHOTOS_DIR.glob("*.jpg"))
    rng = np.random.default_rng(0)
    large, grain = [], []
    folder.mkdir(parents=True, exist_ok=True)
    for path in photos:
        im = Image.open(path).convert("RGB")
        scale = large_side / max(im.size)
        big = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
        large.append(folder / f"large_{path.name}")
        big.save(large[-1], quality=92)
        noisy = np.asarray(big, dtype=np.float32) + rng.normal(0, 6, (big.height, big.width, 1))
        grain.append(folder / f"grain_{path.name}")
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(grain[-1], quality=92)
    return {"photos (<= 640 px)": photos, f"enlarged to {large_side} px": large,
            "enlarged + grain": grain}


def random_model(kind: str):
    import transformers
    from transformers import (CLIPConfig, CLIPImageProcessor, CLIPModel, SiglipConfig,
                              SiglipImageProcessor, SiglipModel)

    from imgsearch_helpers.models import LoadedModel

    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    if kind == "clip":
        model, proc = CLIPModel(CLIPConfig()), CLIPImageProcessor()
        name = "random CLIP ViT-B/32 (224, shortest edge + crop)"
    else:
        model, proc = SiglipModel(SiglipConfig()), SiglipImageProcessor()
        name = "random SigLIP base/16 (224, square resize)"
    return LoadedModel(name, kind, model.eval(), types.SimpleNamespace(image_processor=proc),
                       torch.device("cpu"), torch.float32)


def pil_decode_jpeg(input, mode=None, device="cpu", apply_exif_orientation=False):
    """A stand-in for ``torchvision.io.decode_jpeg``: decodes with Pillow, full size, (3, H, W)."""
    out = []
    for data in input:
        with Image.open(io.BytesIO(bytes(data.numpy()))) as im:
            out.append(torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1))
    return out


def measure(loaded, paths) -> list[str]:
    from imgsearch_helpers import embed_image_files
    from imgsearch_helpers.decoding import _nvjpeg

    def embed(**kwargs):
        emb, ok, skipped = embed_image_files(loaded, paths, progress=False, **kwargs)
        assert not skipped and ok == list(range(len(paths))), skipped
        return emb

    full = embed(draft_size=None, decoder="threads")
    dist = {d: 1 - np.sum(full * embed(draft_size=d, decoder="threads"), axis=1)
            for d in (512, "auto")}
    real = _nvjpeg.load_decoder
    _nvjpeg.load_decoder = lambda device: partial(pil_decode_jpeg, mode="RGB", device=device)
    try:
        gpu = embed(decoder="nvjpeg")
    finally:
        _nvjpeg.load_decoder = real
    dist["gpu"] = 1 - np.sum(full * gpu, axis=1)
    between = 1 - (full @ full.T)[~np.eye(len(paths), dtype=bool)]
    worst = max(dist["auto"])
    return [f"{max(dist[512]):.1e}", f"**{worst:.1e}**", f"{np.median(dist['auto']):.1e}",
            f"{max(dist['gpu']):.1e}", f"{np.median(between):.1e}",
            "yes" if worst <= AUTO_TOLERANCE else "**no**"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large-side", type=int, default=4000)
    parser.add_argument("--keep", type=Path, help="folder to keep the generated pictures in")
    args = parser.parse_args(argv)

    import warnings

    from imgsearch_helpers import load_model
    from imgsearch_helpers.embeddings import model_input_side
    from imgsearch_helpers.models import ClipartModelWarning

    warnings.simplefilter("ignore", ClipartModelWarning)   # clip-art models on photos: known
    with tempfile.TemporaryDirectory() as tmp:
        sets = pictures(args.keep or Path(tmp), args.large_side)
        models = [load_model("imgsearch/clipart-clip", device="cpu"),
                  load_model("imgsearch/clipart-siglip", device="cpu"),
                  random_model("clip"), random_model("siglip")]
        rows = []
        for loaded in models:
            for set_name, paths in sets.items():
                label = loaded.name + (" (trained, 64 px)" if loaded.is_clipart else "")
                rows.append([label, f"auto = {model_input_side(loaded)}", f"{set_name} x{len(paths)}",
                             *measure(loaded, paths)])
                print(" | ".join(rows[-1]), flush=True)
    verdict = all(r[-1] == "yes" for r in rows)
    body = (table(HEADER, rows) + "\n\n" + LEGEND + "\n\n" +
            (f"**Verdict: auto stays within {AUTO_TOLERANCE:g} of full decoding everywhere.**"
             if verdict else
             f"**Verdict: auto does not stay within {AUTO_TOLERANCE:g} of full decoding for "
             "every model and picture set, so the default stays draft_size=512.**"))
    print("\n" + body)
    write_section("bench_draft", body)


HEADER = ["model", "draft 'auto' (px)", "pictures", "1 - cos, 512 vs full (max)",
          "1 - cos, 'auto' vs full (max)", "1 - cos, 'auto' vs full (median)",
          "1 - cos, GPU path vs full (max)", "1 - cos between pictures (median)",
          f"'auto' within {AUTO_TOLERANCE:g}"]
LEGEND = (
    "*full* = `draft_size=None` (every pixel decoded). *512* is today's default; *'auto'* "
    "decodes JPEGs at a power-of-two reduction that keeps both sides >= the model's input "
    "side, then box-reduces by the remaining integer factor. *GPU path* is the nvJPEG path's "
    "code with a Pillow stand-in for the decoder (full-size decode, resize with torch's "
    "antialiased bicubic); on a GPU only the decoder changes. The two offline models are "
    "trained (on clip-art, so photos are far from what they know); the random ones have the "
    "real geometry but say only how far the preprocessed pixels move.")


if __name__ == "__main__":
    main()
