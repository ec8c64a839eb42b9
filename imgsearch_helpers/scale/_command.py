"""``python -m imgsearch_helpers.scale``: embed with Ray, load and search in Milvus.

The same command runs on a laptop and, sent with ``ray job submit``, on a cluster.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..settings import COMMAND_TOP_K

__all__ = ["main"]

_EXAMPLES = """examples:
  # on this machine (a local Ray on all cores, Milvus Lite in a file)
  python -m imgsearch_helpers.scale embed data/gallery --model imgsearch/clipart-clip \\
      --out shards/ --milvus images.db
  python -m imgsearch_helpers.scale search "a red boat" --model imgsearch/clipart-clip \\
      --milvus images.db

  # on a Ray cluster, into a Milvus server
  ray job submit --address http://HEAD:8265 --working-dir . -- \\
      python -m imgsearch_helpers.scale embed --list s3://bucket/photos.txt \\
      --model openai/clip-vit-base-patch32 --out s3://bucket/shards/
  python -m imgsearch_helpers.scale load s3://bucket/shards/ --milvus http://MILVUS:19530
"""


def _read_list(path: str) -> list[str]:
    from ._ray import read_uri

    data = read_uri(path) if "://" in path else Path(path).read_bytes()
    return [line.strip() for line in data.decode().splitlines() if line.strip()]


def main(argv=None) -> int:
    """Command line entry point; returns the exit code (0 ok, 1 nothing embedded)."""
    parser = argparse.ArgumentParser(
        prog="python -m imgsearch_helpers.scale", epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Embed images with Ray Data; load and search them in Milvus.")
    sub = parser.add_subparsers(dest="command", required=True)
    emb = sub.add_parser("embed", help="embed a folder or a list of paths/URIs with Ray Data")
    emb.add_argument("folder", nargs="?", help="a local folder of images")
    emb.add_argument("--list", help="a text file (path or URI) with one image path or URI a line")
    emb.add_argument("--model", required=True)
    emb.add_argument("--out", help="folder or URI for the Parquet shards")
    emb.add_argument("--milvus", help="also load into this Milvus (file.db or http://host:19530)")
    emb.add_argument("--collection", default="images")
    emb.add_argument("--workers", type=int, help="model copies (default: one per GPU or CPU)")
    emb.add_argument("--batch-size", type=int)
    load = sub.add_parser("load", help="load Parquet shards into a Milvus collection")
    load.add_argument("shards")
    load.add_argument("--milvus", required=True)
    load.add_argument("--collection", default="images")
    search = sub.add_parser("search", help="search a Milvus collection with a text query")
    search.add_argument("query")
    search.add_argument("--model", required=True)
    search.add_argument("--milvus", required=True)
    search.add_argument("--collection", default="images")
    search.add_argument("-k", type=int, default=COMMAND_TOP_K,
                        help=f"how many results (default {COMMAND_TOP_K})")
    args = parser.parse_args(argv)

    from ._milvus import MilvusImageIndex

    if args.command == "embed":
        from ._ray import embed_with_ray

        if (args.folder is None) == (args.list is None):
            parser.error("give a folder or --list, not both")
        if args.out is None and args.milvus is None:
            parser.error("give --out, --milvus or both")
        sources = args.folder if args.folder is not None else _read_list(args.list)
        # With shards, Milvus is opened only once they are written (Milvus Lite runs a
        # gRPC server in this process, which Ray's process starts then need not step around).
        stream = args.milvus is not None and args.out is None
        store = MilvusImageIndex(args.milvus, args.collection) if stream else None
        try:
            result = embed_with_ray(sources, args.model, out=args.out, milvus=store,
                                    num_workers=args.workers, batch_size=args.batch_size)
        finally:
            if store is not None:
                store.close()
        if args.milvus is not None and args.out is not None:
            with MilvusImageIndex(args.milvus, args.collection) as store:
                store.add_shards(args.out)
        print(f"embedded {result.count} images with {result.model} on {result.workers} "
              f"worker(s) in {result.seconds:.1f} s; skipped {len(result.skipped)}")
        for path, reason in result.skipped:
            print(f"  skipped {path}: {reason}")
        return 0 if result.count else 1
    if args.command == "load":
        with MilvusImageIndex(args.milvus, args.collection) as store:
            n = store.add_shards(args.shards)
            print(f"loaded {n} embeddings into {args.collection!r}: {store}")
        return 0
    from ..models import load_model

    with MilvusImageIndex(args.milvus, args.collection) as store:
        for hit in store.search_text(load_model(args.model), args.query, k=args.k):
            print(f"{hit.score:.3f}  {hit.item}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
