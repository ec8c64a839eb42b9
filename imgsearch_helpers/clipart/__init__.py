"""A seeded clip-art world: small drawn scenes, each with several captions.

The course's offline models (``data/models/clipart-*``) are trained on these
scenes, and the offline gallery ``data/gallery`` is drawn by
:func:`write_gallery`. Captions deliberately use several words for the same
thing (lake/pond/water, car/vehicle/sedan/automobile, cat/kitten, ...), so a
model trained on them learns that different words land near the same pictures.
Notebook 06 (how CLIP learns) uses this module.

Examples
--------
>>> import numpy as np
>>> image, captions = make_scene("lake", np.random.default_rng(0))
>>> image.size
(128, 128)

A share of every scene's captions is in French and German: proper phrases written
from what was drawn, not word-by-word translations, so the offline models can be
searched in three languages.

Every scene also records what was drawn (:attr:`Scene.attributes`: the colour of
the car, house, boat, cat, dog, flowers; the snowman's hat; how many trees, cats,
boats; the time of day), and :func:`attribute_captions` names those attributes with
hard negatives (the same caption with one attribute changed), for training models
that read details. :func:`gallery_scenes` gives the gallery's pictures with theirs.

Inside: ``_attributes`` (the attributes and their captions), ``_draw`` (skies, landscapes, trees, boats), ``_things`` (animals, cars,
houses, flowers), ``_captions`` (the English phrases), ``_french`` and ``_german``
(the French and German ones), ``_languages`` (both together), ``_scenes`` (putting
them together).
"""
from ._attributes import (ATTRIBUTE_VALUES, COUNT_WORDS, THING_NOUNS, attribute_captions, colour_query,
                          count_query, hat_query, scene_attributes, shows, time_query)
from ._captions import generic_kind
from ._scenes import (CAPTION_LANGUAGES, HELDOUT_QUERIES, HELDOUT_QUERIES_BY_LANGUAGE, IMAGE_SIZE,
                      IMAGENET_STYLE_LABELS, MODEL_IMAGE_SIZE, SCENE_KINDS, ZERO_SHOT_PROMPTS, Scene, check_heldout_queries, generate_dataset, iter_scenes,
                      make_scene, write_gallery, draw_scene, gallery_scenes, GALLERY_SEED, GALLERY_PER_KIND)

__all__ = ["SCENE_KINDS", "IMAGE_SIZE", "MODEL_IMAGE_SIZE", "ZERO_SHOT_PROMPTS", "IMAGENET_STYLE_LABELS",
           "HELDOUT_QUERIES", "HELDOUT_QUERIES_BY_LANGUAGE", "CAPTION_LANGUAGES", "Scene", "make_scene", "iter_scenes", "generate_dataset", "write_gallery",
           "check_heldout_queries", "generic_kind", "draw_scene", "gallery_scenes", "GALLERY_SEED",
           "GALLERY_PER_KIND", "ATTRIBUTE_VALUES", "COUNT_WORDS", "THING_NOUNS", "scene_attributes",
           "attribute_captions", "shows", "colour_query", "count_query", "time_query", "hat_query"]
