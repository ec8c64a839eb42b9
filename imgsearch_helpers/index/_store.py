"""How an :class:`~imgsearch_helpers.index.ImageIndex` lives on disk (private).

::

    <index_dir>/
      manifest.json              the commit point: files, their size/mtime, model, dim
      embeddings-<gen>.npy       unit rows (float32 or float16), in manifest order
      checkpoints/<gen>-<n>.npy  rows embedded by an update that has not finished...
      checkpoints/<gen>-<n>.json ...and which files they are (written last: the marker)
      lock                       flock()ed while an update runs

Every file is written to a temporary name, fsync()ed and moved into place with
``os.replace``, so a crash leaves either the old or the new version, never half
of one. A new generation's embeddings are written under a new name before the
manifest that points to them, so the manifest never refers to a missing or
partial file. Nothing here uses pickle: ``np.load(..., allow_pickle=False)``.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FORMAT = "imgsearch-index"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CHECKPOINTS = "checkpoints"
DTYPES = ("float32", "float16")
_EMB_NAME = re.compile(r"^embeddings-(\d+)\.npy$")
_CKPT_NAME = re.compile(r"^(\d+)-(\d+)\.json$")


class ImageIndexError(Exception):
    """Base class of the index's errors."""


class IndexCorruptError(ImageIndexError):
    """An index file is unreadable, truncated or inconsistent; it is left untouched."""


class IndexModelMismatchError(ImageIndexError, ValueError):
    """The index was built with another model than the one given."""


class IndexLockedError(ImageIndexError):
    """Another process is updating the same index right now."""


Stat = tuple  # (size, mtime_ns, inode)


@dataclass
class Manifest:
    """What manifest.json holds, column by column (one row per indexed file)."""

    model: str
    dim: int
    dtype: str
    folder: str                       # the indexed folder, relative to the index dir
    recursive: bool = True
    generation: int = 0
    embeddings_file: str | None = None
    embeddings_bytes: int = 0
    paths: list[str] = field(default_factory=list)        # relative, "/"-separated
    # Columns, as in the JSON: a million tuples would cost a tenth of a second to build.
    sizes: list[int] = field(default_factory=list)
    mtimes: list[int] = field(default_factory=list)       # st_mtime_ns
    inodes: list[int] = field(default_factory=list)
    racy: set[int] = field(default_factory=set)           # rows whose stat can't be trusted
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (relpath, reason)
    created: str = ""
    updated: str = ""
    last_summary: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "model": self.model, "dim": self.dim, "dtype": self.dtype,
            "folder": self.folder, "recursive": self.recursive,
            "generation": self.generation, "embeddings_file": self.embeddings_file,
            "embeddings_bytes": self.embeddings_bytes,
            "created": self.created, "updated": self.updated, "count": len(self.paths),
            "last_summary": self.last_summary,
            # Columns rather than one object per file: a 1M-file manifest then
            # parses in a fraction of the time.
            "paths": self.paths,
            "sizes": self.sizes, "mtimes_ns": self.mtimes, "inodes": self.inodes,
            "racy": sorted(self.racy),
            "skipped": [list(s) for s in self.skipped],
        }

    @classmethod
    def from_json(cls, data, where: Path) -> "Manifest":
        def need(ok, what):
            if not ok:
                raise IndexCorruptError(f"{where}: {what}. {_UNTOUCHED}")
        need(isinstance(data, dict) and data.get("format") == FORMAT,
             f"not an {FORMAT} manifest")
        version = data.get("format_version")
        need(isinstance(version, int), "no format_version")
        if version > FORMAT_VERSION:
            raise ImageIndexError(f"{where} has index format {version}; this version of "
                                  f"imgsearch_helpers reads up to {FORMAT_VERSION}. Upgrade it.")
        # Older formats would be migrated here, one version step at a time.
        try:
            paths, sizes = data["paths"], data["sizes"]
            mtimes, inodes = data["mtimes_ns"], data["inodes"]
            m = cls(model=str(data["model"]), dim=int(data["dim"]), dtype=str(data["dtype"]),
                    folder=str(data["folder"]), recursive=bool(data["recursive"]),
                    generation=int(data["generation"]),
                    embeddings_file=data["embeddings_file"],
                    embeddings_bytes=int(data["embeddings_bytes"]),
                    paths=paths, sizes=sizes, mtimes=mtimes, inodes=inodes,
                    racy=set(data["racy"]),
                    skipped=[(str(p), str(r)) for p, r in data["skipped"]],
                    created=str(data["created"]), updated=str(data["updated"]),
                    last_summary=dict(data["last_summary"]))
        except (KeyError, TypeError, ValueError) as err:
            raise IndexCorruptError(f"{where}: missing or malformed field ({err!r}). "
                                    f"{_UNTOUCHED}") from err
        need(all(isinstance(c, list) for c in (paths, sizes, mtimes, inodes))
             and len(paths) == len(sizes) == len(mtimes) == len(inodes) == data.get("count"),
             "its columns have different lengths")
        need(m.dtype in DTYPES, f"unknown dtype {m.dtype!r}")
        need(m.embeddings_file is None or _EMB_NAME.match(str(m.embeddings_file)),
             "bad embeddings file name")
        need(_safe_relpaths(paths),
             "a path is not relative to the folder (absolute, empty or with '..')")
        return m

    def stat(self, row: int) -> Stat:
        return self.sizes[row], self.mtimes[row], self.inodes[row]


