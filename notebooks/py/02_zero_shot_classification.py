# %% [markdown]
# # 02 · Zero-shot classification with CLIP and SigLIP
#
# **What you will build:** a classifier for labels *you* choose at run time, with no training: give it
# a picture and any list of words, and it scores each word.
#
# **What you will learn:**
# - how the `zero-shot-image-classification` pipeline works with CLIP and with SigLIP (SigLIP 2);
# - how to compute both kinds of scores yourself from the raw logits, and why SigLIP's numbers are
#   so often small next to CLIP's (independent sigmoids with a negative bias instead of one softmax);
# - what prompt templates such as `"a photo of {}"` change, measured on the whole gallery.
#
# CLIP and SigLIP have two encoders, one for pictures and one for text, trained so that a picture
# and a matching caption get similar vectors (*embeddings*). Zero-shot classification turns each
# candidate label into a sentence, embeds it, and compares it with the picture.

# %%
import numpy as np
import torch
from IPython.display import display
from transformers import pipeline

from imgsearch_helpers import (embed_images, embed_texts, get_profile, load_image, load_model,
                               zero_shot_scores)
from imgsearch_helpers.course import SEED_QUERIES, SEED_SUBJECTS, check, kind_of, subjects_of
from imgsearch_helpers.display import show_images
from imgsearch_helpers.embeddings import SIGLIP_TEXT_LENGTH
from imgsearch_helpers.zeroshot import DEFAULT_TEMPLATE

profile = get_profile()
display(profile)
images = profile.gallery_images()
clip = load_model(profile.clip)
siglip = load_model(profile.siglip)
print(f"CLIP:   {clip.name} ({clip.family}) on {clip.device}")
print(f"SigLIP: {siglip.name} ({siglip.family}) on {siglip.device}")

# %% [markdown]
# ## 1. The pipeline, with CLIP and with SigLIP, on the same picture

# %%
candidate_labels = ["lake", "mountains", "water", "cat", "car", "tree"]
example = next((p for p in images if kind_of(p) == "lake"), images[0])

results, titles = {}, []
for loaded in (clip, siglip):
    pipe = pipeline("zero-shot-image-classification", model=loaded.model,
                    tokenizer=loaded.processor.tokenizer,
                    image_processor=loaded.processor.image_processor, device=loaded.device)
    out = pipe(str(example), candidate_labels=candidate_labels)
    results[loaded.family] = {d["label"]: d["score"] for d in out}
    titles.append(f"{loaded.family} (they add up to {sum(d['score'] for d in out):.3f})\n"
                  + "\n".join(f"{d['score']:7.4f}  {d['label']}" for d in out))
show_images([example, example], titles, title=f"{example.name}, scored by each model", size=220)

# %% [markdown]
# CLIP's scores always add up to 1: it shares one unit of probability among the labels, so "lake",
# "mountains" and "water", all true of a lake scene, have to split it. SigLIP scores each label on
# its own: several labels can be likely at once, and none of them has to be; each label gets only
# what its own match earns, which is often very little. The next section shows where both kinds of
# number come from, and why SigLIP's are so often small.
#
# ## 2. The same scores by hand, from the raw logits
#
# Both models compute a *logit* per (picture, label) pair from the cosine similarity of their
# embeddings: `logit = scale × cos (+ bias)`. The pipeline phrases each label as
# `"This is a photo of {label}."`.

# %%
template = DEFAULT_TEMPLATE
print(f"template: {template!r}; SigLIP's text length: {SIGLIP_TEXT_LENGTH} tokens")
sentences = [template.format(label) for label in candidate_labels]
image = load_image(example)

def raw_logits(loaded, **text_kwargs):
    inputs = loaded.processor(text=sentences, images=image, return_tensors="pt", **text_kwargs)
    with torch.no_grad():
        return loaded.model(**inputs.to(loaded.device)).logits_per_image[0].float().cpu()

clip_logits = raw_logits(clip, padding=True, truncation=True)
# SigLIP was trained on text padded to SIGLIP_TEXT_LENGTH tokens; padding=True would change its result.
siglip_logits = raw_logits(siglip, padding="max_length", max_length=SIGLIP_TEXT_LENGTH)
clip_by_hand = clip_logits.softmax(dim=-1).numpy()
siglip_by_hand = torch.sigmoid(siglip_logits).numpy()

