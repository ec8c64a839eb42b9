# %% [markdown]
# # 08 · Beyond one machine: Ray Data for embedding, Milvus for search
#
# **What you will build:** the path a search engine takes when one laptop is not enough. You
# embed the gallery with **Ray Data** (many workers, each with its own copy of the model; here a
# local Ray on this machine's cores, on a cluster the same code), write the embeddings as Parquet
# shards, load them into **Milvus** (a vector database; here Milvus Lite in a file, on a server
# the same calls), keep the collection in step with an `ImageIndex`, and measure what
# **approximate** search buys: speed, at a price in recall.
#
# **What you will learn:**
# - what distributing the embedding costs and when it pays (Ray's start-up against the work);
# - that a vector database gives the same answers as exact `top_k` when asked for exact search,
#   and that it must know which model made its vectors;
# - how HNSW and IVF-PQ trade recall for speed and memory, and how to pick an index from a
#   recall-vs-latency curve;
# - the one line that changes for a cluster, and what a GPU per worker gives.
#
# The tools are the real ones, open source: [Ray](https://docs.ray.io) and
# [Milvus](https://milvus.io) (Milvus Lite is its pure-Python local edition), with
# [FAISS](https://github.com/facebookresearch/faiss) for the index comparison.

# %%
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from IPython.display import Image, Markdown, display

from imgsearch_helpers import (ImageIndex, IndexModelMismatchError, embed_image_files,
                               get_profile, load_model, show_results)
from imgsearch_helpers.course import SEED_QUERIES, check, kind_of
from imgsearch_helpers.models import REPO_ROOT
from imgsearch_helpers.scale import (MILVUS_LITE_INDEX_TYPES, MilvusImageIndex, add_speedups,
                                     ann_table, clustered_vectors, embed_with_ray,
                                     measure_exact, measure_faiss_hnsw, measure_faiss_ivfpq,
                                     measure_milvus, plot_recall_latency, read_shards,
                                     scene_embeddings, start_ray, stop_ray)

profile = get_profile()
display(profile)
images = [str(p) for p in profile.gallery_images()]
model = load_model(profile.clip)
work = Path(tempfile.mkdtemp(prefix="imgsearch-08-"))    # everything this notebook writes
print(f"{len(images)} pictures; model {model.name}; files go to {work}")

# %% [markdown]
# ## 1. A local Ray
#
# `start_ray()` starts Ray on this machine: one scheduler, an object store and worker processes,
# using all its cores and listening on 127.0.0.1 only. On a cluster it would instead *connect*
# (section 3). `ray.init()` is the call underneath.

# %%
import ray  # noqa: E402  (imported here, where it is introduced)

t0 = time.perf_counter()
resources = start_ray()
ray_start_s = time.perf_counter() - t0
address = ray.get_runtime_context().gcs_address
print(f"Ray started in {ray_start_s:.1f} s: {resources['CPU']:.0f} CPUs, "
      f"{resources.get('GPU', 0):.0f} GPUs; its scheduler listens on {address}")
check(resources["CPU"] == os.cpu_count(), f"the local Ray uses this machine's {os.cpu_count()} cores")
check(address.startswith("127.0.0.1:"), "it listens on the loopback address only")

# %% [markdown]
# ## 2. Embedding with Ray Data
#
# `embed_with_ray` makes a Ray **Dataset** of file paths and runs `EmbedImages` over it with
# `map_batches`. `EmbedImages` is a *callable class*: Ray creates a few of them (the **workers**),
# each loads the model once in its constructor, and then calls it on batch after batch. Inside,
# each batch goes through the same code as `embed_image_files` (decode with `load_image`,
# preprocess with the model's processor, one forward pass), so the embeddings must be the same.
# In outline:
#
# ```python
# ds = ray.data.from_items([{"path": p} for p in paths])
# ds = ds.map_batches(EmbedImages, fn_constructor_kwargs={"model": name},
#                     compute=ray.data.ActorPoolStrategy(size=workers),
#                     batch_size=32, num_cpus=1, num_gpus=0)   # num_gpus=1 on a GPU cluster
# ```

# %%
t0 = time.perf_counter()
local, ok, _ = embed_image_files(model, images)
local_s = time.perf_counter() - t0
ray_run = embed_with_ray(images, profile.clip)
print(f"embed_image_files: {local_s:.2f} s   Ray ({ray_run.workers} workers): {ray_run.seconds:.1f} s")
diff = float(np.abs(ray_run.embeddings - local).max())
check(ray_run.paths == images and diff <= 1e-5,
      f"Ray's embeddings equal embed_image_files's (largest difference {diff:.1e})")
