"""Folders of pictures: which files count, the one folder walker, and the data files
a gallery folder may hold (``captions.json``; file names that say what a scene shows)."""
from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

__all__ = ["IMAGE_EXTENSIONS", "UNSUPPORTED_EXTENSIONS", "SCAN_EXTENSIONS", "find_image_files",
           "CAPTIONS_FILE", "read_captions", "LABELS_FILE", "read_labels", "kind_of", "is_course_clipart"]

IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif",
    ".avif",
})
# Files a photo folder holds that are pictures but that Pillow cannot decode: a
# folder scan reports them as skipped (with what to do) instead of ignoring them.
UNSUPPORTED_EXTENSIONS = {
    ".svg": "SVG is a vector format; export it as PNG to index it",
    ".jxl": "JPEG XL is not supported by Pillow; convert it to JPEG or PNG",
    ".cr2": "camera RAW files are not supported; export them as JPEG",
    ".cr3": "camera RAW files are not supported; export them as JPEG",
    ".nef": "camera RAW files are not supported; export them as JPEG",
    ".arw": "camera RAW files are not supported; export them as JPEG",
    ".dng": "camera RAW files are not supported; export them as JPEG",
    ".raf": "camera RAW files are not supported; export them as JPEG",
    ".orf": "camera RAW files are not supported; export them as JPEG",
}
SCAN_EXTENSIONS = IMAGE_EXTENSIONS | frozenset(UNSUPPORTED_EXTENSIONS)

def find_image_files(folder: str | os.PathLike, recursive: bool = True,
                     exclude: str | os.PathLike | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """The one folder walker: every picture file under ``folder``, by one set of rules.

    Files with an extension of :data:`SCAN_EXTENSIONS` count: the images Pillow reads
    and the picture formats it cannot (reported later as skipped, with what to do).
    Hidden files and folders (names starting with ".") are left out, and so are
    symbolic links to folders (they could loop). The index, the app and the course
    profiles all list folders through this function.

    Parameters
    ----------
    folder : str or path
    recursive : bool
        Look into subfolders too.
    exclude : str or path, optional
        A folder not to enter (an index stored inside the folder it indexes).

    Returns
    -------
    (files, problems)
        ``files``: paths relative to ``folder`` with "/" separators, sorted;
        ``problems``: ``(relative folder, reason)`` for folders that could not be listed.
    """
    exclude = os.path.realpath(exclude) if exclude is not None else None
    files: list[str] = []
    problems: list[tuple[str, str]] = []
    stack = [(os.fspath(folder), "")]
    while stack:
        path, prefix = stack.pop()
        try:
            entries = list(os.scandir(path))
        except OSError as err:
            problems.append((prefix or ".", f"cannot list folder: {err.strerror or err}"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                if recursive and os.path.realpath(entry.path) != exclude:
                    stack.append((entry.path, rel + "/"))
            elif os.path.splitext(entry.name)[1].lower() in SCAN_EXTENSIONS:
                files.append(rel)
    files.sort()
    return files, problems


# A gallery folder may hold this JSON file: {file name: caption}.
CAPTIONS_FILE = "captions.json"


def read_captions(folder: str | os.PathLike) -> dict[str, str]:
    """The captions of a gallery folder, from its ``captions.json`` ({} when there is none).

    Raises
    ------
    ValueError
        The file exists but is not a JSON object of file names to captions.
    """
    path = Path(folder) / CAPTIONS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a readable JSON file ({err}); "
                         "fix or remove it to use this folder") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} must map file names to captions")
    return {str(k): str(v) for k, v in data.items()}




def kind_of(path) -> str:
    """The subject a file name gives: ``lake_007.png`` -> ``lake``, ``cat.jpg`` -> ``cat``."""
    return re.sub(r"_\d+$", "", Path(path).stem)


def is_course_clipart(path, gallery) -> bool:
    """Whether a picture is one of the course's clip-art scenes, judged by what it is, not
    where it lies: its folder's ``captions.json`` gives it the caption the course's
    gallery gives it (a copy of the gallery anywhere counts; a photo beside it does not),
    or the file is a byte-for-byte copy of one of the gallery's pictures, under any name.

    Parameters
    ----------
    path : str or path
        A picture file, or a folder (then: it holds the course's captions.json).
    gallery : str or path
        The course's gallery folder (``models.GALLERY_DIR``).

    Returns
    -------
    bool
    """
    path, gallery = Path(path), Path(gallery)
    folder, name = (path, None) if path.is_dir() else (path.parent, path.name)
    if name is not None and _same_bytes_as_a_picture_of(path, gallery):
        return True                      # a copy of one of the course's pictures, any name
    try:
        ours, theirs = read_captions(gallery), read_captions(folder)
    except ValueError:
        return False
    if not ours or not theirs:
        return False
    if name is None:
        return all(ours.get(n) == c for n, c in theirs.items())
    return name in theirs and ours.get(name) == theirs[name]


def _same_bytes_as_a_picture_of(path: Path, gallery: Path) -> bool:
    # Only a file of the very size of one of the gallery's pictures is read and hashed.
    import hashlib

    try:
        size = path.stat().st_size
        digests = _gallery_digests(gallery.resolve(), gallery.stat().st_mtime_ns)
    except OSError:
        return False
    if size not in digests:
        return False
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() in digests[size]
    except OSError:
        return False


@functools.lru_cache(maxsize=4)
def _gallery_digests(gallery: Path, mtime_ns: int) -> dict[int, set[str]]:
    """{file size: SHA-256 digests} of the gallery's pictures (cached per folder state)."""
    import hashlib

    digests: dict[int, set[str]] = {}
    for name in find_image_files(gallery, recursive=False)[0]:
        data = (gallery / name).read_bytes()
        digests.setdefault(len(data), set()).add(hashlib.sha256(data).hexdigest())
    return digests


LABELS_FILE = "labels.json"


def read_labels(folder) -> dict[str, tuple[str, ...]]:
    """The ``labels.json`` of a photo folder: {file name: (label, ...)}, main label first.

    Raises
    ------
    ValueError
        The file is missing, unreadable, or not {"photos": {name: [labels]}}.
    """
    path = Path(folder) / LABELS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f'{path} is missing: write {{"photos": {{file name: [labels]}}}}, or '
            "lay the pictures out one sub-folder per label (image_folder_set)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a readable JSON file ({err})") from err
    labels = data.get("photos", data) if isinstance(data, dict) else None
    if not isinstance(labels, dict) or not all(isinstance(v, list) for v in labels.values()):
        raise ValueError(f'{path} must hold {{"photos": {{file name: [labels]}}}}')
    return {str(name): tuple(str(x) for x in subjects) for name, subjects in labels.items()}