print(f"CLIP:   scale = {clip.logit_scale:.1f}, no bias")
print(f"SigLIP: scale = {siglip.logit_scale:.1f}, bias = {siglip.logit_bias:.2f}\n")
print(f"{'label':10s} {'CLIP logit':>10s} {'softmax':>8s}   {'SigLIP logit':>12s} {'sigmoid':>8s}")
for i, label in enumerate(candidate_labels):
    print(f"{label:10s} {clip_logits[i]:10.2f} {clip_by_hand[i]:8.4f}   "
          f"{siglip_logits[i]:12.2f} {siglip_by_hand[i]:8.4f}")

# %%
check(np.allclose([results[clip.family][l] for l in candidate_labels], clip_by_hand, atol=1e-4),
      "softmax over CLIP's logits reproduces the pipeline's CLIP scores")
check(np.allclose([results[siglip.family][l] for l in candidate_labels], siglip_by_hand, atol=1e-4),
      "a sigmoid per SigLIP logit reproduces the pipeline's SigLIP scores")
check(abs(clip_by_hand.sum() - 1) < 1e-4, f"CLIP's scores sum to 1 ({clip_by_hand.sum():.4f})")
check(abs(siglip_by_hand.sum() - 1) > 0.01,
      f"SigLIP's scores do not sum to 1 ({siglip_by_hand.sum():.4f}): each is an independent yes/no")

# %% [markdown]
# Why SigLIP's numbers are so often small: it was trained with a **sigmoid loss**, a yes/no question
# for every picture-text pair in a batch. In a batch of *n* pairs only *n* of the *n²* pairs match,
# so the model learned a large negative bias: "no" is the safe answer. To climb above 0.5 a pair
# needs `scale × cos > −bias`, i.e. a cosine above `−bias / scale`. The sigmoid also does not look
# at the other labels: adding or removing a candidate never changes the score of another, unlike
# CLIP's softmax. The next cell turns the logits back into cosines and compares them with that bar.

# %%
needed = -siglip.logit_bias / siglip.logit_scale
siglip_cosines = (siglip_logits.numpy() - siglip.logit_bias) / siglip.logit_scale
print(f"SigLIP says 'yes' (score > 0.5) only where cos > -bias / scale = {needed:.3f}\n")
for label, cos, score in zip(candidate_labels, siglip_cosines, siglip_by_hand):
    print(f"{label:10s} cos {cos:6.3f}  {'above' if cos > needed else 'below'} the bar  -> {score:.4f}")

# %% [markdown]
# A one-word label of the main subject can clear the bar. A search query usually does not: it
# describes a picture in its own words, and even the best picture in the gallery matches it less
# closely than that. Here are the seed's four search queries (offline, followed by the other
# caption-style test queries of the clip-art world), each with its best picture and that picture's
# SigLIP score:

# %%
if profile.name == "offline":
    from imgsearch_helpers.clipart import HELDOUT_QUERIES  # the seed's four come first
    queries = [q for q, _ in HELDOUT_QUERIES]
else:
    queries = list(SEED_QUERIES)
gallery_siglip = embed_images(siglip, images)
query_scores = zero_shot_scores(siglip, gallery_siglip, embed_texts(siglip, queries)).T
best = query_scores.argmax(axis=1)
show_images([images[b] for b in best[:8]],
            [f"{query}\n{images[b].name}: {row[b]:.4f}"
             for query, b, row in list(zip(queries, best, query_scores))[:8]], size=140,
            title=f"the best picture for each query, and its SigLIP score "
                  f"(the first 8 of {len(queries)} queries)")
n_small = int((query_scores.max(axis=1) < 0.5).sum())
print(f"for {n_small} of {len(queries)} queries even the best picture scores below 0.5")

# %%
if profile.name == "offline":    # right: one of the kinds a held-out query asks for
    right = [kind_of(images[b]) in kinds for b, (_, kinds) in zip(best, HELDOUT_QUERIES)]