check(ray_run.model == model.name and ray_run.dim == local.shape[1],
      f"each row records its model ({ray_run.model}) and dimension ({ray_run.dim})")
check(ray_run.seconds > local_s, f"on {len(images)} pictures Ray is {ray_run.seconds / local_s:.0f}x "
      "slower: starting workers and loading a model in each costs more than the work")

# %% [markdown]
# On 50 small pictures Ray loses: its workers are new processes that import PyTorch and load the
# model before the first picture. That cost is paid once per run, so it fades as the work grows.
# `bench/bench_ray.py` splits each run into that fixed cost and a rate (its section of
# `bench/RESULTS.md`): on a 2-core laptop Ray pays about 5 seconds per run, then works at about
# the rate of `embed_image_files`. With a real-size model (CLIP ViT-B/32) 1,000 pictures are enough
# for Ray to keep up; with the course's tiny model, 1,000 pictures take `embed_image_files` less
# time than Ray needs to start. Ray is for work that one machine cannot finish: on a cluster the
# rate grows with every worker, and the start is paid once. Bad files are skipped with a reason,
# as everywhere in the course:

# %%
broken = work / "broken.jpg"
broken.write_bytes(b"this is not a picture")
run = embed_with_ray(images[:4] + [str(broken), str(work / "missing.png")], profile.clip)
for path, reason in run.skipped:
    print(f"skipped {Path(path).name}: {reason}")
check(run.count == 4 and len(run.skipped) == 2, "4 pictures embedded, the 2 bad files skipped")

# %% [markdown]
# At scale the embeddings do not come back to this process: the workers write **Parquet shards**
# (columnar files that Spark, pandas, DuckDB and Milvus's bulk import all read), one row per
# picture: path, embedding, model, dimension. A skipped file keeps its row, with the reason
# instead of an embedding.

# %%
shards = work / "shards"
run = embed_with_ray(profile.gallery, profile.clip, out=str(shards))
files = sorted(p.name for p in shards.glob("*.parquet"))
print(f"{run.count} embeddings in {len(files)} shard files, e.g. {files[0]}")
table = pq.read_table(shards)
print(table.schema)
print(table.select(["path", "model", "dim"]).slice(0, 3).to_pandas().to_string())
check(set(table.column("model").to_pylist()) == {model.name},
      "every row says which model made it")

# %% [markdown]
# ## 3. What changes on a cluster
#
# Nothing in the code above names this machine. On a Ray cluster (`ray start --head` on one
# machine, `ray start --address=HEAD:6379` on the others, or a managed cluster), the **one line**
# that changes is where Ray is:
#
# ```python
# start_ray()                          # here: a local Ray on this machine's cores
# start_ray("ray://HEAD:10001")        # a cluster (or set RAY_ADDRESS and keep start_ray())
# ```
#
# or, without touching the code, send the script to the cluster; `ray job submit` sets
# `RAY_ADDRESS` for it:
#
# ```bash
# ray job submit --address http://HEAD:8265 --working-dir . -- \
#     python -m imgsearch_helpers.scale embed --list s3://bucket/photos.txt \
#     --model openai/clip-vit-base-patch32 --out s3://bucket/shards/
# ```
#
# Two things do change around it: every worker must be able to read the pictures (URIs of an
# object store such as `s3://` or `gs://`, or a folder all machines mount), and every machine
# needs the package and the model (`--working-dir .` ships the code; the Hub cache or a shared
# folder the weights).
#
# **A GPU per worker.** Where the cluster has GPUs, `embed_with_ray` asks for one per worker
# (`num_gpus=1`), starts one worker per GPU and uses batches of 128; `load_model` then puts each
# copy of the model on its worker's GPU. A GPU runs CLIP ViT-B/32 tens of times faster than a CPU
# core, so the bottleneck moves to decoding the pictures: give each GPU worker several CPUs
# (`cpus_per_worker`) for its decoding threads, and more machines add more GPUs.

# %% [markdown]
# ## 4. Search in Milvus
#
# An `ImageIndex` (notebook 05's engine) keeps the embeddings of one folder in files next to it
# and searches them exactly with `top_k`. `MilvusImageIndex` puts the same rows in a Milvus
# **collection**: a table with a vector column and an index on it, served to many users at once,
# sharded over many machines when it grows. Here the collection lives in a local file (Milvus
# Lite); the collection records the model that made its vectors.

