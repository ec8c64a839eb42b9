"""Private: the app's thumbs-up / thumbs-down and its match count (no widgets here)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._gallery import Embedded
from ..matching import MATCH_PROBABILITY, Calibration, refine
from ..search import SearchResult, all_scores


def refined(vector, marks: dict[Path, bool], embedded: Embedded):
    """The query moved towards the pictures marked right and away from those marked wrong."""
    rows = {item: embedded.row_of(item) for item in marks}
    likes = [embedded.matrix[r] for item, r in rows.items() if r is not None and marks[item]]
    unlikes = [embedded.matrix[r] for item, r in rows.items() if r is not None and not marks[item]]
    return refine(vector, likes, unlikes) if likes or unlikes else vector


def judged(vector, embedded: Embedded, results: list[SearchResult], calibration: Calibration,
           counted_rows=None) -> tuple[list[SearchResult], int]:
    """``results`` with their ``p_match``, and how many of ``counted_rows`` (default all) match.

    The probabilities are judged against the whole gallery (the collection the
    calibration standardises over), whatever part of it is counted.
    """
    p = calibration.probabilities(all_scores(vector, embedded.matrix))
    counted = p if counted_rows is None else p[counted_rows]
    matches = int(np.count_nonzero(counted >= MATCH_PROBABILITY))
    return [SearchResult(r.item, r.score, r.index, float(p[r.index])) for r in results], matches