else:                            # right: every subject the seed query names
    right = [set(SEED_SUBJECTS[q]) <= set(subjects_of(images[b])) for q, b in zip(queries, best)]
profile.check(n_small > len(queries) / 2,
              f"SigLIP scores the best picture below 0.5 for {n_small} of {len(queries)} queries")
profile.check(sum(right) >= 0.9 * len(queries),
              f"yet that best picture is a right one for {sum(right)} of {len(queries)}: the ranking "
              "is right, the numbers are just small",
              got=", ".join(q for q, ok in zip(queries, right) if not ok))

# %% [markdown]
# So a small SigLIP score is not a wrong answer: read SigLIP by its *ranking*, and treat a score
# above 0.5 as a confident "yes", not as the only kind of hit.
#
# The helper `zero_shot_scores` does exactly these computations from embeddings, so you can score
# many pictures against many labels with one matrix product:

# %%
for loaded, by_hand in ((clip, clip_by_hand), (siglip, siglip_by_hand)):
    scores = zero_shot_scores(loaded, embed_images(loaded, [example])[0],
                              embed_texts(loaded, sentences))
    check(np.allclose(scores, by_hand, atol=1e-4),
          f"zero_shot_scores({loaded.family}) equals the pipeline's scores")

# %% [markdown]
# ### Online: FG-CLIP 2 beside CLIP and SigLIP
#
# FG-CLIP 2 (`qihoo360/fg-clip2-base`) is SigLIP 2 trained further on fine detail (region captions,
# hard negatives that differ in one attribute, such as a red car and a blue one), in English and
# Chinese, with a second text mode for long captions (up to 196 tokens). It scores like SigLIP, with
# a sigmoid per label; the package follows its recipe (captions lower-cased, each picture at its own
# patch budget). Online it joins the comparison below; offline this cell only says so.

# %%
from imgsearch_helpers import ModelNotAvailableError

FGCLIP2 = "qihoo360/fg-clip2-base"
fgclip2 = None
if profile.name != "online":
    print("Offline profile: FG-CLIP 2 is one of the real models; it joins the comparison online.")
else:
    try:
        fgclip2 = load_model(FGCLIP2)
    except ModelNotAvailableError as err:
        print(str(err).splitlines()[0])
        print(f"To add it: make prefetch MODELS={FGCLIP2}")
if fgclip2 is not None:
    scores = zero_shot_scores(fgclip2, embed_images(fgclip2, [example])[0],
                              embed_texts(fgclip2, sentences))
    print(f"{example.name} with FG-CLIP 2 (a sigmoid per label; they add up to {scores.sum():.2f}):")
    for label, score in sorted(zip(candidate_labels, scores), key=lambda x: -x[1]):
        print(f"  {score:7.4f}  {label}")
compared = [clip, siglip] + ([fgclip2] if fgclip2 is not None else [])

# %% [markdown]
# ## 3. Prompt templates, measured
#
# The models were trained on captions, so a label on its own ("car") may work worse than a sentence
# around it, and which sentence works best is hard to guess. *Prompt ensembling* avoids the guess:
# embed the label in several templates and average the text embeddings. We measure top-1 accuracy
# for a few templates and for their ensemble (the last row), with two ways of naming the labels:
# plain words ("cat") and ImageNet's names ("tabby, tabby cat"), which read less like a caption.
#
# Offline the pictures are 300 *fresh* clip-art scenes (30 per kind, never trained on); online, the
# gallery photos, each labelled by the subject in its file name.

# %%
from imgsearch_helpers import clipart, training

if profile.name == "offline":
    test_images, kind_ids = training.heldout_scenes(30)
    subjects = list(clipart.SCENE_KINDS)
    truth = np.asarray(kind_ids)
    label_styles = {"plain": subjects,
                    "ImageNet": [clipart.IMAGENET_STYLE_LABELS[k] for k in subjects]}
else:
    test_images = images
    subjects = sorted({kind_of(p) for p in images})
    truth = np.array([subjects.index(kind_of(p)) for p in images])
    label_styles = {"plain": [s.replace("_", " ") for s in subjects]}
templates = ["{}", "a photo of a {}.", DEFAULT_TEMPLATE, "a picture showing {}", "a drawing of {}",
             "clip art of {}"]

