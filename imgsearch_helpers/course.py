"""Small helpers the notebooks use to show and check what they teach."""
from __future__ import annotations

from pathlib import Path

from .folders import LABELS_FILE, kind_of, read_labels

__all__ = ["check", "expect", "kind_of", "subjects_of", "answers_seed", "SEED_QUERIES",
           "SEED_SUBJECTS", "SEED_KINDS"]

# The four searches the course is built around, in every profile and notebook.
SEED_QUERIES = ("a beautiful lake with mountains", "luxury car", "tree in nature", "water and nature")
# What a right answer to each shows, in the words of data/photos/labels.json.
SEED_SUBJECTS = dict(zip(SEED_QUERIES, [("lake", "mountain"), ("car",), ("tree",), ("water",)]))
# The clip-art scenes that answer each, by kind (any one of them will do).
SEED_KINDS = dict(zip(SEED_QUERIES, [("lake",), ("car",), ("tree",), ("lake", "boat")]))


def check(condition: bool, claim: str) -> None:
    """Print ``✓ claim`` when ``condition`` holds, else stop the notebook with the claim.

    The notebooks make claims ("water finds nothing in the label DB"); this
    shows each one verified in the output, and CI fails if one stops being true.
    """
    if not condition:
        raise AssertionError(f"✗ expected: {claim}")
    print(f"✓ {claim}")


def expect(condition: bool, claim: str, got: str = "") -> bool:
    """Print ``✓ claim`` when ``condition`` holds, else a ``⚠`` line; never stops the notebook.

    Online, the notebooks run real models on real photos, and a learner may add photos
    of their own: a claim that does not hold there is worth a look, not an error. (The
    offline claims, on the course's own models and pictures, use :func:`check`.)

    Parameters
    ----------
    condition : bool
    claim : str
        What should be true, e.g. "the lake photo ranks first".
    got : str, optional
        What came instead, shown on the ⚠ line.

    Returns
    -------
    bool
        ``condition``, so a notebook can count the claims that held.
    """
    if condition:
        print(f"✓ {claim}")
    else:
        print(f"⚠ expected: {claim}" + (f"; got: {got}" if got else "")
              + " (a soft check on real photos: the notebook goes on)")
    return bool(condition)


def subjects_of(path) -> tuple[str, ...]:
    """What a picture shows: its entry in the folder's ``labels.json`` (photos), else its kind.

    ``data/photos/lake_boats.jpg`` -> ("lake", "mountain", "boat", ...);
    ``data/gallery/lake_007.png`` -> ("lake",).
    """
    path = Path(path)
    if (path.parent / LABELS_FILE).is_file():
        labels = read_labels(path.parent)
        if path.name in labels:
            return labels[path.name]
    return (kind_of(path),)




def answers_seed(query: str, path) -> bool:
    """Whether a picture is a right answer to one of :data:`SEED_QUERIES`.

    A labelled photo must show every subject of :data:`SEED_SUBJECTS` (its
    ``labels.json`` entry); a clip-art scene must be one of the kinds of
    :data:`SEED_KINDS`. One rule for both profiles, so a notebook's check is one line.
    """
    path = Path(path)
    labelled = (path.parent / LABELS_FILE).is_file() and path.name in read_labels(path.parent)
    if labelled:
        return set(SEED_SUBJECTS[query]) <= set(subjects_of(path))
    return kind_of(path) in SEED_KINDS[query]
