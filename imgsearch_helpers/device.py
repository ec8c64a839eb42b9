"""Pick the torch device and dtype the helpers run on.

Notebooks call :func:`select_device` and never write ``.cuda()`` themselves.
"""
from __future__ import annotations

import os

import torch

from .settings import DEVICE_ENV

__all__ = ["select_device", "select_dtype"]

_ENV_DEVICE = DEVICE_ENV


def _cuda_ok() -> bool:
    return torch.cuda.is_available()


def _mps_ok() -> bool:
    # ``is_available()`` can answer yes on machines where the first real
    # allocation then fails (seen by rclip on some macOS set-ups), so we allocate.
    backend = getattr(torch.backends, "mps", None)
    if backend is None or not backend.is_available():
        return False
    try:
        torch.zeros(1, device="mps")
    except (RuntimeError, OSError):
        return False
    return True


def select_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then CPU.

    Parameters
    ----------
    prefer : str, optional
        Force a device ("cpu", "cuda", "cuda:1", "mps"). The environment variable
        ``IMGSEARCH_DEVICE`` does the same for a whole session. A forced device
        that is not usable raises ``RuntimeError`` instead of falling back.

    Returns
    -------
    torch.device
    """
    prefer = prefer or os.environ.get(_ENV_DEVICE) or None
    if prefer:
        device = torch.device(prefer)
        usable = {"cpu": lambda: True, "cuda": _cuda_ok, "mps": _mps_ok}.get(device.type)
        if usable is None or not usable():
            raise RuntimeError(f"device {prefer!r} was asked for but is not usable here")
        return device
    if _cuda_ok():
        return torch.device("cuda")
    if _mps_ok():
        return torch.device("mps")
    return torch.device("cpu")


def select_dtype(device: torch.device | str, half: bool | None = None) -> torch.dtype:
    """Return the dtype to run a model in on ``device``.

    Half precision (float16) halves memory and roughly doubles throughput on a
    GPU; on CPU it is slow or unsupported, so float32 is used there.

    Parameters
    ----------
    device : torch.device or str
    half : bool, optional
        Force half precision on (True) or off (False). Default: on for CUDA/MPS.
    """
    device = torch.device(device)
    if half is None:
        half = device.type in ("cuda", "mps")
    if half and device.type == "cpu":
        raise ValueError("half precision is not supported for inference on the CPU here")
    return torch.float16 if half else torch.float32
