"""How an :class:`~imgsearch_helpers.index.ImageIndex` lives on disk (private).

::

    <index_dir>/
      manifest.json              the commit point: files, their size/mtime, model, dim
      embeddings-<gen>.npy       unit rows (float32 or float16), in manifest order;
                                 the manifest records its size and SHA-256
      checkpoints/<gen>-<n>.npy  rows embedded by an update that has not finished...
      checkpoints/<gen>-<n>.json ...and which files they are (``_checkpoints``)
      lock                       flock()ed while an update runs

Every file is written to a temporary name, fsync()ed and moved into place with
``os.replace``, so a crash leaves either the old or the new version, never half
of one. A new generation's embeddings are written under a new name before the
manifest that points to them, so the manifest never refers to a missing or
partial file. Nothing here uses pickle: ``np.load(..., allow_pickle=False)``.

Nothing read is trusted: every manifest field is checked for its type and range,
only regular files are opened (a FIFO planted as the manifest must not block
``open``), and the embeddings are checked against their recorded checksum before
an update copies them into a new generation.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import stat as stat_mode
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..formats import Format, FormatError, NewerFormatError

# Version 2 records the model's weights (a fingerprint) and what wrote the manifest;
# version 3 when each picture was taken and by what camera (``captures``).
MANIFEST_FORMAT = Format("imgsearch-index", 3, "index")
FORMAT, FORMAT_VERSION = MANIFEST_FORMAT.name, MANIFEST_FORMAT.version


@MANIFEST_FORMAT.upgrade(1)
def _v1_to_v2(data: dict) -> dict:
    # Made before fingerprints: which weights made it is unknown (None), so the
    # next update re-embeds (see ImageIndex.update).
    return {**data, "weights": None, "made_by": None,
            "skipped_stats": [None] * len(data.get("skipped", []))}


@MANIFEST_FORMAT.upgrade(2)
def _v2_to_v3(data: dict) -> dict:
    # No capture times yet: ImageIndex reads them from the files (EXIF, else the file's
    # time) the first time it opens, and keeps every embedding as it is.
    return {**data, "captures": {}}


MANIFEST = "manifest.json"
DTYPES = ("float32", "float16")
_EMB_NAME = re.compile(r"^embeddings-(\d+)\.npy$")


class ImageIndexError(Exception):
    """Base class of the index's errors."""


class IndexCorruptError(ImageIndexError):
    """An index file is unreadable, truncated or inconsistent; it is left untouched."""


class IndexModelMismatchError(ImageIndexError, ValueError):
    """The index was built with another model than the one given."""


class IndexLockedError(ImageIndexError):
    """Another process is updating the same index right now."""


