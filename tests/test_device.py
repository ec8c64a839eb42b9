"""Device selection: CUDA, then MPS verified by a real allocation, then CPU."""
import pytest
import torch

from imgsearch_helpers import select_device, select_dtype
from imgsearch_helpers import device as dev


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("IMGSEARCH_DEVICE", raising=False)


def _fake(monkeypatch, cuda: bool, mps_available: bool, mps_allocates: bool = True):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps_available)
    real_zeros = torch.zeros

    def zeros(*args, device=None, **kwargs):
        if str(device) == "mps":
            if not mps_allocates:
                raise RuntimeError("MPS backend out of memory")
            return real_zeros(*args, **kwargs)
        return real_zeros(*args, device=device, **kwargs)
    monkeypatch.setattr(torch, "zeros", zeros)


def test_cuda_first(monkeypatch):
    _fake(monkeypatch, cuda=True, mps_available=True)
    assert select_device() == torch.device("cuda")


def test_mps_when_it_really_allocates(monkeypatch):
    _fake(monkeypatch, cuda=False, mps_available=True)
    assert select_device() == torch.device("mps")


def test_mps_that_fails_to_allocate_falls_back_to_cpu(monkeypatch):
    _fake(monkeypatch, cuda=False, mps_available=True, mps_allocates=False)
    assert select_device() == torch.device("cpu")


def test_cpu_last(monkeypatch):
    _fake(monkeypatch, cuda=False, mps_available=False)
    assert select_device() == torch.device("cpu")


def test_forced_device_and_env(monkeypatch):
    _fake(monkeypatch, cuda=False, mps_available=False)
    assert select_device("cpu") == torch.device("cpu")
    with pytest.raises(RuntimeError, match="not usable"):
        select_device("cuda")
    monkeypatch.setenv("IMGSEARCH_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="not usable"):
        select_device()


def test_dtype_choice():
    assert select_dtype("cpu") == torch.float32
    assert select_dtype("cuda") == torch.float16
    assert select_dtype("cuda", half=False) == torch.float32
    with pytest.raises(ValueError):
        select_dtype("cpu", half=True)
