"""Which words counted: how much the score falls when a word is left out."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..embeddings import embed_texts

# Words that carry no thing to look for, in the course's three languages. They are
# not scored (contribution 0.0): left out, "a" or "the" change a short query's
# embedding a lot without changing what it asks for, and would crowd out the words
# that do.
STOP_WORDS = frozenset("""
a an the of and or in on at to with by for from is are this that its it as some
photo picture image
un une le la les l' de des du et ou dans sur avec au aux en est d'un d'une
ein eine einer einem einen der die das den dem des und oder in im auf mit am an zu ist von bild foto
""".split())


# Words that join two things in a query (English, French, German).
_JOINERS = frozenset("and with or plus & et avec ou und mit oder sowie".split())


@dataclass(frozen=True)
class WordContribution:
    """One word of a text query and how much it adds to the score."""

    word: str
    contribution: float     # score with the word minus score without it (cosine units)
    stop: bool = False      # a stop word: not scored, shown dimmed

    def __str__(self) -> str:
        return f"{self.word} {'(stop word)' if self.stop else f'{self.contribution:+.3f}'}"


def _key(word: str) -> str:
    return re.sub(r"^\W+|\W+$", "", word.lower())


def split_words(text: str) -> list[str]:
    """The words of a query as written (split on white space, punctuation kept)."""
    return text.split()


def _phrase_spans(words: list[str]) -> list[tuple[int, int]]:
    """``(start, i)`` per content word ``i``: the stop words right before it start its phrase."""
    stop = [not _key(w) or _key(w) in STOP_WORDS for w in words]
    spans = []
    for i, is_stop in enumerate(stop):
        if not is_stop:
            start = i
            while start > 0 and stop[start - 1]:
                start -= 1
            spans.append((start, i))
    return spans


def query_parts(text: str) -> list[str]:
    """The things a query names, split at "and", "with", commas and the like.

    "a cat and a car" -> ["a cat", "a car"]; "a beautiful lake with mountains" ->
    ["a beautiful lake", "mountains"]; "a red car" -> ["a red car"].
    """
    parts, current = [], []
    for word in split_words(text):
        key = _key(word)
        if key in _JOINERS:
            parts.append(current)
            current = []
            continue
        current.append(word.rstrip(",;"))
        if word.endswith((",", ";")):
            parts.append(current)
            current = []
    parts.append(current)
    return [" ".join(p) for p in parts if any(_key(w) and _key(w) not in STOP_WORDS for w in p)]


def word_contributions(loaded, text: str, image_embedding: np.ndarray) -> list[WordContribution]:
    """Leave-one-out contributions of each word of ``text`` to its cosine with the picture.

    A word's contribution is ``cos(text) - cos(text without that word)``: positive
    when the word pulls the query towards the picture, negative when the picture
    lacks it. The stop words right before the word are left out with it ("a cat
    and a car" without "car" is "a cat"). Stop words (:data:`STOP_WORDS`) get 0.0.
    A query of one content word has nothing to compare with; its word gets the
    whole score.

    Parameters
    ----------
    loaded : LoadedModel
    text : str
    image_embedding : np.ndarray, unit length

    Returns
    -------
    list of WordContribution, in the order of the words
    """
    words = split_words(text)
    spans = _phrase_spans(words)
    content = [i for _, i in spans]
    # The stop words just before a word go with it ("... and a car" -> "..."): left
    # behind, a dangling "and a" would change the score by itself.
    variants = [" ".join(words[:start] + words[i + 1:]) for start, i in spans]
    variants = [v if v.strip() else None for v in variants]
    to_embed = [text] + [v for v in variants if v is not None]
    scores = embed_texts(loaded, to_embed) @ np.asarray(image_embedding, np.float32)
    full, rest = float(scores[0]), iter(scores[1:])
    by_index = {i: (full - float(next(rest))) if v is not None else full
                for i, v in zip(content, variants)}
    return [WordContribution(w, by_index.get(i, 0.0), i not in by_index)
            for i, w in enumerate(words)]
