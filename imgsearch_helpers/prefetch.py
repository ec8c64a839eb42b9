"""``python -m imgsearch_helpers.prefetch``: the same as ``imgsearch prefetch``.

Kept so that commands written before the ``imgsearch`` command existed still work::

    python -m imgsearch_helpers.prefetch [NAMES] [--all]    # imgsearch prefetch [NAMES] [--all]
    python -m imgsearch_helpers.prefetch --check            # imgsearch doctor

The work is done in :mod:`imgsearch_helpers.cli` (``_setup``).
"""
from __future__ import annotations

import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run ``imgsearch prefetch`` (or ``imgsearch doctor`` for ``--check``); returns the status."""
    from .cli import main as imgsearch

    argv = sys.argv[1:] if argv is None else list(argv)
    if "--check" in argv:
        return imgsearch(["doctor"] + [a for a in argv if a != "--check"])
    return imgsearch(["prefetch"] + argv)


if __name__ == "__main__":
    sys.exit(main())
