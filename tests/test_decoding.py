"""Decoding at the speed of the machine: workers, bounded prefetch, the GPU JPEG path.

There is no GPU here, and torchvision does not load against this CPU torch, so the
nvJPEG path runs with a stand-in for ``torchvision.io.decode_jpeg`` (:func:`pil_decode_jpeg`:
same signature, decodes with Pillow) and its tensor preprocessing on the CPU device.
What it checks there is ours: which files go to the GPU and which to the CPU,
batching, falling back, orientation, and the processor's geometry on tensors.
"""
from __future__ import annotations

import builtins
import io
import os
import sys
import threading
import time
import types
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from badfiles import quadrants, with_orientation
from conftest import make_picture
from imgsearch_helpers import embed_image_files, load_model
from imgsearch_helpers.decoding import (PROCESSES_FROM, PROCESSES_MIN_ITEMS, TensorPreprocessor,
                                        UnsupportedProcessor, cpu_backend, default_workers)
from imgsearch_helpers.decoding import _nvjpeg, _workers
from imgsearch_helpers.images import ORIENTATION_TRANSPOSE, DecodeBudget, load_image
from imgsearch_helpers.index import ImageIndex, ModelEmbedder
from imgsearch_helpers.models import PHOTOS_DIR

PHOTOS = sorted(PHOTOS_DIR.glob("*.jpg"))


# -- a stand-in for torchvision.io.decode_jpeg ------------------------------------

class StandIn:
    """``decode_jpeg(input, mode, device, apply_exif_orientation)`` decoding with Pillow.

    Like nvJPEG it ignores the EXIF orientation and returns (3, H, W) uint8 for
    mode RGB. ``refuse(data)`` says which inputs to fail on, as nvJPEG fails on
    what it cannot decode (with a RuntimeError, failing a whole batched call).
    """

    def __init__(self, refuse=lambda data: False):
        self.calls: list[int] = []          # the batch size of each call
        self.refuse = refuse

    def __call__(self, input, mode=None, device="cpu", apply_exif_orientation=False):
        datas = input if isinstance(input, list) else [input]
        self.calls.append(len(datas))
        out = []
        for data in datas:
            raw = bytes(data.numpy())
            if self.refuse(raw):
                raise RuntimeError("stand-in nvJPEG: unsupported JPEG")
            with Image.open(io.BytesIO(raw)) as im:
                arr = np.asarray(im.convert("RGB"))
            out.append(torch.from_numpy(arr.copy()).permute(2, 0, 1).to(device))
        return out if isinstance(input, list) else out[0]


@pytest.fixture
def stand_in(monkeypatch):
    """Route the GPU JPEG path to a :class:`StandIn` on whatever device the model is on."""
    decoder = StandIn()
    monkeypatch.setattr(_nvjpeg, "load_decoder",
                        lambda device: partial(decoder, mode="RGB", device=device))
    return decoder


def pil_decode_jpeg(input, mode=None, device="cpu", apply_exif_orientation=False):
    return StandIn()(input, mode, device, apply_exif_orientation)


def _jpeg(path: Path, im: Image.Image, **kwargs) -> Path:
    im.save(path, "JPEG", **kwargs)
    return path


def _cosines(a, b):
    return np.sum(a * b, axis=1)


# -- workers ------------------------------------------------------------------------

def test_default_workers_follow_the_cores_this_process_may_use(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert default_workers() == 3
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)      # macOS, Windows
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert default_workers() == 6


def test_the_pipeline_starts_as_many_workers_as_cores_allowed(tiny_clip, monkeypatch):
    sizes = []

    class Recording(_workers.ThreadPoolExecutor):
        def __init__(self, max_workers, **kwargs):
            sizes.append(max_workers)
            super().__init__(max_workers, **kwargs)

    monkeypatch.setattr(_workers, "ThreadPoolExecutor", Recording)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(7)), raising=False)
    loaded = load_model(tiny_clip, device="cpu")
    embed_image_files(loaded, [make_picture(k) for k in range(3)])
    embed_image_files(loaded, [make_picture(k) for k in range(3)], num_workers=2)
    assert sizes == [7, 2]      # the old default was min(4, cores)


