"""Write the notebooks' measured execution times into docs/workshop.md.

The times come from the book's jupyter-cache (``make book`` runs every notebook once
with the offline profile and records how long each took), so run ``make book`` first,
on the machine whose times the guide should show. Only the part of docs/workshop.md
between the two ``workshop-times`` markers is rewritten.

    .venv/bin/python tools/workshop_times.py
"""
from __future__ import annotations

import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from course_book import execution_cache  # noqa: E402

GUIDE = ROOT / "docs" / "workshop.md"
START, END = "<!-- workshop-times: start -->", "<!-- workshop-times: end -->"


def measured_times(root: Path = ROOT) -> dict[str, float]:
    """Seconds each notebook took in the cache's execution, by notebook stem."""
    from jupyter_cache import get_cache

    cache_dir = execution_cache(root)
    if not cache_dir.is_dir():
        raise SystemExit(f"no execution cache for the present inputs ({cache_dir}): run `make book` first")
    times = {}
    for record in get_cache(str(cache_dir)).list_cache_records():
        seconds = record.data.get("execution_seconds")
        if seconds is not None:
            times[Path(record.uri).stem] = float(seconds)
    return times


def table(times: dict[str, float], notebooks: list[str]) -> str:
    rows = ["| notebook | runs in (Run All, offline profile) |", "|---|---|"]
    for stem in notebooks:
        rows.append(f"| `{stem}` | {_minutes(times[stem])} |" if stem in times else f"| `{stem}` | not measured |")
    total = sum(times.get(stem, 0.0) for stem in notebooks)
    rows.append(f"| all nine | {_minutes(total)} |")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    when = time.strftime("%Y-%m-%d")
    return "\n".join(rows) + (
        f"\n\nMeasured by `make book` on {when}: {cores} CPU cores ({platform.processor() or platform.machine()}),"
        f" no GPU, Python {platform.python_version()}; written here by `tools/workshop_times.py`.")


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def main() -> int:
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    text = GUIDE.read_text()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{GUIDE} has no {START} ... {END} section")
    new = pattern.sub(lambda _: f"{START}\n{table(measured_times(), notebooks)}\n{END}", text)
    GUIDE.write_text(new)
    print(f"updated {GUIDE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
