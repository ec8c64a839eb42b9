"""Embedding with Ray Data: one model per worker, the package's own preprocessing.

The same code runs on a laptop (a local Ray that :func:`start_ray` starts) and on
a cluster (``RAY_ADDRESS`` set, or a script sent with ``ray job submit``).
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..settings import BATCH_SIZE, DRAFT_SIZE
from ..embeddings import embed_images, iter_image_batches
from ..formats import Format, FormatError
from ..images import find_image_files
from ..index import ModelEmbedder
from ..models import load_model

__all__ = ["start_ray", "stop_ray", "EmbedImages", "embed_with_ray", "RayEmbedding",
           "read_shards", "Shards", "image_sources", "read_uri", "SHARDS_META"]

# A GPU worker's batch: four CPU batches, so that the GPU is not left waiting between calls.
GPU_BATCH_SIZE = 4 * BATCH_SIZE

# Written next to the Parquet shards: which model made them, and the format's version.
# The leading "_" makes Parquet readers (pyarrow, Spark, Milvus bulk import) skip it.
SHARDS_META = "_imgsearch_shards.json"
SHARDS_FORMAT = Format("imgsearch-parquet-shards", 1, "shard")
# Ray's switch for "this node may join a cluster". Off, Ray takes 127.0.0.1 as the
# node's address, so a local Ray listens on the loopback interface only (by default
# it advertises, and its agents listen on, the machine's network address). Ray's
# processes read it from the environment when they import ray; a driver that has
# already imported ray holds it in ray._private.ray_constants, which we then flip
# for the duration of ray.init (there is no public setting for it).
_LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Ray's token authentication. Unset, Ray warns on every local start that the cluster
# has none; a local Ray of ours listens on 127.0.0.1 only (start_ray checks), so it
# is said explicitly: "disabled". A value the user set is kept as it is.
_AUTH_ENV = "RAY_AUTH_MODE"
_SET_HERE: set[str] = set()       # environment variables start_ray set, removed by stop_ray
_LOCAL: list[bool] = []           # [True] while a local Ray that start_ray started runs


@contextlib.contextmanager
def _local_only():
    """Within: a Ray started here, and every process it spawns, binds to 127.0.0.1."""
    old_env = os.environ.get(_LOCAL_ONLY_ENV)
    os.environ[_LOCAL_ONLY_ENV] = "0"
    constants = sys.modules.get("ray._private.ray_constants")
    old_flag = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    if old_flag is not None:
        constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        if old_flag is not None:
            constants.ENABLE_RAY_CLUSTER = old_flag
        if old_env is None:
            os.environ.pop(_LOCAL_ONLY_ENV, None)
        else:
            os.environ[_LOCAL_ONLY_ENV] = old_env


# Child processes of ours that were running before Ray started (a fork server, ...).
_NOT_RAY: set[int] = set()


def start_ray(address: str | None = None, num_cpus: int | None = None) -> dict:
    """Start a local Ray on this machine's cores, or connect to a Ray cluster.

    Parameters
    ----------
    address : str, optional
        A cluster's address (``ray://head:10001`` or ``head:6379``). Default: the
        ``RAY_ADDRESS`` environment variable, which ``ray job submit`` sets for the
        script it runs; when neither is set, a local Ray is started, listening on
        127.0.0.1 only, with no dashboard.
    num_cpus : int, optional
        CPUs a local Ray may use; default all of this machine's.

    Returns
    -------
    dict : the cluster's resources, e.g. ``{"CPU": 2.0, "memory": ..., "GPU": 1.0}``.
        A Ray that is already running is reused as it is.
    """
    import ray
    import ray.data

    if not ray.is_initialized():
        import psutil

        # What already ran beside us is not Ray's: stop_ray waits only for the rest.
        _NOT_RAY.clear()
        _NOT_RAY.update(p.pid for p in psutil.Process().children(recursive=True))
        address = address or os.environ.get("RAY_ADDRESS") or None
        if address:
            ray.init(address=address)
        else:
            if _AUTH_ENV not in os.environ:
                os.environ[_AUTH_ENV] = "disabled"
                _SET_HERE.add(_AUTH_ENV)
            _LOCAL[:] = [True]
            # The workers' own log lines (Ray's notes as each actor starts, library
            # warnings) stay in Ray's log files; an error in a worker still comes back
            # as an exception here.
            with _local_only():
                ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False,
                         configure_logging=True, logging_level="error", log_to_driver=False)
            host = ray.get_runtime_context().gcs_address.rsplit(":", 1)[0]
            if host not in _LOOPBACK:
                warnings.warn(f"the local Ray listens on {host}, not only on 127.0.0.1 "
                              f"(this version of Ray ignored {_LOCAL_ONLY_ENV}=0)", stacklevel=2)
        _quiet_ray_data(ray)
    return {k: v for k, v in ray.cluster_resources().items() if not k.startswith("node:")}


def _quiet_ray_data(ray) -> None:
    # Ray Data logs each execution plan and redraws progress bars; a notebook's
    # output then drowns in them. Errors still show.
    import logging

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    # Warnings too: "Progress bars disabled" (we did that), an actor pool's size
    # advice on a small dataset. Errors still show.
    for name in ("ray", "ray.data"):
        logging.getLogger(name).setLevel(logging.ERROR)


def stop_ray(timeout: float = 30.0) -> int:
    """Shut Ray down and wait until the processes it started here have exited.

    ``ray.shutdown()`` returns while its workers are still exiting; this waits
    for them (at most ``timeout`` seconds), so that nothing is left running.

    Returns
    -------
    int : how many processes were still running after ``timeout`` (0 normally).
    """
    import psutil

    import ray

    if not ray.is_initialized():
        return 0
    procs = [p for p in psutil.Process().children(recursive=True) if p.pid not in _NOT_RAY]
    ray.shutdown()
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    while _SET_HERE:
        os.environ.pop(_SET_HERE.pop(), None)
    _LOCAL.clear()
    return len(alive)


def _is_uri(path: str) -> bool:
    return "://" in path


def image_sources(sources) -> list[str]:
    """The image paths to embed: every picture of a local folder, or the given list.

    Parameters
    ----------
    sources : str, path or sequence of str
        A local folder (listed with :func:`~imgsearch_helpers.images.find_image_files`,
        absolute paths), or paths and URIs (``s3://``, ``gs://``, ``https://`` ...)
        that every worker can read.
    """
    if isinstance(sources, (str, os.PathLike)):
        folder = Path(sources)
        if not folder.is_dir():
            raise NotADirectoryError(f"{folder} is not a folder; give a folder or a list of "
                                     "paths and URIs")
        files, problems = find_image_files(folder)
        for where, reason in problems:
            warnings.warn(f"{folder / where}: {reason}", stacklevel=2)
        # Absolute, but not resolved: a symbolic link keeps its own name.
        return [os.path.join(os.path.abspath(folder), f) for f in files]
    return [os.fspath(s) for s in sources]


class EmbedImages:
    """A Ray Data callable class: each worker loads the model once, then embeds batches.

    Use it with ``Dataset.map_batches(EmbedImages, fn_constructor_kwargs={"model": name},
    batch_format="pyarrow", ...)`` on a dataset with a ``path`` column (what
    :func:`embed_with_ray` does). Images go through
    :func:`~imgsearch_helpers.embeddings.iter_image_batches`, the code behind
    :func:`~imgsearch_helpers.embed_image_files`, so the embeddings are the same.

    Output columns: ``path``, ``embedding`` (null for a skipped file), ``model``,
    ``dim`` and ``reason`` (why a file was skipped; null for embedded ones).

    Parameters
    ----------
    model : str
        A model name or folder for :func:`~imgsearch_helpers.load_model`, loaded on
        the worker's own device (its GPU when Ray gave it one).
    batch_size, num_threads, draft_size
        As ``embed_image_files``'s ``batch_size``, ``num_workers`` (decoding threads)
        and ``draft_size``.
    """

    def __init__(self, model: str, batch_size: int = BATCH_SIZE, num_threads: int | None = None,
                 draft_size: int | str | None = DRAFT_SIZE):
        self.loaded = load_model(model)
        self.model_name = ModelEmbedder(self.loaded).name
        self.batch_size, self.num_threads, self.draft_size = batch_size, num_threads, draft_size
        from PIL import Image

        # The width of the embedding column, even for a batch whose files all fail.
        self.dim = int(embed_images(self.loaded, [Image.new("RGB", (32, 32))]).shape[1])

    def __call__(self, batch):
        import pyarrow as pa

        paths = [str(p) for p in batch.column("path").to_pylist()]
        n = len(paths)
        reasons: list[str | None] = [None] * n
        items, where = [], []
        for i, path in enumerate(paths):
            if _is_uri(path):
                try:
                    items.append(read_uri(path))
                except OSError as err:
                    reasons[i] = f"cannot read: {err}"
                    continue
            else:
                items.append(path)
            where.append(i)
        values = np.zeros((n, self.dim), np.float32)
        ok = np.zeros(n, bool)
        with warnings.catch_warnings():
            # The clip-art note is for a person choosing a model; a worker's log is not read.
            warnings.simplefilter("ignore", UserWarning)
            for result in iter_image_batches(self.loaded, items, self.batch_size,
                                             self.num_threads, self.draft_size):
                rows = [where[p] for p in result.positions]
                values[rows] = result.embeddings
                ok[rows] = True
                for p, reason in result.skipped:
                    reasons[where[p]] = reason
        embedding = pa.FixedSizeListArray.from_arrays(
            pa.array(values.reshape(-1)), self.dim, mask=pa.array(~ok))
        return pa.table({
            "path": pa.array(paths, pa.string()),
            "embedding": embedding,
            "model": pa.array([self.model_name] * n, pa.string()),
            "dim": pa.array([self.dim] * n, pa.int32()),
            "reason": pa.array(reasons, pa.string()),
        })


def read_uri(uri: str) -> bytes:
    """The bytes of a remote file (``s3://``, ``gs://``, ``hdfs://`` ... through pyarrow)."""
    import pyarrow.fs

    if uri.startswith(("http://", "https://")):
        from urllib.request import urlopen

        with urlopen(uri, timeout=60) as response:
            return response.read()
    fs, path = pyarrow.fs.FileSystem.from_uri(uri)
    with fs.open_input_stream(path) as stream:
        return stream.read()


@dataclass
class RayEmbedding:
    """What :func:`embed_with_ray` did.

    ``embeddings`` and ``paths`` are filled when no ``out`` was given (row i is
    ``paths[i]``, in input order); with ``out`` the embeddings are in the shards.
    """

    model: str
    dim: int
    count: int                                     # files embedded
    skipped: list[tuple[str, str]]                 # (path, reason)
    seconds: float
    workers: int
    out: str | None = None
    paths: list[str] = field(default_factory=list)
    embeddings: np.ndarray | None = None


def _plan(ray, num_workers, cpus_per_worker, num_gpus):
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    if num_gpus is None:
        num_gpus = 1 if gpus else 0
    if num_workers is None:
        if num_gpus:
            num_workers = max(1, int(gpus / num_gpus))
        else:
            num_workers = max(1, int(resources.get("CPU", 1) // cpus_per_worker))
    return num_workers, num_gpus


def embed_with_ray(sources, model: str, *, out: str | None = None, milvus=None,
                   batch_size: int | None = None, num_workers: int | None = None,
                   cpus_per_worker: float = 1, num_gpus: float | None = None,
                   draft_size: int | str | None = DRAFT_SIZE, blocks: int | None = None) -> RayEmbedding:
    """Embed images with Ray Data: many workers, each with its own copy of the model.

    Starts a local Ray (:func:`start_ray`) unless one is running or ``RAY_ADDRESS``
    names a cluster. Files that cannot be read are skipped with a reason.

    Parameters
    ----------
    sources : folder, or sequence of paths / URIs
        See :func:`image_sources`. On a cluster every worker must be able to read
        them: URIs of an object store, or a folder all nodes mount.
    model : str
        A model name or folder; every worker loads it with ``load_model``.
    out : str, optional
        A folder or URI for Parquet shards (columns ``path``, ``embedding``,
        ``model``, ``dim``, ``reason``), written by the workers, plus
        :data:`SHARDS_META`. Read them back with :func:`read_shards`.
    milvus : MilvusImageIndex, optional
        Upsert the embeddings straight into this collection as they arrive.
    batch_size : int, optional
        Images per model call; default ``settings.BATCH_SIZE`` on CPU workers,
        :data:`GPU_BATCH_SIZE` on GPU workers.
    num_workers : int, optional
        Model copies; default one per GPU where the cluster has GPUs, else
        ``CPUs // cpus_per_worker``.
    cpus_per_worker : float
        CPUs Ray reserves for each worker (its torch threads follow it).
    num_gpus : float, optional
        GPUs per worker; default 1 where the cluster has GPUs, else 0.
    draft_size
        As ``embed_image_files``.
    blocks : int, optional
        How many pieces the list of paths is cut into (Ray's ``override_num_blocks``);
        default about four per worker.

    Returns
    -------
    RayEmbedding
    """
    start_ray()
    import ray

    paths = image_sources(sources)
    if not paths:
        raise ValueError(f"no images to embed in {sources!r}")
    workers, gpus = _plan(ray, num_workers, cpus_per_worker, num_gpus)
    batch = batch_size or (GPU_BATCH_SIZE if gpus else BATCH_SIZE)
    nblocks = blocks or min(len(paths), 4 * workers)
    started = time.perf_counter()
    # Blocks made here, on the driver (from_items): no task has to start before the
    # workers do. (from_arrow runs a task per block, and such tasks crashed in Ray 2.60.)
    ds = ray.data.from_items([{"path": p} for p in paths], override_num_blocks=nblocks)
    # On a local Ray a worker that dies is an error to report, not a machine to replace:
    # no restarts (Ray restarts Ray Data's actors by default, and its core then prints a
    # warning on the notebook's stderr about restarting actors with stored arguments).
    # Ray 2.60 has no named parameter for it yet and calls the keyword (which its own
    # actor-pool code names as the way to turn restarts off) deprecated: that warning is
    # about Ray's next version, not the learner's code, so it is not shown.
    restarts = {"max_restarts": 0} if _LOCAL else {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        ds = ds.map_batches(EmbedImages, fn_constructor_kwargs={
            "model": str(model), "batch_size": batch, "draft_size": draft_size,
            "num_threads": None},
            batch_size=batch, batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=cpus_per_worker, num_gpus=gpus or None, **restarts)
    if out is not None:
        ds.write_parquet(out)
        shards = read_shards(out, with_meta=False)
        _write_meta(out, shards)
        if milvus is not None:
            milvus.add_embeddings(shards.paths, shards.embeddings, shards.model)
        return RayEmbedding(shards.model, shards.dim, len(shards.paths), shards.skipped,
                            time.perf_counter() - started, workers, out=str(out))
    got_paths, parts, skipped, model_name, dim = [], [], [], None, 0
    for table in ds.iter_batches(batch_format="pyarrow", batch_size=None):
        b_paths, emb, b_model, b_dim, b_skipped = _split(table)
        model_name, dim = model_name or b_model, dim or b_dim
        skipped += b_skipped
        if milvus is not None and len(b_paths):
            milvus.add_embeddings(b_paths, emb, b_model)
        else:
            got_paths += b_paths
            parts.append(emb)
    seconds = time.perf_counter() - started
    order = {p: i for i, p in enumerate(paths)}
    skipped.sort(key=lambda s: order[s[0]])
    result = RayEmbedding(model_name or str(model), dim, 0, skipped, seconds, workers)
    if milvus is not None:
        result.count = len(paths) - len(skipped)
        return result
    matrix = np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)
    rank = np.argsort([order[p] for p in got_paths], kind="stable")
    result.paths = [got_paths[i] for i in rank]
    result.embeddings = matrix[rank]
    result.count = len(result.paths)
    return result


def _split(table):
    """(paths, embeddings, model, dim, skipped) of an arrow table of :class:`EmbedImages` rows."""
    paths = table.column("path").to_pylist()
    reasons = table.column("reason").to_pylist()
    models = set(table.column("model").to_pylist())
    if len(models) > 1:
        raise ValueError(f"the embeddings come from several models: {sorted(models)}")
    dims = table.column("dim").to_pylist()
    dim = int(dims[0]) if dims else 0
    keep = [i for i, r in enumerate(reasons) if r is None]
    emb_col = table.column("embedding").take(keep).combine_chunks()
    matrix = (np.asarray(emb_col.flatten(), dtype=np.float32).reshape(len(keep), dim)
              if keep else np.zeros((0, dim), np.float32))
    skipped = [(paths[i], reasons[i]) for i, r in enumerate(reasons) if r is not None]
    return [paths[i] for i in keep], matrix, (models.pop() if models else None), dim, skipped


@dataclass
class Shards:
    """Embeddings read back from Parquet shards."""

    model: str
    dim: int
    paths: list[str]
    embeddings: np.ndarray
    skipped: list[tuple[str, str]]


def read_shards(out, with_meta: bool = True) -> Shards:
    """Read the Parquet shards that :func:`embed_with_ray` wrote (a folder or URI).

    Raises
    ------
    ValueError
        The shards hold embeddings of several models, or no shards are there.
    """
    import pyarrow.dataset as pds

    dataset = pds.dataset(str(out), format="parquet",
                          exclude_invalid_files=True, ignore_prefixes=[".", "_"])
    table = dataset.to_table(columns=["path", "embedding", "model", "dim", "reason"])
    if table.num_rows == 0:
        raise ValueError(f"no embedding shards in {out}")
    paths, matrix, model, dim, skipped = _split(table)
    if with_meta:
        meta = _read_meta(out)
        if meta is not None and meta.get("model") not in (None, model):
            raise ValueError(f"{out}: its {SHARDS_META} says model {meta['model']!r}, "
                             f"the shards {model!r}")
    return Shards(model, dim, paths, matrix, skipped)


def _meta_fs(out):
    import pyarrow.fs

    if _is_uri(str(out)):
        return pyarrow.fs.FileSystem.from_uri(str(out))
    return pyarrow.fs.LocalFileSystem(), str(Path(out).resolve())


def _write_meta(out, shards: Shards) -> None:
    fs, base = _meta_fs(out)
    meta = {**SHARDS_FORMAT.stamp(), "model": shards.model,
            "dim": shards.dim, "count": len(shards.paths), "skipped": len(shards.skipped),
            "written": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with fs.open_output_stream(f"{base}/{SHARDS_META}") as stream:
        stream.write(json.dumps(meta, indent=1).encode())


def _read_meta(out) -> dict | None:
    fs, base = _meta_fs(out)
    try:
        with fs.open_input_stream(f"{base}/{SHARDS_META}") as stream:
            meta = json.loads(stream.read())
    except FileNotFoundError:
        return None
    try:
        return SHARDS_FORMAT.read(meta, f"{out}/{SHARDS_META}")
    except FormatError as err:
        raise ValueError(str(err)) from err
