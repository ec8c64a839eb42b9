"""Check the package's native FG-CLIP 2 against the official code, on a tiny random model.

Usage::

    python tools/check_fgclip2.py PATH_TO_OFFICIAL_CODE

PATH_TO_OFFICIAL_CODE is a checkout of https://github.com/360CVGroup/FG-CLIP (or its
``fgclip2/model/strcs`` folder, the files the Hub repositories serve as remote
code). It is read from there and never copied into this repository.

The script builds a tiny FG-CLIP 2 with the official classes and random weights
(every parameter drawn at random, so that no part can pass by being zero or one),
saves it with ``save_pretrained`` and loads that folder with the native
``Fgclip2Model.from_pretrained``, i.e. by parameter name. It then compares, in
float32: the image processors' outputs, text embeddings for every ``walk_type``
with and without an attention mask, image embeddings one by one and as a padded
batch, the zero-shot logits of ``forward``, and the package's own path
(``embed_texts`` / ``embed_images`` / ``zero_shot_scores``) with the official
README recipe. It exits with status 1 if any difference exceeds TOLERANCE or any
parameter name is missing or unexpected.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch
from PIL import Image

# This checkout's package, not another installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TOLERANCE = 1e-5
OFFICIAL = "fgclip2_official"   # the package name the official files are imported under

TEXT = dict(vocab_size=300, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
            num_attention_heads=4, max_position_embeddings=64, keep_len=20, longtext_len=196,
            pad_token_id=0, eos_token_id=1, bos_token_id=2)   # the tiny Gemma tokenizer's ids
VISION = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
              patch_size=16, num_patches=64)
# Sizes that fall into every patch budget (128, 256, 576, 784, 1024 patches of 16 px).
IMAGE_SIZES = [(40, 30), (300, 200), (1000, 90), (500, 400), (640, 480), (200, 330)]


# ----------------------------------------------------------------------------------
# PATCHES so that the official code imports under transformers 5, without torchvision.
# They touch only this process's module table, never the official files.
# ----------------------------------------------------------------------------------
def _prepare_4d_attention_mask(mask: torch.Tensor, dtype: torch.dtype, tgt_len: int | None = None):
    """PATCH 1: transformers 4's helper, which transformers 5 removed (issue 12, mismatch 2).

    A (batch, source) 0/1 mask becomes an additive (batch, 1, target, source) mask:
    0 where attended, the dtype's minimum where masked.
    """
    batch, source = mask.shape
    target = tgt_len if tgt_len is not None else source
    expanded = mask[:, None, None, :].expand(batch, 1, target, source).to(dtype)
    inverted = 1.0 - expanded
    return inverted.masked_fill(inverted.to(torch.bool), torch.finfo(dtype).min)


def _install_patches() -> list[str]:
    applied = []
    if importlib.util.find_spec("transformers.modeling_attn_mask_utils") is None:
        shim = types.ModuleType("transformers.modeling_attn_mask_utils")
        shim._prepare_4d_attention_mask = _prepare_4d_attention_mask
        sys.modules[shim.__name__] = shim
        applied.append("PATCH 1: transformers.modeling_attn_mask_utils._prepare_4d_attention_mask "
                       "(removed in transformers 5) provided as transformers 4 defined it")
    try:
        import torchvision.ops  # noqa: F401
    except (ImportError, RuntimeError, OSError):
        # PATCH 2: modeling_fgclip2.py imports torchvision.ops.roi_align at the top (issue 12,
        # mismatch 1). It is used only by get_image_region_features, which is not compared.
        def roi_align(*args, **kwargs):
            raise RuntimeError("torchvision stub: roi_align is not available in this check")

        tv, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
        ops.roi_align, tv.ops = roi_align, ops
        sys.modules.update({"torchvision": tv, "torchvision.ops": ops})
        applied.append("PATCH 2: torchvision.ops.roi_align stubbed (not installed; used only by "
                       "get_image_region_features, which is not compared)")
    return applied


def import_official(path: Path):
    """Import the official configuration, modeling and (slow) image processor modules.

    PATCH 3: the folder's ``__init__.py`` imports the training model (einops,
    torch.distributed) and the fast image processor, which imports a class
    transformers 5 no longer has (issue 12, mismatch 4). The folder is therefore
    mounted as a package without running its ``__init__.py``, and only the three
    modules compared here are imported.
    """
    strcs = path if (path / "modeling_fgclip2.py").is_file() else path / "fgclip2" / "model" / "strcs"
    if not (strcs / "modeling_fgclip2.py").is_file():
        raise SystemExit(f"{path}: no modeling_fgclip2.py here or in fgclip2/model/strcs/")
    package = types.ModuleType(OFFICIAL)
    package.__path__ = [str(strcs)]
    sys.modules[OFFICIAL] = package
    return (importlib.import_module(f"{OFFICIAL}.configuration_fgclip2"),
            importlib.import_module(f"{OFFICIAL}.modeling_fgclip2"),
            importlib.import_module(f"{OFFICIAL}.image_processing_fgclip2"))


# ----------------------------------------------------------------------------------
# The comparison
# ----------------------------------------------------------------------------------
class Report:
    def __init__(self):
        self.failures = 0

    def diff(self, name: str, ours, theirs) -> None:
        ours, theirs = (np.asarray(x.detach().float().numpy() if isinstance(x, torch.Tensor) else x,
                                   dtype=np.float64) for x in (ours, theirs))
        if ours.shape != theirs.shape:
            self.fail(f"{name}: shapes differ, {ours.shape} vs {theirs.shape}")
            return
        worst = float(np.max(np.abs(ours - theirs))) if ours.size else 0.0
        ok = worst <= TOLERANCE
        self.failures += not ok
        print(f"  [{'ok' if ok else 'FAIL'}] {name:58s} max |diff| = {worst:.2e}  shape {ours.shape}")

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        self.failures += not ok
        print(f"  [{'ok' if ok else 'FAIL'}] {name}{': ' + detail if detail else ''}")

    def fail(self, message: str) -> None:
        self.check(message, False)


def _randomise(model: torch.nn.Module, seed: int = 0) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=gen)
            if "norm" in name and name.endswith("weight"):
                param.copy_(1.0 + 0.1 * noise)
            elif name == "logit_scale":
                param.fill_(float(np.log(10.0)))
            elif name == "logit_bias":
                param.fill_(-2.0)
            else:
                param.copy_(0.2 * noise)


def _tiny_tokenizer():
    """A case-sensitive Gemma tokenizer (byte tokens only): upper and lower case differ."""
    from transformers import GemmaTokenizer

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<mask>": 4}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    return GemmaTokenizer(vocab=vocab, merges=[], padding_side="right")


def _pictures() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for w, h in IMAGE_SIZES]


def compare_models(report: Report, official, native) -> None:
    gen = torch.Generator().manual_seed(1)
    vocab = TEXT["vocab_size"]
    print("text embeddings (get_text_features):")
    for walk, length in (("short", 64), ("box", 64), ("long", 196)):
        ids = torch.randint(5, vocab, (4, length), generator=gen)
        mask = torch.ones_like(ids)
        for row, used in enumerate((length, length // 2, 9, 1)):
            ids[row, used:], mask[row, used:] = 0, 0
        with torch.no_grad():
            for label, kwargs in (("no mask", {}), ("attention mask", {"attention_mask": mask})):
                report.diff(f"walk_type={walk!r}, {length} tokens, {label}",
                            native.get_text_features(ids, walk_type=walk, **kwargs),
                            official.get_text_features(ids, walk_type=walk, **kwargs))


def compare_images(report: Report, official, native, official_processor, native_processor):
    pictures = _pictures()
    print("image processors (one image per call, dynamic patch budget):")
    budgets = []
    for picture in pictures:
        ours = native_processor(images=picture, return_tensors="pt")
        theirs = official_processor(images=picture, return_tensors="pt")
        budgets.append(int(theirs["pixel_values"].shape[1]))
        report.diff(f"pixel_values {picture.size[0]}x{picture.size[1]} -> {budgets[-1]} patches",
                    ours["pixel_values"], theirs["pixel_values"])
        report.check(f"pixel_attention_mask and spatial_shapes {picture.size[0]}x{picture.size[1]}",
                     torch.equal(ours["pixel_attention_mask"].long(), theirs["pixel_attention_mask"].long())
                     and torch.equal(ours["spatial_shapes"].long(), theirs["spatial_shapes"].long()))
    report.check("every patch budget is exercised", sorted(set(budgets)) == [128, 256, 576, 784, 1024],
                 str(sorted(set(budgets))))
    print("image embeddings (get_image_features):")
    singles = []
    with torch.no_grad():
        for picture in pictures:
            inputs = official_processor(images=picture, return_tensors="pt")
            theirs = official.get_image_features(**inputs)
            singles.append(theirs)
            report.diff(f"one image {picture.size[0]}x{picture.size[1]}",
                        native.get_image_features(**inputs), theirs)
        batch = official_processor(images=pictures, return_tensors="pt")   # padded to the largest budget
        report.diff(f"batch of {len(pictures)} padded to {batch['pixel_values'].shape[1]} patches",
                    native.get_image_features(**batch), official.get_image_features(**batch))
    return pictures, torch.cat(singles)


def compare_logits(report: Report, official, native, official_processor):
    print("zero-shot logits (forward: exp(logit_scale) * cos + logit_bias):")
    gen = torch.Generator().manual_seed(2)
    ids = torch.randint(5, TEXT["vocab_size"], (3, 64), generator=gen)
    images = official_processor(images=_pictures()[:2], return_tensors="pt")
    with torch.no_grad():
        ours = native(input_ids=ids, **images).logits_per_image
        theirs = official(input_ids=ids, **images).logits_per_image
    report.diff("logits_per_image", ours, theirs)


def compare_package_path(report: Report, official, folder: Path, pictures, official_images) -> None:
    """embed_texts / embed_images / zero_shot_scores against the official README recipe."""
    from imgsearch_helpers import embed_images, embed_texts, load_model, zero_shot_scores

    print("the package (load_model, embed_texts, embed_images, zero_shot_scores) vs the README recipe:")
    loaded = load_model(folder, device="cpu")
    tokenizer = loaded.processor.tokenizer
    texts = ["A Photo of a RED car", "zwei Katzen", "一只猫",
             "A long caption (over 64 tokens, under 196): a RED car and two black cats by a white house."]

    def readme(text):
        text = text.lower()   # the README, evaluation and training all lower-case captions
        long = len(tokenizer(text)["input_ids"]) > 64
        inputs = tokenizer([text], padding="max_length", max_length=196 if long else 64,
                           truncation=True, return_tensors="pt")
        feats = official.get_text_features(**inputs, walk_type="long" if long else "short")
        return feats / feats.norm(dim=-1, keepdim=True), long

    lengths = [len(tokenizer(t.lower())["input_ids"]) for t in texts]
    report.check("the long caption has between 65 and 196 tokens", 64 < lengths[-1] <= 196,
                 f"{lengths[-1]} tokens")
    with torch.no_grad():
        theirs = [readme(t) for t in texts]
    walks = ["long" if long else "short" for _, long in theirs]
    report.check("a long caption takes walk_type='long', the short ones 'short'",
                 walks == ["short", "short", "short", "long"], str(walks))
    ours = embed_texts(loaded, texts)
    report.diff("embed_texts (short and long in one call)", ours,
                torch.cat([feats for feats, _ in theirs]))
    image_emb = embed_images(loaded, pictures, batch_size=len(pictures))
    official_images = official_images / official_images.norm(dim=-1, keepdim=True)
    report.diff("embed_images (mixed sizes in one batch) vs one by one", image_emb, official_images)
    logits = official_images @ torch.cat([f for f, _ in theirs]).T
    logits = logits * official.logit_scale.exp() + official.logit_bias
    report.diff("zero_shot_scores vs sigmoid(official logits)",
                zero_shot_scores(loaded, image_emb, ours), torch.sigmoid(logits))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("official", type=Path, help="a checkout of 360CVGroup/FG-CLIP")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)

    import transformers

    from imgsearch_helpers.fgclip2 import Fgclip2ImageProcessor, Fgclip2Model

    print(f"transformers {transformers.__version__}, torch {torch.__version__}, float32, CPU")
    for line in _install_patches():
        print(line)
    config_module, modeling, image_processing = import_official(args.official)
    print("PATCH 3: official modules imported without their package __init__ "
          "(configuration_fgclip2, modeling_fgclip2, image_processing_fgclip2)")

    torch.manual_seed(0)
    config = config_module.Fgclip2Config(text_config=dict(TEXT), vision_config=dict(VISION))
    official = modeling.Fgclip2Model(config).eval()
    _randomise(official)
    report = Report()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        official.save_pretrained(folder)
        official_processor = image_processing.Fgclip2ImageProcessor(patch_size=VISION["patch_size"])
        official_processor.save_pretrained(folder)
        _tiny_tokenizer().save_pretrained(folder)
        native, info = Fgclip2Model.from_pretrained(folder, output_loading_info=True)
        native.eval()
        native_processor = Fgclip2ImageProcessor.from_pretrained(folder)

        official_names = set(official.state_dict())
        native_names = set(native.state_dict())
        print(f"parameter names: official state dict {len(official_names)}, native {len(native_names)}")
        report.check("official names missing from the native model",
                     not (official_names - native_names), f"{sorted(official_names - native_names)}")
        report.check("native names the official model lacks",
                     not (native_names - official_names), f"{sorted(native_names - official_names)}")
        report.check("from_pretrained: missing / unexpected / mismatched keys",
                     not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")),
                     ", ".join(f"{k} {sorted(info[k])}" for k in
                               ("missing_keys", "unexpected_keys", "mismatched_keys")))
        loaded_same = all(torch.equal(native.state_dict()[k], v) for k, v in official.state_dict().items())
        report.check("every loaded tensor equals the official one", loaded_same)

        compare_models(report, official, native)
        pictures, official_images = compare_images(report, official, native, official_processor,
                                                   native_processor)
        compare_logits(report, official, native, official_processor)
        compare_package_path(report, official, folder, pictures, official_images)

    verdict = "ALL MATCH" if not report.failures else f"{report.failures} CHECK(S) FAILED"
    print(f"{verdict} (tolerance {TOLERANCE:g})")
    return 0 if not report.failures else 1


if __name__ == "__main__":
    sys.exit(main())