def test_auto_picks_processes_only_on_large_machines_and_folders(monkeypatch):
    many = PROCESSES_MIN_ITEMS
    monkeypatch.setattr(_workers, "main_is_reimportable", lambda: True)
    assert cpu_backend("auto", 2, many) == "threads"
    assert cpu_backend("auto", PROCESSES_FROM - 1, many) == "threads"
    assert cpu_backend("auto", PROCESSES_FROM, many) == "processes"
    assert cpu_backend("auto", 64, many - 1) == "threads"          # start-up not repaid
    assert cpu_backend("threads", 64, many) == "threads"
    assert cpu_backend("processes", 1, 1) == "processes"
    monkeypatch.setattr(_workers, "main_is_reimportable", lambda: False)
    assert cpu_backend("auto", 64, many) == "threads"
    with pytest.raises(ValueError, match="decoder must be one of"):
        cpu_backend("gpu", 2, many)


def test_a_script_without_a_main_guard_is_not_run_again_by_workers(monkeypatch):
    script = types.ModuleType("__main__")
    script.__file__, script.__spec__ = "/home/me/embed_my_photos.py", None
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert not _workers.main_is_reimportable()
    script.__spec__ = types.SimpleNamespace(name="imgsearch_helpers.prefetch")   # python -m
    assert _workers.main_is_reimportable()
    notebook = types.ModuleType("__main__")                                     # no __file__
    monkeypatch.setitem(sys.modules, "__main__", notebook)
    assert _workers.main_is_reimportable()


def test_processes_give_exactly_what_threads_give(tiny_clip, tmp_path):
    paths = []
    for k in range(5):
        paths.append(tmp_path / f"p{k}.png")
        make_picture(k, size=(60 + 7 * k, 40)).save(paths[-1])
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    (tmp_path / "empty.png").write_bytes(b"")
    paths[2:2] = [tmp_path / "bad.jpg", tmp_path / "empty.png"]
    def items():      # a file object cannot go to another process: it is decoded at home
        return paths + [make_picture(9), paths[0].read_bytes(), io.BytesIO(paths[1].read_bytes())]

    loaded = load_model(tiny_clip, device="cpu")
    threads = embed_image_files(loaded, items(), batch_size=3, decoder="threads")
    procs = embed_image_files(loaded, items(), batch_size=3, num_workers=2, decoder="processes")
    assert threads[1] == procs[1] == [0, 1, 4, 5, 6, 7, 8, 9]
    assert threads[2] == procs[2] and len(procs[2]) == 2
    np.testing.assert_array_equal(threads[0], procs[0])


def test_a_shared_decode_budget_makes_large_images_take_turns():
    import multiprocessing

    budget = DecodeBudget(100, multiprocessing.get_context("spawn"))
    entered = threading.Event()
    order = []

    def second():
        entered.set()
        with budget.hold(80):
            order.append("second")

    with budget.hold(80):
        worker = threading.Thread(target=second)
        worker.start()
        entered.wait()
        time.sleep(0.05)
        order.append("first")
    worker.join(5)
    assert order == ["first", "second"]
    with budget.hold(500), budget.hold(0):       # one image always runs, however large
        pass


def test_workers_never_run_more_than_two_batches_ahead(tiny_clip, monkeypatch):
    real = _workers.prepare_image
    started = []

    def counting(processor, item, draft_size):
        started.append(item)
        return real(processor, item, draft_size)

    monkeypatch.setattr(_workers, "prepare_image", counting)
    loaded = load_model(tiny_clip, device="cpu")
    from imgsearch_helpers.embeddings import iter_image_batches

    batch = 4
    batches = iter_image_batches(loaded, [make_picture(k) for k in range(7 * batch)], batch,
                                 num_workers=2, decoder="threads")
    for taken in range(1, 8):
        next(batches)
        time.sleep(0.1)           # the workers run as far ahead as they may
        assert len(started) == min(7, taken + 2) * batch, taken
    assert next(batches, None) is None


# -- the GPU JPEG path: which files go where ---------------------------------------------

