"""Shared by the benchmarks: machine description, timing, RESULTS.md, test pictures."""
from __future__ import annotations

import os
import platform
import re
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

RESULTS = Path(__file__).with_name("RESULTS.md")
# "{text}" left in a report: a format string that lost its f prefix (the fields never filled).
UNFILLED = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.]*(?:![rsa])?(?::[^{}]*)?\}")


def machine() -> str:
    """One paragraph: CPU, cores, memory, library versions and how busy the machine is."""
    import PIL
    import torch

    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        mem = f", {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GiB RAM"
    try:
        import faiss
        faiss_v = f", faiss {faiss.__version__}"
    except ImportError:
        faiss_v = ", no faiss"
    load = "n/a"
    if hasattr(os, "getloadavg"):
        load = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores{mem}; torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), numpy {np.__version__}, Pillow "
            f"{PIL.__version__}{faiss_v}, Python {platform.python_version()}. "
            f"Load average when it started: {load} (other jobs share this machine: "
            "absolute numbers are noisy, ratios come from runs interleaved in one process).")


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def interleaved(methods: dict, rounds: int) -> dict:
    """Run each method once per round, in turn; return {name: median seconds}.

    Interleaving puts every method under the same background load, so that their
    ratio is fair even when other jobs come and go on the machine.
    """
    times = {name: [] for name in methods}
    for _ in range(rounds):
        for name, fn in methods.items():
            times[name].append(timed(fn)[0])
    return {name: statistics.median(ts) for name, ts in times.items()}


def table(header: list[str], rows: list[list]) -> str:
    """A Markdown table (also readable as plain text)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(name: str, body: str) -> None:
    """Replace (or add) this benchmark's section of bench/RESULTS.md.

    Raises
    ------
    ValueError
        ``body`` holds a field that was never filled ("{text}", "{speed:.1f}"): the
        report is refused and RESULTS.md is left as it was.
    """
    unfilled = sorted(set(UNFILLED.findall(body)))
    if unfilled:
        raise ValueError(f"the {name} section has fields that were never filled: "
                         f"{', '.join(unfilled)} (a format string without its f prefix?); "
                         f"{RESULTS} is unchanged")
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    command = "python " + shlex.join([f"bench/{Path(sys.argv[0]).name}"] + sys.argv[1:])  # copy-pasteable
    section = (f"{start}\n## {name}\n\n`{command}` — {time.strftime('%Y-%m-%d %H:%M %Z')}\n\n"
               f"Machine: {machine()}\n\n{body.strip()}\n{end}")
    text = RESULTS.read_text() if RESULTS.exists() else (
        "# Benchmark results\n\nEach section is rewritten by the script named in it.\n")
    if start in text and end in text:
        text = text[:text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    tmp = RESULTS.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, RESULTS)


def large_jpegs(folder: Path, count: int, size=(4000, 3000), quality: int = 90) -> list[Path]:
    """``count`` 12 MP JPEGs: colour gradients with camera-like noise (~4-5 MB each).

    The noise is what makes them cost what a photo costs to decode: a smooth
    gradient would compress to almost nothing. Made in threads (NumPy and Pillow's
    encoder release the GIL): 192 of them take a few seconds each on one core.
    """
    from concurrent.futures import ThreadPoolExecutor

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    w, h = size
    tile = rng.normal(0, 12, (1000, 1000, 1)).astype(np.float32)
    noise = np.tile(tile, (h // 1000 + 1, w // 1000 + 1, 1))[:h, :w]
    x = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    # The colours are drawn in order first, so that the pictures do not depend on threads.
    colours = [rng.uniform(0, 255, (2, 3)).astype(np.float32) for _ in range(count)]
    paths = [folder / f"photo_{i:04d}.jpg" for i in range(count)]

    def make(i):
        if not paths[i].exists():
            c1, c2 = colours[i]
            arr = x * c1 + y * c2 * 0.5 + np.roll(noise, i * 37, axis=1)
            Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(paths[i], quality=quality)

    with ThreadPoolExecutor(min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(make, range(count)))
    return paths


def small_pngs(folder: Path, count: int, size=(256, 256)) -> list[Path]:
    """``count`` small PNGs with a few random shapes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    paths = []
    for i in range(count):
        path = folder / f"icon_{i:04d}.png"
        if not path.exists():
            im = Image.new("RGB", size, tuple(int(c) for c in rng.integers(0, 255, 3)))
            draw = ImageDraw.Draw(im)
            for _ in range(4):
                x0, y0 = (int(v) for v in rng.integers(0, size[0] - 40, 2))
                draw.ellipse((x0, y0, x0 + 40, y0 + 30),
                             fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
            im.save(path)
        paths.append(path)
    return paths
