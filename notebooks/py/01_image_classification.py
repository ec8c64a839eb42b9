# %% [markdown]
# # 01 · Image classification with a Vision Transformer
#
# **What you will build:** a tiny photo search that works the "old" way: a classifier gives every
# picture a few labels, we store them in a database, and a search looks the labels up.
#
# **What you will learn:**
# - how to run a Vision Transformer (ViT) with the transformers `image-classification` pipeline,
#   and read its top-5 labels and scores;
# - how to keep the confident labels of every picture in a small SQLite database;
# - why this kind of search breaks as soon as you use a word the classifier does not have: the
#   reason the next notebooks move to CLIP and embeddings.
#
# The notebook runs in one of two **profiles**. *Online*, it uses the real
# `google/vit-base-patch16-224` (1,000 ImageNet labels) on photographs. *Offline* (no internet, or in
# CI), it uses a small ViT that this course trained on generated clip-art scenes, with ImageNet-style
# label names. The code is the same; the next cell says which profile runs and why.

# %%
import numpy as np
from IPython.display import display
from transformers import pipeline

from imgsearch_helpers import LabelsDB, get_profile, load_model
from imgsearch_helpers.course import check, kind_of, subjects_of
from imgsearch_helpers.display import show_images

profile = get_profile()
display(profile)
images = profile.gallery_images()
print(f"{len(images)} images in {profile.gallery.name}/")

# %% [markdown]
# ## 1. Load the classifier
#
# `load_model` picks the device for us (a GPU if there is one, else the CPU) and returns the model
# with its image processor. The pipeline wraps the three steps of classification: resize and
# normalise the picture, run the network, turn its 1,000 (offline: ten) raw scores into
# probabilities with a softmax.

# %%
vit = load_model(profile.classifier)
classifier = pipeline("image-classification", model=vit.model, image_processor=vit.processor,
                      device=vit.device)
labels = list(vit.model.config.id2label.values())
print(f"{vit.name} on {vit.device}: {len(labels)} labels, e.g. {labels[:4]}")

# %% [markdown]
# ## 2. The top-5 labels of one picture
#
# Every label gets a probability, and they add up to 1 over all labels. Look at what the model says
# about the picture below.

# %%
# The first lake scene offline; online, the cat photo.
example = next((p for kind in ("lake", "cat") for p in images if kind_of(p) == kind), images[0])
top5 = classifier(str(example), top_k=5)
show_images([example], ["\n".join(f"{pred['score']:.3f}  {pred['label']}" for pred in top5)],
            title=f"{example.name}: the top-5 labels", size=256)

# %% [markdown]
# ## 3. Label every picture and store the confident labels
#
# We keep each label scoring **at least 0.1** and store it in a SQLite database (`LabelsDB`, from the
# Python standard library's `sqlite3`). The database queries are parameterised: what you search for
# is data, never part of the SQL.

# %%
db = LabelsDB(":memory:", model=vit.name)
predictions = classifier([str(p) for p in images], top_k=5, batch_size=16)
for path, preds in zip(images, predictions):
    db.add(path.name, preds, threshold=0.1)

shown = db.images()[:12]
show_images([profile.gallery / name for name in shown],
            ["\n".join(f"{label} ({score:.2f})" for label, score in db.labels_of(name).items())
             or "(no label above 0.1)" for name in shown],
            title=f"the stored labels of the first {len(shown)} of {len(db.images())} pictures")

# %% [markdown]
# ## 4. Search by label, and where it breaks
#
# Searching means looking for the query text inside the stored labels. "lake" finds the lake
# pictures, because ImageNet has a label called *lakeside, lakeshore*. Now try "water": the pictures
# are full of water, but no label contains that word, so the search finds **nothing**. The classifier
# can only describe a picture with its fixed list of labels; any other word, synonym or description
# is invisible to it.

# %%
for query in ["lake", "water"]:
    hits = db.search(query)
    if hits:
        show_images([profile.gallery / image for image, _, _ in hits[:6]],
                    [f"{image}\nvia {label!r} ({score:.2f})" for image, label, score in hits[:6]],
                    title=f"label search {query!r}: {len(hits)} hit(s)", size=128)
    else:
        print(f"label search {query!r}: {len(hits)} hits, nothing to show")

