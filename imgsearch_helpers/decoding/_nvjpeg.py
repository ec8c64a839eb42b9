"""JPEGs decoded on the GPU: nvJPEG through torchvision, then the processor's steps as tensor ops.

Only what nvJPEG is known to decode as Pillow does is sent there: a baseline,
extended or progressive 8-bit JPEG (``SOF0``-``SOF2``, Huffman-coded) in grey or
YCbCr, that ends where its data ends. Everything else (CMYK and Adobe RGB JPEGs,
arithmetic coding, MPO, a file with bytes after its end, other formats, PIL images,
anything unreadable) goes through the CPU path, which reports a skip exactly as
it always has. A file that passes and still fails on the GPU is decoded on the
CPU too: nothing is lost.

The GPU path decodes the full picture (nvJPEG has no reduced-size decoding) and
resizes it with torch's antialiased bicubic, which follows Pillow's filter; the
result differs from the CPU path only by resampling (``cosine >= 0.999``,
tests/test_decoding.py).
"""
from __future__ import annotations

import io
import os
import struct
import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..images import (ORIENTATION_TRANSPOSE, ImageLoadError, exif_orientation,
                      is_decoding_failure, stat_regular_file)
from ._prepare import clamp_aspect, size_dict

# Paths with these names are read for the GPU; others go to the CPU path, which
# also gives any special reason for their name (HEIC, SVG, camera RAW, ...).
_JPEG_SUFFIXES = frozenset({".jpg", ".jpeg"})
_MAX_FILE_BYTES = 128 << 20       # far above any photo; larger files take the CPU path
# Decoded pixels per nvJPEG call (~1.5 GB of RGB): a batch of 100 MP panoramas is split.
_BATCH_PIXELS = 512 << 20
# Frame types nvJPEG decodes: baseline, extended sequential, progressive (Huffman).
_SOF_DECODED = frozenset({0xC0, 0xC1, 0xC2})
_SOF_OTHER = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_RESAMPLE = {Image.Resampling.BICUBIC: "bicubic", Image.Resampling.BILINEAR: "bilinear"}
# The torch op that does each of Pillow's transposes on a (C, H, W) tensor.
_TENSOR_TRANSPOSE = {
    Image.Transpose.FLIP_LEFT_RIGHT: lambda t: t.flip(-1),
    Image.Transpose.FLIP_TOP_BOTTOM: lambda t: t.flip(-2),
    Image.Transpose.ROTATE_90: lambda t: torch.rot90(t, 1, (-2, -1)),
    Image.Transpose.ROTATE_180: lambda t: torch.rot90(t, 2, (-2, -1)),
    Image.Transpose.ROTATE_270: lambda t: torch.rot90(t, -1, (-2, -1)),
    Image.Transpose.TRANSPOSE: lambda t: t.transpose(-2, -1),
    Image.Transpose.TRANSVERSE: lambda t: torch.rot90(t, 2, (-2, -1)).transpose(-2, -1),
}


class UnsupportedProcessor(ValueError):
    """The image processor does something the tensor path does not reproduce."""


@dataclass
class JpegFile:
    """A JPEG read and checked on the CPU, waiting for the GPU."""

    item: object            # what the caller gave: the CPU path's input if the GPU fails
    data: torch.Tensor      # the file's bytes (uint8, 1-D)
    width: int              # as stored, before the EXIF orientation
    height: int
    orientation: int


def _frame(data: bytes) -> tuple[int, int, bytes, bool] | None:
    """``(SOF marker, precision, component ids, Adobe RGB)`` from a JPEG's headers, None if unclear.

    Follows the segment lengths from the start of the file to the first frame
    header; anything unexpected on the way means "let the CPU path judge it".
    """
    pos, adobe_rgb = 2, False
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:              # fill byte before a marker
            pos += 1
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        body = data[pos + 4:pos + 2 + length]
        if length < 2 or len(body) != length - 2:
            return None
        if marker == 0xEE and body.startswith(b"Adobe") and len(body) >= 12:
            adobe_rgb = body[11] == 0       # transform 0: stored as RGB, not YCbCr
        if marker in _SOF_DECODED or marker in _SOF_OTHER:
            if len(body) < 6:
                return None
            count = body[5]
            ids = bytes(body[6 + 3 * i] for i in range(count) if 6 + 3 * i < len(body))
            return marker, body[0], ids, adobe_rgb
        if marker == 0xDA:              # start of scan before any frame header
            return None
        pos += 2 + length
    return None


