"""Private: whether a query's words name a detail (a colour or a count).

A query that names a detail ("a red car", "two cats") has a small right set inside a
larger one (the red cars among all the cars): every car stands out from the rest of
the collection, so a cut-off made for kind-level queries calls them all matches.
Knowing from the words that the query asks for a detail lets the calibration use a
stricter cut for it (:meth:`Calibration.for_query`, bench/RESULTS.md "bench_matches").

The words are those of the course's three languages. French and German adjectives
change their endings (rouge/rouges, rot/rote/roten): German ones are matched by their
stem and the usual endings, French ones are listed in every form the course writes.
Articles ("un", "une", "ein", "eine") are not counts: in French and German they are
the same word as "one".
"""
from __future__ import annotations

import re

__all__ = ["COLOUR_WORDS", "NUMBER_WORDS", "names_a_detail", "named_details"]

COLOUR_WORDS = frozenset({
    # English
    "red", "orange", "yellow", "green", "blue", "purple", "violet", "pink", "brown", "black",
    "white", "grey", "gray", "silver", "golden", "gold", "cream", "beige", "turquoise",
    # French (every gender and number)
    "rouge", "rouges", "jaune", "jaunes", "vert", "verte", "verts", "vertes", "bleu",
    "bleue", "bleus", "bleues", "blanc", "blanche", "blancs", "blanches", "noir", "noire",
    "noirs", "noires", "rose", "roses", "violette", "violets", "violettes", "gris", "grise",
    "grises", "marron", "argenté", "argentée", "argentés", "argentées", "crème", "doré",
    "dorée", "dorés", "dorées", "roux", "rousse", "rousses", "brun", "brune", "bruns", "brunes",
    "fauve", "fauves",
    # German: stems, see _GERMAN_STEMS for their endings
    "rosa", "lila",
})
# German colour stems; "rot", "rote", "roten", "roter", "rotes", "rotem" all name red.
_GERMAN_STEMS = ("rot", "blau", "gelb", "grün", "weiß", "weiss", "schwarz", "orangefarben",
                 "grau", "braun", "silbern", "cremefarben", "golden")
_GERMAN_ENDINGS = ("", "e", "en", "er", "es", "em")
NUMBER_WORDS = frozenset({
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
    "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn",
})
# A word, or words joined by hyphens ("one-way", "dix-sept", "red-roofed"), or a number.
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*|\d+", re.UNICODE)
# Joins the parts of a French number ("vingt-et-un").
_NUMBER_JOINS = frozenset({"et", "und"})


def _is_colour(word: str) -> bool:
    if word in COLOUR_WORDS:
        return True
    return any(word == stem + end for stem in _GERMAN_STEMS for end in _GERMAN_ENDINGS)


def named_details(text: str | None) -> frozenset[str]:
    """Which details a text query names: ``{"colour"}``, ``{"count"}``, both, or none.

    Parameters
    ----------
    text : str or None
        The query's words (None or "" for a picture query: none).

    Returns
    -------
    frozenset of str
        "colour" when a word is a colour of English, French or German (also inside a
        compound: "red-roofed"); "count" when a word is a number word of those languages
        ("dix-sept" too) or a number from 2 to 20 in digits (a year such as 2019 is not
        a count). A number word joined to another word ("one-way", "two-story") is not
        a count. The words decide: "a rose garden" names a colour, French "rose" (pink).
    """
    found = set()
    for word in _WORD.findall((text or "").lower()):
        parts = word.split("-")
        if word.isdigit():
            if 2 <= int(word) <= 20:
                found.add("count")
        elif any(_is_colour(part) for part in parts):     # "red", "red-roofed", "bleu-vert"
            found.add("colour")
        elif all(p in NUMBER_WORDS or p in _NUMBER_JOINS for p in parts) and parts[0] in NUMBER_WORDS:
            # "two", "dix-sept"; a number joined to another word describes something else
            # ("a one-way street", "a two-story house") and counts nothing.
            found.add("count")
    return frozenset(found)


def names_a_detail(text: str | None) -> bool:
    """Whether a text query names a colour or a count ("a red car", "zwei Katzen", "2 dogs").

    Parameters
    ----------
    text : str or None
        The query's words (None or "" for a picture query: False).

    Returns
    -------
    bool
        True when :func:`named_details` finds a colour or a count.
    """
    return bool(named_details(text))
