"""Private: what the painter drew, as named attributes, and captions that name them.

:func:`scene_attributes` turns a painter's own record (``paints``, ``furs``, ...) into
the same few keys for every kind: the one ``colour`` of the main thing (None when
several differ), how many were drawn (``count``), the ``time`` of day, and for some
kinds one more (a house's ``roof``, the snowman's ``hat``).

:func:`attribute_captions` writes, for one scene, captions that name those attributes
("a red car", "two cats", "a snowman with a blue hat") and, for each, its **hard
negatives**: the same words with one attribute changed to a value the picture does
*not* show ("a blue car", "three cats", "a snowman with a black hat"). Training
(see :mod:`imgsearch_helpers.training`) uses them the way FG-CLIP and FG-CLIP 2 do.
Nothing here draws random numbers, so adding these captions changes no scene.
"""
from __future__ import annotations

from ._captions import KIND_PHRASE, TIME_PHRASES
from ._draw import HAT_COLOURS
from ._french import ATTRIBUTE_PHRASES as _FRENCH_PHRASES
from ._german import ATTRIBUTE_PHRASES as _GERMAN_PHRASES
from ._things import CAR_PAINT, CAT_FURS, DOG_FURS, FLOWER_COLOURS, LUXURY_PAINT

__all__ = ["ATTRIBUTE_VALUES", "COUNT_WORDS", "THING_NOUNS", "scene_attributes", "shows",
           "attribute_captions", "colour_query", "count_query", "time_query", "hat_query"]

# Every value each attribute can take, as the painters choose them.
ATTRIBUTE_VALUES = {
    ("car", "colour"): sorted(set(CAR_PAINT) | set(LUXURY_PAINT)),
    ("house", "colour"): ["white", "cream", "yellow", "pink", "blue", "red", "grey"],
    ("house", "roof"): ["red", "brown", "grey", "blue", "black"],
    ("boat", "colour"): ["red", "white", "brown", "yellow", "blue", "black"],
    ("cat", "colour"): list(CAT_FURS),
    ("dog", "colour"): list(DOG_FURS),
    ("flower", "colour"): list(FLOWER_COLOURS),
    ("snow", "hat"): list(HAT_COLOURS),
    ("tree", "count"): [1, 2, 3, 4, 5],
    ("cat", "count"): [1, 2, 3],
    ("dog", "count"): [1, 2],
    ("car", "count"): [1, 2],
    ("boat", "count"): [1, 2],
}
# Times of day each kind can be drawn at, where the time is said of the kind ("a lake at
# sunset"). Not for cats and dogs (not recorded), night (its own kind) and trees ("a tree"
# would be wrong of five trees).
for _kind, _times in {"lake": ["day", "morning", "sunset", "cloudy"],
                      "car": ["day", "morning", "sunset", "cloudy"],
                      "house": ["day", "morning", "sunset", "cloudy"],
                      "boat": ["day", "morning", "sunset"],
                      "flower": ["day", "morning", "cloudy"],
                      "snow": ["day", "cloudy"]}.items():
    ATTRIBUTE_VALUES[(_kind, "time")] = _times

COUNT_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 7: "seven"}
# The main thing of each kind, singular and plural, as the attribute captions name it.
THING_NOUNS = {"car": ("car", "cars"), "house": ("house", "houses"), "boat": ("boat", "boats"),
               "cat": ("cat", "cats"), "dog": ("dog", "dogs"), "flower": ("flower", "flowers"),
               "tree": ("tree", "trees")}


def _one(values):
    """The single value of a list, or None when the values differ."""
    values = list(values)
    return values[0] if values and len(set(values)) == 1 else None


def scene_attributes(kind: str, drawn: dict) -> dict:
    """The painter's record of one scene, plus ``kind``, ``colour``, ``count`` and ``time``.

    Parameters
    ----------
    kind : str
    drawn : dict
        What the painter returned (``paints``, ``furs``, ``wall``, ...).

    Returns
    -------
    dict
        ``drawn`` with ``kind``; ``colour`` (the main thing's colour name, or None when
        there are several different ones or the kind has none); ``count`` (how many
        of the main thing, 1 for a house, None for landscapes); ``time`` (None indoors
        and at night); ``roof`` (houses) and ``hat`` (snow: None without a hat).
    """
    colour = {"car": lambda: _one(drawn["paints"]), "house": lambda: drawn["wall"],
              "boat": lambda: drawn["colour"], "cat": lambda: _one(drawn["furs"]),
              "dog": lambda: _one(drawn["furs"]), "flower": lambda: _one(drawn["colours"])}
    out = dict(drawn)
    out.update(kind=kind, colour=colour[kind]() if kind in colour else None,
               count=1 if kind == "house" else drawn.get("count"), time=drawn.get("time"))
    if kind == "snow":
        out["hat"] = drawn.get("hat")
    return out


