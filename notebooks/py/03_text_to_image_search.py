# %% [markdown]
# # 03 · Text-to-image search with embeddings
#
# **What you will build:** a search engine for a folder of pictures that takes any words, in any
# phrasing, and ranks the pictures by how well they match.
#
# **What you will learn:**
# - how to compute embeddings by hand: processor → model features → normalise;
# - what the cosine similarity between a text and a picture is;
# - why a Python loop over pictures (the way many tutorials do it) is slow, and how one matrix
#   product replaces it;
# - how the course helpers (`embed_images`, `embed_texts`, `search`) do all of this in batches.

# %%
import time

import numpy as np
import torch
from IPython.display import display

from imgsearch_helpers import (embed_images, embed_texts, get_profile, load_image, load_model,
                               search, show_results, top_k)
from imgsearch_helpers.course import SEED_QUERIES, answers_seed, check, subjects_of
from imgsearch_helpers.embeddings import SIGLIP_TEXT_LENGTH

profile = get_profile()
display(profile)
images = profile.gallery_images()
model = load_model(profile.siglip)
print(f"{model.name} on {model.device}; {len(images)} pictures")

# %% [markdown]
# ## 1. One embedding by hand
#
# The processor turns a picture into a tensor of pixels and a text into token ids; the model's
# `get_image_features` / `get_text_features` turn them into vectors. (In transformers 5 these return
# an output object: the vector is its `.pooler_output`.) We divide each vector by its length, so that
# the dot product of two vectors is their **cosine similarity**: 1 for the same direction, 0 for
# unrelated, negative for pointing away from each other.

# %%
picture = load_image(images[0])
query = SEED_QUERIES[0]

with torch.no_grad():
    pixels = model.processor.image_processor(images=[picture], return_tensors="pt").to(model.device)
    image_vector = model.model.get_image_features(**pixels).pooler_output[0]
    # SigLIP reads the text padded to SIGLIP_TEXT_LENGTH tokens, as it was trained.
    tokens = model.processor.tokenizer([query], padding="max_length", max_length=SIGLIP_TEXT_LENGTH,
                                       truncation=True, return_tensors="pt").to(model.device)
    text_vector = model.model.get_text_features(**tokens).pooler_output[0]

image_vector = image_vector / image_vector.norm()
text_vector = text_vector / text_vector.norm()
print(f"text padded to {tokens['input_ids'].shape[1]} tokens (SIGLIP_TEXT_LENGTH = {SIGLIP_TEXT_LENGTH})")
print(f"embedding size: {image_vector.shape[0]}, length after normalising: {image_vector.norm():.3f}")
print(f"cosine({query!r}, {images[0].name}) = {float(image_vector @ text_vector):.3f}")

# %%
check(np.allclose(image_vector.cpu().numpy(), embed_images(model, [picture])[0], atol=1e-5),
      "embed_images gives the same vector as the by-hand computation")
check(np.allclose(text_vector.cpu().numpy(), embed_texts(model, query)[0], atol=1e-5),
      "embed_texts gives the same vector as the by-hand computation")


# %% [markdown]
# ## 2. The slow way: a loop, one picture at a time
#
# This is how a first version usually looks: open each file, run the model on it alone, compare.
# It works, but each picture costs a separate trip through the network and Python.

# %%
def seed_style_search(query, paths):
    # Slow on purpose: one picture per forward pass, scored in a Python loop.
    text = embed_texts(model, query)[0]
    scores = []
    for path in paths:
        vector = embed_images(model, [load_image(path)])[0]
        scores.append((float(vector @ text), path))
    return sorted(scores, reverse=True)

start = time.perf_counter()
slow = seed_style_search(query, images)
slow_time = time.perf_counter() - start
print(f"loop: {slow_time:.2f} s for {len(images)} pictures; best: {slow[0][1].name} ({slow[0][0]:.3f})")

# %% [markdown]
# ## 3. The fast way: embed once in batches, then one matrix product
#
# Pictures do not change between queries, so we embed them **once**, in batches (the model handles
# many pictures per pass; worker threads decode the next files meanwhile). A query is then a single
# matrix product of the picture matrix with the text vector, plus a partial sort for the top *k*
# (`top_k` uses `argpartition`, so it never sorts all scores).

# %%
start = time.perf_counter()
image_matrix = embed_images(model, images, batch_size=32)
embed_time = time.perf_counter() - start

start = time.perf_counter()
best, best_scores = top_k(embed_texts(model, query)[0], image_matrix, k=5)   # all cosines at once
query_time = time.perf_counter() - start
print(f"embedding all {len(images)} pictures in batches: {embed_time:.2f} s (once)")
print(f"first query, embedding included: {embed_time + query_time:.2f} s, "
      f"{slow_time / (embed_time + query_time):.0f}x faster than the loop")
