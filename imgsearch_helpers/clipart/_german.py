"""Private German caption writers for :mod:`imgsearch_helpers.clipart` (see ``_languages``).

Each kind's writer takes the attributes the painter chose, as the English one in
``_captions`` does, and writes phrases a German speaker would write: adjective endings
follow gender and case (ein schwarzes Auto, mit einem roten Dach), "von dem" becomes "vom".
"""

from __future__ import annotations

from ._draw import pick

# colour -> stem; the ending follows gender and case. "rosa" and "lila" never change.
_DE_STEM = {
    "red": "rot",
    "blue": "blau",
    "yellow": "gelb",
    "green": "grün",
    "white": "weiß",
    "black": "schwarz",
    "orange": "orangefarben",
    "pink": "rosa",
    "purple": "lila",
    "grey": "grau",
    "brown": "braun",
    "silver": "silbern",
    "cream": "cremefarben",
    "golden": "golden",
}
_DE_INVARIABLE = {"rosa", "lila"}
_DE_COUNT = {2: "zwei", 3: "drei", 4: "vier", 5: "fünf", 7: "sieben"}
_DE_PLACE = {
    "indoors": ["drinnen", "in einem Zimmer", "auf dem Boden", "zu Hause", "auf einem Teppich"],
    "outdoors": ["draußen", "auf dem Gras", "im Garten", "im Freien", "auf dem Rasen"],
}
DE_TIME = {
    "day": ["an einem sonnigen Tag", "bei Tageslicht"],
    "morning": ["am Morgen", "im Morgengrauen"],
    "sunset": ["bei Sonnenuntergang", "am Abend"],
    "cloudy": ["an einem bewölkten Tag", "unter grauem Himmel"],
}
DE_PREFIXES = ["ein Foto von ", "ein Bild von ", "eine Zeichnung von "]


def _de(colour: str, ending: str) -> str:
    """The adjective with ``ending``: "er"/"e"/"es" after ein(e), "e" for a plural alone, "en" after einem."""
    stem = _DE_STEM[colour]
    return stem if stem in _DE_INVARIABLE else stem + ending


def _de_lake(a, rng):
    if a["snowy"]:
        nom, dat = pick(
            rng,
            [
                ("schneebedeckte Berge", "schneebedeckten Bergen"),
                ("verschneite Gipfel", "verschneiten Gipfeln"),
            ],
        )
        plural = True
    elif a["peaks"] > 1:
        (nom, dat), plural = pick(rng, [("Berge", "Bergen"), ("Hügel", "Hügeln")]), True
    else:
        (nom, dat), plural = (
            pick(rng, [("ein Berg", "einem Berg"), ("ein Hügel", "einem Hügel")]),
            False,
        )
    lk = pick(rng, ["See", "See", "Teich"])
    reflect = f"{nom} spiegeln sich im Wasser" if plural else f"{nom} spiegelt sich im Wasser"
    return [
        f"ein {lk} mit {dat}",
        "ein See",
        f"ein ruhiger {lk} unter {dat}",
        reflect,
        "ein Bergsee",
        "ein Teich",
        f"ein stiller {lk} in der Natur",
        f"eine Landschaft mit einem {lk} und {dat}",
        f"blaues Wasser und {nom}",
        f"ein friedlicher {lk}",
        f"ein hübscher {lk}",
        "eine Berglandschaft",
    ]