def _safe_relpaths(paths: list) -> bool:
    """No path is empty, absolute or goes up with "..": a manifest edited by hand
    (or by an attacker) must not point outside the folder."""
    if not paths:
        return True
    try:
        joined = "\n" + "\n".join(paths) + "\n"
    except TypeError:          # a path that is not a string
        return False
    # Substring tests over all paths at once: a million are checked in ~50 ms.
    if joined.count("\n") != len(paths) + 1 or "\x00" in joined:
        return False
    seps = "/\\" if os.name == "nt" else "/"
    if os.name == "nt" and ":" in joined:
        return False
    starts, ends = "\n" + seps, "\n" + seps
    return not (any("\n" + c in joined for c in seps + "\n")
                or any(a + ".." + b in joined for a in starts for b in ends))


_UNTOUCHED = ("The index was left as it is; to start over, move or delete its folder "
              "and build it again.")


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":      # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old or the new file."""
    tmp = _tmp_name(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def atomic_write_npy(path: Path, dtype: str, shape: tuple, blocks) -> int:
    """Write an .npy file from an iterable of row blocks, atomically; returns its size."""
    tmp = _tmp_name(path)
    written = 0
    with open(tmp, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
            "fortran_order": False, "shape": tuple(shape)})
        for block in blocks:
            block = np.ascontiguousarray(block, dtype=dtype)
            fh.write(block.data)
            written += len(block)
        fh.flush()
        os.fsync(fh.fileno())
    if written != shape[0]:
        tmp.unlink()
        raise RuntimeError(f"internal error: wrote {written} rows, expected {shape[0]}")
    size = tmp.stat().st_size
    os.replace(tmp, path)
    _fsync_dir(path.parent)
    return size


def read_manifest(index_dir: Path) -> Manifest | None:
    """The manifest of ``index_dir``, or None if there is none yet."""
    path = index_dir / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise IndexCorruptError(f"{path} is not valid JSON ({err}); it may be truncated. "
                                f"{_UNTOUCHED}") from err
    return Manifest.from_json(data, path)


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    data = json.dumps(manifest.to_json(), separators=(",", ":")).encode("ascii")
    atomic_write_bytes(index_dir / MANIFEST, data)


def open_embeddings(index_dir: Path, manifest: Manifest) -> np.ndarray:
    """Memory-map the manifest's embeddings, checking they are complete."""
    n = len(manifest.paths)
    if manifest.embeddings_file is None:
        if n:
            raise IndexCorruptError(f"{index_dir / MANIFEST} lists {n} files but no "
                                    f"embeddings file. {_UNTOUCHED}")
        return np.zeros((0, manifest.dim), manifest.dtype)
    path = index_dir / manifest.embeddings_file
    try:
        size = path.stat().st_size
    except FileNotFoundError as err:
        raise IndexCorruptError(f"{path} is missing. {_UNTOUCHED}") from err
    if size != manifest.embeddings_bytes:
        raise IndexCorruptError(f"{path} has {size} bytes, the manifest says "
                                f"{manifest.embeddings_bytes}: it is truncated or was "
                                f"changed. {_UNTOUCHED}")
    try:
        if n == 0:
            emb = np.load(path, allow_pickle=False)   # an empty file cannot be mapped
        else:
            emb = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise IndexCorruptError(f"{path} is not a readable .npy file ({err}). "
                                f"{_UNTOUCHED}") from err
    if emb.shape != (n, manifest.dim) or emb.dtype != np.dtype(manifest.dtype):
        raise IndexCorruptError(f"{path} holds {emb.dtype} {emb.shape}, the manifest says "
                                f"{manifest.dtype} ({n}, {manifest.dim}). {_UNTOUCHED}")
    return emb


