"""Decoding workers (threads or processes) that run at most two batches ahead of the model."""
from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
from PIL import Image

from ..settings import DECODER, DRAFT_SIZE
from ..images import DECODE_BUDGET_BYTES, DecodeBudget, use_decode_budget
from ._nvjpeg import gpu_decoder_for, probe
from ._prepare import image_processor, prepare_image

DECODERS = ("auto", "threads", "processes", "nvjpeg")
# From this many workers on, "auto" decodes in processes: issue 15's 16-core machine
# decoded 12 MP JPEGs 17 % faster in 16 processes than in 16 threads (the GIL
# serialises the processors' Python steps), while on 2 cores threads are as fast
# (bench/RESULTS.md, bench_embed). The threshold between the two was not measured.
PROCESSES_FROM = 8
# Starting the fork server costs a few seconds once per session (it imports torch
# and transformers); only a folder this large repays it.
PROCESSES_MIN_ITEMS = 256
_AHEAD = 2                       # batches decoded ahead of the one the model runs on


def default_workers() -> int:
    """The number of CPU cores this process may run on (``os.sched_getaffinity``), else all."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:        # macOS, Windows
        return os.cpu_count() or 1


def cpu_backend(decoder: str, workers: int, items: int) -> str:
    """``"threads"`` or ``"processes"``: how ``decoder`` decodes ``items`` images on the CPU.

    "auto" picks processes from :data:`PROCESSES_FROM` workers and
    :data:`PROCESSES_MIN_ITEMS` images on, and only where worker processes can start
    without running the main script again (see :func:`main_is_reimportable`).
    """
    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, not {decoder!r}")
    if decoder in ("threads", "processes"):
        return decoder
    if decoder == "auto" and workers >= PROCESSES_FROM and items >= PROCESSES_MIN_ITEMS \
            and main_is_reimportable():
        return "processes"
    return "threads"


def main_is_reimportable() -> bool:
    """Whether worker processes can start without running the user's script again.

    A new process imports the main module; a script (``python my_script.py``)
    without an ``if __name__ == "__main__":`` guard would then start embedding all
    over again in every worker. Notebooks, the REPL and ``python -m`` modules are
    safe; for a script only ``decoder="processes"`` asks for processes.
    """
    main = sys.modules.get("__main__")
    if getattr(getattr(main, "__spec__", None), "name", None):
        return True
    return getattr(main, "__file__", None) is None


# In a worker process: the processor and draft size its parent sent when it started.
_IN_WORKER: dict = {}


def _start_worker(processor, draft_size, budget) -> None:
    torch.set_num_threads(1)      # one core per worker; the parent's model has its own
    use_decode_budget(budget)
    _IN_WORKER.update(processor=processor, draft_size=draft_size)


def _prepare_in_worker(item):
    inputs, reason = prepare_image(_IN_WORKER["processor"], item, _IN_WORKER["draft_size"])
    if inputs is not None:
        # NumPy arrays travel by value through the pipe; tensors would need shared memory.
        inputs = {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
    return inputs, reason


def _from_worker(result):
    inputs, reason = result
    if inputs is not None:
        inputs = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
                  for k, v in inputs.items()}
    return inputs, reason


def _process_context(processor):
    # Not "fork": the parent holds torch's thread pools (and maybe CUDA), which a
    # forked child must not inherit. The fork server, started once, imports the
    # package and the processor's code, so that each worker forked from it starts
    # in milliseconds instead of importing transformers again.
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["imgsearch_helpers.decoding", type(processor).__module__])
    return ctx


@contextmanager
def _pool(backend: str, workers: int, processor, draft_size, gpu):
    """``(submit, receive)``: ``submit(item)`` gives a Future, ``receive`` turns its result
    into ``(inputs, reason)`` (or a :class:`JpegFile` for the GPU)."""
    if backend == "processes":
        ctx = _process_context(processor)
        budget = DecodeBudget(DECODE_BUDGET_BYTES, ctx)   # one budget for all the processes
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_start_worker,
                                   initargs=(processor, draft_size, budget))

        def submit(item) -> Future:
            if isinstance(item, (str, os.PathLike, bytes, bytearray, Image.Image)):
                return pool.submit(_prepare_in_worker, item)
            # A file object cannot travel to another process: prepared here.
            done: Future = Future()
            done.set_result(prepare_image(processor, item, draft_size))
            return done

        try:
            yield submit, _from_worker
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return

    def task(item):
        if gpu is not None:
            jpeg = probe(item)
            if jpeg is not None:
                return jpeg
        return prepare_image(processor, item, draft_size)

    with ThreadPoolExecutor(workers, thread_name_prefix="imgsearch-decode") as pool:
        yield (lambda item: pool.submit(task, item)), (lambda result: result)


def prepared_batches(loaded, indexed: list, batch_size: int, num_workers: int | None = None,
                     draft_size: int | None = DRAFT_SIZE, decoder: str = DECODER) -> Iterator[list]:
    """Decode and preprocess ``indexed`` (``[(position, item)]``) batch by batch.

    Yields, per batch of ``batch_size`` items, ``[(position, (inputs, reason))]``:
    the model's input tensors, or None and why the item was skipped. Workers
    decode one image per task (so all of them help with the batch the model needs
    next) and never more than two batches ahead of the one being yielded, so
    memory stays bounded.

    Parameters
    ----------
    loaded : LoadedModel
    indexed : list of (position, path / bytes / PIL image)
    batch_size : int
    num_workers : int, optional
        Default :func:`default_workers`.
    draft_size : int or None
        Passed to :func:`~imgsearch_helpers.images.load_image`.
    decoder : {"auto", "threads", "processes", "nvjpeg"}
        "auto": JPEGs on the GPU when the model is on CUDA and torchvision is
        installed (:mod:`._nvjpeg`), the rest in threads, or in processes on
        large machines (:func:`cpu_backend`).
    """
    processor = image_processor(loaded)
    gpu = gpu_decoder_for(loaded, processor, decoder)
    workers = num_workers or default_workers()
    # The GPU path's workers mostly read files: threads, which share the bytes freely.
    backend = "threads" if gpu is not None else cpu_backend(decoder, workers, len(indexed))
    chunks = iter([indexed[i:i + batch_size] for i in range(0, len(indexed), batch_size)])
    with _pool(backend, workers, processor, draft_size, gpu) as (submit, receive):
        pending: deque = deque([(pos, submit(item)) for pos, item in chunk]
                               for chunk in itertools.islice(chunks, _AHEAD))
        try:
            while pending:
                done = [(pos, receive(future.result())) for pos, future in pending.popleft()]
                nxt = next(chunks, None)
                if nxt is not None:
                    pending.append([(pos, submit(item)) for pos, item in nxt])
                if gpu is not None:
                    done = gpu.finish(done, lambda item: prepare_image(processor, item, draft_size))
                yield done
        finally:
            # A consumer that stops early (or an error) must not wait for queued images.
            for futures in pending:
                for _, future in futures:
                    future.cancel()