# %%
lake_hits = [image for image, _, _ in db.search("lake")]
all_scores = classifier(str(example), top_k=len(labels))
check(abs(sum(p["score"] for p in all_scores) - 1) < 1e-4,
      f"the probabilities over all {len(labels)} labels sum to 1")
profile.check(bool(lake_hits) and all("lake" in subjects_of(profile.gallery / h) for h in lake_hits),
              f"'lake' finds {len(lake_hits)} lake picture(s) and nothing else", got=", ".join(lake_hits))
profile.check(db.search("water") == [], "'water' finds no picture at all, though the lakes are full "
              "of water", got=", ".join(f"{i} via {l!r}" for i, l, _ in db.search("water")))
profile.check(db.search("luxury car") == [] and db.search("tree in nature") == [],
              "'luxury car' and 'tree in nature' find nothing either: no label contains them")

# %% [markdown]
# ## Summary
#
# - A ViT classifier maps a picture to probabilities over a **fixed** list of labels.
# - Storing confident labels gives a fast, simple search, but only for the words in that list:
#   "water" misses every lake, "luxury car" and "tree in nature" would miss too.
# - What we need is a model that puts *any text* and pictures into the same space, so that "water",
#   "lake" and "pond" all land near the lake pictures. That is CLIP, in notebook 02.
#
# ## Exercises
#
# Each exercise has a solution under it (in the book: click "show solution"). Try it yourself
# first; the solution's last line checks the answer.

# %% [markdown]
# **Exercise 1.** Lower the threshold from 0.1 to 0.01 and store the same predictions in a second
# database. How many labels does a picture get now, and are the extra ones useful? Show the
# picture that gained the most labels, with its labels.

# %% tags=["solution", "hide-cell"]
# Solution
low = LabelsDB(":memory:", model=vit.name)
for path, preds in zip(images, predictions):
    low.add(path.name, preds, threshold=0.01)
gained = {name: len(low.labels_of(name)) - len(db.labels_of(name)) for name in low.images()}
most = max(gained, key=gained.get)
show_images([profile.gallery / most], ["\n".join(f"{label} ({score:.3f})" for label, score
                                                  in low.labels_of(most).items())],
            title=f"{most}: {gained[most]} more label(s) at 0.01")
print(f"labels per picture: {sum(map(len, map(db.labels_of, db.images()))) / len(images):.1f} at 0.1, "
      f"{sum(map(len, map(low.labels_of, low.images()))) / len(images):.1f} at 0.01")
check(all(set(db.labels_of(n)) <= set(low.labels_of(n)) for n in db.images()),
      f"a lower threshold keeps every label and adds {sum(gained.values())} more, all of them "
      "below 0.1: guesses rather than descriptions")

# %% [markdown]
# **Exercise 2.** Search the database for "car". Which labels do the hits come from? Is a hit
# always a car (what would "car" find in a label like "cardigan")?

# %% tags=["solution", "hide-cell"]
# Solution
car_hits = db.search("car")
via = sorted({label for _, label, _ in car_hits})
print(f"{len(car_hits)} hit(s), through the label(s): {via}")
show_images([profile.gallery / image for image, _, _ in car_hits[:6]],
            [f"{image}\nvia {label!r}" for image, label, _ in car_hits[:6]], size=128)
# The search looks for the text inside a label: "car" also matches "cardigan" or "carton".
check(bool(car_hits) and all("car" in label.lower() for label in via),
      "every hit comes from a label that contains the letters 'car'")

# %% [markdown]
# **Exercise 3.** Which picture is the classifier *least* sure about (the lowest top-1
# probability)? Show it with its top-5 labels. What makes it hard?

# %% tags=["solution", "hide-cell"]
# Solution
top_scores = [preds[0]["score"] for preds in predictions]
unsure = int(np.argmin(top_scores))
show_images([images[unsure]], ["\n".join(f"{p['score']:.3f}  {p['label']}"
                                         for p in predictions[unsure])], size=256)
check(all(top_scores[unsure] <= s for s in top_scores) and top_scores[unsure] < 1,
      f"{images[unsure].name} has the lowest top-1 probability ({top_scores[unsure]:.2f})")

# %% [markdown]
# **More to try** (no solution: it needs your photos). Online, add a few of your own photos to
# `data/photos/` and run the notebook again.
