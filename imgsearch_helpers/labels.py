"""A small SQLite database of the labels a classifier gave each image (notebook 01)."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Iterable, Mapping

__all__ = ["LabelsDB", "LABELS_FORMAT_VERSION"]

LABELS_FORMAT_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS labels (
    image TEXT NOT NULL,
    label TEXT NOT NULL,
    score REAL NOT NULL,
    PRIMARY KEY (image, label)
);
CREATE INDEX IF NOT EXISTS labels_label ON labels(label);
"""


class LabelsDB:
    """Store each image's labels above a threshold; find images by label text.

    Every statement is parameterised: label text and file names are data, never SQL.

    Parameters
    ----------
    path : str or path
        The database file; ":memory:" (default) keeps it in memory.
    model : str, optional
        The classifier that produced the labels; recorded, and checked on reopen.
    """

    def __init__(self, path: str | os.PathLike = ":memory:", model: str | None = None):
        self.path = str(path)
        self._conn = sqlite3.connect(self.path)
        self._conn.executescript(_SCHEMA)
        meta = dict(self._conn.execute("SELECT key, value FROM meta"))
        version = int(meta.get("format_version", LABELS_FORMAT_VERSION))
        if version > LABELS_FORMAT_VERSION:
            raise ValueError(f"{self.path} has labels format {version}; this version of "
                             f"imgsearch_helpers reads up to {LABELS_FORMAT_VERSION}")
        stored_model = meta.get("model")
        if model and stored_model and stored_model != model:
            raise ValueError(f"{self.path} holds labels from {stored_model!r}, not {model!r}")
        self.model = stored_model or model
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('format_version', ?)",
                               (str(LABELS_FORMAT_VERSION),))
            if self.model:
                self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('model', ?)", (self.model,))

    def add(self, image: str | os.PathLike, predictions: Iterable[Mapping] | Mapping[str, float],
            threshold: float = 0.1) -> list[str]:
        """Store the labels of ``image`` scoring at least ``threshold``.

        Parameters
        ----------
        image : str or path
        predictions : list of {"label", "score"} (pipeline output) or {label: score}
        threshold : float

        Returns
        -------
        list of str: the labels stored (re-adding an image replaces its labels).
        """
        if isinstance(predictions, Mapping):
            pairs = list(predictions.items())
        else:
            pairs = [(p["label"], p["score"]) for p in predictions]
        kept = [(str(image), str(label), float(score)) for label, score in pairs
                if float(score) >= threshold]
        with self._conn:
            self._conn.execute("DELETE FROM labels WHERE image = ?", (str(image),))
            self._conn.executemany("INSERT INTO labels VALUES (?, ?, ?)", kept)
        return [label for _, label, _ in kept]

    def search(self, text: str) -> list[tuple[str, str, float]]:
        """Images whose label contains ``text`` (case-insensitive, literal).

        ``instr`` matches the text literally, so "%", "_" or quotes in a query
        are ordinary characters, unlike a LIKE pattern.

        Returns
        -------
        list of (image, label, score), best score first.
        """
        text = text.strip()
        if not text:
            raise ValueError("label search text must not be empty")
        rows = self._conn.execute(
            "SELECT image, label, score FROM labels WHERE instr(lower(label), lower(?)) > 0 "
            "ORDER BY score DESC, image", (text,))
        return [(image, label, score) for image, label, score in rows]

    def labels_of(self, image: str | os.PathLike) -> dict[str, float]:
        """Return {label: score} stored for ``image``."""
        rows = self._conn.execute("SELECT label, score FROM labels WHERE image = ? "
                                  "ORDER BY score DESC", (str(image),))
        return dict(rows)

    def images(self) -> list[str]:
        """Return every image that has at least one label."""
        return [r[0] for r in self._conn.execute("SELECT DISTINCT image FROM labels ORDER BY image")]

    def close(self) -> None:
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"LabelsDB({Path(self.path).name!r}, images={len(self.images())}, model={self.model!r})"
