"""Checkpoints of an unfinished update, found again by the next run (private).

::

    <index_dir>/checkpoints/<gen>-<n>.npy   rows embedded since the last commit...
    <index_dir>/checkpoints/<gen>-<n>.json  ...and which files they are (written last)

A chunk whose .json is missing, unreadable, not a regular file or inconsistent is
ignored with a warning: its files are embedded again.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._store import (FORMAT, FORMAT_VERSION, IndexCorruptError, IndexModelMismatchError, Stat,
                     atomic_write_bytes, atomic_write_npy, check_regular, is_int, is_str_list,
                     open_regular, parse_json, safe_relpaths)

CHECKPOINTS = "checkpoints"
_CKPT_NAME = re.compile(r"^(\d+)-(\d+)\.json$")


@dataclass
class Checkpoint:
    """Rows an unfinished update embedded, found again on the next run."""

    rows: dict      # relpath -> (stat, racy, vector)
    problems: list[str]


class CheckpointWriter:
    """Saves an update's progress in numbered chunks, each file atomically."""

    def __init__(self, index_dir: Path, generation: int, model: str, dtype: str,
                 weights: str | None = None):
        self.dir = index_dir / CHECKPOINTS
        self.generation, self.model, self.dtype = generation, model, dtype
        self.weights = weights
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
                "weights": self.weights, "generation": self.generation, "dtype": self.dtype,
                "dim": int(vectors.shape[1]), "paths": relpaths,
                "stats": [list(s) for s in stats], "racy": racy}
        atomic_write_bytes(self.dir / f"{base}.json", json.dumps(meta).encode("ascii"))


def read_checkpoints(index_dir: Path, generation: int, model: str, dtype: str,
                     dim: int | None, weights: str | None = None) -> Checkpoint:
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
            with open_regular(where) as fh:
                meta = parse_json(fh.read(), where)
            other = meta.get("model") if isinstance(meta, dict) else None
        except (OSError, IndexCorruptError) as err:
            found.problems.append(f"{where.name}: {err}")
            continue
        if other != model:
            raise IndexModelMismatchError(
                f"{index_dir} holds an unfinished index made with model {other!r}, "
                f"not {model!r}; use another index_dir or delete that one")
        if meta.get("weights") != weights:      # rows of other weights: embedded again
            found.problems.append(f"{where.name}: made with other weights of {model}")
            continue
        try:
            check_regular(where.with_suffix(".npy"))
            vectors = np.load(where.with_suffix(".npy"), allow_pickle=False)
            paths, stats, racy = meta["paths"], meta["stats"], meta["racy"]
            ok = (vectors.ndim == 2 and len(vectors) == len(paths) == len(stats) == len(racy)
                  and meta.get("dtype") == dtype and vectors.dtype == np.dtype(dtype)
                  and (dim is None or vectors.shape[1] == dim)
                  and is_str_list(paths) and safe_relpaths(paths)
                  and all(isinstance(st, list) and len(st) == 3 and all(map(is_int, st))
                          for st in stats)
                  and bool(np.isfinite(vectors).all()))
        except (OSError, ValueError, KeyError, TypeError, IndexCorruptError) as err:
            found.problems.append(f"{where.name}: {err}")
            continue
        if not ok:
            found.problems.append(f"{where.name}: does not match the index (shape, dtype, "
                                  "paths or values)")
            continue
        dim = vectors.shape[1]
        for p, st, r, v in zip(paths, stats, racy, vectors):
            found.rows[p] = (tuple(st), bool(r), v)
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