def _folder(tmp_path) -> dict[str, object]:
    """Files of each kind the GPU path must send to the CPU, and the ones it may decode."""
    photo = Image.open(PHOTOS[0]).convert("RGB").resize((96, 80))
    files = {
        "baseline.jpg": _jpeg(tmp_path / "baseline.jpg", photo, quality=90),
        "grey.jpg": _jpeg(tmp_path / "grey.jpg", photo.convert("L")),
        "progressive.jpg": _jpeg(tmp_path / "progressive.jpg", photo, progressive=True),
        "rotated.jpeg": with_orientation(quadrants(), 6, tmp_path / "rotated.jpeg"),
        "cmyk.jpg": _jpeg(tmp_path / "cmyk.jpg", photo.convert("CMYK")),
        "png-named.jpg": tmp_path / "png-named.jpg",
        "truncated.jpg": tmp_path / "truncated.jpg",
        "trailing.jpg": tmp_path / "trailing.jpg",
        "empty.jpg": tmp_path / "empty.jpg",
        "header-only.jpg": tmp_path / "header-only.jpg",
        "photo.png": tmp_path / "photo.png",
        "drawing.svg": tmp_path / "drawing.svg",
        "missing.jpg": tmp_path / "missing.jpg",
    }
    photo.save(files["png-named.jpg"], "PNG")
    data = files["baseline.jpg"].read_bytes()
    files["truncated.jpg"].write_bytes(data[:len(data) // 2])
    files["trailing.jpg"].write_bytes(data + b"some camera trailer")
    files["empty.jpg"].write_bytes(b"")
    files["header-only.jpg"].write_bytes(data[:20] + b"\xff\xd9")
    photo.save(files["photo.png"])
    files["drawing.svg"].write_text("<svg/>")
    files["bytes"] = data                       # JPEG bytes: may go to the GPU
    files["pil"] = photo                        # a PIL image: always the CPU
    return files


GPU_DECODED = {"baseline.jpg", "grey.jpg", "progressive.jpg", "rotated.jpeg", "bytes"}


def test_only_jpegs_that_nvjpeg_decodes_as_pillow_go_to_the_gpu(tmp_path):
    files = _folder(tmp_path)
    sent = {name for name, item in files.items() if _nvjpeg.probe(item) is not None}
    assert sent == GPU_DECODED


def test_adobe_rgb_jpegs_and_other_frames_stay_on_the_cpu(tmp_path):
    data = _jpeg(tmp_path / "a.jpg", make_picture(1)).read_bytes()
    sof = data.index(b"\xff\xc0")
    adobe = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x00"       # transform 0: RGB
    assert _nvjpeg.probe(data) is not None
    assert _nvjpeg.probe(data[:2] + adobe + data[2:]) is None
    for marker in (0xC3, 0xC9, 0xCA):           # lossless, arithmetic coding
        assert _nvjpeg.probe(data[:sof + 1] + bytes([marker]) + data[sof + 2:]) is None
    twelve_bit = data[:sof + 4] + b"\x0c" + data[sof + 5:]
    assert _nvjpeg.probe(twelve_bit) is None
    rgb_ids = bytearray(data)
    for i, cid in enumerate(b"RGB"):
        rgb_ids[sof + 10 + 3 * i] = cid
    assert _nvjpeg.probe(bytes(rgb_ids)) is None


def test_the_gpu_path_skips_the_same_files_for_the_same_reasons(tiny_clip, tmp_path, stand_in):
    files = _folder(tmp_path)
    items = list(files.values())
    loaded = load_model(tiny_clip, device="cpu")
    cpu = embed_image_files(loaded, items, batch_size=5, decoder="threads")
    gpu = embed_image_files(loaded, items, batch_size=5, decoder="auto")
    assert gpu[1] == cpu[1] and gpu[2] == cpu[2]             # nothing lost, same reasons
    names = list(files)
    assert {names[i] for i in cpu[1]} == GPU_DECODED | {"cmyk.jpg", "png-named.jpg",
                                                        "trailing.jpg", "photo.png", "pil"}
    assert sum(stand_in.calls) == len(GPU_DECODED)
    assert _cosines(gpu[0], cpu[0]).min() > 0.99


def test_files_nvjpeg_refuses_are_decoded_on_the_cpu(tiny_clip, tmp_path, stand_in):
    files = _folder(tmp_path)
    stand_in.refuse = lambda data: _nvjpeg._frame(data)[0] == 0xC2        # progressive
    items = [files[n] for n in ("baseline.jpg", "progressive.jpg", "grey.jpg", "bytes")]
    loaded = load_model(tiny_clip, device="cpu")
    emb, ok, skipped = embed_image_files(loaded, items, decoder="nvjpeg")
    assert ok == [0, 1, 2, 3] and not skipped
    # one batched call fails, then one call per file, the refused one on the CPU
    assert stand_in.calls == [4, 1, 1, 1, 1]
    cpu, _, _ = embed_image_files(loaded, [files["progressive.jpg"]], decoder="threads")
    np.testing.assert_allclose(emb[1], cpu[0], atol=1e-6)     # the same pixels, another batch


def test_a_decoded_image_of_the_wrong_size_is_decoded_again_on_the_cpu(tiny_clip, tmp_path,
                                                                        monkeypatch):
    files = _folder(tmp_path)
    monkeypatch.setattr(_nvjpeg, "load_decoder", lambda device: (
        lambda datas: [torch.zeros(3, 8, 8, dtype=torch.uint8) for _ in datas]))
    loaded = load_model(tiny_clip, device="cpu")
    gpu = embed_image_files(loaded, [files["baseline.jpg"]], decoder="nvjpeg")
    cpu = embed_image_files(loaded, [files["baseline.jpg"]], decoder="threads")
    assert gpu[1] == [0]
    np.testing.assert_array_equal(gpu[0], cpu[0])


def test_running_out_of_gpu_memory_while_preprocessing_falls_back_to_the_cpu(
        tiny_clip, tmp_path, stand_in, monkeypatch):
    files = _folder(tmp_path)

    def out_of_memory(self, image):
        raise torch.OutOfMemoryError("CUDA out of memory (stand-in)")

    monkeypatch.setattr(TensorPreprocessor, "__call__", out_of_memory)
    loaded = load_model(tiny_clip, device="cpu")
    gpu = embed_image_files(loaded, [files["baseline.jpg"], files["grey.jpg"]], decoder="nvjpeg")
    cpu = embed_image_files(loaded, [files["baseline.jpg"], files["grey.jpg"]], decoder="threads")
    assert stand_in.calls == [2] and gpu[1] == [0, 1]
    np.testing.assert_array_equal(gpu[0], cpu[0])


def test_a_bug_in_the_gpu_path_propagates(tiny_clip, tmp_path, monkeypatch):
    files = _folder(tmp_path)
    monkeypatch.setattr(_nvjpeg, "load_decoder", lambda device: (lambda datas: 1 / 0))
    loaded = load_model(tiny_clip, device="cpu")
    with pytest.raises(ZeroDivisionError):
        embed_image_files(loaded, [files["baseline.jpg"]], decoder="nvjpeg")


def test_jpegs_are_decoded_in_batches_within_a_pixel_budget(tiny_clip, tmp_path, stand_in,
                                                            monkeypatch):
    paths = [_jpeg(tmp_path / f"{k}.jpg", make_picture(k, size=(50, 40))) for k in range(10)]
    loaded = load_model(tiny_clip, device="cpu")
    embed_image_files(loaded, paths, batch_size=4, decoder="nvjpeg")
    assert stand_in.calls == [4, 4, 2]
    stand_in.calls.clear()
    monkeypatch.setattr(_nvjpeg, "_BATCH_PIXELS", 3 * 50 * 40)
    embed_image_files(loaded, paths, batch_size=4, decoder="nvjpeg")
    assert stand_in.calls == [3, 1, 3, 1, 2]


def test_nvjpeg_is_refused_with_reasons(tiny_clip, tiny_siglip2, stand_in, monkeypatch):
    loaded = load_model(tiny_siglip2, device="cpu")
    with pytest.raises(ValueError, match="cannot reproduce .* preprocessing"):
        embed_image_files(loaded, [make_picture(1)], decoder="nvjpeg")
    # "auto" then simply decodes on the CPU, bit for bit as before
    auto = embed_image_files(loaded, [PHOTOS[0]], decoder="auto")
    threads = embed_image_files(loaded, [PHOTOS[0]], decoder="threads")
    np.testing.assert_array_equal(auto[0], threads[0])
    assert stand_in.calls == []
    monkeypatch.undo()
    clip = load_model(tiny_clip, device="cpu")
    with pytest.raises(ValueError, match="CUDA device .* torchvision"):
        embed_image_files(clip, [make_picture(1)], decoder="nvjpeg")


def test_the_cpu_path_never_imports_torchvision(tiny_clip, tmp_path, monkeypatch):
    """Ours: no module of this package asks for torchvision unless the model is on CUDA."""
    asked = []
    real_import = builtins.__import__

    def recording(name, globals=None, locals=None, fromlist=(), level=0):
        caller = (globals or {}).get("__name__", "")
        if name.startswith("torchvision") and caller.startswith("imgsearch_helpers"):
            asked.append(caller)
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", recording)
    monkeypatch.setattr(_nvjpeg, "_LOADED", {})
    path = _jpeg(tmp_path / "a.jpg", make_picture(1))
    loaded = load_model(tiny_clip, device="cpu")
    embed_image_files(loaded, [path, make_picture(2)])
    ImageIndex.build(tmp_path, loaded)
    assert asked == []
    # the check can fail: asking for a CUDA device does import it
    _nvjpeg.load_decoder(torch.device("cuda"))
    assert asked == ["imgsearch_helpers.decoding._nvjpeg"]


# -- the GPU path's preprocessing -------------------------------------------------------

@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_on_tensors_matches_pillow(orientation):
    im = quadrants()
    tensor = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)
    method = ORIENTATION_TRANSPOSE.get(orientation)
    expected = np.asarray(im if method is None else im.transpose(method))
    got = _nvjpeg.orient(tensor, orientation).permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(got, expected)


def _processors():
    from transformers import CLIPImageProcessor, SiglipImageProcessor

    return {
        "CLIP 224 (ViT-B/32)": CLIPImageProcessor(),
        "CLIP 336": CLIPImageProcessor(size={"shortest_edge": 336},
                                       crop_size={"height": 336, "width": 336}),
        "SigLIP 224": SiglipImageProcessor(),
        "SigLIP 384": SiglipImageProcessor(size={"height": 384, "width": 384}),
        "CLIP crop > resize": CLIPImageProcessor(size={"shortest_edge": 20},
                                                 crop_size={"height": 24, "width": 24}),
    }


@pytest.mark.parametrize("name", list(_processors()))
def test_tensor_preprocessing_matches_the_processor(name):
    processor = _processors()[name]
    for path in PHOTOS[:3] + [None]:
        im = (Image.open(path).convert("RGB") if path else
              Image.new("RGB", (900, 40), (10, 200, 30)))      # a strip: aspect clamped
        expected = processor(images=[im], return_tensors="pt")["pixel_values"]
        tensor = torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)
        got = TensorPreprocessor(processor)(tensor)
        assert got.shape == expected.shape, name
        # In steps of one 8-bit level: Pillow resamples in two passes, rounding to 8
        # bits in between, so a few pixels at sharp edges differ by several levels; a
        # wrong size, crop or filter would move most pixels by many.
        steps = (got - expected).abs() / ((1 / 255) / min(processor.image_std))
        assert steps.mean() < 0.25 and (steps > 1.01).float().mean() < 0.02, (name, path)


