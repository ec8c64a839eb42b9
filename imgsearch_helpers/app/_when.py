"""Private: the app's date range and time order, from when each picture was taken."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from ..index import Capture, read_capture
from ..search import SearchResult, search

_EPOCH = Capture(dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), "mtime")


class Taken:
    """Capture times of the app's pictures, read once per file (EXIF, else the file's time)."""

    def __init__(self):
        self._cache: dict[Path, Capture] = {}

    def of(self, path) -> Capture:
        path = Path(path)
        if path not in self._cache:
            try:
                self._cache[path] = read_capture(path)
            except OSError:           # gone since it was embedded: sorts first, filtered out
                return _EPOCH
        return self._cache[path]

    def rows(self, items, after: dt.date | None, before: dt.date | None) -> np.ndarray:
        """Rows of ``items`` taken from ``after`` up to the end of ``before`` (both days included)."""
        start = None if after is None else dt.datetime.combine(after, dt.time())
        end = None if before is None else dt.datetime.combine(before, dt.time()) + dt.timedelta(1)
        keep = []
        for row, item in enumerate(items):
            taken = self.of(item).taken.replace(tzinfo=None)   # the day as the camera saw it
            if (start is None or taken >= start) and (end is None or taken < end):
                keep.append(row)
        return np.asarray(keep, np.int64)


def search_taken(taken: Taken, vector, matrix, items, k: int, after, before,
                 by_time: bool) -> list[SearchResult]:
    """search() among the pictures taken in the range; rows stay the gallery's rows."""
    if after is None and before is None:
        results = search(vector, matrix, items, k=k)
    else:
        rows = taken.rows(items, after, before)
        if len(rows) == 0:
            return []
        found = search(vector, matrix[rows], [items[r] for r in rows], k=k)
        results = [SearchResult(r.item, r.score, int(rows[r.index])) for r in found]
    if by_time:
        results.sort(key=lambda r: (taken.of(r.item).sort_key(), r.index))
    return results