# %%
index = ImageIndex.build(profile.gallery, model, index_dir=work / "index")
store = MilvusImageIndex(work / "images.db")
print(store.sync(index))
print(store)
for query in SEED_QUERIES[:2]:
    show_results(store.search_text(model, query, k=5), title=f"Milvus: {query!r}")

# %% [markdown]
# The collection was made with a **FLAT** index: Milvus compares the query with every vector, as
# `top_k` does. It must then give exactly what the index gives:

# %%
same = 0
for query in SEED_QUERIES:
    want = [(r.item, round(r.score, 5)) for r in index.search_text(model, query, k=10)]
    got = [(r.item, round(r.score, 5)) for r in store.search_text(model, query, k=10)]
    same += want == got
check(same == len(SEED_QUERIES),
      f"Milvus FLAT and ImageIndex give the same top 10, scores included, for all {same} queries")

# %% [markdown]
# Embeddings of two models are not comparable, so a query embedded by another model must be
# refused, not answered with nonsense:

# %%
other = load_model(profile.siglip)
try:
    store.search_text(other, "a red boat")
    refused = ""
except IndexModelMismatchError as err:
    refused = str(err)
print(refused)
check(bool(refused), f"a {other.name} query is refused by a {model.name} collection")

# %% [markdown]
# **Keeping it in step.** Pictures are deleted, replaced and added. `ImageIndex.update` notices
# (notebook 05), and `sync` then carries the changes to Milvus: rows of deleted files go, changed
# embeddings are replaced (each row keeps a fingerprint of its embedding), new ones are added. We
# try it on a copy of the gallery, in a second collection of the same Milvus:

# %%
folder = work / "photos"
shutil.copytree(profile.gallery, folder)
first, second, third = sorted(folder.glob("*.png"))[:3]
store.close()
store = MilvusImageIndex(work / "images.db", collection="photos_copy")
copy_index = ImageIndex.build(folder, model, index_dir=work / "copy-index")
print("first load:", store.sync(copy_index))
first.unlink()                                   # deleted
shutil.copy(third, second)                       # changed: now a copy of another picture
shutil.copy(third, folder / "new_picture.png")   # added
copy_index.update(model)
summary = store.sync(copy_index)
print("after the changes:", summary)
hits = store.search_image(model, third, k=10)
show_results(hits[:5], title=f"Milvus, more like {third.name}")
check(summary == {"added": 1, "updated": 1, "removed": 1, "unchanged": len(copy_index) - 2},
      "the deleted, changed and new files reach Milvus, and nothing else is rewritten")
copies = {r.item for r in hits if r.score > 0.9999}
check({second, folder / "new_picture.png", third} <= copies,
      f"a search with {third.name} finds it and its two new copies, at cosine 1.0")
check(first not in {r.item for r in store.search_text(model, kind_of(first), k=len(copy_index))},
      f"the deleted {first.name} is gone from the collection")
store.close()

# %% [markdown]
# On a Milvus server the **one line** that changes is the address:
#
# ```python
# store = MilvusImageIndex("images.db")                                  # here: Milvus Lite
# store = MilvusImageIndex("http://milvus.example:19530", token="user:password")  # a server
# ```
#
# And the shards of section 2 go in with `store.add_shards("s3://bucket/shards/")`, or from the
# command line: `python -m imgsearch_helpers.scale load shards/ --milvus http://...:19530`.

# %% [markdown]
# ## 5. Approximate search, measured
#
# Exact search reads every vector for every query: 2 KB each at 512 numbers, 2 GB per query for a
# million pictures. **Approximate** indexes read a small part and accept that they sometimes miss
# a true neighbour. Two families:
#
# - **HNSW** (a graph): each vector is linked to near neighbours; a search walks the graph
#   towards the query. `ef` is how many candidates it keeps while walking: more is slower and
#   finds more. It stores the vectors plus the links (more memory than exact).
# - **IVF-PQ** (clusters + compression): vectors are grouped around `nlist` centres; a search
#   visits the `nprobe` nearest groups. PQ stores each vector as 64 one-byte codes instead of 2 KB,
#   so the scores are approximate; re-ranking the best candidates with the exact vectors repairs
#   that.
#
# The measure is **recall@10**: the share of the true top 10 (exact `top_k`) that the index
# returns. We need many vectors to see anything, and they must be *clustered* like real
# embeddings (uniform random vectors have no neighbourhoods, and every index looks bad on them):
# we embed freshly drawn scenes and scatter vectors around them, shaped like their spread.