def test_processors_the_tensor_path_cannot_reproduce_are_named(tiny_siglip2):
    from transformers import AutoProcessor, CLIPImageProcessor

    with pytest.raises(UnsupportedProcessor, match="patches"):
        TensorPreprocessor(AutoProcessor.from_pretrained(tiny_siglip2).image_processor)
    with pytest.raises(UnsupportedProcessor, match="resample"):
        TensorPreprocessor(CLIPImageProcessor(resample=Image.Resampling.LANCZOS))


def test_torchvisions_interpolation_modes_are_understood():
    """With torchvision, transformers' processors may name their filter as an InterpolationMode."""
    import enum

    from transformers import CLIPImageProcessor

    class InterpolationMode(enum.Enum):        # as torchvision.transforms defines it
        BILINEAR = "bilinear"
        BICUBIC = "bicubic"
        LANCZOS = "lanczos"

    processor = CLIPImageProcessor()
    for named, mode in ((InterpolationMode.BICUBIC, "bicubic"),
                        (InterpolationMode.BILINEAR, "bilinear")):
        processor.resample = named
        assert TensorPreprocessor(processor).mode == mode
    processor.resample = InterpolationMode.LANCZOS
    with pytest.raises(UnsupportedProcessor, match="resample"):
        TensorPreprocessor(processor)


