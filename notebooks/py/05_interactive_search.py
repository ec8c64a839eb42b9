# %% [markdown]
# # 05 · An interactive image search app
#
# **What you will build:** a search app inside the notebook. Type a description and press
# **Enter**, upload a photo to search with it, click **More like this** under a result, compare
# models with a picker, and point it at a folder of your own photos.
#
# **What you will learn:**
# - how the steps of notebooks 03 and 04 (embed the gallery once, embed each query, rank by cosine
#   similarity) become an app: the slow part runs once per model, the fast part on every query;
# - why the app caches the gallery's embeddings per model, and what a search costs in milliseconds;
# - how searching with a picture differs from searching with words.
#
# The app is `imgsearch_helpers.SearchApp`, built from ipywidgets: it needs a running kernel
# (JupyterLab or Notebook), not a static viewer.

# %%
from IPython.display import display

from imgsearch_helpers import SearchApp, embed_images, embed_texts, get_profile, load_model, search
from imgsearch_helpers.course import answers_seed, check
from imgsearch_helpers.images import read_captions

profile = get_profile()
display(profile)

# %% [markdown]
# ## 1. The gallery
#
# A gallery is a list of image files. When its folder has a `captions.json` (file name → caption),
# the app shows each result's caption under its picture.

# %%
images = profile.gallery_images()
captions = read_captions(profile.gallery) or None
print(f"{len(images)} pictures in {profile.gallery}; "
      f"{len(captions) if captions else 'no'} captions")
print("for example:", ", ".join(p.name for p in images[:4]))

# %% [markdown]
# ## 2. Open the app
#
# Creating the app loads the first model and embeds every picture once; the status line then says
# how many pictures it searches. Try:
#
# - type *a beautiful lake with mountains* and press **Enter**; the status line shows how many
#   milliseconds the search took;
# - move the **Top k** slider;
# - switch the **Model**: the gallery is embedded once for the new model, with a progress bar.
#   Switch back and it is instant: the embeddings are cached per model;
# - click **More like this** under a result, or upload a picture with **Query image**.
#
# Mistakes (an empty query, a file that is not a picture, a folder that does not exist) show up as a
# message inside the app, not as a traceback.

# %%
app = SearchApp(images, models=[profile.clip, profile.siglip], captions=captions, k=6)
app

# %% [markdown]
# ## 3. The same app, from code
#
# Every button is also a method: `search_text`, `search_image` and `index_folder` update the app
# above *and* return the results, so you can check them in code.
#
# A picture that is in the gallery is the perfect test query: its embedding is identical to itself,
# so it must come first with a cosine similarity of 1.0. The next ones are the pictures the model
# finds most similar: look at them in the app above.

# %%
results = picture_results = app.search_image(images[0])
for rank, r in enumerate(results, 1):
    print(f"#{rank}  {r.score:.3f}  {r.item.name}")
check(results[0].item == images[0] and abs(results[0].score - 1) < 1e-3,
      f"{images[0].name} finds itself first, with cosine 1.000")
check(all(a.score >= b.score for a, b in zip(results, results[1:])), "results come best first")

# %% [markdown]
# Words work the same way, but text-to-picture cosines are on a different scale from
# picture-to-picture ones: compare the scores below with the ones above (for the real CLIP,
# text-to-picture cosines are rarely above 0.35). So compare scores *within* one query, not across
# queries.
#
# The app is no magic: it gives exactly the ranking that `search()` from notebook 03 gives with the
# same model.

# %%
results = app.search_text("water and nature")
for rank, r in enumerate(results, 1):
    print(f"#{rank}  {r.score:.3f}  {r.item.name:16} {(captions or {}).get(r.item.name, '')}")

model = load_model(app.model_name)
direct = search(embed_texts(model, "water and nature")[0], embed_images(model, images), images, k=6)
check([r.item for r in direct] == [r.item for r in results],
      f"the app ranks exactly as search() does with {app.model_name}")
profile.check(results[0].score < picture_results[1].score,
              f"the best text match ({results[0].score:.3f}) scores below the picture query's "
              f"second-best picture ({picture_results[1].score:.3f})")
water = sum(answers_seed("water and nature", r.item) for r in results[:3])
profile.check(water >= 2, f"{water} of the top 3 for 'water and nature' show water")

# %% [markdown]
# ## Summary
#
# - A search app has two steps with very different costs: **embed the gallery once** (seconds to
#   minutes) and **embed each query** (milliseconds); one matrix product then ranks everything.
# - Caching the gallery's embeddings per model makes comparing models cheap after the first switch.
# - "More like this" compares two pictures; a text query crosses from words to pictures, with lower
#   cosines.
# - The app shows every file name and caption as text (HTML-escaped), so a file called
#   `<img src=x onerror=...>.png` is just a strange name, not code.
#
# ## Exercises
#
# Each exercise has a solution under it (in the book: click "show solution"). Try it yourself
# first; the solution's last line checks the answer. The solutions drive the app from code, so you
# can watch it change above.

# %% [markdown]
# **Exercise 1.** Type the same query, *a beautiful lake with mountains*, with both models. Which
# one puts more fitting pictures in the top 6, and which one answers faster?

# %% tags=["solution", "hide-cell"]
# Solution
import time

query = "a beautiful lake with mountains"
fitting, seconds = {}, {}
for name in (profile.clip, profile.siglip):
    app.ui.model.value = name                  # what choosing in the Model picker does
    app.search_text(query)                     # the first search embeds the gallery once
    start = time.perf_counter()
    found = app.search_text(query)
    seconds[name] = time.perf_counter() - start
    fitting[name] = sum(answers_seed(query, r.item) for r in found)
    print(f"{name}: {fitting[name]} of 6 fitting, {seconds[name] * 1000:.0f} ms")
profile.check(all(n >= 3 for n in fitting.values()),
              "both models put at least 3 fitting pictures in the top 6")

# %% [markdown]
# **Exercise 2.** Search for something the gallery does not contain: *a giraffe*. Why does the app
# still return six results, and what do their scores tell you?

# %% tags=["solution", "hide-cell"]
# Solution
giraffe = app.search_text("a giraffe")
lake = app.search_text("a beautiful lake with mountains")
print("a giraffe:", ", ".join(f"{r.item.name} {r.score:.3f}" for r in giraffe))
print("a lake:   ", ", ".join(f"{r.item.name} {r.score:.3f}" for r in lake))
# A ranking always has a first place: search returns the k nearest pictures, however far.
# What tells you that nothing fits is the score, next to the scores of a query that does fit.
profile.check(len(giraffe) == 6 and giraffe[0].score < lake[0].score,
              f"six results all the same, but the best giraffe ({giraffe[0].score:.3f}) scores "
              f"below the best lake ({lake[0].score:.3f})")

# %% [markdown]
# **More to try** (no solution: they need your files):
# - Upload a photo from your phone as the query (with the online profile: the offline models only
#   know clip-art).
# - Type the path of one of your photo folders into **Folder** and click **Index**. Put a text file
#   renamed to `.jpg` in it: the status line reports it as skipped instead of failing.
