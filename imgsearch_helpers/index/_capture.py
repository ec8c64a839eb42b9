"""Private: when a picture was taken (EXIF DateTimeOriginal, else the file's time) and by what."""
from __future__ import annotations

import datetime as dt
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

# EXIF tags: IFD0 Model; the Exif IFD's DateTimeOriginal and OffsetTimeOriginal.
_EXIF_IFD, _MODEL, _MAKE = 0x8769, 0x0110, 0x010F
_DATE_ORIGINAL, _OFFSET_ORIGINAL = 0x9003, 0x9011
_EXIF_DATE = re.compile(r"^\s*(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):(\d{2})\s*$")
# Where a capture time came from.
SOURCES = ("exif", "exif-local", "mtime")


@dataclass(frozen=True)
class Capture:
    """When a picture was taken, where that time comes from, and the camera.

    Attributes
    ----------
    taken : datetime.datetime
        With a time zone when it is known: from EXIF OffsetTimeOriginal, or the file's
        modification time (UTC). EXIF without an offset is the camera's local time:
        naive (no time zone), and ``source`` says "exif-local".
    source : {"exif", "exif-local", "mtime"}
    camera : str or None
        EXIF Make and Model ("Canon EOS R6"), when recorded.
    """

    taken: dt.datetime
    source: str
    camera: str | None = None

    def to_json(self) -> list:
        return [self.taken.isoformat(), self.source, self.camera]

    @classmethod
    def from_json(cls, row) -> "Capture":
        taken, source, camera = row
        if source not in SOURCES or not (camera is None or isinstance(camera, str)):
            raise ValueError(f"not a capture record: {row!r}")
        return cls(dt.datetime.fromisoformat(taken), source, camera)

    def sort_key(self) -> float:
        """Seconds since 1970; a naive (camera-local) time is read as UTC."""
        taken = self.taken if self.taken.tzinfo else self.taken.replace(tzinfo=dt.timezone.utc)
        return taken.timestamp()


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def _exif_time(date, offset) -> tuple[dt.datetime, str] | None:
    match = _EXIF_DATE.match(_text(date) or "")
    if not match:
        return None
    try:
        taken = dt.datetime(*map(int, match.groups()))
    except ValueError:            # "2023:02:30 ...", or the all-zero "0000:00:00 00:00:00"
        return None
    zone = _OFFSET.match(_text(offset) or "")
    if zone is None:
        return taken, "exif-local"
    sign = -1 if zone.group(1) == "-" else 1
    delta = dt.timedelta(hours=int(zone.group(2)), minutes=int(zone.group(3)))
    if delta > dt.timedelta(hours=14):
        return taken, "exif-local"
    return taken.replace(tzinfo=dt.timezone(sign * delta)), "exif"


def read_capture(path) -> Capture:
    """When ``path`` was taken: EXIF DateTimeOriginal (with OffsetTimeOriginal), else its mtime.

    Broken or missing EXIF is no error: the file's modification time is used and
    ``source`` says "mtime".

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    Capture

    Raises
    ------
    OSError
        The file cannot be read at all (its time cannot be taken either).
    """
    path = Path(path)
    mtime = dt.datetime.fromtimestamp(os.stat(path).st_mtime, dt.timezone.utc)
    camera = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")      # PIL warns about odd EXIF; we fall back
            with Image.open(path) as image:
                exif = image.getexif()
                inner = exif.get_ifd(_EXIF_IFD)
                found = _exif_time(inner.get(_DATE_ORIGINAL), inner.get(_OFFSET_ORIGINAL))
                make, model = _text(exif.get(_MAKE)), _text(exif.get(_MODEL))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, TypeError, KeyError,
            IndexError, AttributeError):
        # Unreadable EXIF (truncated, bad offsets): the file's own time stands in.
        return Capture(mtime, "mtime", None)
    if model:
        camera = model if make is None or model.startswith(make.split()[0]) else f"{make} {model}"
    if found is None:
        return Capture(mtime, "mtime", camera)
    return Capture(found[0], found[1], camera)


def parse_when(value, end: bool = False) -> dt.datetime:
    """A date or date-time given by a user ("2024-05-01", "2024-05-01T14:00") as a datetime.

    A bare date stands for its whole day: its start, or with ``end`` the start of the next.
    """
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        day = dt.datetime(value.year, value.month, value.day)
        return day + dt.timedelta(days=1) if end else day
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return parse_when(dt.date.fromisoformat(text), end)
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD) or date and time "
                         "(YYYY-MM-DDTHH:MM, optionally +HH:MM)") from None


def _key(when: dt.datetime) -> float:
    return (when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)).timestamp()


def in_range(capture: Capture, after: dt.datetime | None, before: dt.datetime | None) -> bool:
    """``after <= taken < before``; naive times on either side are compared as they read."""
    key = capture.sort_key()
    return (after is None or key >= _key(after)) and (before is None or key < _key(before))


def fill_captures(captures: dict, paths, folder: Path) -> int:
    """Read the capture of every path that ``captures`` lacks; returns how many were added.

    A file that cannot be read now (deleted since it was indexed) is left out: the
    next update drops or re-reads it.
    """
    added = 0
    for rel in paths:
        if rel in captures:
            continue
        try:
            captures[rel] = read_capture(folder / rel).to_json()
        except OSError:
            continue
        added += 1
    return added