def _de_tree(a, rng):
    names = {"beech": ["Buche"], "oak": ["Eiche"], "pine": ["Kiefer", "Tanne"]}  # all feminine
    leaves = (
        "grünen Blättern"
        if a["season"] == "summer"
        else pick(rng, ["Herbstlaub", "orangefarbenen Blättern"])
    )
    n, kinds = a["count"], a["kinds"]
    if n == 1:
        t = pick(rng, names[kinds[0]])
        out = [
            f"eine {t}",
            "ein Baum",
            f"eine große {t}",
            f"eine einzelne {t} auf einem Feld",
            f"eine {t} mit {leaves}",
            "ein einzelner Baum",
            f"eine {t} auf einer Wiese",
        ]
    else:
        out = [
            f"{_DE_COUNT[n]} Bäume",
            "Bäume",
            "eine Gruppe von Bäumen",
            f"Bäume mit {leaves}",
            "Bäume in einem Park",
            "eine Reihe von Bäumen",
        ]
        if n >= 4:
            out += ["ein Wald", "ein kleiner Wald", "ein Wäldchen voller Bäume"]
        if all(k == "pine" for k in kinds):
            out += ["ein Kiefernwald", f"{_DE_COUNT[n]} Tannen"]
    if a["season"] == "autumn":
        out += ["ein Baum im Herbst", "bunte Herbstfarben"]
    return out + ["Bäume in der Natur", "ein Baum wächst auf einem Feld"]


def _de_animals(a, rng, sing, plural, pose, feminine):
    n, place = a["count"], pick(rng, _DE_PLACE[a["place"]])
    noun = pick(rng, sing)
    art, end = (
        ("eine", "e")
        if feminine and noun == sing[0]
        else ("ein", "es" if noun.endswith("chen") else "er")
    )
    fur = a["furs"][0] if len(set(a["furs"])) == 1 else None
    if n == 1:
        coat = _de(a["furs"][0], end)
        return [
            f"{art} {coat} {noun}",
            f"{art} {noun}",
            f"{art} {noun} {place}",
            f"{art} süß{end} {noun}",
            f"{art} klein{end} {noun}",
            f"{art} {coat} {noun} {place}",
            f"{art} {pose}{end} {noun} {place}",
        ]
    pl = pick(rng, plural)
    out = [
        f"{_DE_COUNT[n]} {pl}",
        f"{_DE_COUNT[n]} {pl} {place}",
        f"eine Gruppe von {pl}",
        f"{pl} zusammen",
        f"{_DE_COUNT[n]} Haustiere",
    ]
    return out + [
        f"{_DE_COUNT[n]} {_de(fur, 'e')} {pl}" if fur else f"{pl} in verschiedenen Farben"
    ]


def _de_cat(a, rng):
    tabby = a["tabby"] and any(f in ("orange", "grey", "brown") for f in a["furs"])
    out = _de_animals(
        a, rng, ["Katze", "Kätzchen", "Katze"], ["Katzen", "Kätzchen"], "sitzend", True
    )
    if tabby:
        out += (
            ["eine getigerte Katze", "eine gestreifte Katze"]
            if a["count"] == 1
            else ["getigerte Katzen"]
        )
    return out + ["eine Katze mit Schnurrhaaren", "ein Stubentiger"]


def _de_dog(a, rng):
    out = _de_animals(a, rng, ["Hund", "Welpe", "Hund"], ["Hunde", "Welpen"], "stehend", False)
    if a["ball"]:
        out += [
            "ein Hund spielt mit einem Ball",
            "ein Welpe und ein Ball",
            "ein verspielter Hund mit Spielzeug",
        ]
    return out + ["ein Hund mit Schlappohren", "ein treuer Hund", "ein verspielter Hund"]