def probe(item) -> JpegFile | None:
    """Read ``item`` for the GPU if nvJPEG decodes it as Pillow would; None sends it to the CPU path."""
    if isinstance(item, (str, os.PathLike)):
        if os.path.splitext(os.fspath(item))[1].lower() not in _JPEG_SUFFIXES:
            return None
        try:
            if not 0 < stat_regular_file(item).st_size <= _MAX_FILE_BYTES:
                return None
            with open(item, "rb") as fh:
                data = fh.read(_MAX_FILE_BYTES + 1)
        except (ImageLoadError, OSError):
            return None           # the CPU path says why
    elif isinstance(item, (bytes, bytearray, memoryview)):
        data = bytes(item)
    else:
        return None               # PIL images and file objects
    if not (data.startswith(b"\xff\xd8\xff") and data.endswith(b"\xff\xd9")) \
            or len(data) > _MAX_FILE_BYTES:
        return None               # not a JPEG, truncated, or bytes after its end
    frame = _frame(data)
    if frame is None:
        return None
    marker, precision, ids, adobe_rgb = frame
    if marker not in _SOF_DECODED or precision != 8 or len(ids) not in (1, 3):
        return None               # lossless, arithmetic, 12-bit, CMYK/YCCK
    if len(ids) == 3 and (adobe_rgb or ids == b"RGB"):
        return None               # colour stored as RGB: nvJPEG would read it as YCbCr
    try:
        with Image.open(io.BytesIO(data), formats=("JPEG",)) as im:
            if im.format != "JPEG" or im.mode not in ("L", "RGB"):
                return None       # MPO (a second picture), or a mode Pillow reads otherwise
            width, height = im.size
            limit = Image.MAX_IMAGE_PIXELS
            if not (width and height) or (limit and width * height > limit):
                return None       # the CPU path reports it (no pixels, bomb)
            orientation = exif_orientation(im)
    except Exception as err:
        if not is_decoding_failure(err):
            raise
        return None
    tensor = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    return JpegFile(item, tensor, width, height, orientation)


class TensorPreprocessor:
    """An image processor's resize, centre crop, rescale and normalise, done on tensors.

    Reads the processor's own ``size``, ``crop_size``, ``resample``,
    ``rescale_factor``, ``image_mean`` and ``image_std``; raises
    :class:`UnsupportedProcessor` for processors with other steps (NaFlex patching
    in SigLIP 2 and FG-CLIP 2, padding, other filters).
    """

    def __init__(self, processor):
        self.processor = processor
        get = partial(getattr, processor)
        if get("max_num_patches", None) is not None or get("do_pad", False) \
                or get("dynamic_max_patches", False):
            raise UnsupportedProcessor(f"{type(processor).__name__} cuts images into patches")
        self.size = size_dict(get("size", None)) if get("do_resize", False) else {}
        if self.size and set(self.size) not in ({"shortest_edge"}, {"height", "width"}):
            raise UnsupportedProcessor(f"resize to {self.size}")
        self.crop = size_dict(get("crop_size", None)) if get("do_center_crop", False) else {}
        if self.crop and set(self.crop) != {"height", "width"}:
            raise UnsupportedProcessor(f"centre crop to {self.crop}")
        self.mode = _resample_mode(get("resample", None))
        self.scale = float(get("rescale_factor", 1 / 255)) if get("do_rescale", False) else 1.0
        self.mean = self.std = None
        if get("do_normalize", False):
            self.mean = torch.tensor(_three(get("image_mean", None)), dtype=torch.float32)
            self.std = torch.tensor(_three(get("image_std", None)), dtype=torch.float32)

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """(3, H, W) uint8, upright -> (1, 3, h, w) float32 pixel values, on its device."""
        height, width = image.shape[-2:]
        box = clamp_aspect(self.processor, width, height)
        if box is not None:
            left, top, right, bottom = box
            image = image[:, top:bottom, left:right]
            height, width = image.shape[-2:]
        x = image.unsqueeze(0).float()
        if self.size:
            out = self._output_size(height, width)
            if out != (height, width):
                x = F.interpolate(x, size=out, mode=self.mode, antialias=True,
                                  align_corners=False)
                # The processors resize 8-bit images, whose results are 8-bit again.
                x = x.round_().clamp_(0, 255)
        if self.crop:
            x = _center_crop(x, self.crop["height"], self.crop["width"])
        x = x * self.scale
        if self.mean is not None:
            mean, std = self.mean.to(x.device), self.std.to(x.device)
            x = (x - mean[:, None, None]) / std[:, None, None]
        return x

    def _output_size(self, height: int, width: int) -> tuple[int, int]:
        if "shortest_edge" in self.size:
            # transformers' get_resize_output_image_size: the long side is truncated.
            short, long_ = (width, height) if width <= height else (height, width)
            new_short = self.size["shortest_edge"]
            new_long = int(new_short * long_ / short)
            return (new_long, new_short) if width <= height else (new_short, new_long)
        return self.size["height"], self.size["width"]