class IndexReadOnlyError(ImageIndexError, PermissionError):
    """The index's folder cannot be written (a read-only disk or no permission)."""


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
    embeddings_sha256: str | None = None  # None: made by a version that recorded none
    weights: str | None = None        # the model's weights fingerprint; None: unknown
    made_by: dict | None = None       # package and version that wrote it last
    paths: list[str] = field(default_factory=list)        # relative, "/"-separated
    # Columns, as in the JSON: a million tuples would cost a tenth of a second to build.
    sizes: list[int] = field(default_factory=list)
    mtimes: list[int] = field(default_factory=list)       # st_mtime_ns
    inodes: list[int] = field(default_factory=list)
    racy: set[int] = field(default_factory=set)           # rows whose stat can't be trusted
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (relpath, reason)
    # Per skipped file, its (size, mtime_ns, inode) when it was tried, or None: a file
    # that has not changed since is not tried again (None: tried again next time).
    skipped_stats: list = field(default_factory=list)
    created: str = ""
    updated: str = ""
    last_summary: dict = field(default_factory=dict)
    # relpath -> [taken (ISO 8601), source, camera]: see _capture.Capture.to_json.
    captures: dict = field(default_factory=dict)

    def __post_init__(self):
        # One stat (or None: "try again") per skipped file, whoever built the lists.
        if len(self.skipped_stats) != len(self.skipped):
            self.skipped_stats = [None] * len(self.skipped)

    def to_json(self) -> dict:
        return {
            **MANIFEST_FORMAT.stamp(),
            "model": self.model, "weights": self.weights, "dim": self.dim, "dtype": self.dtype,
            "folder": self.folder, "recursive": self.recursive,
            "generation": self.generation, "embeddings_file": self.embeddings_file,
            "embeddings_bytes": self.embeddings_bytes,
            "embeddings_sha256": self.embeddings_sha256,
            "created": self.created, "updated": self.updated, "count": len(self.paths),
            "last_summary": self.last_summary,
            # Columns rather than one object per file: a 1M-file manifest then
            # parses in a fraction of the time.
            "paths": self.paths,
            "sizes": self.sizes, "mtimes_ns": self.mtimes, "inodes": self.inodes,
            "racy": sorted(self.racy),
            "skipped": [list(s) for s in self.skipped],
            "skipped_stats": [None if st is None else list(st) for st in self.skipped_stats],
            "captures": self.captures,
        }

    @classmethod
    def from_json(cls, data, where: Path) -> "Manifest":
        """Check every field's type and range; IndexCorruptError names the first bad one."""
        def need(ok, what):
            if not ok:
                raise IndexCorruptError(f"{where}: {what}. {_UNTOUCHED}")
        try:
            data = MANIFEST_FORMAT.read(data, where)
        except NewerFormatError as err:
            raise ImageIndexError(str(err)) from err
        except FormatError as err:
            raise IndexCorruptError(f"{err}. {_UNTOUCHED}") from err
        missing = [k for k in _FIELDS if k not in data]
        need(not missing, f"missing field(s) {', '.join(missing)}")
        for key, check in _FIELDS.items():
            need(check(data[key]), f"field {key!r} is malformed")
        paths = data["paths"]
        n = len(paths)
        need(data["count"] == n and all(len(data[k]) == n for k in _COLUMNS),
             "its columns have different lengths")
        need(all(0 <= r < n for r in data["racy"]), "field 'racy' names rows that do not exist")
        need(safe_relpaths(paths),
             "a path is not relative to the folder (absolute, empty or with '..')")
        checksum = data.get("embeddings_sha256")     # absent before it was recorded
        need(checksum is None or (_str(checksum) and _SHA256.match(checksum)),
             "field 'embeddings_sha256' is malformed")
        return cls(model=data["model"], dim=data["dim"], dtype=data["dtype"],
                   folder=data["folder"], recursive=data["recursive"],
                   generation=data["generation"], embeddings_file=data["embeddings_file"],
                   embeddings_bytes=data["embeddings_bytes"],
                   embeddings_sha256=checksum, weights=data["weights"],
                   paths=paths, sizes=data["sizes"], mtimes=data["mtimes_ns"],
                   inodes=data["inodes"], racy=set(data["racy"]),
                   skipped=[(p, r) for p, r in data["skipped"]],
                   skipped_stats=_skipped_stats(data),
                   created=data["created"], updated=data["updated"],
                   last_summary=data["last_summary"], captures=data["captures"])

    def stat(self, row: int) -> Stat:
        return self.sizes[row], self.mtimes[row], self.inodes[row]


def _skipped_stats(data: dict) -> list:
    """The stats of the skipped files; a malformed or missing column means "try again"."""
    stats = data.get("skipped_stats")
    n = len(data["skipped"])
    if not (isinstance(stats, list) and len(stats) == n):
        return [None] * n
    return [tuple(st) if isinstance(st, list) and len(st) == 3 and all(map(is_int, st))
            else None for st in stats]


def is_int(value, low: int = -(1 << 63), high: int = 1 << 64) -> bool:
    return type(value) is int and low <= value < high     # bool is not an int here


def _int_column(low: int):
    def check(column) -> bool:
        # One pass over the types and one over the values: a million rows in ~50 ms.
        return isinstance(column, list) and (not column or (
            set(map(type, column)) == {int} and min(column) >= low and max(column) < 1 << 64))
    return check


def is_str_list(value) -> bool:
    return isinstance(value, list) and (not value or set(map(type, value)) == {str})


def _str(value) -> bool:
    return isinstance(value, str)


def _pair_list(value) -> bool:
    return isinstance(value, list) and all(
        isinstance(x, list) and len(x) == 2 and _str(x[0]) and _str(x[1]) for x in value)