print(f"every query after that: {query_time * 1000:.1f} ms, {slow_time / query_time:.0f}x faster")
check(images[best[0]] == slow[0][1], "both ways find the same best picture")

# %% [markdown]
# ## 4. The helpers, and the four queries
#
# `search(query_vector, image_matrix, items, k)` returns ranked results; `show_results` draws them.
# Notice the last query: "water and nature" contains no name of a scene kind, yet the model knows
# which pictures show water.

# %%
queries = list(SEED_QUERIES)
query_vectors = embed_texts(model, queries)
rankings = {}
for q, vector in zip(queries, query_vectors):
    results = search(vector, image_matrix, images, k=5)
    rankings[q] = results
    show_results(results, title=q)

# %%
for q in queries:
    top = rankings[q][0].item
    profile.check(answers_seed(q, top), f"{q!r} ranks a right picture first ({top.name})",
                  got=f"{top.name} ({', '.join(subjects_of(top))})")
print("\nRemember notebook 01: the label database found nothing for 'water'.")

# %% [markdown]
# ## 5. Many queries at once
#
# `top_k` takes a matrix of queries: one product scores every query against every picture.

# %%
idx, sc = top_k(query_vectors, image_matrix, k=3)
for q, row, s in zip(queries, idx, sc):
    print(f"{q:34s} " + ", ".join(f"{images[i].name} ({v:.2f})" for i, v in zip(row, s)))

# %% [markdown]
# ## Summary
#
# - An embedding model maps texts and pictures into one space; search = cosine similarity.
# - Normalise once, and the cosine is a dot product; all pictures at once is a matrix product.
# - Embed pictures once, in batches; a query then costs milliseconds, even for thousands of pictures.
#   For a folder of your own, `ImageIndex` also stores the embeddings on disk and only embeds new
#   files the next time.
#
# ## Exercises
#
# Each exercise has a solution under it (in the book: click "show solution"). Try it yourself
# first; the solution's last line checks the answer.

# %% [markdown]
# **Exercise 1.** Search with synonyms the label database of notebook 01 would never find:
# "pond", "automobile", "kitten". Does the model know them? Show the top 4 of each.

# %% tags=["solution", "hide-cell"]
# Solution
synonyms = {"pond": "lake", "automobile": "car", "kitten": "cat"}
firsts = {}
for word, kind in synonyms.items():
    found = search(embed_texts(model, word)[0], image_matrix, images, k=4)
    show_results(found, title=f"{word!r} (a synonym of {kind})", size=120)
    firsts[word] = found[0].item
known = [w for w, kind in synonyms.items() if kind in subjects_of(firsts[w])]
profile.check(len(known) >= 2, f"the model knows {len(known)} of the 3 synonyms ({', '.join(known)}): "
              "the right kind of picture comes first")

# %% [markdown]
# **Exercise 2.** Queries in another style: "something cold", "a place to live". Look at the top
# 4: what did the model make of them? Then say it in the words of a caption, "a cold winter day":
# which kind of scene comes first now?

# %% tags=["solution", "hide-cell"]
# Solution
for text in ["something cold", "a place to live", "a cold winter day"]:
    show_results(search(embed_texts(model, text)[0], image_matrix, images, k=4), title=text,
                 size=120)
# A search always answers with the nearest pictures, understood or not, and a high cosine is no
# proof of understanding: the small offline model knows the words of its captions ("winter",
# "house"), not what is cold. The captions' own words find the snow.
winter = search(embed_texts(model, "a cold winter day")[0], image_matrix, images, k=1)[0].item
profile.check("snow" in subjects_of(winter), f"'a cold winter day' puts a snow scene first "
              f"({winter.name})", got=", ".join(subjects_of(winter)))

# %% [markdown]
# **Exercise 3.** Switch to the CLIP model of the profile (`profile.clip`) and run the four seed
# queries again. Does it put a right picture first too? Compare the range of its scores with
# SigLIP's.

# %% tags=["solution", "hide-cell"]
# Solution
clip = load_model(profile.clip)
clip_matrix = embed_images(clip, images)
clip_rankings = {q: search(v, clip_matrix, images, k=5) for q, v in zip(queries, embed_texts(clip, queries))}
for name, ranked in (("SigLIP", rankings), ("CLIP", clip_rankings)):
    tops = [r[0].score for r in ranked.values()]
    print(f"{name:6s} best cosines from {min(tops):.3f} to {max(tops):.3f}; firsts: "
          + ", ".join(r[0].item.name for r in ranked.values()))
right = sum(answers_seed(q, clip_rankings[q][0].item) for q in queries)
profile.check(right >= 3, f"CLIP puts a right picture first for {right} of the {len(queries)} queries")
