"""Private: the French and German captions of a scene (``_french``, ``_german``), together.

They are not word-by-word translations of the English captions: each language's writer
works from what the painter drew, so "a snowy lake" becomes "un lac au pied de
montagnes enneigées" and "ein See mit schneebedeckten Bergen".
"""

from __future__ import annotations

from ._draw import pick
from ._french import CAPTIONERS as FRENCH
from ._french import FR_PREFIXES, FR_TIME, fr_framed
from ._french import GENERIC as FRENCH_GENERIC
from ._french import KIND_PHRASE as FRENCH_NAMES
from ._german import CAPTIONERS as GERMAN
from ._german import DATIVE, DE_PREFIXES, DE_TIME, de_framed
from ._german import GENERIC as GERMAN_GENERIC
from ._german import KIND_PHRASE as GERMAN_NAMES

LANGUAGES = ("fr", "de")


def _framed_generics() -> dict[str, str]:
    out = {}
    for kind in FRENCH_GENERIC:
        for phrase in FRENCH_GENERIC[kind]:
            out[phrase] = kind
            for prefix in FR_PREFIXES:
                out[fr_framed(prefix, phrase)] = kind
        for phrase in GERMAN_GENERIC[kind]:
            out[phrase] = kind
        for prefix in DE_PREFIXES:
            out[de_framed(prefix, DATIVE[kind])] = kind
    return out


# Every French and German generic phrase, bare or framed ("une photo d'un lac") -> its kind.
GENERIC_KIND = _framed_generics()


def framed(lang: str, kind: str, rng) -> str:
    """The kind's plain name, maybe framed: "une photo d'un lac", "ein Bild von einem See"."""
    prefixes = FR_PREFIXES if lang == "fr" else DE_PREFIXES
    choice = int(rng.integers(len(prefixes) + 1))
    if choice == len(prefixes):
        return (FRENCH_NAMES if lang == "fr" else GERMAN_NAMES)[kind]
    if lang == "fr":
        return fr_framed(prefixes[choice], FRENCH_NAMES[kind])
    return de_framed(prefixes[choice], DATIVE[kind])


def decorate(lang: str, phrase: str, attrs: dict, rng) -> str:
    """Maybe add the time of day and a full stop, as the English captions do."""
    if attrs.get("time") and rng.random() < 0.25:
        phrase += " " + pick(rng, (FR_TIME if lang == "fr" else DE_TIME)[attrs["time"]])
    return phrase + "." if rng.random() < 0.15 else phrase


def translated_captions(kind: str, attrs: dict, rng, per_language: int) -> list[tuple[str, str]]:
    """``per_language`` French and as many German captions of one scene (fewer if it has fewer).

    Returns
    -------
    list of (language, caption)
        The French ones first, then the German ones.
    """
    out = []
    for lang, writers in (("fr", FRENCH), ("de", GERMAN)):
        phrases = list(dict.fromkeys(writers[kind](attrs, rng)))
        order = rng.permutation(len(phrases))[: max(0, per_language - 1)]
        out += [(lang, framed(lang, kind, rng))] if per_language else []
        out += [(lang, decorate(lang, phrases[i], attrs, rng)) for i in order]
    return out
