"""Search in Milvus: a collection of image embeddings that knows the model that made it.

Milvus Lite (a local ``.db`` file, pure Python on FAISS) here; a Milvus server or
cluster elsewhere, by URI: the same ``pymilvus.MilvusClient`` calls for both.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from ..formats import Format, FormatError
from ..index import ImageIndex, IndexModelMismatchError, ModelEmbedder
from ..models import LoadedModel
from ..search import SearchResult
from ..settings import TOP_K

__all__ = ["MilvusImageIndex", "MILVUS_FORMAT_VERSION"]

MILVUS_FORMAT = Format("imgsearch-milvus", 1, "collection")
MILVUS_FORMAT_VERSION = MILVUS_FORMAT.version
# Collection properties: where a collection records what it holds (any Milvus keeps them).
_P_FORMAT, _P_VERSION, _P_MODEL, _P_DIM = ("imgsearch.format", "imgsearch.format_version",
                                           "imgsearch.model", "imgsearch.dim")
_MAX_PATH = 4096
# Open MilvusImageIndex objects per Milvus Lite file in this process (see close()).
_LITE_USERS: Counter = Counter()
_BATCH = 1000


def _fingerprint(rows: np.ndarray) -> list[str]:
    """A short hash per embedding: a re-synced row is rewritten only when it changed."""
    rows = np.ascontiguousarray(rows, dtype=np.float32)
    return [hashlib.blake2b(r.tobytes(), digest_size=8).hexdigest() for r in rows]


def _drop_lite_iterator_note(record: logging.LogRecord) -> bool:
    # Milvus Lite has no server timestamps; pymilvus then uses its own clock, which
    # is right for a single local process, and logs a warning that alarms for nothing.
    return not record.getMessage().startswith("failed to get mvccTs")


def _as_item(path: str):
    return path if "://" in path else Path(path)


class MilvusImageIndex:
    """Image embeddings in a Milvus collection: load, re-sync and search them.

    One collection holds the embeddings of one model. Each row has the image's
    ``path`` (primary key), ``embedding``, ``model``, ``dim`` and a ``fingerprint``
    of the embedding; the collection's properties record the model too, and a
    query embedded by another model is refused (``IndexModelMismatchError``), as
    :class:`~imgsearch_helpers.ImageIndex` does.

    Parameters
    ----------
    uri : str or path
        A local file such as ``"images.db"`` (Milvus Lite, started for you) or a
        server's address such as ``"http://milvus.example:19530"``.
    collection : str
    index_type : str
        Used when the collection is created: ``"FLAT"`` (exact), ``"HNSW"``,
        ``"IVF_FLAT"`` ... (what the server supports; Milvus Lite: FLAT, HNSW,
        HNSW_SQ, IVF_FLAT, IVF_SQ8). Metric: inner product (the rows are unit length).
    index_params : dict, optional
        Build parameters, e.g. ``{"M": 16, "efConstruction": 200}`` for HNSW.
    token : str, optional
        For a server with authentication (``"user:password"`` or an API key).

    Examples
    --------
    >>> store = MilvusImageIndex("images.db")            # doctest: +SKIP
    >>> store.sync(ImageIndex.build("photos", model))     # doctest: +SKIP
    >>> store.search_text(model, "a cat on a sofa", k=5)  # doctest: +SKIP
    """

    def __init__(self, uri, collection: str = "images", *, index_type: str = "FLAT",
                 index_params: dict | None = None, token: str = ""):
        from pymilvus import MilvusClient

        self.uri = os.fspath(uri)
        self._lite = "://" not in self.uri          # a local file: Milvus Lite
        self.collection = collection
        self.index_type, self.index_params = index_type, dict(index_params or {})
        self.client = MilvusClient(uri=self.uri, token=token) if token else MilvusClient(self.uri)
        self._closed = False
        if self._lite:
            _LITE_USERS[os.path.abspath(self.uri)] += 1
        self.model_name: str | None = None
        self.dim = 0
        try:
            if self.client.has_collection(collection):
                self._read_properties()
                # A collection opened by a new process is "released"; loading it reads
                # its indexes back (or builds the missing ones) so that it can be searched.
                self.client.load_collection(collection)
        except BaseException:
            self.close()
            raise

    # -- what is inside ---------------------------------------------------------
    def _read_properties(self) -> None:
        info = self.client.describe_collection(self.collection)
        props = info.get("properties") or {}
        if props.get(_P_FORMAT) != MILVUS_FORMAT.name:
            raise ValueError(f"collection {self.collection!r} in {self.uri} was not made by "
                             "MilvusImageIndex; choose another collection name")
        version = props.get(_P_VERSION, "")
        try:      # properties are strings; the helper checks the number
            MILVUS_FORMAT.version_of({"format": MILVUS_FORMAT.name,
                                      "format_version": int(version) if version.isdigit()
                                      else version}, f"collection {self.collection!r}")
        except FormatError as err:
            raise ValueError(str(err)) from err
        self.model_name, self.dim = props[_P_MODEL], int(props[_P_DIM])
        indexes = self.client.list_indexes(self.collection)
        if indexes:
            described = self.client.describe_index(self.collection, indexes[0])
            self.index_type = described.get("index_type", self.index_type)

    def __len__(self) -> int:
        if self.model_name is None:
            return 0
        rows = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"])

    def __repr__(self) -> str:
        return (f"MilvusImageIndex({self.uri!r}, collection={self.collection!r}, "
                f"{len(self)} images, model={self.model_name!r}, {self.index_type})")

    def close(self) -> None:
        """Close the connection; a Milvus Lite file is then free for another process.

        Milvus Lite serves a ``.db`` file from inside this process and locks it; the
        engine stops when the last ``MilvusImageIndex`` of this process on that file
        is closed (otherwise only at exit).
        """
        if self._closed:
            return
        self._closed = True
        self.client.close()
        if self._lite:
            path = os.path.abspath(self.uri)
            _LITE_USERS[path] -= 1
            if not _LITE_USERS[path]:
                from milvus_lite import server_manager_instance

                server_manager_instance.release_server(path)

    def __enter__(self) -> "MilvusImageIndex":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------
    def _create(self, model: str, dim: int) -> None:
        from pymilvus import DataType

        schema = self.client.create_schema(auto_id=False)
        schema.add_field("path", DataType.VARCHAR, is_primary=True, max_length=_MAX_PATH)
        schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("model", DataType.VARCHAR, max_length=1024)
        schema.add_field("dim", DataType.INT32)
        schema.add_field("fingerprint", DataType.VARCHAR, max_length=32)
        index = self.client.prepare_index_params()
        index.add_index("embedding", index_type=self.index_type, metric_type="IP",
                        params=self.index_params)
        self.client.create_collection(
            self.collection, schema=schema, index_params=index, consistency_level="Strong",
            properties={_P_FORMAT: MILVUS_FORMAT.name, _P_VERSION: str(MILVUS_FORMAT.version),
                        _P_MODEL: model, _P_DIM: str(dim)})
        self.model_name, self.dim = model, dim

    def _prepare(self, model: str, dim: int) -> None:
        if self.model_name is None:
            self._create(model, dim)
        else:
            self._check_model(model)
            if dim != self.dim:
                raise ValueError(f"embeddings of dimension {dim}; the collection holds {self.dim}")

    def add_embeddings(self, paths: Sequence[str], embeddings: np.ndarray, model: str,
                       flush: bool = True) -> int:
        """Insert or replace (by path) rows of unit embeddings made by ``model``.

        Returns the number of rows written. The collection is created on first use.
        """
        embeddings = np.asarray(embeddings, dtype=np.float32)
        paths = [str(p) for p in paths]
        if embeddings.ndim != 2 or len(paths) != len(embeddings):
            raise ValueError(f"{len(paths)} paths for embeddings of shape {embeddings.shape}")
        too_long = [p for p in paths if len(p.encode()) > _MAX_PATH]
        if too_long:
            raise ValueError(f"path longer than {_MAX_PATH} bytes: {too_long[0][:80]}...")
        if not paths:
            return 0
        self._prepare(model, embeddings.shape[1])
        self._upsert(paths, embeddings, _fingerprint(embeddings))
        if flush:
            self._flush()
        return len(paths)

    def _flush(self) -> None:
        """Persist the writes; on Milvus Lite, also index the new segments.

        A Milvus server indexes new segments by itself, in the background. Milvus
        Lite builds a segment's index only when the collection is loaded, and a
        loaded collection searches new segments by brute force: reloading builds
        the missing indexes (and reads the others back from disk).
        """
        self.client.flush(self.collection)
        if self._lite and self.index_type not in ("FLAT", "BRUTE_FORCE"):
            self.client.release_collection(self.collection)
            self.client.load_collection(self.collection)

    def _upsert(self, paths, embeddings, fingerprints) -> None:
        for start in range(0, len(paths), _BATCH):
            stop = start + _BATCH
            self.client.upsert(self.collection, [
                {"path": p, "embedding": e, "model": self.model_name, "dim": self.dim,
                 "fingerprint": f}
                for p, e, f in zip(paths[start:stop], embeddings[start:stop],
                                   fingerprints[start:stop])])

    def set_index(self, index_type: str, index_params: dict | None = None) -> float:
        """Replace the collection's vector index (same rows); returns the seconds it took.

        E.g. ``set_index("HNSW", {"M": 16, "efConstruction": 128})``, then search with
        ``params={"ef": 64}``.
        """
        from pymilvus import MilvusException

        if self.model_name is None:
            raise ValueError("the collection is empty; add embeddings first")
        start = time.perf_counter()
        self.client.release_collection(self.collection)
        for name in self.client.list_indexes(self.collection):
            self.client.drop_index(self.collection, name)
        index = self.client.prepare_index_params()
        index.add_index("embedding", index_type=index_type, metric_type="IP",
                        params=dict(index_params or {}))
        try:
            self.client.create_index(self.collection, index)
        except MilvusException as err:
            # A build of minutes can outlast the gRPC connection; pymilvus then sends the
            # request again, and the server answers that the index (its own first build)
            # already exists. That index is the one asked for: carry on.
            built = self.client.describe_index(self.collection, "embedding") or {}
            if "already exists" not in str(err) or built.get("index_type") != index_type:
                raise
        self.client.load_collection(self.collection)
        self.index_type, self.index_params = index_type, dict(index_params or {})
        return time.perf_counter() - start

    def add_shards(self, out) -> int:
        """Load the Parquet shards of :func:`embed_with_ray` (a folder or URI)."""
        from ._ray import read_shards

        shards = read_shards(out)
        return self.add_embeddings(shards.paths, shards.embeddings, shards.model)

    def _stored(self, prefix: str = "") -> dict[str, str]:
        """{path: fingerprint} of the rows whose path starts with ``prefix``."""
        if self.model_name is None:
            return {}
        found = {}
        log = logging.getLogger("pymilvus.client.iterator.query_iterator")
        log.addFilter(_drop_lite_iterator_note)
        try:
            iterator = self.client.query_iterator(self.collection, batch_size=_BATCH, filter="",
                                                  output_fields=["path", "fingerprint"])
        finally:
            log.removeFilter(_drop_lite_iterator_note)
        try:
            while rows := iterator.next():
                found.update((r["path"], r["fingerprint"]) for r in rows
                             if r["path"].startswith(prefix))
        finally:
            iterator.close()
        return found

    def sync(self, index: ImageIndex) -> dict:
        """Make the collection mirror an :class:`~imgsearch_helpers.ImageIndex`.

        Rows of files the index no longer has are deleted, changed embeddings are
        replaced, new ones added; rows of other folders are left alone. Run
        ``index.update(model)`` first to pick up changes on disk.

        Returns
        -------
        dict : counts ``added``, ``updated``, ``removed``, ``unchanged``.
        """
        if len(index) == 0 and self.model_name is None:
            return {"added": 0, "updated": 0, "removed": 0, "unchanged": 0}
        if len(index):
            self._prepare(index.model_name, index.dim)
        else:                                   # every file is gone: only deletions
            self._check_model(index.model_name)
        paths = [str(p) for p in index.paths]
        emb = (np.asarray(index.embeddings, dtype=np.float32) if paths
               else np.zeros((0, self.dim), np.float32))
        fingerprints = _fingerprint(emb)
        stored = self._stored(prefix=str(index.folder) + os.sep)
        removed = sorted(set(stored) - set(paths))
        for start in range(0, len(removed), _BATCH):
            self.client.delete(self.collection, ids=removed[start:start + _BATCH])
        changed = [i for i, (p, f) in enumerate(zip(paths, fingerprints)) if stored.get(p) != f]
        added = sum(1 for i in changed if paths[i] not in stored)
        if changed:
            self._upsert([paths[i] for i in changed], emb[changed],
                         [fingerprints[i] for i in changed])
        self._flush()
        return {"added": added, "updated": len(changed) - added, "removed": len(removed),
                "unchanged": len(paths) - len(changed)}

    # -- searching ------------------------------------------------------------
    def _check_model(self, name: str) -> None:
        if self.model_name is not None and name != self.model_name:
            raise IndexModelMismatchError(
                f"Milvus collection {self.collection!r} holds embeddings of model "
                f"{self.model_name!r}; it cannot be searched with {name!r} (their embeddings "
                f"are not comparable). Load {name!r}'s embeddings into another collection: "
                f"MilvusImageIndex(uri, collection='...').sync(ImageIndex.build(folder, model)).")

    def _embedder(self, model) -> ModelEmbedder:
        if not isinstance(model, LoadedModel):
            raise TypeError(f"expected a LoadedModel (from load_model), got {type(model).__name__}")
        embedder = ModelEmbedder(model)
        self._check_model(embedder.name)
        return embedder

    def search_text(self, model: LoadedModel, query: str, k: int = TOP_K) -> list[SearchResult]:
        """The ``k`` images that best match a text query."""
        return self.search_embedding(self._embedder(model).embed_text(query), k)

    def search_image(self, model: LoadedModel, image, k: int = TOP_K) -> list[SearchResult]:
        """The ``k`` images most similar to ``image`` (path, bytes or PIL image)."""
        return self.search_embedding(self._embedder(model).embed_image(image), k)

    def search_embedding(self, vectors, k: int = TOP_K, params: dict | None = None):
        """The ``k`` nearest rows to unit vector(s) of the collection's model.

        Parameters
        ----------
        vectors : array, shape (d,) or (q, d)
        k : int
        params : dict, optional
            Search parameters of the index, e.g. ``{"ef": 64}`` (HNSW) or
            ``{"nprobe": 16}`` (IVF).

        Returns
        -------
        list of SearchResult (one query) or a list of such lists. ``index`` is -1:
        a collection has no row order.
        """
        q = np.asarray(vectors, dtype=np.float32)
        single = q.ndim == 1
        q = np.atleast_2d(q)
        if k < 1:
            raise ValueError("k must be at least 1")
        if self.model_name is None:
            return [] if single else [[] for _ in q]
        if q.shape[1] != self.dim:
            raise ValueError(f"query has dimension {q.shape[1]}, the collection {self.dim}")
        hits = self.client.search(
            self.collection, data=list(q), limit=k, output_fields=["path"],
            search_params={"metric_type": "IP", "params": dict(params or {})})
        out = [[SearchResult(_as_item(h["entity"]["path"]), float(h["distance"]), -1)
                for h in row] for row in hits]
        return out[0] if single else out