@contextlib.contextmanager
def update_lock(index_dir: Path):
    """Hold an exclusive lock on the index while it is updated (POSIX only)."""
    try:
        import fcntl
    except ImportError:      # Windows: no advisory locks; one writer at a time, please
        yield
        return
    fd = os.open(index_dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise IndexLockedError(f"another process is updating the index in {index_dir}; "
                                   "wait for it to finish") from err
        yield
    finally:
        os.close(fd)      # also releases the lock; the kernel does so if we are killed


def remove_stale_files(index_dir: Path, manifest: Manifest | None) -> None:
    """Delete temporary files and embeddings no manifest points to (call under lock)."""
    current = manifest.embeddings_file if manifest else None
    for entry in os.scandir(index_dir):
        stale_tmp = entry.name.startswith(".") and entry.name.endswith(".tmp")
        old_emb = _EMB_NAME.match(entry.name) and entry.name != current
        if entry.is_file() and (stale_tmp or old_emb):
            os.unlink(entry.path)


@dataclass
class Checkpoint:
    """Rows an unfinished update embedded, found again on the next run."""

    rows: dict      # relpath -> (stat, racy, vector)
    problems: list[str]


class CheckpointWriter:
    """Saves an update's progress in numbered chunks, each file atomically."""

    def __init__(self, index_dir: Path, generation: int, model: str, dtype: str):
        self.dir = index_dir / CHECKPOINTS
        self.generation, self.model, self.dtype = generation, model, dtype
        self.dir.mkdir(exist_ok=True)
        taken = [int(m.group(2)) for m in map(_CKPT_NAME.match, os.listdir(self.dir))
                 if m and int(m.group(1)) == generation]
        self.seq = max(taken, default=-1) + 1

    def write(self, relpaths: list[str], stats: list[Stat], racy: list[bool],
              vectors: np.ndarray) -> None:
        if not relpaths:
            return
        base = f"{self.generation}-{self.seq:06d}"
        self.seq += 1
        atomic_write_npy(self.dir / f"{base}.npy", self.dtype, vectors.shape, [vectors])
        # The .json is written second: a chunk without it is ignored and removed.
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": self.model,
                "generation": self.generation, "dtype": self.dtype,
                "dim": int(vectors.shape[1]), "paths": relpaths,
                "stats": [list(s) for s in stats], "racy": racy}
        atomic_write_bytes(self.dir / f"{base}.json", json.dumps(meta).encode("ascii"))


def read_checkpoints(index_dir: Path, generation: int, model: str, dtype: str,
                     dim: int | None) -> Checkpoint:
    """Rows saved by an interrupted update of this generation of the index."""
    folder = index_dir / CHECKPOINTS
    found = Checkpoint({}, [])
    if not folder.is_dir():
        return found
    for name in sorted(os.listdir(folder)):
        match = _CKPT_NAME.match(name)
        if not match or int(match.group(1)) != generation:
            continue
        where = folder / name
        try:
            meta = json.loads(where.read_bytes())
            other = meta.get("model") if isinstance(meta, dict) else None
        except (OSError, ValueError) as err:
            found.problems.append(f"{where.name}: {err}")
            continue
        if other != model:
            raise IndexModelMismatchError(
                f"{index_dir} holds an unfinished index made with model {other!r}, "
                f"not {model!r}; use another index_dir or delete that one")
        try:
            vectors = np.load(where.with_suffix(".npy"), allow_pickle=False)
            paths, stats, racy = meta["paths"], meta["stats"], meta["racy"]
            ok = (vectors.ndim == 2 and len(vectors) == len(paths) == len(stats) == len(racy)
                  and meta.get("dtype") == dtype and vectors.dtype == np.dtype(dtype)
                  and (dim is None or vectors.shape[1] == dim))
        except (OSError, ValueError, KeyError, TypeError) as err:
            found.problems.append(f"{where.name}: {err}")
            continue
        if not ok:
            found.problems.append(f"{where.name}: does not match the index (shape or dtype)")
            continue
        dim = vectors.shape[1]
        for p, s, r, v in zip(paths, stats, racy, vectors):
            found.rows[p] = (tuple(s), bool(r), v)
    if found.problems:
        warnings.warn("ignored unreadable checkpoint(s); their files will be embedded "
                      "again: " + "; ".join(found.problems), stacklevel=3)
    return found


def clear_checkpoints(index_dir: Path) -> None:
    folder = index_dir / CHECKPOINTS
    if folder.is_dir():
        for entry in os.scandir(folder):
            os.unlink(entry.path)
        folder.rmdir()

