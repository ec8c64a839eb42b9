"""Shared fixtures: tiny randomly initialised models of every family the course uses.

Each is a real transformers class with its real processor, saved to a temporary
folder, so the tests exercise the same loading path as a Hub checkpoint.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image, ImageDraw

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TEXT = dict(vocab_size=600, hidden_size=32, intermediate_size=37, num_hidden_layers=1,
            num_attention_heads=2, max_position_embeddings=64)
VISION = dict(hidden_size=32, intermediate_size=37, num_hidden_layers=1,
              num_attention_heads=2, patch_size=8)


def _tiny_tokenizer():
    from transformers import CLIPTokenizer
    from tokenizers.pre_tokenizers import ByteLevel

    chars = sorted(ByteLevel.alphabet())
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for tok in chars + [c + "</w>" for c in chars]:
        vocab.setdefault(tok, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=64)


def _save(tmp_path_factory, name, model, processor):
    path = tmp_path_factory.mktemp(name)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_vit(tmp_path_factory):
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(0)
    labels = ["lakeside, lakeshore", "tabby, tabby cat", "sports car"]
    config = ViTConfig(image_size=32, num_channels=3, **VISION,
                       id2label=dict(enumerate(labels)), label2id={l: i for i, l in enumerate(labels)})
    return _save(tmp_path_factory, "tiny-vit", ViTForImageClassification(config),
                 ViTImageProcessor(size={"height": 32, "width": 32}))


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory):
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    torch.manual_seed(0)
    tok = _tiny_tokenizer()
    config = CLIPConfig(text_config=dict(TEXT, eos_token_id=1, bos_token_id=0, pad_token_id=1),
                        vision_config=dict(VISION, image_size=32), projection_dim=16)
    processor = CLIPProcessor(CLIPImageProcessor(size={"shortest_edge": 32},
                                                 crop_size={"height": 32, "width": 32}), tok)
    return _save(tmp_path_factory, "tiny-clip", CLIPModel(config), processor)


@pytest.fixture(scope="session")
def tiny_siglip(tmp_path_factory):
    import torch
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipProcessor

    torch.manual_seed(0)
    config = SiglipConfig(text_config=dict(TEXT), vision_config=dict(VISION, image_size=32))
    model = SiglipModel(config)
    with torch.no_grad():  # the paper's initialisation: t' = log 10, b = -10
        model.logit_scale.fill_(np.log(10.0))
        model.logit_bias.fill_(-10.0)
    processor = SiglipProcessor(SiglipImageProcessor(size={"height": 32, "width": 32}),
                                _tiny_tokenizer())
    return _save(tmp_path_factory, "tiny-siglip", model, processor)


@pytest.fixture(scope="session")
def tiny_siglip2(tmp_path_factory):
    import torch
    from transformers import Siglip2Config, Siglip2ImageProcessor, Siglip2Model, Siglip2Processor

    torch.manual_seed(0)
    config = Siglip2Config(text_config=dict(TEXT),
                           vision_config=dict(VISION, num_patches=16))
    model = Siglip2Model(config)
    with torch.no_grad():
        model.logit_scale.fill_(np.log(10.0))
        model.logit_bias.fill_(-10.0)
    processor = Siglip2Processor(Siglip2ImageProcessor(patch_size=8, max_num_patches=16),
                                 _tiny_tokenizer())
    return _save(tmp_path_factory, "tiny-siglip2", model, processor)


def _tiny_gemma_tokenizer():
    """A case-sensitive Gemma tokenizer of byte tokens (one token per byte of text)."""
    from transformers import GemmaTokenizer

    vocab = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3, "<mask>": 4}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    return GemmaTokenizer(vocab=vocab, merges=[], padding_side="right")


@pytest.fixture(scope="session")
def fgclip2_folder(tmp_path_factory):
    """A tiny FG-CLIP 2 saved with save_pretrained (model, image processor, tokenizer)."""
    import torch
    from imgsearch_helpers.fgclip2 import (Fgclip2Config, Fgclip2ImageProcessor, Fgclip2Model,
                                           Fgclip2Processor)

    torch.manual_seed(0)
    config = Fgclip2Config(
        text_config=dict(vocab_size=261, hidden_size=32, intermediate_size=37, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=64, longtext_len=196,
                         keep_len=20, pad_token_id=0, eos_token_id=1, bos_token_id=2),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=1,
                           num_attention_heads=2, patch_size=16, num_patches=16))
    model = Fgclip2Model(config)
    with torch.no_grad():
        model.logit_scale.fill_(np.log(10.0))
        model.logit_bias.fill_(-2.0)
    path = tmp_path_factory.mktemp("tiny-fgclip2")
    model.save_pretrained(path)
    Fgclip2Processor(Fgclip2ImageProcessor(), _tiny_gemma_tokenizer()).save_pretrained(path)
    return path


def install_in_hf_cache(cache_dir, repo_id: str, folder) -> None:
    """Copy a saved model into a Hugging Face cache layout under ``repo_id``.

    With ``HF_HUB_CACHE=cache_dir`` and ``HF_HUB_OFFLINE=1`` the tiny model then
    loads under the real name, through the same code path as a downloaded one.
    """
    import shutil
    from pathlib import Path

    repo = Path(cache_dir) / ("models--" + repo_id.replace("/", "--"))
    commit = "0" * 40
    shutil.copytree(folder, repo / "snapshots" / commit, dirs_exist_ok=True)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)


def make_picture(kind: int, size=(48, 40)) -> Image.Image:
    """A simple coloured picture; different ``kind`` values give different pictures."""
    rng = np.random.default_rng(kind)
    im = Image.new("RGB", size, tuple(int(c) for c in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(im)
    x, y = (int(v) for v in rng.integers(0, 20, 2))
    draw.ellipse((x, y, x + 20, y + 15), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    return im


@pytest.fixture
def pictures():
    return [make_picture(k) for k in range(5)]


def sigint_default() -> None:
    """``preexec_fn`` for a child that a test stops with SIGINT: Ctrl-C must reach it even
    when the suite runs in the background (``make test &``), where the shell starts it with
    SIGINT ignored and children inherit that."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