def _de_car(a, rng):
    n, paint = a["count"], a["paints"][0]
    if a["luxury"]:
        noun, art, end = pick(
            rng,
            [
                ("Luxuslimousine", "eine", "e"),
                ("Luxusauto", "ein", "es"),
                ("Limousine", "eine", "e"),
                ("Nobelkarosse", "eine", "e"),
            ],
        )
        out = [
            f"{art} {_de(paint, end)} {noun}",
            "ein elegantes Auto",
            "ein teures Auto",
            "ein schicker Wagen",
            "eine Limousine",
            f"{art} glänzend{end} {_de(paint, end)} {noun}",
        ]
    else:
        noun, art, end = pick(
            rng,
            [
                ("Auto", "ein", "es"),
                ("Wagen", "ein", "er"),
                ("Auto", "ein", "es"),
                ("Kleinwagen", "ein", "er"),
            ],
        )
        out = [f"{art} {_de(paint, end)} {noun}", "ein Familienauto", "ein kleines Auto"]
    if n == 1:
        out += [
            f"{art} {noun}",
            "ein Auto",
            f"{art} {noun} auf der Straße",
            f"{art} {noun} parkt am Straßenrand",
            f"{art} {noun} fährt die Straße entlang",
        ]
    else:
        out += [
            "zwei Autos auf der Straße",
            "zwei Fahrzeuge",
            "Autos fahren auf einer Straße",
            "Straßenverkehr",
        ]
    return out


def _de_house(a, rng):
    noun, art, end = pick(
        rng,
        [
            ("Haus", "ein", "es"),
            ("Haus", "ein", "es"),
            ("Häuschen", "ein", "es"),
            ("Landhaus", "ein", "es"),
        ],
    )
    out = [
        f"{art} {noun}",
        f"{art} {_de(a['wall'], end)} {noun}",
        f"{art} {noun} mit einem {_de(a['roof'], 'en')} Dach",
        "ein Haus",
        f"{art} {noun} mit Tür und Fenstern",
        "ein Einfamilienhaus",
        f"{art} hübsch{end} {noun}",
        "ein kleines Haus",
        "ein gemütliches Häuschen",
    ]
    if a["chimney"]:
        out += [f"{art} {noun} mit einem Schornstein", "Rauch steigt aus dem Schornstein"]
    if a["fence"]:
        out += [f"{art} {noun} hinter einem weißen Zaun", "ein Haus mit einem Gartenzaun"]
    return out


def _de_boat(a, rng):
    if a["sail"]:
        noun = pick(rng, ["Segelboot", "Segelschiff", "Segelboot", "Boot"])
        extra = ["ein Boot mit einem weißen Segel", "ein Segelboot auf See"]
    else:
        noun = pick(rng, ["Motorboot", "Boot", "Schiff", "Fischerboot"])
        extra = ["ein Motorboot", "ein kleines Fischerboot"]
    water = pick(rng, ["dem Wasser", "dem Meer", "dem Ozean", "den Wellen"])
    out = [
        f"ein {_de(a['colour'], 'es')} {noun}",
        f"ein {noun} auf {water}",
        f"ein {noun} treibt auf {water}",
        "ein Boot",
        "ein Schiff auf See",
        "ein Boot auf ruhigem Wasser",
    ]
    if a["count"] == 2:
        out += ["zwei Boote auf dem Wasser", "Boote auf dem Meer"]
    return out + extra


def _de_snow(a, rng):
    out = [
        "Schnee",
        "eine verschneite Landschaft",
        "ein Wintertag",
        "der Winter",
        "eine kalte Winterlandschaft",
        "weißer Schnee auf dem Boden",
        "ein schneebedecktes Feld",
    ]
    if a["snowman"]:
        out += ["ein Schneemann", "ein Schneemann im Schnee", "ein fröhlicher Schneemann"]
    if a["pond"]:
        out += ["ein zugefrorener Teich", "Eis auf einem zugefrorenen Teich", "Schnee und Eis"]
    if a["falling"]:
        out += ["fallender Schnee", "Schneeflocken", "Schnee fällt vom Himmel"]
    return out


def _de_night(a, rng):
    out = [
        "der Nachthimmel",
        "eine sternenklare Nacht",
        "Sterne am Nachthimmel",
        "ein dunkler Himmel voller Sterne",
        "die Nacht",
        "eine klare Nacht mit Sternen",
        "funkelnde Sterne",
        "der Himmel um Mitternacht",
    ]
    if a["moon"] != "none":
        out += [
            "der Vollmond" if a["moon"] == "full" else "eine Mondsichel",
            "der Mond am Nachthimmel",
            "Mondlicht",
        ]
    if a["land"] == "city":
        out += ["eine Stadt bei Nacht", "die Lichter der Stadt unter den Sternen"]
    if a["land"] == "hills":
        out += ["dunkle Hügel unter den Sternen"]
    return out