# -- equivalence of the two paths on photos ----------------------------------------------

@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory):
    """The course's photos, and large JPEGs made from them (so that the CPU path drafts)."""
    folder = tmp_path_factory.mktemp("photos")
    paths = []
    for path in PHOTOS:
        paths.append(folder / path.name)
        paths[-1].write_bytes(path.read_bytes())
    for path in PHOTOS[:3]:
        im = Image.open(path).convert("RGB")
        big = im.resize((im.width * 4, im.height * 4), Image.Resampling.LANCZOS)
        paths.append(_jpeg(folder / f"large_{path.name}", big, quality=92))
    rotated = Image.open(PHOTOS[2]).convert("RGB")
    paths.append(with_orientation(rotated, 8, folder / "rotated.jpg"))
    return paths


@pytest.mark.filterwarnings("ignore::imgsearch_helpers.models.ClipartModelWarning")
@pytest.mark.parametrize("model", ["tiny_clip", "tiny_siglip", "imgsearch/clipart-clip",
                                   "imgsearch/clipart-siglip"])
def test_gpu_and_cpu_paths_embed_photos_alike(model, photo_folder, stand_in, request):
    name = request.getfixturevalue(model) if model.startswith("tiny") else model
    loaded = load_model(name, device="cpu")
    cpu = embed_image_files(loaded, photo_folder, decoder="threads")
    gpu = embed_image_files(loaded, photo_folder, decoder="nvjpeg")
    assert gpu[1] == cpu[1] == list(range(len(photo_folder)))
    assert sum(stand_in.calls) == len(photo_folder)        # every photo went the GPU way
    cos = _cosines(gpu[0], cpu[0])
    assert cos.min() >= 0.999, dict(zip([p.name for p in photo_folder], cos.round(5)))


