"""How an :class:`~imgsearch_helpers.index.ImageIndex` is brought up to date (private).

:func:`scan` lists the folder's images with their size, mtime and inode;
:class:`Update` compares them with the manifest, reuses every row it can (unchanged,
moved, or saved by a checkpoint of an interrupted run), embeds the rest with
checkpoints on the way, and commits a new generation of the files on disk.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ._checkpoints import CheckpointWriter, clear_checkpoints, read_checkpoints
from ._store import (MANIFEST, ImageIndexError, Manifest, atomic_write_npy, now_iso,
                     open_embeddings, remove_stale_files, verify_embeddings, write_manifest)
from ..images import ImageLoadError, find_image_files, stat_regular_file

# A file changed within this long of when we looked at it may change again in the
# same mtime tick (up to 2 s on FAT, 1 s on HFS+ and ext3), unseen, like "racy git":
# such files are embedded again on the next update instead of trusting their stat.
RACY_WINDOW_NS = 2_000_000_000
_WRITE_BLOCK = 65_536


def scan(folder: Path, recursive: bool, exclude: Path):
    """Image files under ``folder``: {relpath: (size, mtime_ns, inode)}, and problems.

    The files are those :func:`~imgsearch_helpers.images.find_image_files` lists.
    """
    rels, skipped = find_image_files(folder, recursive, exclude)
    files: dict[str, tuple] = {}
    base = os.fspath(folder)
    for rel in rels:
        try:
            info = stat_regular_file(os.path.join(base, rel))
        except ImageLoadError as err:
            skipped.append((rel, err.reason))
            continue
        files[rel] = (info.st_size, info.st_mtime_ns, info.st_ino)
    return files, skipped


def unchanged(manifest: Manifest, files: dict) -> bool:
    """Whether an update would find nothing to embed or remove (``files`` as :func:`scan`).

    Files that were skipped before count as unchanged: they are retried only by an
    update that can write its result.
    """
    if manifest.racy:
        return False
    indexed = dict(zip(manifest.paths, zip(manifest.sizes, manifest.mtimes, manifest.inodes)))
    skipped = {p for p, _ in manifest.skipped}
    found = 0
    for path, stat in files.items():
        if path in indexed:
            if indexed[path] != stat:
                return False
            found += 1
        elif path not in skipped:
            return False
    return found == len(indexed)


class Update:
    """One update of an index: reuse what is unchanged, embed the rest, commit.

    ``files`` maps each image's relative path to its (size, mtime_ns, inode), as a
    scan found them at ``scan_ns``; ``scan_skipped`` lists (path, reason) the scan
    already refused. Nothing is written when nothing changed.
    """

    def __init__(self, index_dir: Path, manifest: Manifest, old_emb: np.ndarray,
                 files: dict, scan_skipped: list, scan_ns: int):
        self.dir, self.old, self.old_emb = index_dir, manifest, old_emb
        self.files, self.skipped, self.scan_ns = files, list(scan_skipped), scan_ns
        self.counts = dict(embedded=0, reused=0, resumed=0, moved=0, skipped=0, removed=0)
        self.source: dict = {}     # relpath -> row of old_emb (an int) or a new vector
        self.new_racy: set[str] = set()
        self.dim = manifest.dim or None

    def racy(self, path: str) -> bool:
        return self.files[path][1] >= self.scan_ns - RACY_WINDOW_NS

    def run(self, embedder, folder: Path, progress, checkpoint_every: int,
            checkpoint_seconds: float):
        """Returns ``(manifest, embeddings, summary)``."""
        old, counts, source = self.old, self.counts, self.source
        old_row = {p: i for i, p in enumerate(old.paths)}
        ckpt = read_checkpoints(self.dir, old.generation, old.model, old.dtype, self.dim,
                                old.weights)
        ordered = sorted(self.files)
        to_embed = []
        # A file skipped before and unchanged since is not tried again (nor re-reported).
        tried = {p: (reason, st) for (p, reason), st in zip(old.skipped, old.skipped_stats)
                 if st is not None}
        for p in ordered:
            stat, i = self.files[p], old_row.get(p)
            if p in tried and tried[p][1] == stat and not self.racy(p):
                self.skipped.append((p, tried[p][0]))
            elif i is not None and old.stat(i) == stat and i not in old.racy:
                source[p] = i
                counts["reused"] += 1
            elif p in ckpt.rows and ckpt.rows[p][0] == stat and not ckpt.rows[p][1]:
                source[p] = ckpt.rows[p][2]
                counts["resumed"] += 1
            else:
                to_embed.append(p)
        # A moved or renamed file keeps its size, mtime and inode: reuse its row.
        gone = {old.stat(i): i for p, i in old_row.items()
                if p not in self.files and i not in old.racy and old.inodes[i]}
        waiting = []
        for p in to_embed:
            i = None if self.racy(p) else gone.pop(self.files[p], None)
            if i is None:
                waiting.append(p)
            else:
                source[p] = i
                counts["moved"] += 1
        if waiting:
            self._embed(embedder, folder, waiting, progress, checkpoint_every, checkpoint_seconds)
        if self.dim is None and counts["resumed"]:      # a new index made of checkpoints
            self.dim = next(len(v) for v in source.values() if not isinstance(v, int))
        final = [p for p in ordered if p in source]
        counts["skipped"] = len(self.skipped)
        counts["removed"] = len(old_row.keys() - set(final)) - counts["moved"]
        skipped = sorted(self.skipped)
        new = Manifest(**{**old.__dict__, "skipped": skipped, "dim": self.dim or 0,
                          "updated": now_iso(), "last_summary": counts,
                          "skipped_stats": [self._stat_of_skip(p) for p, _ in skipped]})
        if final == old.paths and all(isinstance(source[p], int) and source[p] == i
                                      for i, p in enumerate(final)):
            if not (self.dir / MANIFEST).exists() or new.skipped != old.skipped \
                    or new.skipped_stats != old.skipped_stats:
                write_manifest(self.dir, new)
            emb = self.old_emb
        else:
            if any(isinstance(v, int) for v in source.values()):
                # Rows are about to be copied into a new generation with a new
                # checksum: first make sure they are the rows that were written.
                verify_embeddings(self.dir, old)
            emb = self._commit(new, final)
        clear_checkpoints(self.dir)
        return new, emb, counts

    def _stat_of_skip(self, path: str):
        # Only a file the model was given (not one the scan refused) whose stat can be
        # trusted is remembered; a racy one is tried again.
        if path not in self.files or self.racy(path):
            return None
        return tuple(self.files[path])

    def _embed(self, embedder, folder, waiting, progress, checkpoint_every, checkpoint_seconds):
        from ..embeddings import progress_bar

        bar = progress_bar(len(waiting), progress, "indexing")
        writer, pending, last = None, [], time.monotonic()
        try:
            for batch in embedder.embed_files([folder / p for p in waiting], progress=bar):
                if len(batch.positions):
                    emb = np.asarray(batch.embeddings, dtype=np.float32)
                    self.dim = self.dim or emb.shape[1]
                    if emb.ndim != 2 or emb.shape[1] != self.dim:
                        raise ImageIndexError(f"{embedder.name} gives embeddings of shape "
                                              f"{emb.shape[1:]}, the index has dimension {self.dim}")
                    finite = np.isfinite(emb).all(axis=1)
                    norms = np.linalg.norm(np.where(finite[:, None], emb, 0), axis=1)
                    if (np.abs(norms[finite] - 1) > 1e-3).any():
                        raise ImageIndexError(f"{embedder.name} gives embeddings that are not "
                                              "unit vectors; normalise them")
                    # A model can overflow on one picture (NaN or inf): skip it, say why.
                    self.skipped.extend(
                        (waiting[j], "the model gave a non-finite embedding (NaN or inf)")
                        for j, ok in zip(batch.positions, finite) if not ok)
                    for p, vector in zip((waiting[j] for j, ok in zip(batch.positions, finite)
                                          if ok), emb[finite].astype(self.old.dtype)):
                        self.source[p] = vector
                        pending.append(p)
                        if self.racy(p):
                            self.new_racy.add(p)
                    self.counts["embedded"] += int(finite.sum())
                self.skipped.extend((waiting[j], reason) for j, reason in batch.skipped)
                if pending and (len(pending) >= checkpoint_every
                                or time.monotonic() - last >= checkpoint_seconds):
                    writer = self._checkpoint(writer, pending)
                    pending, last = [], time.monotonic()
        except KeyboardInterrupt:
            # Ctrl-C is a person's "stop now", not a crash: keep every row embedded so
            # far, so that the next update resumes exactly where this one stopped.
            if pending:
                self._checkpoint(writer, pending)
            raise
        finally:
            if bar is not None and bar is not progress:
                bar.close()

    def _checkpoint(self, writer, pending: list[str]) -> CheckpointWriter:
        writer = writer or CheckpointWriter(self.dir, self.old.generation, self.old.model,
                                            self.old.dtype, self.old.weights)
        writer.write(pending, [self.files[p] for p in pending],
                     [p in self.new_racy for p in pending],
                     np.stack([self.source[p] for p in pending]))
        return writer

    def _commit(self, new: Manifest, final: list[str]) -> np.ndarray:
        source, old_emb = self.source, self.old_emb
        new.generation = self.old.generation + 1
        new.embeddings_file = f"embeddings-{new.generation}.npy"
        new.paths = final
        new.sizes, new.mtimes, new.inodes = ([self.files[p][c] for p in final] for c in range(3))
        new.racy = {j for j, p in enumerate(final) if p in self.new_racy}
        # A capture time stays while its file is unchanged; others are read again.
        before = dict(zip(self.old.paths, zip(self.old.sizes, self.old.mtimes)))
        new.captures = {p: self.old.captures[p] for p in final if p in self.old.captures
                        and before.get(p) == tuple(self.files[p][:2])}

        def blocks():
            for start in range(0, len(final), _WRITE_BLOCK):
                chunk = final[start:start + _WRITE_BLOCK]
                out = np.empty((len(chunk), self.dim), new.dtype)
                old = [j for j, p in enumerate(chunk) if isinstance(source[p], int)]
                if old:
                    out[old] = old_emb[[source[chunk[j]] for j in old]]
                for j, p in enumerate(chunk):
                    if not isinstance(source[p], int):
                        out[j] = source[p]
                yield out

        new.embeddings_bytes, new.embeddings_sha256 = atomic_write_npy(
            self.dir / new.embeddings_file, new.dtype, (len(final), self.dim), blocks())
        write_manifest(self.dir, new)       # the commit point
        remove_stale_files(self.dir, new)
        return open_embeddings(self.dir, new)