# The manifest's fields and what each must be (format version 3).
_FIELDS = {
    "model": _str, "weights": lambda v: v is None or _str(v), "dtype": lambda v: v in DTYPES, "folder": _str,
    "dim": lambda v: is_int(v, 0, 1 << 20), "recursive": lambda v: isinstance(v, bool),
    "generation": lambda v: is_int(v, 0, 1 << 62), "count": lambda v: is_int(v, 0),
    "embeddings_file": lambda v: v is None or (_str(v) and _EMB_NAME.match(v) is not None),
    "embeddings_bytes": lambda v: is_int(v, 0, 1 << 62),
    "paths": lambda v: is_str_list(v),
    "sizes": _int_column(0), "mtimes_ns": _int_column(-(1 << 63)), "inodes": _int_column(0),
    "racy": _int_column(0), "skipped": _pair_list, "created": _str, "updated": _str,
    "last_summary": lambda v: isinstance(v, dict) and all(
        _str(k) and is_int(x, 0) for k, x in v.items()),
    "captures": lambda v: isinstance(v, dict) and all(
        isinstance(x, list) and len(x) == 3 and _str(x[0]) and _str(x[1])
        and (x[2] is None or _str(x[2])) for x in v.values()),
}
_COLUMNS = ("paths", "sizes", "mtimes_ns", "inodes")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def safe_relpaths(paths: list) -> bool:
    """No path is empty, absolute or goes up with "..": a manifest edited by hand
    (or by an attacker) must not point outside the folder. Any other character,
    a newline included, is allowed: file systems allow it."""
    if not paths:
        return True
    # Substring tests over all paths at once, separated by NUL (the one character no
    # file name can hold): a million are checked in ~50 ms.
    joined = "\0" + "\0".join(paths) + "\0"
    if joined.count("\0") != len(paths) + 1:
        return False
    seps = "/\\" if os.name == "nt" else "/"
    if os.name == "nt" and ":" in joined:
        return False
    starts, ends = "\0" + seps, "\0" + seps
    return not (any("\0" + c in joined for c in seps + "\0")
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


@contextlib.contextmanager
def _removed_on_failure(tmp: Path):
    """A failed write (a full disk, Ctrl-C) removes its temporary file: it holds the
    little space that is left, and nothing would ever clean it up."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old or the new file."""
    tmp = _tmp_name(path)
    with _removed_on_failure(tmp):
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    _fsync_dir(path.parent)


def atomic_write_npy(path: Path, dtype: str, shape: tuple, blocks) -> tuple[int, str]:
    """Write an .npy file from an iterable of row blocks, atomically.

    Returns its size and the SHA-256 of its bytes (computed on the way, not re-read).
    """
    tmp = _tmp_name(path)
    written = 0
    digest = hashlib.sha256()
    with _removed_on_failure(tmp):
        with open(tmp, "wb") as fh:
            out = _HashingWriter(fh, digest)
            np.lib.format.write_array_header_1_0(out, {
                "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                "fortran_order": False, "shape": tuple(shape)})
            for block in blocks:
                block = np.ascontiguousarray(block, dtype=dtype)
                out.write(block.data)
                written += len(block)
            fh.flush()
            os.fsync(fh.fileno())
        if written != shape[0]:
            raise RuntimeError(f"internal error: wrote {written} rows, expected {shape[0]}")
        size = tmp.stat().st_size
        os.replace(tmp, path)
    _fsync_dir(path.parent)
    return size, digest.hexdigest()


class _HashingWriter:
    """A file that also feeds what is written to a hash."""

    def __init__(self, fh, digest):
        self.fh, self.digest = fh, digest

    def write(self, data) -> int:
        self.digest.update(data)
        return self.fh.write(data)


def _not_regular(path: Path, mode: int) -> IndexCorruptError:
    kind = ("a directory" if stat_mode.S_ISDIR(mode) else
            "a named pipe (FIFO)" if stat_mode.S_ISFIFO(mode) else "a special file")
    return IndexCorruptError(f"{path} is not a regular file: it is {kind}. {_UNTOUCHED}")


@contextlib.contextmanager
def open_regular(path: Path):
    """Open ``path`` for reading only if it is a regular file; never block on a FIFO.

    The file is opened non-blocking and checked on the opened descriptor, so a
    FIFO or device put in its place is refused, not waited on. FileNotFoundError
    is left to the caller; anything else that is not a regular file raises
    :class:`IndexCorruptError`.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as err:
        if err.errno not in (errno.ENXIO, errno.EISDIR):    # ENXIO: a socket
            raise
        raise IndexCorruptError(f"{path} cannot be opened as a file ({err.strerror}). "
                                f"{_UNTOUCHED}") from err
    try:
        mode = os.fstat(fd).st_mode
        if not stat_mode.S_ISREG(mode):
            raise _not_regular(path, mode)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as fh:
        yield fh


def check_regular(path: Path) -> os.stat_result:
    """``os.stat(path)`` if it is a regular file (for files that are memory-mapped)."""
    info = os.stat(path)
    if not stat_mode.S_ISREG(info.st_mode):
        raise _not_regular(path, info.st_mode)
    return info


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number a manifest can hold")


def parse_json(raw: bytes, path: Path):
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except RecursionError as err:
        raise IndexCorruptError(f"{path} is nested too deeply to be a manifest. "
                                f"{_UNTOUCHED}") from err
    except ValueError as err:      # also bad UTF-8, and integers of over 4,300 digits
        raise IndexCorruptError(f"{path} is not valid JSON ({err}); it may be truncated. "
                                f"{_UNTOUCHED}") from err


def read_manifest(index_dir: Path) -> Manifest | None:
    """The manifest of ``index_dir``, or None if there is none yet."""
    path = index_dir / MANIFEST
    try:
        with open_regular(path) as fh:
            raw = fh.read()
    except FileNotFoundError:
        return None
    return Manifest.from_json(parse_json(raw, path), path)


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
        size = check_regular(path).st_size
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


def verify_embeddings(index_dir: Path, manifest: Manifest) -> bool:
    """Check the embeddings file against the manifest's SHA-256 (reads it all).

    Returns False when the index records no checksum (made by an older version).
    """
    if manifest.embeddings_file is None or manifest.embeddings_sha256 is None:
        return False
    path = index_dir / manifest.embeddings_file
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != manifest.embeddings_sha256:
        raise IndexCorruptError(f"{path} does not match the checksum its manifest recorded: "
                                f"it was changed, or the disk damaged it. {_UNTOUCHED}")
    return True


_HASH_CHUNK = 16 << 20


def _read_only(err: OSError) -> bool:
    return err.errno in (errno.EROFS, errno.EACCES, errno.EPERM)


def read_only_error(index_dir: Path, err: OSError, exists: bool) -> IndexReadOnlyError:
    """The error for an index folder that cannot be written, saying what to do."""
    what = (f"cannot update the index in {index_dir}" if exists
            else f"cannot create an index in {index_dir}")
    todo = ("ImageIndex.open(index_dir) searches it as it is; to index the folder's "
            "current files, give build() an index_dir= in a folder you can write to"
            if exists else "give build() an index_dir= in a folder you can write to "
            "(the photos themselves are only read)")
    return IndexReadOnlyError(f"{what}: {err.strerror or err}. {todo}.")


def make_index_dir(index_dir: Path) -> None:
    """Create ``index_dir``, or :class:`IndexReadOnlyError` if its place is read-only."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        if not _read_only(err):
            raise
        raise read_only_error(index_dir, err, exists=False) from err


@contextlib.contextmanager
def update_lock(index_dir: Path, wait: float = 0.0):
    """Hold an exclusive lock on the index while it is updated (POSIX only).

    ``wait``: seconds to wait for another process's update to end before giving up
    with :class:`IndexLockedError`.
    """
    try:
        import fcntl
    except ImportError:      # Windows: no advisory locks; one writer at a time, please
        yield
        return
    try:
        fd = os.open(index_dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        if not _read_only(err):
            raise
        raise read_only_error(index_dir, err, (index_dir / MANIFEST).exists()) from err
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError as err:
                left = deadline - time.monotonic()
                if left <= 0:
                    waited = f" (waited {wait:g} s)" if wait > 0 else ""
                    raise IndexLockedError(
                        f"another process is updating the index in {index_dir}{waited}; "
                        "wait for it to finish, or pass wait=<seconds> to wait for it"
                    ) from err
                time.sleep(min(0.1, left))
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