accuracy = {}
for loaded in compared:
    image_emb = embed_images(loaded, test_images)
    for style, names in label_styles.items():
        per_template = [embed_texts(loaded, [t.format(n) for n in names]) for t in templates]
        ensemble = np.mean(per_template, axis=0)
        for t, text_emb in zip(templates + ["ensemble of all"], per_template + [ensemble]):
            text_emb = text_emb / np.linalg.norm(text_emb, axis=1, keepdims=True)
            predicted = (image_emb @ text_emb.T).argmax(axis=1)
            accuracy[(loaded.family, style, t)] = float((predicted == truth).mean())

print(f"{len(test_images)} pictures, {len(subjects)} candidate labels\n")
columns = [(m.family, style) for style in label_styles for m in compared]
print(f"{'template':24s}" + "".join(f"{f + ' ' + st:>18s}" for f, st in columns))
for t in templates + ["ensemble of all"]:
    print(f"{t:24s}" + "".join(f"{accuracy[(f, st, t)]:18.1%}" for f, st in columns))

# %%
def spread(family, style):
    values = [accuracy[(family, style, t)] for t in templates]
    return max(values) - min(values)

columns_gap = {(f, st): max(accuracy[(f, st, t)] for t in templates)
               - accuracy[(f, st, "ensemble of all")] for f, st in columns}
profile.check(round(max(columns_gap.values()), 6) <= 0.02,
              "in every column the ensemble is within 2 points of the best template, without "
              "having to know which template that is")
(f_worst, st_worst) = max(columns, key=lambda c: spread(*c))
worst = min(templates, key=lambda t: accuracy[(f_worst, st_worst, t)])
profile.check(spread(f_worst, st_worst) >= 0.03,
              f"yet one template can cost points: {worst!r} leaves {f_worst} with {st_worst} labels "
              f"{100 * spread(f_worst, st_worst):.0f} points below its best template")