def shows(attributes: dict, **wanted) -> bool:
    """Whether a scene shows what a query asks for, by its recorded attributes.

    ``shows(scene.attributes, kind="car", colour="red")`` is True only for a red car:
    a yellow car is the right *kind* but not a right answer.

    Parameters
    ----------
    attributes : dict
        :attr:`Scene.attributes`.
    **wanted
        Attribute names and values (``kind``, ``colour``, ``count``, ``time``, ``hat``, ...).
    """
    unknown = set(wanted) - set(attributes)
    if unknown:
        raise KeyError(f"no recorded attribute {sorted(unknown)}; recorded: {sorted(attributes)}")
    return all(attributes[key] == value for key, value in wanted.items())


def colour_query(kind: str, colour: str, count: int = 1) -> str:
    """'a red car', 'two black cats', 'yellow flowers': the main thing in one colour."""
    sing, plural = THING_NOUNS[kind]
    if count == 1:
        return ("an " if colour[0] in "aeiou" else "a ") + f"{colour} {sing}"
    return f"{colour} {plural}" if kind == "flower" else f"{COUNT_WORDS[count]} {colour} {plural}"


def count_query(kind: str, count: int) -> str:
    """'one tree', 'two cats', 'three trees'."""
    sing, plural = THING_NOUNS[kind]
    return f"one {sing}" if count == 1 else f"{COUNT_WORDS[count]} {plural}"


def time_query(kind: str, time: str) -> str:
    """'a lake at sunset', 'a car on a cloudy day': the kind at one time of day."""
    return f"{KIND_PHRASE[kind]} {TIME_PHRASES[time]}"


def hat_query(colour: str | None) -> str:
    """'a snowman with a red hat' ('a snowman without a hat' for None)."""
    return "a snowman without a hat" if colour is None else f"a snowman with a {colour} hat"


def _others(kind: str, key: str, shown) -> list:
    return [v for v in ATTRIBUTE_VALUES[(kind, key)] if v not in shown]


# The phrases of the attribute captions in each caption language (_french and _german
# write theirs with their own agreement rules).
_PHRASES = {
    "en": {
        "colour": colour_query,
        "photo": lambda kind, colour, count=1: "a photo of " + colour_query(kind, colour, count),
        "house": lambda wall, roof: f"{colour_query('house', wall)} with a {roof} roof",
        "count": count_query,
        "hat": hat_query,
        "time": time_query,
    },
    "fr": _FRENCH_PHRASES,
    "de": _GERMAN_PHRASES,
}


def attribute_captions(attrs: dict, lang: str = "en") -> list[tuple[str, list[str]]]:
    """Captions naming one scene's attributes, each with its hard negatives.

    Parameters
    ----------
    attrs : dict
        From :func:`scene_attributes`.
    lang : {"en", "fr", "de"}
        The language of the captions ("a red car", "une voiture rouge", "ein rotes
        Auto"). Every language names the same attributes and has the same negatives.

    Returns
    -------
    list of (caption, negatives)
        Each caption is true of the picture; each of its negatives says the same
        with one attribute changed to a value the picture does not show (for a
        red and a blue car, neither "a red car" nor "a blue car" is a negative).
    """
    if lang not in _PHRASES:
        raise ValueError(f"attribute captions are written in {tuple(_PHRASES)}, not {lang!r}")
    say = _PHRASES[lang]
    kind, out = attrs["kind"], []
    colour, count = attrs["colour"], attrs["count"]
    if kind in THING_NOUNS and kind != "tree" and colour is not None:
        others = _others(kind, "colour", {colour})
        for phrase in (say["colour"], say["photo"]):
            out.append((phrase(kind, colour, count), [phrase(kind, c, count) for c in others]))
    if kind == "house":
        wall, roof = attrs["wall"], attrs["roof"]
        out.append((say["house"](wall, roof),
                    [say["house"](w, roof) for w in _others(kind, "colour", {wall})]
                    + [say["house"](wall, r) for r in _others(kind, "roof", {roof})]))
    if (kind, "count") in ATTRIBUTE_VALUES:
        out.append((say["count"](kind, count),
                    [say["count"](kind, n) for n in _others(kind, "count", {count})]))
    if kind == "snow" and attrs["snowman"]:
        hat = attrs["hat"]
        out.append((say["hat"](hat), [say["hat"](h) for h in [None, *HAT_COLOURS] if h != hat]))
    if attrs["time"] is not None and (kind, "time") in ATTRIBUTE_VALUES:
        out.append((say["time"](kind, attrs["time"]),
                    [say["time"](kind, t) for t in _others(kind, "time", {attrs["time"]})]))
    return out
