"""Scenes: draw one of each kind with its captions; the gallery; the held-out queries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ._draw import SIZE, boat, lake, night, snow, tree
from ._things import car, cat, dog, flower, house
from ..course import SEED_QUERIES
from ..images import CAPTIONS_FILE
from ._captions import CAPTIONERS, KIND_PHRASE, PREFIXES, decorate
from ._attributes import attribute_captions, scene_attributes
from ._draw import pick
from ._languages import LANGUAGES, translated_captions

__all__ = ["SCENE_KINDS", "IMAGE_SIZE", "MODEL_IMAGE_SIZE", "ZERO_SHOT_PROMPTS", "IMAGENET_STYLE_LABELS",
           "HELDOUT_QUERIES", "HELDOUT_QUERIES_BY_LANGUAGE", "CAPTION_LANGUAGES", "Scene", "make_scene", "iter_scenes", "generate_dataset", "write_gallery",
           "check_heldout_queries", "draw_scene", "gallery_scenes", "GALLERY_SEED", "GALLERY_PER_KIND"]

SCENE_KINDS = ("lake", "tree", "cat", "car", "house", "boat", "snow", "night", "flower", "dog")
IMAGE_SIZE = SIZE  # scenes are drawn at 128 px ...
MODEL_IMAGE_SIZE = 64  # ... and the offline models see them at 64 px

# One prompt per kind for zero-shot classification ("a photo of a {kind}" style).
ZERO_SHOT_PROMPTS = {kind: "a photo of " + KIND_PHRASE[kind] for kind in SCENE_KINDS}

# The ViT classifier's id2label, named the way ImageNet names its classes.
IMAGENET_STYLE_LABELS = {
    "lake": "lakeside, lakeshore", "tree": "tree, beech tree, forest", "cat": "tabby, tabby cat",
    "car": "sports car, sport car", "house": "cottage, house, home", "boat": "sailboat, sailing boat",
    "snow": "snowman, snowfield, winter", "night": "night sky, starry sky", "flower": "daisy, flower",
    "dog": "dog, domestic dog, Canis familiaris",
}

# Text queries for the search evaluation, with the kinds that count as a hit.
# None of them is (or is inside) a training caption: generate_dataset checks that,
# so a good score means the model combines words it learned, not that it recalls.
HELDOUT_QUERIES: list[tuple[str, tuple[str, ...]]] = [
    *zip(SEED_QUERIES, [("lake",), ("car",), ("tree",), ("lake", "boat")]),
    ("a quiet pond between the hills", ("lake",)),
    ("snowy peaks above blue water", ("lake",)),
    ("mountains reflected in a still lake", ("lake",)),
    ("a big beech tree on a meadow", ("tree",)),
    ("the woods in autumn", ("tree",)),
    ("pine trees on a green hill", ("tree",)),
    ("a cute little kitten on the floor", ("cat",)),
    ("two cats sitting indoors", ("cat",)),
    ("an orange tabby in the garden", ("cat",)),
    ("kittens sitting on the grass", ("cat",)),
    ("an automobile on the street", ("car",)),
    ("a fancy black sedan", ("car",)),
    ("a red vehicle on the road", ("car",)),
    ("a cottage with a chimney and smoke", ("house",)),
    ("a family home with windows", ("house",)),
    ("a little house with a fence", ("house",)),
    ("a sailing ship on the waves", ("boat",)),
    ("a yacht sailing on the ocean", ("boat",)),
    ("a motorboat at sea", ("boat",)),
    ("a snowman on a winter day", ("snow",)),
    ("ice and snow", ("snow",)),
    ("snowflakes falling in winter", ("snow",)),
    ("the moon and the stars", ("night",)),
    ("a dark starry sky", ("night",)),
    ("stars shining at midnight", ("night",)),
    ("a bunch of daisies", ("flower",)),
    ("pink tulips in a garden", ("flower",)),
    ("a vase of colorful blossoms", ("flower",)),
    ("a playful puppy with a ball", ("dog",)),
    ("a brown dog playing outside", ("dog",)),
    ("two dogs playing outside", ("dog",)),
    ("a golden pup with floppy ears", ("dog",)),
]

# The same held-out test in French and German: words the captions use, put together in ways
# no caption does (generate_dataset checks that too). "water and nature" finds lakes and boats.
_HELDOUT_FR = [
    ("des montagnes autour d'un lac", ("lake",)),
    ("un lac paisible entre les montagnes", ("lake",)),
    ("des sommets enneigés au-dessus de l'eau", ("lake",)),
    ("de l'eau et de la nature", ("lake", "boat")),
    ("un grand arbre dans la nature", ("tree",)),
    ("une forêt de sapins en automne", ("tree",)),
    ("un chaton roux sur le tapis", ("cat",)),
    ("deux chats dans la maison", ("cat",)),
    ("une limousine noire et élégante", ("car",)),
    ("une voiture rouge dans la rue", ("car",)),
    ("une maison rouge avec une cheminée", ("house",)),
    ("un voilier blanc sur l'océan", ("boat",)),
    ("un bonhomme de neige en hiver", ("snow",)),
    ("la lune et les étoiles", ("night",)),
    ("un bouquet de tulipes roses", ("flower",)),
    ("un chiot qui joue dans le jardin", ("dog",)),
]
_HELDOUT_DE = [
    ("Berge rund um einen See", ("lake",)),
    ("ein friedlicher See zwischen den Bergen", ("lake",)),
    ("verschneite Gipfel über dem Wasser", ("lake",)),
    ("Wasser und Natur", ("lake", "boat")),
    ("ein großer Baum in der Natur", ("tree",)),
    ("ein Wald im Herbst", ("tree",)),
    ("ein orangefarbenes Kätzchen auf dem Teppich", ("cat",)),
    ("zwei Katzen im Haus", ("cat",)),
    ("eine elegante schwarze Limousine", ("car",)),
    ("ein rotes Auto fährt auf der Straße", ("car",)),
    ("ein rotes Haus mit einem Schornstein", ("house",)),
    ("ein weißes Segelboot auf dem Ozean", ("boat",)),
    ("ein Schneemann im Winter", ("snow",)),
    ("der Mond und die Sterne", ("night",)),
    ("ein Strauß rosa Tulpen", ("flower",)),
    ("ein Welpe spielt im Garten", ("dog",)),
]
CAPTION_LANGUAGES = ("en",) + LANGUAGES
HELDOUT_QUERIES_BY_LANGUAGE = {"en": HELDOUT_QUERIES, "fr": _HELDOUT_FR, "de": _HELDOUT_DE}
# Each scene's captions: this many in English, then this many in each other language.
_ENGLISH_CAPTIONS, _TRANSLATED_CAPTIONS = 6, 2

_PAINTERS = {"lake": lake, "tree": tree, "cat": cat, "car": car,
             "house": house, "boat": boat, "snow": snow, "night": night,
             "flower": flower, "dog": dog}


@dataclass
class Scene:
    """One generated picture with its kind, captions (the first is the plainest) and attributes.

    ``attributes`` is what the painter drew (see :func:`scene_attributes`: ``colour``,
    ``count``, ``time``, ...); :meth:`attribute_captions` names them, with hard negatives.
    ``languages`` gives each caption's language ("en", "fr" or "de"), in the same order.
    """

    kind: str
    image: Image.Image
    captions: list[str]
    attributes: dict = field(default_factory=dict)
    languages: list[str] = field(default_factory=list)

    def attribute_captions(self, lang: str = "en") -> list[tuple[str, list[str]]]:
        """Captions naming this scene's attributes, each with its hard negatives.

        Parameters
        ----------
        lang : {"en", "fr", "de"}

        Returns
        -------
        list of (caption, negatives)
            See :func:`imgsearch_helpers.clipart.attribute_captions`.
        """
        return attribute_captions(self.attributes, lang)


def draw_scene(kind: str, rng: np.random.Generator, n_captions: int = _ENGLISH_CAPTIONS,
               translated: int = _TRANSLATED_CAPTIONS) -> Scene:
    """Draw one scene of ``kind``: as :func:`make_scene`, with the painter's attributes kept.

    Returns
    -------
    Scene
    """
    if kind not in _PAINTERS:
        raise ValueError(f"unknown scene kind {kind!r}; choose from {SCENE_KINDS}")
    image, attrs = _PAINTERS[kind](rng)
    phrases = list(dict.fromkeys(CAPTIONERS[kind](attrs, rng)))  # unique, order kept
    order = rng.permutation(len(phrases))[:n_captions]
    framed = pick(rng, PREFIXES + [""]) + KIND_PHRASE[kind]
    english = [phrases[order[0]], framed]
    english += [decorate(phrases[i], attrs, rng) for i in order[1:n_captions - 1]]
    # Drawn after the English ones, so the English captions (and the gallery) stay as they were.
    languages: dict[str, str] = {}  # caption -> language; a repeated caption keeps its first
    for lang, caption in [("en", c) for c in english] + translated_captions(kind, attrs, rng, translated):
        languages.setdefault(caption, lang)
    return Scene(kind, image, list(languages), scene_attributes(kind, attrs), list(languages.values()))


def make_scene(kind: str, rng: np.random.Generator, n_captions: int = _ENGLISH_CAPTIONS,
               translated: int = _TRANSLATED_CAPTIONS) -> tuple[Image.Image, list[str]]:
    """Draw one scene of ``kind`` and write captions for it.

    Parameters
    ----------
    kind : str
        One of :data:`SCENE_KINDS`.
    rng : numpy.random.Generator
        The only source of randomness: the same generator state gives the same scene.
    n_captions : int
        How many different English captions to write (at most; a scene with few
        possible phrases may get fewer).
    translated : int
        How many captions to add in French and as many in German (see
        :data:`CAPTION_LANGUAGES`); 0 for English only.

    Returns
    -------
    (PIL.Image.Image, list of str)
        A ``IMAGE_SIZE`` x ``IMAGE_SIZE`` RGB picture and its captions. The English
        ones come first: the first is undecorated, the second names the kind ("a photo
        of a cat"), the others may say "a photo of ..." or the time of day. Then the
        French ones, then the German ones, each language's first naming the kind
        ("une photo d'un chat", "ein Bild von einer Katze").
    """
    scene = draw_scene(kind, rng, n_captions, translated)
    return scene.image, scene.captions


def check_heldout_queries(captions) -> None:
    """Raise ``ValueError`` if a held-out query (any language) is (inside) one of ``captions``."""
    unique = {c.lower().rstrip(".") for c in captions}
    queries = [q for lang in CAPTION_LANGUAGES for q, _ in HELDOUT_QUERIES_BY_LANGUAGE[lang]]
    leaks = sorted({q for q in queries for c in unique if q.lower() in c})
    if leaks:
        raise ValueError(f"held-out queries appear in training captions: {leaks}")


def iter_scenes(n: int, seed: int, kinds=SCENE_KINDS):
    """Yield ``n`` scenes one at a time, cycling through ``kinds``; scene ``i`` is
    drawn from ``np.random.default_rng([seed, i])``, so any prefix is the same."""
    for i in range(n):
        kind = kinds[i % len(kinds)]
        yield draw_scene(kind, np.random.default_rng([seed, i]))


def generate_dataset(n: int, seed: int, kinds=SCENE_KINDS, check: bool = True) -> list[Scene]:
    """Generate ``n`` scenes, cycling through ``kinds`` so they are balanced.

    Scene ``i`` depends only on ``(seed, i)``, so a smaller dataset is a prefix of a
    larger one with the same seed, and two seeds give unrelated scenes.

    Parameters
    ----------
    n : int
    seed : int
    kinds : sequence of str
    check : bool
        Verify that no held-out query leaked into the captions (see
        :func:`check_heldout_queries`).

    Returns
    -------
    list of Scene
    """
    scenes = list(iter_scenes(n, seed, kinds))
    if check:
        check_heldout_queries(c for s in scenes for c in s.captions)
    return scenes


GALLERY_SEED, GALLERY_PER_KIND = 2024, 5  # data/gallery


def gallery_scenes(seed: int = GALLERY_SEED, per_kind: int = GALLERY_PER_KIND) -> dict[str, Scene]:
    """The gallery's scenes by file name, with what the painter drew in each.

    The offline gallery ``data/gallery`` is :func:`write_gallery` with these defaults,
    so ``gallery_scenes()["car_033.png"].attributes["colour"]`` is the colour of that
    picture's car, as drawn.

    Parameters
    ----------
    seed, per_kind : int
        As for :func:`write_gallery`.

    Returns
    -------
    dict
        File name (``car_033.png``) -> :class:`Scene`.
    """
    scenes = generate_dataset(per_kind * len(SCENE_KINDS), seed)
    return {f"{scene.kind}_{i:03d}.png": scene for i, scene in enumerate(scenes)}


def write_gallery(folder, seed: int = GALLERY_SEED, per_kind: int = GALLERY_PER_KIND) -> dict[str, str]:
    """Write ``per_kind`` PNG scenes of every kind and ``captions.json`` to ``folder``.

    Files are named ``{kind}_{index:03d}.png`` with a running index over the
    whole gallery (``lake_000.png``, ``tree_001.png``, ...).

    Returns
    -------
    dict
        File name -> its (plainest) caption, as written to ``captions.json``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    captions = {}
    for name, scene in gallery_scenes(seed, per_kind).items():
        scene.image.save(folder / name, optimize=True)
        captions[name] = scene.captions[0]
    (folder / CAPTIONS_FILE).write_text(json.dumps(captions, indent=1) + "\n")
    return captions