style = list(label_styles)[-1]        # ImageNet's label names offline, plain words online
for m in (clip, siglip):
    singles = sorted(accuracy[(m.family, style, t)] for t in templates)
    ens = accuracy[(m.family, style, "ensemble of all")]
    profile.check(ens >= singles[len(singles) // 2],
                  f"{m.family}: the ensemble ({ens:.1%}) is at least as good as the median template "
                  f"({singles[len(singles) // 2]:.1%}), without choosing one")

# %% [markdown]
# Why are most templates so close? The offline models were trained on captions that already wear
# these templates ("a photo of …", "a drawing of …", "clip art of …"), so nearly every template reads
# like training text, with plain words and with ImageNet's names ("sports car, sport car") alike.
# Nearly: one template still costs a few points for one of the models, and which one (and how much)
# changes from model to model and from one training run to the next. That is the case for the
# ensemble: it keeps close to the best template without knowing in advance which one that is. Real
# CLIP models on photos behave the same way, more strongly: the CLIP paper (Radford et al., 2021,
# section 3.1.4) reports 3.5 points more on ImageNet from an ensemble of 80 templates than from its
# single default one (notebook 07 measures that ensemble on the course's pictures).

# %% [markdown]
# ## Summary
#
# - Zero-shot classification = embed the picture, embed one sentence per label, compare.
# - CLIP: `softmax(scale × cos)`: scores compete and sum to 1. SigLIP: `sigmoid(scale × cos + bias)`
#   per label: independent, and small unless the match is clear, because of the large negative bias.
# - Whether the sentence around the label matters depends on the model and the label names: measure
#   it. An ensemble of templates is close to the best one without having to pick it.
# - Classification still needs a list of labels. Notebook 03 drops the list: the query itself is
#   the text, and we rank the pictures.
#
# ## Exercises
#
# Each exercise has a solution under it (in the book: click "show solution"). Try it yourself
# first; the solution's last line checks the answer.

# %% [markdown]
# **Exercise 1.** Add a label that is *also* true of the lake picture, "nature", to the six
# candidates. What happens to CLIP's scores for the other six labels, and to SigLIP's? Why?

# %% tags=["solution", "hide-cell"]
# Solution
with_nature = candidate_labels + ["nature"]
before, after = {}, {}
for loaded in (clip, siglip):
    picture = embed_images(loaded, [example])[0]
    before[loaded.family] = zero_shot_scores(loaded, picture, embed_texts(loaded, sentences))
    after[loaded.family] = zero_shot_scores(
        loaded, picture, embed_texts(loaded, [template.format(l) for l in with_nature]))
    print(f"{loaded.family:7s} 'nature': {after[loaded.family][-1]:.4f}; the six others: "
          + ", ".join(f"{a:.4f}->{b:.4f}" for a, b in zip(before[loaded.family],
                                                          after[loaded.family][:-1])))
# CLIP's softmax shares one unit among all labels: a seventh takes its share from the six.
# SigLIP's sigmoid scores each label alone: the six do not move.
clip_after, nature = after[clip.family][:-1], after[clip.family][-1]
check(np.isclose(clip_after.sum(), 1 - nature, atol=1e-5)
      and np.all(clip_after <= before[clip.family] + 1e-6)
      and np.allclose(after[siglip.family][:-1], before[siglip.family], atol=1e-5),
      f"CLIP's six scores give up together what 'nature' gets ({nature:.4f}), none of them rises; "
      "SigLIP's six stay as they were")

# %% [markdown]
# **Exercise 2.** Measure one more template, in another style: `"an oil painting of {}"`. Compute
# its top-1 accuracy for both models on the test pictures of section 3 (plain label names), and
# compare it with the table. Is it better than guessing?

# %% tags=["solution", "hide-cell"]
# Solution
oil = "an oil painting of {}"
names = label_styles["plain"]
oil_accuracy = {}
for loaded in (clip, siglip):
    image_emb = embed_images(loaded, test_images)
    predicted = (image_emb @ embed_texts(loaded, [oil.format(n) for n in names]).T).argmax(axis=1)
    oil_accuracy[loaded.family] = float((predicted == truth).mean())
    print(f"{loaded.family:7s} {oil!r}: {oil_accuracy[loaded.family]:.1%}   "
          f"(best template in the table: "
          f"{max(accuracy[(loaded.family, 'plain', t)] for t in templates):.1%})")
chance = 1 / len(names)
check(all(2 * chance < a <= 1 for a in oil_accuracy.values()),
      f"the oil-painting template works for both models, far above guessing ({chance:.0%})")

# %% [markdown]
# **Exercise 3.** Which of the ten kinds does CLIP confuse most with another, with the default
# template and plain names? Count, for each kind, how many of its test pictures get another
# kind's label, and say which label they get.

# %% tags=["solution", "hide-cell"]
# Solution
image_emb = embed_images(clip, test_images)
predicted = (image_emb @ embed_texts(clip, [DEFAULT_TEMPLATE.format(n) for n in names]).T).argmax(1)
wrong = {subjects[k]: int(((truth == k) & (predicted != k)).sum()) for k in range(len(subjects))}
hardest = max(wrong, key=wrong.get)
k = subjects.index(hardest)
instead = np.bincount(predicted[(truth == k) & (predicted != k)], minlength=len(subjects))
print("mistakes per kind:", wrong)
if wrong[hardest]:
    print(f"{hardest}: {wrong[hardest]} mistakes, most often called "
          f"{subjects[int(instead.argmax())]!r}")
check(abs(1 - sum(wrong.values()) / len(truth) - accuracy[(clip.family, "plain", DEFAULT_TEMPLATE)])
      < 1e-9, f"the {sum(wrong.values())} mistakes per kind are exactly the ones behind the table's "
      f"{accuracy[(clip.family, 'plain', DEFAULT_TEMPLATE)]:.1%} for the default template")

# %% [markdown]
# **More to try** (online only, no solution here):
# - ask FG-CLIP 2 in Chinese: `zero_shot_classify(fgclip2, example, ["湖", "山", "猫", "汽车"])`,
#   or give it a whole paragraph as one label (more than 64 tokens switches it to its long mode);
# - compare `openai/clip-vit-base-patch32` with `openai/clip-vit-large-patch14`
#   (`load_model` lists every registered model if you mistype one).
