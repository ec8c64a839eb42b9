"""Private caption writers for :mod:`imgsearch_helpers.clipart`: one per scene kind.

Each takes the attributes a painter chose (counts, colours by name, ...) and
returns phrases that are true of the picture, using several words for the same
thing; :func:`decorate` adds framings such as "a photo of ..." and the time of day.
"""
from __future__ import annotations

from ._draw import pick
from ._languages import GENERIC_KIND as _TRANSLATED_GENERIC_KIND

# What each kind is called in one plain phrase. Every scene gets one caption that
# frames it ("a photo of a cat"), as a photo of two cats may still be captioned.
KIND_PHRASE = {"lake": "a lake", "tree": "a tree", "cat": "a cat", "car": "a car", "house": "a house",
               "boat": "a boat", "snow": "snow", "night": "the night sky", "flower": "a flower",
               "dog": "a dog"}
_COUNT = {1: "a", 2: "two", 3: "three", 4: "four", 5: "five", 7: "seven"}
_TIME = {"day": ["on a sunny day", "in daylight"], "morning": ["in the morning", "at dawn"],
         "sunset": ["at sunset", "in the evening"], "cloudy": ["on a cloudy day", "under a grey sky"]}
# One plain phrase per time of day, for the attribute captions and queries.
TIME_PHRASES = {time: phrases[0] for time, phrases in _TIME.items()}
PREFIXES = ["a photo of ", "a picture of ", "a drawing of ", "an image of ", "clip art of ",
            "this is a photo of ", "a cartoon of "]
_PLACE = {
    "indoors": ["indoors", "in a room", "on the floor", "at home", "on a rug"],
    "outdoors": ["outdoors", "on the grass", "in the garden", "outside", "on the lawn"],
}