def _de_flower(a, rng):
    sing, plural, art, end = {
        "daisy": ("Gänseblümchen", "Gänseblümchen", "ein", "es"),
        "tulip": ("Tulpe", "Tulpen", "eine", "e"),
        "rose": ("Rose", "Rosen", "eine", "e"),
    }[a["kind"]]
    one = len(a["colours"]) == 1
    n = a["count"]
    many = _de(a["colours"][0], "e") if one else "bunte"
    out = [
        "Blumen" if n > 1 else "eine Blume",
        f"{many} Blumen"
        if n > 1
        else f"eine {_de(a['colours'][0], 'e') if one else 'bunte'} Blume",
        "Frühlingsblumen",
        "schöne Blumen",
        "Blüten",
    ]
    if n == 1:
        out += [f"{art} {_de(a['colours'][0], end)} {sing}", f"{art} {sing}"]
    else:
        out += [f"{_DE_COUNT[n]} {many} {plural}", plural]
    if n >= 5:
        out += [f"ein Feld voller {plural}", f"ein Garten voller {plural}"]
    if a["vase"]:
        out += [
            "eine Vase mit Blumen",
            f"ein Strauß {plural}",
            "ein Blumenstrauß",
            f"{plural} in einer Vase",
        ]
    elif n > 1:
        out += [f"{many} Blumen in einem Garten", f"{plural} wachsen in einem Garten"]
    return out


def de_framed(prefix: str, dative: str) -> str:
    """``prefix`` ("ein Bild von ") before a dative phrase; "von dem" contracts to "vom"."""
    if dative.startswith("dem ") and prefix.endswith("von "):
        return prefix[: -len("von ")] + "vom " + dative[len("dem ") :]
    return prefix + dative


CAPTIONERS = {
    "lake": _de_lake,
    "tree": _de_tree,
    "cat": _de_cat,
    "car": _de_car,
    "house": _de_house,
    "boat": _de_boat,
    "snow": _de_snow,
    "night": _de_night,
    "flower": _de_flower,
    "dog": _de_dog,
}
KIND_PHRASE = {
    "lake": "ein See",
    "tree": "ein Baum",
    "cat": "eine Katze",
    "car": "ein Auto",
    "house": "ein Haus",
    "boat": "ein Boot",
    "snow": "Schnee",
    "night": "der Nachthimmel",
    "flower": "eine Blume",
    "dog": "ein Hund",
}
# The same in the dative, for "ein Foto von einem See".
DATIVE = {
    "lake": "einem See",
    "tree": "einem Baum",
    "cat": "einer Katze",
    "car": "einem Auto",
    "house": "einem Haus",
    "boat": "einem Boot",
    "snow": "Schnee",
    "night": "dem Nachthimmel",
    "flower": "einer Blume",
    "dog": "einem Hund",
}
# Phrases true of every scene of a kind (as _captions.GENERIC).
GENERIC = {
    "lake": ["ein Bergsee", "ein See", "ein Teich"],
    "tree": ["Bäume in der Natur", "ein Baum", "ein Baum wächst auf einem Feld"],
    "cat": ["ein Stubentiger", "eine Katze", "eine Katze mit Schnurrhaaren"],
    "car": ["ein Auto"],
    "house": ["ein Einfamilienhaus", "ein Haus", "ein gemütliches Häuschen", "ein kleines Haus"],
    "boat": ["ein Boot", "ein Boot auf ruhigem Wasser", "ein Schiff auf See"],
    "snow": [
        "Schnee",
        "der Winter",
        "ein Wintertag",
        "ein schneebedecktes Feld",
        "eine kalte Winterlandschaft",
        "eine verschneite Landschaft",
        "weißer Schnee auf dem Boden",
    ],
    "night": [
        "Sterne am Nachthimmel",
        "der Himmel um Mitternacht",
        "der Nachthimmel",
        "die Nacht",
        "ein dunkler Himmel voller Sterne",
        "eine klare Nacht mit Sternen",
        "eine sternenklare Nacht",
        "funkelnde Sterne",
    ],
    "flower": ["Blüten", "Frühlingsblumen", "eine Blume", "schöne Blumen"],
    "dog": ["ein Hund", "ein Hund mit Schlappohren", "ein treuer Hund", "ein verspielter Hund"],
}


