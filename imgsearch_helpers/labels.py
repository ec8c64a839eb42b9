"""A small SQLite database of the labels a classifier gave each image (notebook 01)."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Iterable, Mapping

from .formats import Format, NewerFormatError

__all__ = ["LabelsDB", "LABELS_FORMAT", "LABELS_FORMAT_VERSION"]

# Upgrade steps take the open connection (inside the opening transaction) and
# return it: ``@LABELS_FORMAT.upgrade(1) def _v1_to_v2(conn): ...``.
LABELS_FORMAT = Format("imgsearch-labels", 1, "labels")
LABELS_FORMAT_VERSION = LABELS_FORMAT.version

_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE labels (
        image TEXT NOT NULL,
        label TEXT NOT NULL,
        score REAL NOT NULL,
        PRIMARY KEY (image, label)
    )""",
    "CREATE INDEX labels_label ON labels(label)",
)
_COLUMNS = ["image", "label", "score"]
# How long to wait for another process that is writing the same file (SQLite's
# busy timeout), e.g. two notebooks creating the same new database at once.
_BUSY_SECONDS = 30.0


class LabelsDB:
    """Store each image's labels above a threshold; find images by label text.

    Every statement is parameterised: label text and file names are data, never SQL.
    Any file name round-trips, including one that is not valid UTF-8 (Python gives
    it lone surrogates; it is stored as bytes).

    Parameters
    ----------
    path : str or path
        The database file; ":memory:" (default) keeps it in memory.
    model : str, optional
        The classifier that produced the labels; recorded, and checked on reopen.

    Raises
    ------
    ValueError
        The file is not a labels database (another program's, damaged, or a newer
        format), or holds labels of another model; the message names the file and
        what to do. The file is left unchanged.
    """

    def __init__(self, path: str | os.PathLike = ":memory:", model: str | None = None):
        self.path = os.fspath(path)
        try:
            self._conn = sqlite3.connect(path, timeout=_BUSY_SECONDS)
        except sqlite3.Error as err:      # a folder, a missing parent folder, ...
            raise ValueError(f"{self.path} cannot be opened as a database ({err}); give "
                             "another path") from err
        try:
            self.model = self._open(model)
        except sqlite3.OperationalError as err:
            self._conn.close()
            if "locked" in str(err) or "busy" in str(err):
                raise ValueError(f"{self.path} is in use by another program ({err}, waited "
                                 f"{_BUSY_SECONDS:g} s); try again when it is done") from err
            raise ValueError(f"{self.path} cannot be used as a labels database ({err}); "
                             "give another path") from err
        except sqlite3.DatabaseError as err:     # not a database, or a damaged one
            self._conn.close()
            raise ValueError(f"{self.path} is not a labels database, or is damaged ({err}); "
                             "give another path, or move that file away") from err
        except BaseException:
            self._conn.close()
            raise

    def _open(self, model: str | None) -> str | None:
        conn = self._conn
        # IMMEDIATE: the write lock first, so that two processes creating the same new
        # file take turns instead of both reading an empty schema.
        conn.execute("BEGIN IMMEDIATE")
        try:
            tables = {name for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                for statement in _SCHEMA:
                    conn.execute(statement)
            else:
                self._check_schema(tables)
            meta = dict(conn.execute("SELECT key, value FROM meta"))
            version = meta.get("format_version", str(LABELS_FORMAT_VERSION))
            if not (isinstance(version, str) and version.isdigit()):
                raise ValueError(f"{self.path}: its format_version {version!r} is not a number; "
                                 "the file is damaged. Move it away and label the images again")
            try:
                LABELS_FORMAT.read(conn, self.path, version=int(version))
            except NewerFormatError as err:
                raise ValueError(f"{err} Or give another path.") from err
            stored_model = meta.get("model")
            if model and stored_model and stored_model != model:
                raise ValueError(f"{self.path} holds labels from {stored_model!r}, not "
                                 f"{model!r}; give another path for this model's labels")
            model = stored_model or model
            # Written only when new, so that opening a database leaves its file as it is.
            if version != str(LABELS_FORMAT_VERSION) or "format_version" not in meta:
                stamp = LABELS_FORMAT.stamp()
                made = f"{stamp['made_by']['package']} {stamp['made_by']['version']}"
                conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                    ("format", stamp["format"]), ("format_version", str(stamp["format_version"])),
                    ("made_by", made)])
            if model and stored_model != model:
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('model', ?)", (model,))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return model

    def _check_schema(self, tables: set) -> None:
        columns = [row[1] for row in self._conn.execute("PRAGMA table_info(labels)")]
        if "meta" not in tables or columns != _COLUMNS:
            raise ValueError(f"{self.path} is an SQLite database of another program (tables: "
                             f"{', '.join(sorted(tables))}), not a labels database; give "
                             "another path")

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
        key = _key(image)
        kept = [(key, _text(str(label), "label"), float(score)) for label, score in pairs
                if float(score) >= threshold]
        with self._conn:
            self._conn.execute("DELETE FROM labels WHERE image = ?", (key,))
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
        text = _text(text.strip(), "label search text")
        if not text:
            raise ValueError("label search text must not be empty")
        rows = self._conn.execute(
            "SELECT image, label, score FROM labels WHERE instr(lower(label), lower(?)) > 0 "
            "ORDER BY score DESC, image", (text,))
        return [(_name(image), label, score) for image, label, score in rows]

    def labels_of(self, image: str | os.PathLike) -> dict[str, float]:
        """Return {label: score} stored for ``image``."""
        rows = self._conn.execute("SELECT label, score FROM labels WHERE image = ? "
                                  "ORDER BY score DESC", (_key(image),))
        return dict(rows)

    def images(self) -> list[str]:
        """Return every image that has at least one label."""
        return [_name(r[0]) for r in
                self._conn.execute("SELECT DISTINCT image FROM labels ORDER BY image")]

    def close(self) -> None:
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"LabelsDB({Path(self.path).name!r}, images={len(self.images())}, model={self.model!r})"


def _key(image) -> str | bytes:
    """How an image name is stored: as text, or, for a name that is not valid Unicode
    (lone surrogates: how Python reads a file name that is not UTF-8), as the bytes
    that give it back. SQLite text must be UTF-8, and text never equals bytes there,
    so the two kinds of name cannot be confused."""
    name = str(image)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogatepass")
    return name


def _name(value: str | bytes) -> str:
    return value.decode("utf-8", "surrogatepass") if isinstance(value, bytes) else value


def _text(text: str, what: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"{what} {text!r} is not valid Unicode ({err.reason} at position "
                         f"{err.start}); remove or retype that character") from None
    return text