def _resample_mode(resample) -> str:
    """torch's interpolation mode for a processor's filter: Pillow's number, or (with
    torchvision, transformers' default backend) an ``InterpolationMode`` such as "bicubic"."""
    value = getattr(resample, "value", resample)
    if isinstance(value, str) and value.lower() in _RESAMPLE.values():
        return value.lower()
    try:
        return _RESAMPLE[Image.Resampling(value)]
    except (ValueError, KeyError, TypeError):
        raise UnsupportedProcessor(f"resample filter {resample!r}") from None


def _three(values) -> list[float]:
    values = [float(v) for v in np.atleast_1d(np.asarray(values, dtype=np.float64))]
    return values * 3 if len(values) == 1 else values


def _center_crop(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    h, w = x.shape[-2:]
    if h < height or w < width:
        # The processors pad with zeros before cropping a picture smaller than the crop.
        pad_h, pad_w = max(0, height - h), max(0, width - w)
        x = F.pad(x, ((pad_w + 1) // 2, pad_w // 2, (pad_h + 1) // 2, pad_h // 2))
        h, w = x.shape[-2:]
    top, left = (h - height) // 2, (w - width) // 2
    return x[..., top:top + height, left:left + width]


def orient(image: torch.Tensor, orientation: int) -> torch.Tensor:
    """Apply an EXIF orientation to a (C, H, W) tensor, as :func:`load_image` does to a picture."""
    method = ORIENTATION_TRANSPOSE.get(orientation)
    return image if method is None else _TENSOR_TRANSPOSE[method](image)


def _is_gpu_failure(err: Exception) -> bool:
    # torchvision reports what nvJPEG refuses (and CUDA out of memory) as RuntimeError.
    return isinstance(err, RuntimeError) or is_decoding_failure(err)


class JpegGpuDecoder:
    """Decodes the :class:`JpegFile` of a batch in nvJPEG calls and preprocesses them on the GPU.

    Parameters
    ----------
    preprocess : TensorPreprocessor
    decode_jpeg : callable
        ``torchvision.io.decode_jpeg`` with its ``mode`` (RGB) and ``device`` bound:
        a list of 1-D uint8 tensors in, a list of (3, H, W) uint8 tensors out.
    device : torch.device
    """

    def __init__(self, preprocess: TensorPreprocessor, decode_jpeg, device):
        self.preprocess, self.decode_jpeg, self.device = preprocess, decode_jpeg, device

    def finish(self, done: list, fallback) -> list:
        """Replace each :class:`JpegFile` of ``done`` (``[(position, result)]``) by its inputs.

        ``fallback(item)`` prepares a file on the CPU: used for any file nvJPEG fails on.
        """
        jpegs = [(row, result) for row, (_, result) in enumerate(done)
                 if isinstance(result, JpegFile)]
        out = list(done)
        for group in _by_pixels(jpegs):
            for (row, jpeg), image in zip(group, self._decode([j for _, j in group])):
                pixels = None
                if image is not None and tuple(image.shape) == (3, jpeg.height, jpeg.width):
                    try:
                        pixels = self.preprocess(orient(image, jpeg.orientation))
                    except Exception as err:        # e.g. out of GPU memory for a huge one
                        if not _is_gpu_failure(err):
                            raise
                out[row] = (done[row][0], fallback(jpeg.item) if pixels is None
                            else ({"pixel_values": pixels}, None))
        return [(pos, _to_device(result, self.device)) for pos, result in out]

    def _decode(self, jpegs: list[JpegFile]) -> list:
        """Decoded images, None where nvJPEG failed: one call for all, else one call each."""
        try:
            return list(self.decode_jpeg([j.data for j in jpegs]))
        except Exception as err:
            if not _is_gpu_failure(err):
                raise
        images = []
        for jpeg in jpegs:
            try:
                images.append(self.decode_jpeg([jpeg.data])[0])
            except Exception as err:
                if not _is_gpu_failure(err):
                    raise
                images.append(None)
        return images


def _by_pixels(jpegs: list) -> list[list]:
    groups, current, pixels = [], [], 0
    for row, jpeg in jpegs:
        size = jpeg.width * jpeg.height
        if current and pixels + size > _BATCH_PIXELS:
            groups.append(current)
            current, pixels = [], 0
        current.append((row, jpeg))
        pixels += size
    return groups + [current] if current else groups


def _to_device(result, device):
    """A CPU path's ``(inputs, reason)`` with its tensors on ``device``, to batch with the GPU's."""
    inputs, reason = result
    if inputs is None:
        return result
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}, reason


_LOADED: dict[str, object] = {}


def load_decoder(device: torch.device):
    """torchvision's ``decode_jpeg`` for ``device`` (mode and device bound), or None.

    None unless ``device`` is a CUDA device and torchvision is installed, loads
    against this torch and decodes a test JPEG there. torchvision is imported
    here only: the CPU path never imports it.
    """
    if device.type != "cuda":
        return None
    key = str(device)
    if key not in _LOADED:
        _LOADED[key] = _torchvision_decoder(device)
    return _LOADED[key]


def _torchvision_decoder(device: torch.device):
    try:
        from torchvision.io import ImageReadMode, decode_jpeg
    except ModuleNotFoundError:
        return None
    except (ImportError, OSError, RuntimeError) as err:
        # A wheel built for another torch fails as it loads its operators.
        warnings.warn(f"torchvision is installed but does not load ({type(err).__name__}: "
                      f"{err}); JPEGs are decoded on the CPU", RuntimeWarning, stacklevel=4)
        return None
    decode = partial(decode_jpeg, mode=ImageReadMode.RGB, device=device)
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buf, "JPEG")
    try:
        decode([torch.frombuffer(bytearray(buf.getvalue()), dtype=torch.uint8)])
    except RuntimeError as err:
        warnings.warn(f"torchvision cannot decode JPEGs on {device} ({err}); JPEGs are "
                      "decoded on the CPU", RuntimeWarning, stacklevel=4)
        return None
    return decode


def gpu_decoder_for(loaded, processor, decoder: str) -> JpegGpuDecoder | None:
    """The GPU JPEG path for ``loaded``, or None where it does not apply.

    ``decoder="auto"`` uses it when the model is on CUDA, torchvision loads there
    and the processor is one :class:`TensorPreprocessor` reproduces (CLIP, SigLIP);
    ``decoder="nvjpeg"`` insists, and says why it cannot.
    """
    if decoder not in ("auto", "nvjpeg"):
        return None
    decode = load_decoder(loaded.device)
    if decode is None:
        if decoder == "nvjpeg":
            raise ValueError(f"decoder='nvjpeg' needs the model on a CUDA device (it is on "
                             f"{loaded.device}) and torchvision with nvJPEG: "
                             "pip install 'imgsearch-helpers[gpu]'")
        return None
    try:
        preprocess = TensorPreprocessor(processor)
    except UnsupportedProcessor as err:
        if decoder == "nvjpeg":
            raise ValueError(f"decoder='nvjpeg' cannot reproduce {loaded.name}'s preprocessing "
                             f"on the GPU ({err}); use decoder='auto'") from None
        return None
    return JpegGpuDecoder(preprocess, decode, loaded.device)