def _a(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def _lake(a, rng):
    lk = pick(rng, ["lake", "pond", "mountain lake", "lake", "mountain pond"])
    mt = (
        pick(rng, ["snowy mountains", "snow-capped peaks", "snowy peaks"])
        if a["snowy"]
        else pick(rng, ["mountains", "hills", "peaks"] if a["peaks"] > 1 else ["a mountain", "a hill"])
    )
    return [
        f"a {lk} with {mt}",
        "a lake",
        f"a calm {lk} below {mt}",
        f"{mt} behind a {lk}",
        f"a {lk} in the mountains",
        f"blue water and {mt}",
        "a scenic mountain lake",
        f"a peaceful {lk} in nature",
        "calm water surrounded by nature",
        f"a beautiful {lk}",
        f"a landscape with a {lk} and {mt}",
        f"nature scene with a {lk}",
        f"a quiet {lk}",
        "still water and mountains",
        f"{mt} reflected in the water",
        "mountain scenery",
        "a pond",
        f"a {lk} between {mt}",
        f"{mt} above the water",
    ]


def _tree(a, rng):
    names = {
        "beech": ["beech tree", "beech"],
        "oak": ["oak tree", "oak"],
        "pine": ["pine tree", "fir tree"],
    }
    leaves = (
        "green leaves" if a["season"] == "summer" else pick(rng, ["autumn leaves", "orange leaves"])
    )
    n, kinds = a["count"], a["kinds"]
    if n == 1:
        t = pick(rng, names[kinds[0]])
        out = [
            _a(t),
            "a tree",
            f"a lone {t} in a field",
            f"a tall {t}",
            f"{_a(t)} with {leaves}",
            f"{_a(t)} on green grass",
            f"a big {t} in a meadow",
            "a single tree",
        ]
    else:
        out = [
            f"{_COUNT[n]} trees",
            "trees",
            "a group of trees",
            f"trees with {leaves}",
            "trees in a park",
            "a row of trees",
        ]
        if n >= 4:
            out += ["a forest", "the woods", "a small forest", "a wood full of trees"]
        if all(k == "pine" for k in kinds):
            out += ["a forest of pine trees", f"{_COUNT[n]} pine trees"]
        if "beech" in kinds:
            out += ["beech trees", "a beech among other trees"]
    if a["season"] == "autumn":
        out += ["an autumn tree", "fall foliage", "trees in autumn colors"]
    return out + [
        "nature scene with trees",
        "green trees surrounded by nature",
        "a tree growing in a field",
    ]


def _animals(a, rng, sing, plural, pose):
    n, place = a["count"], pick(rng, _PLACE[a["place"]])
    noun = pick(rng, sing)
    fur = a["furs"][0] if len(set(a["furs"])) == 1 else None
    if n == 1:
        return [f"{_a(fur + ' ' + noun)}", f"{_a(noun)}", f"{_a(noun)} {place}", f"a cute {noun}",
                f"a little {noun}", f"{_a(fur + ' ' + noun)} {place}", f"a pet {sing[0]}",
                f"{_a(noun)} {pose} {place}"]
    pl = pick(rng, plural)
    out = [f"{_COUNT[n]} {pl}", f"{_COUNT[n]} {pl} {place}", f"a group of {pl}", f"{pl} together",
           f"{_COUNT[n]} pets"]
    return out + [f"{_COUNT[n]} {fur} {pl}" if fur else f"{pl} of different colors"]


def _cat(a, rng):
    # The painter draws stripes only on orange, grey and brown cats.
    tabby = a["tabby"] and any(f in ("orange", "grey", "brown") for f in a["furs"])
    single = ["tabby cat", "cat", "kitten", "tabby cat"] if tabby else ["cat", "kitten", "kitty", "cat"]
    out = _animals(a, rng, single, ["cats", "kittens"], "sitting")
    if tabby:
        out += (["a tabby cat", "a striped tabby", "a cat with stripes"] if a["count"] == 1
                else ["tabby cats", "a tabby among other cats"])
    return out + ["a cat with whiskers", "a feline"]


def _dog(a, rng):
    out = _animals(a, rng, ["dog", "puppy", "doggy", "pup"], ["dogs", "puppies"], "standing")
    if a["ball"]:
        out += ["a dog playing with a ball", "a puppy and a ball", "a playful dog with a toy"]
    return out + ["a dog with floppy ears", "a canine", "a loyal pet dog", "a playful dog"]


def _car(a, rng):
    n, paint = a["count"], a["paints"][0]
    if a["luxury"]:
        noun = pick(rng, ["luxury sedan", "luxury vehicle", "luxury automobile", "limousine"])
        out = [
            f"a shiny {paint} luxury sedan",
            "an elegant luxury vehicle",
            "an expensive car",
            "a fancy automobile",
            f"{_a(paint + ' ' + noun)}",
            "a premium sedan",
            "a limousine",
        ]
    else:
        noun = pick(rng, ["car", "vehicle", "sedan", "automobile"])
        out = [f"{_a(paint + ' ' + noun)}", "a family car", "a small car", f"{_a(paint)} car"]
    if n == 1:
        out += [
            _a(noun),
            f"{_a(noun)} driving down the street",
            f"{_a(noun)} parked on a road",
            "a car",
            f"{_a(noun)} on the road",
        ]
    else:
        out += ["two cars on the road", "two vehicles", "cars driving on a street", "traffic"]
    return out


def _house(a, rng):
    noun = pick(rng, ["house", "home", "cottage", "house"])
    out = [
        _a(noun),
        f"{_a(a['wall'] + ' ' + noun)}",
        f"{_a(noun)} with {_a(a['roof'])} roof",
        "a house",
        "a cozy cottage",
        f"a {noun} with a door and windows",
        "a family house",
        f"a beautiful {noun}",
        "a little home",
        "a small building",
    ]
    if a["chimney"]:
        out += [f"{_a(noun)} with a chimney", "smoke rising from a chimney"]
    if a["fence"]:
        out += [f"{_a(noun)} behind a white fence", "a home with a picket fence"]
    return out


def _boat(a, rng):
    if a["sail"]:
        noun = pick(rng, ["sailboat", "sailing boat", "boat", "yacht"])
        extra = ["a boat with a white sail", "a yacht sailing", "a sailboat"]
    else:
        noun = pick(rng, ["motorboat", "boat", "ship", "fishing boat"])
        extra = ["a motor boat", "a small fishing boat"]
    water = pick(rng, ["water", "the sea", "the ocean", "the waves", "blue water"])
    out = [
        f"{_a(a['colour'] + ' ' + noun)}",
        f"{_a(noun)} on {water}",
        f"{_a(noun)} floating on {water}",
        f"{_a(noun)} sailing on the sea",
        "a boat",
        "a ship at sea",
        "a boat on calm water",
    ]
    if a["count"] == 2:
        out += ["two boats on the water", "boats at sea"]
    return out + extra


def _snow(a, rng):
    out = [
        "snow",
        "a snowy landscape",
        "a winter day",
        "winter",
        "a cold winter scene",
        "white snow on the ground",
        "a field covered in snow",
        "a snowy day",
    ]
    if a["snowman"]:
        out += ["a snowman", "a snowman in the snow", "a happy snowman", "a snowman in winter"]
    if a["pond"]:
        out += ["a frozen pond", "ice on a frozen pond", "snow and ice", "frozen water covered in ice"]
    if a["falling"]:
        out += ["falling snow", "snowflakes", "snow falling from the sky"]
    return out


def _night(a, rng):
    out = [
        "the night sky",
        "a starry night",
        "stars in the night sky",
        "a dark sky full of stars",
        "night",
        "a clear night with stars",
        "twinkling stars",
        "the sky at midnight",
        "stars shining in the dark",
    ]
    if a["moon"] != "none":
        out += [
            f"{_a(a['moon'])} moon",
            "the moon in the night sky",
            f"{_a(a['moon'])} moon and stars",
            "moonlight",
        ]
    if a["land"] == "city":
        out += ["a city at night", "city lights under the stars"]
    if a["land"] == "hills":
        out += ["dark hills under the stars"]
    return out


def _flower(a, rng):
    sing, plural = {
        "daisy": ("daisy", "daisies"),
        "tulip": ("tulip", "tulips"),
        "rose": ("rose", "roses"),
    }[a["kind"]]
    col = a["colours"][0] if len(a["colours"]) == 1 else "colorful"
    n = a["count"]
    out = [
        "flowers" if n > 1 else "a flower",
        f"{col} flowers" if n > 1 else _a(col + " flower"),
        "blossoms",
        "spring flowers",
        "beautiful flowers",
        f"{col} blossoms",
    ]
    out += [_a(f"{col} {sing}"), _a(sing)] if n == 1 else [f"{_COUNT[n]} {col} {plural}", plural]
    if n >= 5:
        out += [f"a field of {plural}", f"a garden full of {plural}"]
    if a["vase"]:
        out += [
            "a vase of flowers",
            f"a bouquet of {plural}",
            "a bunch of flowers",
            f"{plural} in a vase",
        ]
    elif n > 1:
        out += [f"{col} flowers in a garden", f"{plural} growing in a garden"]
    return out


CAPTIONERS = {"lake": _lake, "tree": _tree, "cat": _cat, "car": _car, "house": _house,
              "boat": _boat, "snow": _snow, "night": _night, "flower": _flower, "dog": _dog}


def decorate(phrase: str, attrs: dict, rng) -> str:
    """Add a random framing ('a photo of ...'), time of day and full stop."""
    if rng.random() < 0.35:
        phrase = pick(rng, PREFIXES) + phrase
    if attrs.get("time") and rng.random() < 0.25:
        phrase += " " + pick(rng, _TIME[attrs["time"]])
    return phrase + "." if rng.random() < 0.15 else phrase


# Phrases true of *every* scene of a kind, whatever was drawn. Training treats them
# as matching all pictures of that kind, not only the one they were written for:
# otherwise "a photo of a dog" written for one dog counts as a mismatch for the
# other dogs in the batch, and the sigmoid loss pushes it away from them.
GENERIC = {
    "lake": {"a lake", "a pond", "mountain scenery", "a scenic mountain lake"},
    "tree": {"a tree", "nature scene with trees", "a tree growing in a field"},
    "cat": {"a cat", "a cat with whiskers", "a feline"},
    "car": {"a car"},
    "house": {"a house", "a cozy cottage", "a family house", "a little home", "a small building"},
    "boat": {"a boat", "a ship at sea", "a boat on calm water"},
    "snow": {"snow", "a snowy landscape", "a winter day", "winter", "a cold winter scene",
             "white snow on the ground", "a field covered in snow", "a snowy day"},
    "night": {"the night sky", "a starry night", "stars in the night sky", "a dark sky full of stars",
              "night", "a clear night with stars", "twinkling stars", "the sky at midnight",
              "stars shining in the dark"},
    "flower": {"a flower", "blossoms", "spring flowers", "beautiful flowers"},
    "dog": {"a dog", "a dog with floppy ears", "a canine", "a loyal pet dog", "a playful dog"},
}
_GENERIC_KIND = {phrase: kind for kind, phrases in GENERIC.items() for phrase in phrases}


def generic_kind(caption: str) -> str | None:
    """The kind whose every scene ``caption`` describes (see :data:`GENERIC`), else None.

    A framing ("a photo of ...", "une photo d'un lac", "ein Bild von einem See") keeps a
    caption generic; a time of day does not. French and German captions count too.
    """
    text = caption.rstrip(".")
    if text in _TRANSLATED_GENERIC_KIND:
        return _TRANSLATED_GENERIC_KIND[text]
    for prefix in sorted(PREFIXES, key=len, reverse=True):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    return _GENERIC_KIND.get(text)