# %%
seeds = scene_embeddings(model, 500, seed=1)
base, queries = clustered_vectors(seeds, 20_000, 50, dim=512, seed=0)
print(f"{len(base):,} vectors of {base.shape[1]} numbers ({base.nbytes / 2**20:.0f} MiB), "
      f"{len(queries)} queries, from {len(seeds)} scene embeddings")
exact, truth = measure_exact(base, queries)
rows = [exact]
rows += measure_faiss_hnsw(base, queries, truth, M=32, ef_construction=80, ef_search=(8, 16, 32, 64))
rows += measure_faiss_ivfpq(base, queries, truth, nlist=128, m=64, nprobe=(4, 16), refine=(0, 10))
rows += measure_milvus(base, queries, truth, folder=work, configs=[
    ("HNSW", {"M": 16, "efConstruction": 64}, ({"ef": 16}, {"ef": 64})),
    ("IVF_FLAT", {"nlist": 128}, ({"nprobe": 4}, {"nprobe": 16}))],
    max_queries={"HNSW": 20, "IVF_FLAT": 20})
add_speedups(rows)
display(Markdown(ann_table(rows)))
plot_recall_latency(rows, title=f"{len(base):,} vectors, this notebook");

# %%
hnsw = [r for r in rows if r.method == "FAISS HNSW"]
good = [r for r in hnsw if r.recall >= 0.95]
check(bool(good) and good[0].speedup > 1,
      f"FAISS HNSW finds >= 95% of the true top 10, {good[0].speedup:.0f}x faster than exact "
      f"search ({good[0].params})" if good else "FAISS HNSW reaches recall 0.95")
check(hnsw[-1].recall >= hnsw[0].recall, "a wider HNSW search (larger ef) finds more")
pq_rows = [r for r in rows if r.method.startswith("FAISS IVF-PQ")]
plain = max(r.recall for r in pq_rows if "re-rank" not in r.method)
reranked = max(r.recall for r in pq_rows if "re-rank" in r.method)
check(reranked > plain, f"PQ's compressed scores miss neighbours (recall {plain:.2f}); re-ranking "
      f"the best candidates with the exact vectors recovers them ({reranked:.2f})")
check(min(r.bytes_per_vector for r in pq_rows) < exact.bytes_per_vector / 10,
      "IVF-PQ stores a vector in less than a tenth of its 2 KB")
lite = [r for r in rows if r.method.startswith("Milvus Lite")]
check(all(r.ms_per_query > max(h.ms_per_query for h in hnsw) for r in lite),
      "Milvus Lite answers more slowly than FAISS on its own (see below)")

# %% [markdown]
# **Why Milvus Lite is slow here.** Milvus Lite builds the same FAISS indexes, but it is written in
# Python for development and tests: before each search it checks, row by row, which rows are
# current (upserts and deletes), which costs time in proportion to the collection, whatever the
# index. A Milvus server does that in C++ and searches its segments in parallel on many
# machines; measure the server you deploy. What carries over from Lite to a server is the code
# and the recall of each index type, not Lite's milliseconds.
#
# ## 6. A million vectors
#
# `bench/bench_ann.py` runs the same comparison on 1,000,000 vectors (2 GB) on this course's
# 2-core machine. Its results, read from `bench/RESULTS.md`:

# %%
results_md = REPO_ROOT / "bench" / "RESULTS.md"
text = results_md.read_text()
start, end = text.find("<!-- bench_ann:start -->"), text.find("<!-- bench_ann:end -->")
if start >= 0 and end > start:
    section = text[start:end]
    display(Markdown(section.split("\n", 1)[1].split("![recall")[0]))
    plot = results_md.with_name("ann_recall_latency.png")
    if plot.exists():
        display(Image(filename=str(plot)))
    check("1,000,000 vectors" in section, "the benchmark ran on a million vectors")
else:
    print(f"{results_md} has no 1M results yet: run `python bench/bench_ann.py` (about an hour on "
          "2 cores, 2 GB of vectors) to add them; the table and plot above, from a smaller N, "
          "show the same trade-off.")