# -- attribute captions ("ein rotes Auto", "zwei Katzen"): see _attributes.attribute_captions.
# The main thing of each kind: singular, plural, dative plural, gender.
_DE_NOUNS = {"car": ("Auto", "Autos", "Autos", "n"), "house": ("Haus", "Häuser", "Häusern", "n"),
             "boat": ("Boot", "Boote", "Booten", "n"), "cat": ("Katze", "Katzen", "Katzen", "f"),
             "dog": ("Hund", "Hunde", "Hunden", "m"), "flower": ("Blume", "Blumen", "Blumen", "f"),
             "tree": ("Baum", "Bäume", "Bäumen", "m")}
# gender -> (indefinite article, adjective ending after it), nominative
_DE_ARTICLE = {"m": ("ein", "er"), "f": ("eine", "e"), "n": ("ein", "es")}


def _de_colour_query(kind: str, colour: str, count: int = 1) -> str:
    """'ein rotes Auto', 'zwei schwarze Katzen', 'gelbe Blumen' (nominative)."""
    sing, plural, _, gender = _DE_NOUNS[kind]
    if count == 1:
        article, ending = _DE_ARTICLE[gender]
        return f"{article} {_de(colour, ending)} {sing}"
    adjective = _de(colour, "e")
    return f"{adjective} {plural}" if kind == "flower" else f"{_DE_COUNT[count]} {adjective} {plural}"


def _de_colour_dative(kind: str, colour: str, count: int = 1) -> str:
    """'einem roten Auto', 'zwei schwarzen Katzen', 'gelben Blumen' (after "von")."""
    sing, _, dative_plural, gender = _DE_NOUNS[kind]
    adjective = _de(colour, "en")
    if count == 1:
        return f"{'einer' if gender == 'f' else 'einem'} {adjective} {sing}"
    return f"{adjective} {dative_plural}" if kind == "flower" else f"{_DE_COUNT[count]} {adjective} {dative_plural}"


def _de_count_query(kind: str, count: int) -> str:
    """'ein einzelner Baum', 'drei Bäume'.

    One is "einzeln": "ein Baum" is what every picture of trees is (``generic_kind``),
    and here it would be the hard negative of two trees.
    """
    sing, plural, _, gender = _DE_NOUNS[kind]
    if count == 1:
        article, ending = _DE_ARTICLE[gender]
        return f"{article} einzeln{ending} {sing}"
    return f"{_DE_COUNT[count]} {plural}"


ATTRIBUTE_PHRASES = {
    "colour": _de_colour_query,
    "photo": lambda kind, colour, count=1: de_framed("ein Foto von ", _de_colour_dative(kind, colour, count)),
    "house": lambda wall, roof: f"{_de_colour_query('house', wall)} mit einem {_de(roof, 'en')} Dach",
    "count": _de_count_query,
    "hat": lambda colour: ("ein Schneemann ohne Hut" if colour is None
                           else f"ein Schneemann mit einem {_de(colour, 'en')} Hut"),
    "time": lambda kind, time: f"{KIND_PHRASE[kind]} {DE_TIME[time][0]}",
}
