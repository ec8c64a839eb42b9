"""Small helpers the notebooks use to show and check what they teach."""
from __future__ import annotations

import re
from pathlib import Path

__all__ = ["check", "kind_of", "SEED_QUERIES"]

# The four searches the course is built around, in every profile and notebook.
SEED_QUERIES = ("a beautiful lake with mountains", "luxury car", "tree in nature", "water and nature")


def check(condition: bool, claim: str) -> None:
    """Print ``✓ claim`` when ``condition`` holds, else stop the notebook with the claim.

    The notebooks make claims ("water finds nothing in the label DB"); this
    shows each one verified in the output, and CI fails if one stops being true.
    """
    if not condition:
        raise AssertionError(f"✗ expected: {claim}")
    print(f"✓ {claim}")


def kind_of(path) -> str:
    """The subject a file name gives: ``lake_007.png`` -> ``lake``, ``cat.jpg`` -> ``cat``."""
    return re.sub(r"_\d+$", "", Path(path).stem)