# %% [markdown]
# ## 7. Choosing an index from the curve
#
# Read the plot from the top: first decide the **recall** you need (0.95 means that one true
# top-10 neighbour in twenty is missing; for a photo search that is usually fine, for
# de-duplication or legal search it may not be). Draw a horizontal line there; every index whose
# curve crosses it can serve you. Then:
#
# 1. take the **leftmost** crossing: the fastest setting that reaches your recall;
# 2. check its **memory** per vector (the table) against your machines: HNSW keeps the vectors
#    plus a graph in RAM; IVF-PQ fits ten times more vectors in the same RAM, and re-ranking
#    needs the exact vectors again (they can stay on disk or in a cheaper tier);
# 3. check the **build time** against how often the collection changes;
# 4. tune the search parameter (`ef`, `nprobe`) at query time: it moves you along the curve
#    without rebuilding anything.
#
# Below ~100,000 vectors, exact `top_k` answers in milliseconds: an `ImageIndex` on a laptop is
# simpler and never misses. Approximate indexes earn their place at millions of vectors, and a
# database server at many users and many machines.

# %%
check(stop_ray() == 0, "Ray is stopped and none of its processes is left running")

# %% [markdown]
# ## Summary
#
# - Ray Data spreads the embedding over workers that each load the model once; the embeddings are
#   exactly those of `embed_image_files`. Its start-up costs seconds, so it pays only on large
#   folders or many machines.
# - The workers write Parquet shards (path, embedding, model, dimension) that any tool reads;
#   Milvus loads them, or takes the embeddings as they come.
# - A Milvus collection with a FLAT index answers exactly as `top_k`; it records its model and
#   refuses queries from another; `sync` carries deletions and changes over from an `ImageIndex`.
# - Approximate indexes trade recall for speed: pick from the recall-vs-latency curve the fastest
#   setting above the recall you need, then check its memory.
# - One line moves each part to a cluster: the Ray address and the Milvus URI.
#
# ## Exercises
#
# Each exercise has a solution under it (in the book: click "show solution"). Try it yourself
# first; the solution's last line checks the answer. They use the vectors of section 5; Ray is
# already stopped.

# %% [markdown]
# **Exercise 1.** Build FAISS HNSW on the first 5,000 vectors with `M=16` and with `M=32` (twice
# the links per vector). What does doubling `M` do to recall, speed and bytes per vector?

# %% tags=["solution", "hide-cell"]
# Solution
part = base[:5000]
_, part_truth = measure_exact(part, queries)
by_m = {M: measure_faiss_hnsw(part, queries, part_truth, M=M, ef_construction=80, ef_search=(16,))[0]
        for M in (16, 32)}
for M, r in by_m.items():
    print(f"M={M}: recall@10 {r.recall:.3f}, {r.ms_per_query:.3f} ms per query, "
          f"{r.bytes_per_vector:,.0f} bytes per vector, built in {r.build_s:.1f} s")
# Each vector keeps up to 2*M links on the bottom layer, 4 bytes each: more memory, a better-knit
# graph (usually more recall at the same ef), and more neighbours to visit per step.
check(by_m[32].bytes_per_vector > by_m[16].bytes_per_vector,
      "doubling M costs memory: more links per vector")

# %% [markdown]
# **Exercise 2.** IVF-PQ with `nprobe=1` and `nprobe=64` (how many of the 128 groups a search
# visits), without re-ranking: how much recall does visiting more groups buy, and at what speed?

# %% tags=["solution", "hide-cell"]
# Solution
probes = measure_faiss_ivfpq(base, queries, truth, nlist=128, m=64, nprobe=(1, 64), refine=(0,))
for r in probes:
    print(f"{r.params:24s} recall@10 {r.recall:.3f}, {r.ms_per_query:.2f} ms per query")
check(probes[-1].recall > probes[0].recall,
      "visiting 64 groups instead of 1 finds more of the true neighbours")

# %% [markdown]
# **More to try** (they need more time, or a Milvus server):
# - Run `embed_with_ray` on a folder of a few thousand pictures, with `num_workers=1` and
#   `cpus_per_worker=2`, then 2 workers of 1 CPU: which layout is faster on your machine?
# - Change `spread` in `clustered_vectors` (tighter or looser clouds): which index suffers most?
# - Try `MILVUS_LITE_INDEX_TYPES` other than HNSW and IVF_FLAT (IVF_SQ8 stores one byte per
#   number): compare their memory and recall.
# - With a Milvus server (`docker compose` from milvus.io), point `MilvusImageIndex` at it and
#   time the same searches.
