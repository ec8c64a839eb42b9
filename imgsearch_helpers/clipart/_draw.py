"""Private painters for :mod:`imgsearch_helpers.clipart`: landscapes and shared helpers.

Each painter draws on a square PIL canvas and returns the attributes it chose
(colours by name, counts, ...), from which ``clipart`` writes the captions.
Animals and things are in ``_things``.
Everything random comes from the numpy ``Generator`` passed in, so a scene is a
pure function of its seed.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SIZE = 128

# Skies by time of day, (top, horizon). Night is its own scene kind, so no other
# kind gets a dark sky: a dark picture should mean "night".
SKIES = {
    "day": ((80, 145, 230), (175, 215, 250)),
    "morning": ((140, 180, 230), (250, 225, 185)),
    "sunset": ((95, 80, 160), (250, 150, 90)),
    "cloudy": ((150, 160, 175), (205, 210, 215)),
}
HAT_COLOURS = ["black", "red", "blue"]  # the snowman's hat
NIGHT_SKIES = [((5, 5, 25), (25, 35, 80)), ((10, 5, 30), (50, 30, 90)), ((0, 0, 0), (20, 25, 50))]

PALETTE = {
    "red": (210, 40, 40),
    "blue": (40, 80, 200),
    "yellow": (240, 210, 50),
    "green": (60, 160, 70),
    "white": (240, 240, 235),
    "black": (30, 30, 35),
    "orange": (240, 140, 40),
    "pink": (240, 140, 180),
    "purple": (140, 70, 180),
    "grey": (130, 130, 140),
    "brown": (140, 90, 50),
    "silver": (190, 195, 200),
    "cream": (235, 215, 170),
    "golden": (220, 170, 80),
}


def pick(rng: np.random.Generator, seq):
    """Return one element of ``seq`` (numpy's choice would turn tuples into arrays)."""
    return seq[int(rng.integers(len(seq)))]


def jitter(rng: np.random.Generator, rgb, amount: int = 18) -> tuple[int, int, int]:
    """Return ``rgb`` with each channel moved by up to ``amount``."""
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in rgb)


def colour(rng, name: str, amount: int = 18):
    return jitter(rng, PALETTE[name], amount)


def shade(rgb, factor: float):
    return tuple(int(np.clip(c * factor, 0, 255)) for c in rgb)


def _gradient(draw, top, bottom, y0: int, y1: int) -> None:
    for y in range(y0, y1):
        t = (y - y0) / max(1, y1 - y0 - 1)
        draw.line((0, y, SIZE, y), fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))


