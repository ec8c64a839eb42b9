"""Format versions of what the course persists, and their upgrade steps (one home).

Every file the package writes for later (an index manifest, a labels database, the
metadata beside Ray's Parquet shards) records which format it is, its version and
what made it. Reading one goes through :meth:`Format.read`: it checks the format's
name and version, refuses a newer version with a clear message, and brings an older
one up to date by the registered upgrade steps, one version at a time (as rclip's
``ensure_version`` does 1→2→3→4)::

    MANIFEST_FORMAT = Format("imgsearch-index", 2, "index")

    @MANIFEST_FORMAT.upgrade(1)             # version 1 → 2
    def _add_weights(data):
        return {**data, "weights": None}

    data = MANIFEST_FORMAT.read(json.load(fh), where=path)   # now version 2
    json.dump({**MANIFEST_FORMAT.stamp(), ...}, fh)          # what to write

A new version is: raise ``version`` by one and register the step from the old one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["Format", "FormatError", "UnknownFormatError", "NewerFormatError", "made_by"]


class FormatError(ValueError):
    """A stored file's format cannot be read by this version of the package."""


class UnknownFormatError(FormatError):
    """The file is not of the expected format, or its version is malformed."""


class NewerFormatError(FormatError):
    """The file was written by a newer version of the package."""


def made_by() -> dict:
    """What writes a file now: the package and its version (stored beside the format).

    Returns
    -------
    dict
        ``{"package": "imgsearch_helpers", "version": "..."}``.
    """
    import imgsearch_helpers

    return {"package": "imgsearch_helpers", "version": imgsearch_helpers.__version__}


@dataclass
class Format:
    """One persisted format: its name, its current version, and the steps up to it.

    Parameters
    ----------
    name : str
        Written as ``"format"``, e.g. ``"imgsearch-index"``.
    version : int
        The version this package writes (and upgrades older ones to).
    what : str
        What the file is, for messages: ``"index"``, ``"labels"``.
    """

    name: str
    version: int
    what: str
    _steps: dict[int, Callable[[Any], Any]] = field(default_factory=dict, repr=False)

    def upgrade(self, from_version: int):
        """Register ``fn(data) -> data`` as the step from ``from_version`` to the next.

        Parameters
        ----------
        from_version : int
            The version the step reads; it returns data of ``from_version + 1``.

        Returns
        -------
        callable
            A decorator that registers the step and returns it unchanged.
        """
        if not 1 <= from_version < self.version:
            raise ValueError(f"{self.name}: a step from version {from_version} does not lead "
                             f"to a version up to {self.version}")

        def register(fn):
            self._steps[from_version] = fn
            return fn
        return register

    def stamp(self) -> dict:
        """The fields a written file starts with: format, version and what made it.

        Returns
        -------
        dict
            ``{"format": name, "format_version": version, "made_by": made_by()}``.
        """
        return {"format": self.name, "format_version": self.version, "made_by": made_by()}

    def version_of(self, data, where) -> int:
        """The format version ``data`` (a mapping read from disk) records, checked.

        Parameters
        ----------
        data : mapping
            What the file holds; needs ``"format"`` and ``"format_version"``.
        where : str or path
            The file, for messages.

        Returns
        -------
        int

        Raises
        ------
        UnknownFormatError
            Not this format, or no valid version.
        NewerFormatError
            A version newer than this package writes.
        """
        if not (isinstance(data, dict) and data.get("format") == self.name):
            raise UnknownFormatError(f"{where}: not an {self.name} file")
        version = data.get("format_version")
        if type(version) is not int or version < 1:     # bool is not a version
            raise UnknownFormatError(f"{where}: no valid format_version ({version!r})")
        if version > self.version:
            raise NewerFormatError(
                f"{where} has {self.what} format {version}; this version of imgsearch_helpers "
                f"reads up to {self.version}. Upgrade imgsearch_helpers (pip install -U -e .).")
        return version

    def read(self, data, where, version: int | None = None):
        """Check ``data``'s format and bring it up to the current version, step by step.

        Parameters
        ----------
        data : dict or any
            What the file holds. With ``version`` given, anything the steps accept
            (an open database, say); else a mapping checked by :meth:`version_of`.
        where : str or path
            The file, for messages.
        version : int, optional
            The version ``data`` has, when it is not a mapping that records it.

        Returns
        -------
        The upgraded data (a mapping gets ``format_version`` set to the current version).
        """
        if version is None:
            version = self.version_of(data, where)
        elif version > self.version:
            raise NewerFormatError(
                f"{where} has {self.what} format {version}; this version of imgsearch_helpers "
                f"reads up to {self.version}. Upgrade imgsearch_helpers (pip install -U -e .).")
        for step in range(version, self.version):
            if step not in self._steps:      # a bug of ours, not of the file
                raise RuntimeError(f"{self.name}: no upgrade step from version {step}")
            data = self._steps[step](data)
        if isinstance(data, dict):
            data = {**data, "format_version": self.version}
        return data
