"""Private painters for :mod:`imgsearch_helpers.clipart`: animals and things.

The landscapes and the shared helpers (skies, rooms, colours) are in
``_draw``. Every painter takes the numpy ``Generator`` and returns the
image and the attributes it chose, from which ``clipart`` writes the captions.
"""

from __future__ import annotations

import numpy as np

from ._draw import SIZE, shade, slots, colour, indoor, jitter, outdoor, pick


# ---------------------------------------------------------------- animals
def draw_cat(draw, rng, x: int, base: int, s: float, fur, tabby: bool) -> None:
    """A sitting cat facing us, its bottom on ``base``."""
    bw, bh, hr = int(16 * s), int(20 * s), int(12 * s)
    dark = shade(fur, 0.65)
    side = pick(rng, [-1, 1])
    draw.line(
        (
            x + side * bw // 2,
            base - 3,
            x + side * (bw + 8),
            base - bh,
            x + side * (bw + 4),
            base - bh - int(10 * s),
        ),
        fill=fur,
        width=max(2, int(4 * s)),
    )
    draw.ellipse((x - bw, base - 2 * bh, x + bw, base), fill=fur)
    hy = base - 2 * bh - hr // 2
    for e in (-1, 1):  # pointed ears: the cat/dog cue
        draw.polygon(
            [
                (x + e * hr, hy - hr // 3),
                (x + e * hr // 3, hy - hr + 1),
                (x + e * int(hr * 0.95), hy - int(hr * 1.6)),
            ],
            fill=fur,
        )
        draw.polygon(
            [
                (x + e * int(hr * 0.8), hy - hr // 2),
                (x + e * hr // 2, hy - hr + 2),
                (x + e * int(hr * 0.85), hy - int(hr * 1.3)),
            ],
            fill=(240, 170, 180),
        )
    draw.ellipse((x - hr, hy - hr, x + hr, hy + hr), fill=fur)
    if tabby:
        for k in (-1, 0, 1):
            draw.line((x + k * hr // 3, hy - hr + 1, x + k * hr // 3, hy - hr // 2), fill=dark, width=1)
            draw.line(
                (x - bw + 3, base - bh + k * 6, x - bw // 3, base - bh + k * 6 - 2), fill=dark, width=2
            )
            draw.line(
                (x + bw - 3, base - bh + k * 6, x + bw // 3, base - bh + k * 6 - 2), fill=dark, width=2
            )
    eye = pick(rng, [(120, 200, 60), (230, 200, 40), (90, 160, 220)])
    for e in (-1, 1):
        ex = x + e * hr * 2 // 5
        draw.ellipse((ex - 3, hy - 4, ex + 3, hy + 1), fill=eye)
        draw.line((ex, hy - 3, ex, hy), fill=(10, 10, 10))
    draw.polygon([(x - 2, hy + 3), (x + 2, hy + 3), (x, hy + 5)], fill=(240, 120, 140))
    wc = (250, 250, 250) if sum(fur) < 200 else (60, 60, 60)
    for e in (-1, 1):
        for dy in (-1, 2):
            draw.line((x + e * 3, hy + 5, x + e * (hr + 6), hy + 5 + dy * 2), fill=wc, width=1)


def draw_dog(draw, rng, x: int, base: int, s: float, fur, spots: bool, collar) -> None:
    """A standing dog seen from the side, feet on ``base``; faces a random way."""
    f = pick(rng, [-1, 1])
    bw, bh = int(22 * s), int(11 * s)
    by = base - int(14 * s) - bh
    dark = shade(fur, 0.6)
    for lx in (-bw + 5, -bw + 11, bw - 11, bw - 5):
        draw.rectangle((x + lx - 2, by, x + lx + 2, base), fill=fur)
    draw.line(
        (x - f * bw, by - 2, x - f * (bw + 8), by - int(14 * s)), fill=fur, width=max(2, int(3 * s))
    )
    draw.ellipse((x - bw, by - bh, x + bw, by + bh), fill=fur)
    if spots:
        for _ in range(3):
            sx, sy = x + int(rng.integers(-bw + 5, bw - 5)), by + int(rng.integers(-bh + 3, bh - 3))
            draw.ellipse((sx - 4, sy - 3, sx + 4, sy + 3), fill=(30, 30, 30))
    hx, hy, hr = x + f * (bw + 2), by - bh - int(6 * s), int(10 * s)
    draw.ellipse((hx - hr, hy - hr, hx + hr, hy + hr), fill=fur)
    draw.ellipse(
        (hx + f * hr // 2 - int(8 * s), hy, hx + f * hr // 2 + int(8 * s), hy + int(9 * s)), fill=fur
    )  # snout
    nx = hx + f * (hr // 2 + int(7 * s))
    draw.ellipse((nx - 2, hy + 1, nx + 2, hy + 4), fill=(15, 15, 15))
    draw.ellipse((hx + f * 2 - 2, hy - 4, hx + f * 2 + 2, hy), fill=(15, 15, 15))
    ex = hx - f * hr // 2  # floppy ear hanging down: the dog/cat cue
    draw.ellipse((ex - int(4 * s), hy - hr + 2, ex + int(4 * s), hy + int(8 * s)), fill=dark)
    if collar is not None:
        draw.line((hx - f * 6, hy + hr - 1, hx + f * 2, hy + hr + 3), fill=collar, width=3)


def _animal_background(rng):
    if rng.random() < 0.5:
        img, draw, floor_y = indoor(rng)
        return img, draw, floor_y, "indoors"
    img, draw, horizon, _ = outdoor(rng, (55, 80), times=("day", "morning", "cloudy"))
    return img, draw, horizon, "outdoors"


CAT_FURS = ["orange", "grey", "black", "white", "brown", "cream"]
DOG_FURS = ["brown", "golden", "black", "white", "grey"]


def cat(rng):
    img, draw, floor_y, place = _animal_background(rng)
    n = int(pick(rng, [1, 1, 1, 1, 2, 3]))
    furs = [pick(rng, CAT_FURS) for _ in range(n)]
    tabby = rng.random() < 0.6
    for x, name in zip(slots(rng, n), furs):
        s = rng.uniform(1.0, 1.35) if n == 1 else rng.uniform(0.7, 0.95)
        base = int(rng.integers(max(floor_y + 8, 60 + int(30 * s)), SIZE - 3))
        draw_cat(draw, rng, x, base, s, colour(rng, name), tabby and name in ("orange", "grey", "brown"))
    return img, {"count": n, "furs": furs, "tabby": tabby, "place": place}


def dog(rng):
    img, draw, floor_y, place = _animal_background(rng)
    n = int(pick(rng, [1, 1, 1, 2]))
    furs = [pick(rng, DOG_FURS) for _ in range(n)]
    ball = rng.random() < 0.35
    collar = colour(rng, pick(rng, ["red", "blue"])) if rng.random() < 0.5 else None
    for x, name in zip(slots(rng, n), furs):
        s = rng.uniform(1.1, 1.5) if n == 1 else rng.uniform(0.7, 0.9)
        base = int(rng.integers(max(floor_y + 10, 80), SIZE - 3))
        draw_dog(
            draw, rng, x, base, s, colour(rng, name), name == "white" and rng.random() < 0.6, collar
        )
    if ball:
        x, y = int(rng.integers(10, SIZE - 10)), int(rng.integers(max(floor_y + 8, 90), SIZE - 6))
        draw.ellipse(
            (x - 5, y - 5, x + 5, y + 5), fill=colour(rng, pick(rng, ["red", "yellow", "blue"]))
        )
    return img, {"count": n, "furs": furs, "ball": ball, "place": place}


# ---------------------------------------------------------------- things
LUXURY_PAINT = ["black", "silver", "white", "blue"]
CAR_PAINT = ["red", "blue", "yellow", "green", "orange", "white", "grey"]


def draw_car(draw, rng, x: int, base: int, s: float, paint, luxury: bool) -> None:
    """A sedan seen from the side, wheels on ``base``; a luxury one is longer and chromed."""
    half = int((46 if luxury else 36) * s)
    bh = int((12 if luxury else 14) * s)
    top = base - int(7 * s) - bh
    draw.rounded_rectangle((x - half, top, x + half, base - int(5 * s)), radius=int(5 * s), fill=paint)
    ch = int(13 * s)
    glass = (170, 200, 225)
    draw.polygon(
        [
            (x - half * 6 // 10, top),
            (x - half * 4 // 10, top - ch),
            (x + half * 3 // 10, top - ch),
            (x + half * 6 // 10, top),
        ],
        fill=paint,
    )
    draw.polygon(
        [
            (x - half * 5 // 10, top - 1),
            (x - half * 4 // 10 + 2, top - ch + 3),
            (x - 2, top - ch + 3),
            (x - 2, top - 1),
        ],
        fill=glass,
    )
    draw.polygon(
        [
            (x + 2, top - 1),
            (x + 2, top - ch + 3),
            (x + half * 3 // 10 - 1, top - ch + 3),
            (x + half * 5 // 10, top - 1),
        ],
        fill=glass,
    )
    if luxury:
        draw.line(
            (x - half + 3, top + bh // 2, x + half - 3, top + bh // 2), fill=(235, 235, 240), width=2
        )
        draw.rectangle((x + half - 3, top + 2, x + half, top + bh - 2), fill=(220, 220, 225))
    draw.rectangle((x + half - 4, top + 2, x + half, top + 5), fill=(255, 240, 150))
    draw.rectangle((x - half, top + 2, x - half + 3, top + 5), fill=(220, 30, 30))
    r = int(8 * s)
    for wx in (x - half * 6 // 10, x + half * 6 // 10):
        draw.ellipse((wx - r, base - 2 * r, wx + r, base), fill=(25, 25, 25))
        draw.ellipse(
            (wx - r // 2, base - r - r // 2, wx + r // 2, base - r // 2),
            fill=(200, 200, 205) if luxury else (140, 140, 140),
        )


def car(rng):
    img, draw, horizon, time = outdoor(rng, (55, 80), grass=(110, 150, 90))
    if rng.random() < 0.5:
        x = 0
        while x < SIZE:
            w, h = int(rng.integers(12, 26)), int(rng.integers(15, 45))
            draw.rectangle((x, horizon - h, x + w, horizon), fill=jitter(rng, (150, 150, 165), 20))
            x += w + int(rng.integers(2, 8))
    road = int(rng.integers(horizon + 8, 95))
    draw.rectangle((0, road, SIZE, SIZE), fill=jitter(rng, (85, 85, 90), 10))
    lane = int((road + SIZE) / 2) + 8
    for x in range(int(rng.integers(0, 10)), SIZE, 20):
        draw.rectangle((x, lane, x + 10, lane + 2), fill=(240, 240, 240))
    n = 1 if rng.random() < 0.8 else 2
    luxury = rng.random() < 0.45
    paints = [pick(rng, LUXURY_PAINT if luxury else CAR_PAINT) for _ in range(n)]
    for i, (x, p) in enumerate(zip(slots(rng, n), paints)):
        s = rng.uniform(0.9, 1.2) if n == 1 else rng.uniform(0.55, 0.7)
        base = int(rng.integers(road + 14, SIZE - 2)) if n == 1 else road + 16 + 10 * i
        draw_car(draw, rng, x, min(base, SIZE - 2), s, colour(rng, p, 12), luxury)
    return img, {"time": time, "count": n, "paints": paints, "luxury": luxury}


def house(rng):
    img, draw, horizon, time = outdoor(rng, (60, 85))
    w, h = int(rng.integers(40, 72)), int(rng.integers(28, 44))
    x = int(rng.integers(8 + w // 2, SIZE - 8 - w // 2))
    base = int(rng.integers(max(horizon + 15, h + 40), SIZE - 6))
    wall_name = pick(rng, ["white", "cream", "yellow", "pink", "blue", "red", "grey"])
    wall = (
        colour(rng, wall_name)
        if wall_name not in ("blue", "red")
        else shade(colour(rng, wall_name), 1.3)
    )
    roof_name = pick(rng, ["red", "brown", "grey", "blue", "black"])
    roof = colour(rng, roof_name)
    chimney = rng.random() < 0.5
    if chimney:
        cx = x + w // 4
        draw.rectangle((cx, base - h - 26, cx + 7, base - h - 5), fill=(140, 60, 50))
        for k in range(int(rng.integers(0, 4))):
            draw.ellipse(
                (cx + 2 + 4 * k, base - h - 34 - 7 * k, cx + 9 + 5 * k, base - h - 28 - 7 * k),
                fill=(200, 200, 205),
            )
    draw.rectangle((x - w // 2, base - h, x + w // 2, base), fill=wall)
    draw.polygon(
        [
            (x - w // 2 - 6, base - h),
            (x, base - h - int(rng.integers(18, 30))),
            (x + w // 2 + 6, base - h),
        ],
        fill=roof,
    )
    door = colour(rng, pick(rng, ["brown", "red", "blue", "green"]))
    draw.rectangle((x - 5, base - 18, x + 5, base), fill=door)
    draw.point((x + 3, base - 9), fill=(240, 220, 90))
    lit = (250, 225, 120) if time == "sunset" else (170, 210, 240)
    for wx in (x - w // 3, x + w // 3 - 10):
        draw.rectangle((wx, base - h + 8, wx + 10, base - h + 18), fill=lit, outline=(250, 250, 250))
        draw.line((wx + 5, base - h + 8, wx + 5, base - h + 18), fill=(250, 250, 250))
    fence = rng.random() < 0.4
    if fence:
        for fx in range(0, SIZE, 7):
            if abs(fx - x) > 8:
                draw.rectangle((fx, base - 8, fx + 3, base + 2), fill=(245, 245, 245))
        draw.line((0, base - 5, SIZE, base - 5), fill=(245, 245, 245), width=2)
    return img, {"time": time, "wall": wall_name, "roof": roof_name, "chimney": chimney, "fence": fence}


FLOWER_COLOURS = ["red", "pink", "yellow", "white", "purple", "orange", "blue"]


def draw_flower(draw, rng, x: int, y: int, base: int, kind: str, petal) -> None:
    """One flower: a stem from ``base`` up to a ``kind`` head ('daisy', 'tulip', 'rose') at (x, y)."""
    draw.line((x, y, x + int(rng.integers(-4, 5)), base), fill=(50, 140, 50), width=2)
    draw.ellipse((x - 8, (y + base) // 2 - 2, x, (y + base) // 2 + 3), fill=(60, 160, 60))
    if kind == "daisy":
        for a in np.linspace(0, 2 * np.pi, 8, endpoint=False):
            px, py = x + 6 * np.cos(a), y + 6 * np.sin(a)
            draw.ellipse((px - 4, py - 4, px + 4, py + 4), fill=petal)
        draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(240, 190, 40))
    elif kind == "tulip":
        draw.ellipse((x - 7, y - 6, x + 7, y + 8), fill=petal)
        for dx in (-5, 0, 5):
            draw.polygon([(x + dx - 3, y), (x + dx, y - 10), (x + dx + 3, y)], fill=petal)
    else:
        draw.ellipse((x - 8, y - 8, x + 8, y + 8), fill=petal)
        draw.ellipse((x - 5, y - 5, x + 5, y + 5), fill=shade(petal, 0.8))
        draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=shade(petal, 0.6))


def flower(rng):
    vase = rng.random() < 0.3
    if vase:
        img, draw, floor_y = indoor(rng)
        table = int(rng.integers(95, 110))
        draw.rectangle((0, table, SIZE, SIZE), fill=jitter(rng, (160, 110, 70)))
        vx = int(rng.integers(40, 88))
        vc = colour(rng, pick(rng, ["blue", "white", "grey", "brown"]))
        draw.polygon(
            [(vx - 10, table - 30), (vx + 10, table - 30), (vx + 14, table), (vx - 14, table)], fill=vc
        )
        time, base, xs = None, table - 28, [vx + d for d in (-16, -6, 6, 16)][: int(rng.integers(2, 5))]
        ys = [int(rng.integers(28, 50)) for _ in xs]
    else:
        img, draw, horizon, time = outdoor(rng, (40, 70), times=("day", "morning", "cloudy"))
        n = int(pick(rng, [1, 2, 3, 5, 7]))
        xs = slots(rng, n, 12, SIZE - 12)
        base = SIZE
        ys = [int(rng.integers(horizon + 5, SIZE - 25)) for _ in xs]
    kind = pick(rng, ["daisy", "tulip", "rose"])
    names = (
        [pick(rng, FLOWER_COLOURS)] if rng.random() < 0.6 else [pick(rng, FLOWER_COLOURS) for _ in xs]
    )
    if kind == "daisy":  # there are no blue or orange daisies
        names = [n if n not in ("blue", "orange") else "white" for n in names]
    for i, (x, y) in enumerate(zip(xs, ys)):
        name = names[i % len(names)]
        draw_flower(
            draw,
            rng,
            int(x),
            y,
            base if vase else min(SIZE, y + int(rng.integers(25, 50))),
            kind,
            colour(rng, name, 12),
        )
    return img, {
        "time": time,
        "count": len(xs),
        "vase": vase,
        "kind": kind,
        "colours": sorted(set(names)),
    }
