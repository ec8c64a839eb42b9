"""Beyond one machine: Ray Data embeds, Milvus searches (notebook 08).

Needs the optional extra: ``pip install "imgsearch-helpers[scale]"``.

* ``_ray``: :func:`embed_with_ray` runs :class:`EmbedImages` (one model per worker,
  the package's own preprocessing) over a folder or a list of URIs, on a local Ray
  (:func:`start_ray`, bound to 127.0.0.1) or on a cluster (``RAY_ADDRESS``), into
  Parquet shards, memory or Milvus.
* ``_milvus``: :class:`MilvusImageIndex`, a Milvus collection that records its model,
  re-syncs from an :class:`~imgsearch_helpers.ImageIndex` and searches through
  ``pymilvus.MilvusClient`` (Milvus Lite in a local file, or a server by URI).
* ``_ann``: approximate search measured against exact ``top_k`` (recall, latency,
  memory), used by notebook 08 and ``bench/bench_ann.py``.
* ``_command``: ``python -m imgsearch_helpers.scale embed|load|search``.
"""
from ._ann import (MILVUS_LITE_INDEX_TYPES, AnnResult, add_speedups, ann_table, clustered_vectors,
                   measure_exact, measure_faiss_hnsw, measure_faiss_ivfpq, measure_milvus,
                   plot_recall_latency, scene_embeddings)
from ._milvus import MILVUS_FORMAT_VERSION, MilvusImageIndex
from ._ray import (SHARDS_META, EmbedImages, RayEmbedding, Shards, embed_with_ray,
                   image_sources, read_shards, start_ray, stop_ray)

__all__ = ["start_ray", "stop_ray", "EmbedImages", "embed_with_ray", "RayEmbedding",
           "read_shards", "Shards", "image_sources", "SHARDS_META",
           "MilvusImageIndex", "MILVUS_FORMAT_VERSION",
           "scene_embeddings", "clustered_vectors", "AnnResult", "measure_exact",
           "measure_faiss_hnsw", "measure_faiss_ivfpq", "measure_milvus", "add_speedups", "ann_table",
           "plot_recall_latency", "MILVUS_LITE_INDEX_TYPES"]