def test_the_index_uses_the_gpu_path_too(tiny_clip, photo_folder, stand_in):
    loaded = load_model(tiny_clip, device="cpu")
    index = ImageIndex.build(photo_folder[0].parent, ModelEmbedder(loaded, decoder="nvjpeg"))
    assert len(index) == len(photo_folder) and sum(stand_in.calls) == len(photo_folder)


def test_the_stand_in_has_decode_jpegs_signature():
    data = io.BytesIO()
    make_picture(3).save(data, "JPEG")
    tensor = torch.frombuffer(bytearray(data.getvalue()), dtype=torch.uint8)
    one = pil_decode_jpeg(tensor, mode="RGB", device="cpu")
    many = pil_decode_jpeg([tensor, tensor], mode="RGB", device="cpu")
    assert one.shape == (3, 40, 48) and one.dtype == torch.uint8 and len(many) == 2
    np.testing.assert_array_equal(one.permute(1, 2, 0).numpy(),
                                  np.asarray(load_image(data.getvalue())))


# -- on a GPU machine only: the real nvJPEG ------------------------------------------------

def _real_nvjpeg() -> bool:
    return torch.cuda.is_available() and _nvjpeg.load_decoder(torch.device("cuda")) is not None


needs_nvjpeg = pytest.mark.skipif("not _real_nvjpeg()",
                                  reason="needs CUDA and torchvision with nvJPEG")


@needs_nvjpeg
@pytest.mark.filterwarnings("ignore::imgsearch_helpers.models.ClipartModelWarning")
@pytest.mark.parametrize("model", ["imgsearch/clipart-clip", "imgsearch/clipart-siglip"])
def test_real_nvjpeg_embeds_photos_as_the_cpu_path(model, photo_folder):
    loaded = load_model(model, device="cuda")
    cpu = embed_image_files(loaded, photo_folder, decoder="threads")
    gpu = embed_image_files(loaded, photo_folder, decoder="nvjpeg")
    assert gpu[1] == cpu[1] == list(range(len(photo_folder)))
    cos = _cosines(gpu[0], cpu[0])
    assert cos.min() >= 0.999, dict(zip([p.name for p in photo_folder], cos.round(5)))


@needs_nvjpeg
def test_real_nvjpeg_skips_the_same_mutants_as_the_cpu_path(tiny_clip, tmp_path):
    """JPEG mutants (as tests/test_fuzz.py makes them): nvJPEG must not embed what Pillow skips."""
    from formatseeds import seed_files
    from test_fuzz import mutate

    rng = np.random.default_rng(15)
    seed = seed_files()["JPEG"]
    paths = []
    for k in range(400):
        paths.append(tmp_path / f"m{k:03d}.jpg")
        paths[-1].write_bytes(mutate(seed, rng))
    loaded = load_model(tiny_clip, device="cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cpu = embed_image_files(loaded, paths, decoder="threads", progress=False)
        gpu = embed_image_files(loaded, paths, decoder="nvjpeg", progress=False)
    assert gpu[1] == cpu[1]
    assert gpu[2] == cpu[2]