def sky(draw, rng, time: str, horizon: int) -> None:
    top, bottom = SKIES[time]
    _gradient(draw, jitter(rng, top, 12), jitter(rng, bottom, 12), 0, horizon)
    if time != "cloudy" and rng.random() < 0.6:
        r = int(rng.integers(7, 13))
        x, y = int(rng.integers(10, SIZE - 10)), int(rng.integers(8, max(10, horizon - 25)))
        sun = (255, 235, 120) if time == "day" else (255, 170, 80)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=sun)
    for _ in range(int(rng.integers(0, 3 if time != "cloudy" else 5))):
        x, y = int(rng.integers(0, SIZE)), int(rng.integers(5, max(8, horizon - 15)))
        w = int(rng.integers(14, 28))
        c = jitter(rng, (245, 245, 248) if time != "cloudy" else (225, 228, 232), 8)
        for dx, dy, r in ((0, 0, w // 3), (w // 3, -3, w // 3 + 2), (2 * w // 3, 0, w // 3)):
            draw.ellipse((x + dx - r, y + dy - r // 2 - 2, x + dx + r, y + dy + r // 2 + 2), fill=c)


def ground(draw, rng, horizon: int, base=(90, 170, 70)) -> None:
    _gradient(draw, jitter(rng, base, 15), shade(jitter(rng, base, 15), 0.75), horizon, SIZE)


def outdoor(
    rng, horizon_range=(60, 90), grass=(90, 170, 70), times=("day", "morning", "sunset", "cloudy")
):
    """A new canvas with sky and ground; returns (image, draw, horizon, time)."""
    img = Image.new("RGB", (SIZE, SIZE))
    draw = ImageDraw.Draw(img)
    horizon = int(rng.integers(*horizon_range))
    time = pick(rng, list(times))
    sky(draw, rng, time, horizon)
    ground(draw, rng, horizon, grass)
    return img, draw, horizon, time


def indoor(rng):
    """A room: wall, floor, maybe a window and a rug; returns (image, draw, floor_y)."""
    img = Image.new("RGB", (SIZE, SIZE))
    draw = ImageDraw.Draw(img)
    floor_y = int(rng.integers(70, 95))
    wall = jitter(rng, pick(rng, [(235, 225, 200), (200, 220, 235), (215, 235, 205), (225, 210, 230)]))
    draw.rectangle((0, 0, SIZE, floor_y), fill=wall)
    draw.rectangle(
        (0, floor_y, SIZE, SIZE),
        fill=jitter(rng, pick(rng, [(150, 105, 65), (180, 140, 95), (120, 80, 55)])),
    )
    if rng.random() < 0.5:
        x = int(rng.integers(5, 80))
        draw.rectangle((x, 12, x + 36, 48), fill=(170, 210, 245), outline=(250, 250, 250), width=3)
        draw.line((x + 18, 12, x + 18, 48), fill=(250, 250, 250), width=2)
    if rng.random() < 0.5:
        c = jitter(rng, pick(rng, [(180, 50, 60), (60, 90, 160), (200, 170, 80)]))
        draw.ellipse((10, floor_y + 12, SIZE - 10, SIZE - 4), fill=c)
    return img, draw, floor_y


def slots(rng, n: int, lo: int = 22, hi: int = SIZE - 22) -> list[int]:
    """``n`` x positions spread across the canvas, a little shuffled."""
    step = (hi - lo) / n
    return [int(lo + step * (i + 0.5) + rng.uniform(-step / 5, step / 5)) for i in range(n)]


# ---------------------------------------------------------------- landscapes
def lake(rng):
    img, draw, horizon, time = outdoor(rng, (50, 72))
    snowy = rng.random() < 0.5
    peaks = []
    for _ in range(int(rng.integers(1, 4))):
        x, top, half = (
            int(rng.integers(0, SIZE)),
            int(rng.integers(12, horizon - 12)),
            int(rng.integers(30, 60)),
        )
        rock = jitter(rng, pick(rng, [(110, 110, 130), (120, 100, 90), (95, 115, 105), (140, 130, 155)]))
        draw.polygon([(x - half, horizon), (x, top), (x + half, horizon)], fill=rock)
        if snowy:
            cap = (horizon - top) // 3
            w = half * cap // (horizon - top)
            draw.polygon([(x - w, top + cap), (x, top), (x + w, top + cap)], fill=(245, 245, 250))
        peaks.append((x, top, half, rock))
    water = jitter(rng, pick(rng, [(50, 110, 190), (40, 130, 170), (70, 140, 210)]))
    shore = int(rng.integers(horizon + 30, SIZE + 1)) if rng.random() < 0.6 else SIZE
    draw.rectangle((0, horizon, SIZE, shore), fill=water)
    for x, top, half, rock in peaks:  # reflections: what makes it read as still water
        depth = min(shore - horizon, (horizon - top) // 2)
        draw.polygon(
            [(x - half, horizon), (x, horizon + depth), (x + half, horizon)],
            fill=tuple((a + b) // 2 for a, b in zip(rock, water)),
        )
    for _ in range(int(rng.integers(3, 9))):
        x, y = int(rng.integers(0, SIZE)), int(rng.integers(horizon + 3, max(horizon + 4, shore - 2)))
        draw.line((x, y, x + int(rng.integers(6, 16)), y), fill=shade(water, 1.3), width=1)
    if shore < SIZE:
        draw.rectangle(
            (0, shore, SIZE, SIZE), fill=jitter(rng, pick(rng, [(90, 160, 70), (210, 190, 140)]))
        )
    return img, {"time": time, "snowy": snowy, "peaks": len(peaks)}


def boat(rng):
    img, draw, horizon, time = outdoor(rng, (48, 72), times=("day", "morning", "sunset"))
    sea = jitter(rng, pick(rng, [(30, 90, 170), (30, 120, 150), (20, 60, 120)]))
    _gradient(draw, shade(sea, 1.2), shade(sea, 0.8), horizon, SIZE)
    for _ in range(int(rng.integers(8, 20))):
        x, y = int(rng.integers(0, SIZE)), int(rng.integers(horizon + 4, SIZE))
        draw.arc((x, y, x + 10, y + 6), 200, 340, fill=shade(sea, 1.6), width=1)
    n = 1 if rng.random() < 0.75 else 2
    sail = rng.random() < 0.7
    hull_name = pick(rng, ["red", "white", "brown", "yellow", "blue", "black"])
    for i, x in enumerate(slots(rng, n)):
        s = rng.uniform(0.7, 1.1) if n == 1 else rng.uniform(0.45, 0.65)
        y = int(rng.integers(horizon + 15, SIZE - 12)) if n == 1 else horizon + 18 + 22 * i
        w, h = int(50 * s), int(12 * s)
        draw.polygon(
            [(x - w // 2, y - h), (x + w // 2, y - h), (x + w // 3, y), (x - w // 3, y)],
            fill=colour(rng, hull_name),
        )
        if sail:
            mast = int(48 * s)
            draw.line((x, y - h, x, y - h - mast), fill=(90, 60, 40), width=2)
            cloth = colour(rng, pick(rng, ["white", "white", "red", "yellow"]), 8)
            draw.polygon(
                [(x + 2, y - h - mast), (x + 2, y - h - 3), (x + int(26 * s), y - h - 3)], fill=cloth
            )
            if rng.random() < 0.6:
                draw.polygon(
                    [(x - 2, y - h - mast + 8), (x - 2, y - h - 3), (x - int(18 * s), y - h - 3)],
                    fill=cloth,
                )
        else:
            draw.rectangle((x - w // 5, y - h - int(10 * s), x + w // 6, y - h), fill=(235, 235, 235))
            draw.rectangle((x - w // 8, y - h - int(8 * s), x, y - h - int(4 * s)), fill=(120, 170, 220))
    for _ in range(int(rng.integers(0, 3))):  # gulls
        x, y = int(rng.integers(10, SIZE - 10)), int(rng.integers(8, horizon - 8))
        draw.line((x - 4, y - 2, x, y, x + 4, y - 2), fill=(60, 60, 60), width=1)
    return img, {"time": time, "count": n, "sail": sail, "colour": hull_name}


def _crown(draw, rng, x, y, rx, ry, leaves) -> None:
    for _ in range(5):  # a few overlapping blobs: a rounder, leafier crown than one ellipse
        dx, dy = int(rng.integers(-rx // 3, rx // 3 + 1)), int(rng.integers(-ry // 3, ry // 3 + 1))
        draw.ellipse(
            (x + dx - rx * 2 // 3, y + dy - ry * 2 // 3, x + dx + rx * 2 // 3, y + dy + ry * 2 // 3),
            fill=jitter(rng, leaves, 12),
        )
    draw.ellipse((x - rx // 2, y - ry // 2, x + rx // 2, y + ry // 2), fill=jitter(rng, leaves, 12))


def draw_tree(draw, rng, kind: str, x: int, base: int, s: float, season: str) -> None:
    """One tree standing on ``base``: 'beech' (grey trunk, wide crown), 'oak' or 'pine'."""
    leaves = {
        "summer": pick(rng, [(50, 140, 50), (70, 160, 60), (40, 110, 45)]),
        "autumn": pick(rng, [(220, 130, 40), (200, 80, 30), (230, 190, 60)]),
    }[season]
    if kind == "pine":
        h, w = int(70 * s), int(22 * s)
        draw.rectangle((x - 3, base - 10, x + 3, base), fill=(100, 65, 35))
        green = jitter(rng, (30, 100, 50), 12)
        for k in range(3):
            y0 = base - 8 - k * h // 4
            draw.polygon([(x - w + k * 4, y0), (x, y0 - h // 2), (x + w - k * 4, y0)], fill=green)
        return
    trunk = (165, 165, 160) if kind == "beech" else (110, 70, 40)
    th, tw = int(45 * s), int((6 if kind == "beech" else 8) * s) + 2
    draw.rectangle((x - tw // 2, base - th, x + tw // 2, base), fill=jitter(rng, trunk, 10))
    rx, ry = (int(30 * s), int(26 * s)) if kind == "beech" else (int(24 * s), int(24 * s))
    _crown(draw, rng, x, base - th - ry // 3, rx, ry, leaves)


def tree(rng):
    img, draw, horizon, time = outdoor(rng, (65, 95))
    if rng.random() < 0.4:
        draw.ellipse((-30, horizon - 15, SIZE + 30, horizon + 25), fill=jitter(rng, (80, 150, 70)))
    n = int(pick(rng, [1, 1, 2, 3, 4, 5]))
    season = "autumn" if rng.random() < 0.3 else "summer"
    kinds = [pick(rng, ["beech", "beech", "oak", "pine"]) for _ in range(n)]
    for x, k in zip(slots(rng, n, 18, SIZE - 18), kinds):
        s = rng.uniform(0.8, 1.15) if n <= 2 else rng.uniform(0.55, 0.8)
        draw_tree(draw, rng, k, x, int(rng.integers(horizon + 5, SIZE - 8)), s, season)
    for _ in range(int(rng.integers(0, 12))):  # grass tufts
        x, y = int(rng.integers(0, SIZE)), int(rng.integers(horizon + 2, SIZE))
        draw.line((x, y, x + 2, y - 4), fill=(40, 120, 40), width=1)
    return img, {"time": time, "count": n, "kinds": kinds, "season": season}


def snow(rng):
    img, draw, horizon, time = outdoor(
        rng, (55, 90), grass=(240, 244, 250), times=("day", "cloudy", "cloudy")
    )
    if rng.random() < 0.5:
        draw.ellipse((-40, horizon - 20, 90, horizon + 30), fill=(250, 250, 255))
    pond = rng.random() < 0.4
    if pond:
        x, y = int(rng.integers(10, 60)), int(rng.integers(horizon + 10, SIZE - 20))
        draw.ellipse(
            (x, y, x + 60, y + 18), fill=jitter(rng, (170, 220, 235), 10), outline=(230, 245, 250)
        )
        draw.line((x + 12, y + 6, x + 30, y + 11), fill=(240, 250, 255), width=1)
    snowman = rng.random() < 0.75
    hat, scarf = None, False
    if snowman:
        x, base = int(rng.integers(30, SIZE - 30)), int(rng.integers(horizon + 20, SIZE - 4))
        s = rng.uniform(0.7, 1.1)
        r1, r2, r3 = int(16 * s), int(12 * s), int(9 * s)
        y1 = base - r1
        y2 = y1 - r1 - r2 + 4
        y3 = y2 - r2 - r3 + 3
        for y, r in ((y1, r1), (y2, r2), (y3, r3)):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(250, 250, 252), outline=(180, 195, 215))
        draw.ellipse((x - 4, y3 - 3, x - 2, y3 - 1), fill=(20, 20, 20))
        draw.ellipse((x + 2, y3 - 3, x + 4, y3 - 1), fill=(20, 20, 20))
        draw.polygon([(x, y3), (x, y3 + 3), (x + 9, y3 + 2)], fill=(240, 130, 30))
        for dy in (-4, 2):
            draw.ellipse((x - 1, y2 + dy, x + 1, y2 + dy + 2), fill=(20, 20, 20))
        draw.line((x - r2, y2, x - r2 - 12, y2 - 8), fill=(100, 70, 40), width=2)
        draw.line((x + r2, y2, x + r2 + 12, y2 - 8), fill=(100, 70, 40), width=2)
        if rng.random() < 0.6:
            # The name is picked before the shade is jittered, as it always was: same pixels.
            hat = pick(rng, HAT_COLOURS)
            fill = colour(rng, hat)
            draw.rectangle((x - r3, y3 - r3 - 1, x + r3, y3 - r3 + 2), fill=fill)
            draw.rectangle((x - r3 + 3, y3 - r3 - 10, x + r3 - 3, y3 - r3), fill=fill)
        scarf = rng.random() < 0.5
        if scarf:
            draw.rectangle((x - r2 + 2, y2 - r2 + 2, x + r2 - 2, y2 - r2 + 5), fill=colour(rng, "red"))
    falling = rng.random() < 0.75
    for _ in range(int(rng.integers(25, 70)) if falling else 0):
        x, y, r = int(rng.integers(0, SIZE)), int(rng.integers(0, SIZE)), int(rng.integers(1, 3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255))
    return img, {"time": time, "snowman": snowman, "hat": hat, "scarf": scarf, "pond": pond,
                 "falling": falling}


def night(rng):
    img = Image.new("RGB", (SIZE, SIZE))
    draw = ImageDraw.Draw(img)
    top, bottom = pick(rng, NIGHT_SKIES)
    _gradient(draw, jitter(rng, top, 5), jitter(rng, bottom, 10), 0, SIZE)
    for _ in range(int(rng.integers(25, 90))):
        x, y = int(rng.integers(0, SIZE)), int(rng.integers(0, SIZE))
        c = pick(rng, [(255, 255, 255), (255, 250, 200), (200, 210, 255)])
        if rng.random() < 0.1:
            draw.line((x - 3, y, x + 3, y), fill=c)
            draw.line((x, y - 3, x, y + 3), fill=c)
        else:
            draw.point((x, y), fill=c)
            if rng.random() < 0.4:
                draw.point((x + 1, y), fill=c)
    moon = pick(rng, ["full", "crescent", "crescent", "none"])
    if moon != "none":
        x, y, r = int(rng.integers(20, SIZE - 20)), int(rng.integers(14, 50)), int(rng.integers(9, 16))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=jitter(rng, (250, 245, 200), 6))
        if moon == "crescent":
            d = int(r * rng.uniform(0.4, 0.7))
            sky_c = img.getpixel((min(SIZE - 1, x + r + 3), y))
            draw.ellipse((x - r + d, y - r - 2, x + r + d, y + r - 2), fill=sky_c)
        else:
            draw.ellipse((x - r // 2, y - r // 3, x - r // 6, y), fill=(225, 220, 185))
    land = pick(rng, ["hills", "city", "none"])
    if land == "hills":
        for _ in range(2):
            x = int(rng.integers(-20, SIZE))
            draw.ellipse(
                (x - 60, int(rng.integers(95, 115)), x + 60, SIZE + 60),
                fill=jitter(rng, (15, 20, 30), 6),
            )
    elif land == "city":
        x = 0
        while x < SIZE:
            w, h = int(rng.integers(10, 22)), int(rng.integers(15, 45))
            draw.rectangle((x, SIZE - h, x + w, SIZE), fill=jitter(rng, (20, 20, 30), 6))
            for _ in range(int(rng.integers(0, 4))):
                wx, wy = x + int(rng.integers(2, max(3, w - 3))), SIZE - int(rng.integers(4, h))
                draw.rectangle((wx, wy, wx + 2, wy + 2), fill=(240, 210, 100))
            x += w + int(rng.integers(0, 4))
    if rng.random() < 0.2:  # shooting star
        x, y = int(rng.integers(10, 80)), int(rng.integers(10, 50))
        draw.line((x, y, x + 25, y + 10), fill=(255, 255, 230), width=1)
    return img, {"moon": moon, "land": land}
