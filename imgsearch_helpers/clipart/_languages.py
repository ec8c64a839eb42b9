"""Private French and German caption writers for :mod:`imgsearch_helpers.clipart`.

Each kind's writer takes the same attributes the painter chose as the English
one (``_captions``) and writes phrases a French or German speaker would write:
adjectives agree with their noun (une voiture noire, ein schwarzes Auto), the
German cases follow the preposition (mit einem roten Dach), French contracts
its articles (une photo d'un lac). They are not word-by-word translations:
an orange cat is "un chat roux", a snowy lake "un lac au pied de montagnes enneigées".
"""
from __future__ import annotations

from ._draw import pick

LANGUAGES = ("fr", "de")

# --- French -----------------------------------------------------------------
# colour -> (masculine, feminine, masculine plural, feminine plural)
_FR_COLOUR = {
    "red": ("rouge", "rouge", "rouges", "rouges"), "blue": ("bleu", "bleue", "bleus", "bleues"),
    "yellow": ("jaune", "jaune", "jaunes", "jaunes"), "green": ("vert", "verte", "verts", "vertes"),
    "white": ("blanc", "blanche", "blancs", "blanches"), "black": ("noir", "noire", "noirs", "noires"),
    "orange": ("orange", "orange", "orange", "orange"), "pink": ("rose", "rose", "roses", "roses"),
    "purple": ("violet", "violette", "violets", "violettes"), "grey": ("gris", "grise", "gris", "grises"),
    "brown": ("marron", "marron", "marron", "marron"),
    "silver": ("argenté", "argentée", "argentés", "argentées"),
    "cream": ("crème", "crème", "crème", "crème"), "golden": ("doré", "dorée", "dorés", "dorées"),
}
# A cat's or a dog's coat has words of its own: an orange cat is "roux", a brown one "brun".
_FR_COAT = dict(_FR_COLOUR, orange=("roux", "rousse", "roux", "rousses"), brown=("brun", "brune", "bruns", "brunes"),
                golden=("fauve", "fauve", "fauves", "fauves"))
_FR_COUNT = {2: "deux", 3: "trois", 4: "quatre", 5: "cinq", 7: "sept"}
_FR_PLACE = {"indoors": ["à l'intérieur", "dans une pièce", "par terre", "à la maison", "sur un tapis"],
             "outdoors": ["dehors", "sur l'herbe", "dans le jardin", "en plein air", "sur la pelouse"]}
_FR_TIME = {"day": ["par une journée ensoleillée", "en plein jour"], "morning": ["le matin", "à l'aube"],
            "sunset": ["au coucher du soleil", "le soir"], "cloudy": ["par temps nuageux", "sous un ciel gris"]}
FR_PREFIXES = ["une photo de ", "une image de ", "un dessin de ", "une illustration de "]


def _fr(colour: str, feminine: bool, plural: bool = False, table=_FR_COLOUR) -> str:
    return table[colour][int(feminine) + 2 * int(plural)]


def fr_framed(prefix: str, phrase: str) -> str:
    """``prefix`` ("une photo de ") before ``phrase``, with French elision and contraction."""
    stem = prefix[:-len("de ")]
    for article, joined in (("un ", "d'un "), ("une ", "d'une "), ("le ", "du "), ("les ", "des "),
                            ("des ", "de "), ("de la ", "de la "), ("l'", "de l'")):
        if phrase.startswith(article):
            return stem + joined + phrase[len(article):]
    return prefix + phrase


def _fr_lake(a, rng):
    if a["snowy"]:
        mt, mt_def, plural = pick(rng, [("des montagnes enneigées", "les montagnes enneigées", True),
                                        ("des sommets enneigés", "les sommets enneigés", True)])
    elif a["peaks"] > 1:
        mt, mt_def, plural = pick(rng, [("des montagnes", "les montagnes", True),
                                        ("des collines", "les collines", True)])
    else:
        mt, mt_def, plural = pick(rng, [("une montagne", "la montagne", False),
                                        ("une colline", "la colline", False)])
    lk = pick(rng, ["lac", "lac", "étang"])
    reflect = "se reflètent" if plural else "se reflète"
    return [f"un {lk} avec {mt}", "un lac", f"un {lk} calme au pied {fr_framed('de ', mt)}",
            f"{mt_def} {reflect} dans l'eau", "un lac de montagne", "un étang",
            f"un {lk} paisible dans la nature", f"un paysage avec un {lk} et {mt}",
            f"de l'eau bleue et {mt}", f"un {lk} tranquille", f"un joli {lk}", "un paysage de montagne"]


def _fr_tree(a, rng):
    names = {"beech": ["hêtre"], "oak": ["chêne"], "pine": ["pin", "sapin"]}
    leaves = "des feuilles vertes" if a["season"] == "summer" else pick(
        rng, ["des feuilles d'automne", "des feuilles orange"])
    n, kinds = a["count"], a["kinds"]
    if n == 1:
        t = pick(rng, names[kinds[0]])
        out = [f"un {t}", "un arbre", f"un grand {t}", f"un {t} seul dans un champ",
               f"un {t} avec {leaves}", "un arbre isolé", f"un {t} dans un pré"]
    else:
        out = [f"{_FR_COUNT[n]} arbres", "des arbres", "un groupe d'arbres", f"des arbres avec {leaves}",
               "des arbres dans un parc", "une rangée d'arbres"]
        if n >= 4:
            out += ["une forêt", "un petit bois", "un bois plein d'arbres"]
        if all(k == "pine" for k in kinds):
            out += ["une forêt de pins", f"{_FR_COUNT[n]} sapins"]
    if a["season"] == "autumn":
        out += ["un arbre en automne", "les couleurs de l'automne"]
    return out + ["des arbres dans la nature", "un arbre qui pousse dans un champ"]


def _fr_animals(a, rng, sing, plural, pose):
    n, place = a["count"], pick(rng, _FR_PLACE[a["place"]])
    noun = pick(rng, sing)
    fur = a["furs"][0] if len(set(a["furs"])) == 1 else None
    if n == 1:
        coat = _fr(a["furs"][0], False, table=_FR_COAT)
        return [f"un {noun} {coat}", f"un {noun}", f"un {noun} {place}", f"un joli {noun}",
                f"un petit {noun}", f"un {noun} {coat} {place}", f"un {noun} {pose} {place}"]
    pl = pick(rng, plural)
    out = [f"{_FR_COUNT[n]} {pl}", f"{_FR_COUNT[n]} {pl} {place}", f"un groupe de {pl}",
           f"des {pl} ensemble", f"{_FR_COUNT[n]} animaux"]
    return out + [f"{_FR_COUNT[n]} {pl} {_fr(fur, False, True, _FR_COAT)}" if fur
                  else f"des {pl} de toutes les couleurs"]


def _fr_cat(a, rng):
    tabby = a["tabby"] and any(f in ("orange", "grey", "brown") for f in a["furs"])
    out = _fr_animals(a, rng, ["chat", "chaton", "chat"], ["chats", "chatons"], "assis")
    if tabby:
        out += ["un chat tigré", "un chat rayé"] if a["count"] == 1 else ["des chats tigrés"]
    return out + ["un chat avec des moustaches", "un félin"]


def _fr_dog(a, rng):
    out = _fr_animals(a, rng, ["chien", "chiot", "chien"], ["chiens", "chiots"], "debout")
    if a["ball"]:
        out += ["un chien qui joue avec une balle", "un chiot et une balle", "un chien joueur avec un jouet"]
    return out + ["un chien aux oreilles tombantes", "un chien fidèle", "un chien joueur"]


def _fr_car(a, rng):
    n, paint = a["count"], a["paints"][0]
    if a["luxury"]:
        noun = pick(rng, ["berline de luxe", "voiture de luxe", "limousine", "berline"])
        out = [f"une {noun} {_fr(paint, True)}", "une voiture élégante", "une voiture chère",
               "une belle automobile", "une limousine", f"une {noun} {_fr(paint, True)} et brillante"]
    else:
        noun = pick(rng, ["voiture", "automobile", "voiture", "petite voiture"])
        out = [f"une {noun} {_fr(paint, True)}", "une voiture familiale", "une petite voiture"]
    if n == 1:
        out += [f"une {noun}", "une voiture", f"une {noun} sur la route", f"une {noun} garée dans la rue",
                f"une {noun} qui roule dans la rue"]
    else:
        out += ["deux voitures sur la route", "deux véhicules", "des voitures dans la rue", "la circulation"]
    return out


def _fr_house(a, rng):
    noun, fem = pick(rng, [("maison", True), ("maison", True), ("chalet", False), ("maisonnette", True)])
    art = "une" if fem else "un"
    out = [f"{art} {noun}", f"{art} {noun} {_fr(a['wall'], fem)}", f"{art} {noun} au toit {_fr(a['roof'], False)}",
           "une maison", f"{art} {noun} avec une porte et des fenêtres", "une maison familiale",
           f"{art} joli{'e' if fem else ''} {noun}", "une petite maison", "un petit bâtiment"]
    if a["chimney"]:
        out += [f"{art} {noun} avec une cheminée", "de la fumée sort de la cheminée"]
    if a["fence"]:
        out += [f"{art} {noun} derrière une clôture blanche", "une maison avec une palissade"]
    return out


def _fr_boat(a, rng):
    if a["sail"]:
        noun = pick(rng, ["voilier", "bateau à voile", "voilier", "bateau"])
        extra = ["un bateau avec une voile blanche", "un voilier en mer"]
    else:
        noun = pick(rng, ["bateau à moteur", "bateau", "navire", "bateau de pêche"])
        extra = ["un bateau à moteur", "un petit bateau de pêche"]
    water = pick(rng, ["l'eau", "la mer", "l'océan", "les vagues"])
    colour = _fr(a["colour"], False)
    out = [f"un {noun} {colour}", f"un {noun} sur {water}", f"un {noun} qui flotte sur {water}", "un bateau",
           "un bateau en mer", "un bateau sur une eau calme"]
    if a["count"] == 2:
        out += ["deux bateaux sur l'eau", "des bateaux en mer"]
    return out + extra


def _fr_snow(a, rng):
    out = ["de la neige", "un paysage enneigé", "une journée d'hiver", "l'hiver", "un paysage d'hiver froid",
           "de la neige blanche sur le sol", "un champ couvert de neige"]
    if a["snowman"]:
        out += ["un bonhomme de neige", "un bonhomme de neige dans la neige", "un joyeux bonhomme de neige"]
    if a["pond"]:
        out += ["un étang gelé", "de la glace sur un étang gelé", "de la neige et de la glace"]
    if a["falling"]:
        out += ["de la neige qui tombe", "des flocons de neige", "la neige tombe du ciel"]
    return out


def _fr_night(a, rng):
    out = ["le ciel nocturne", "une nuit étoilée", "des étoiles dans le ciel nocturne",
           "un ciel sombre plein d'étoiles", "la nuit", "une nuit claire avec des étoiles",
           "des étoiles qui scintillent", "le ciel à minuit"]
    if a["moon"] != "none":
        out += ["la pleine lune" if a["moon"] == "full" else "un croissant de lune",
                "la lune dans le ciel nocturne", "le clair de lune"]
    if a["land"] == "city":
        out += ["une ville la nuit", "les lumières de la ville sous les étoiles"]
    if a["land"] == "hills":
        out += ["des collines sombres sous les étoiles"]
    return out


def _fr_flower(a, rng):
    sing, plural = {"daisy": ("marguerite", "marguerites"), "tulip": ("tulipe", "tulipes"),
                    "rose": ("rose", "roses")}[a["kind"]]
    one = len(a["colours"]) == 1
    col, cols = ((_fr(a["colours"][0], True), _fr(a["colours"][0], True, True)) if one
                 else ("colorée", "de toutes les couleurs"))
    n = a["count"]
    out = ["des fleurs" if n > 1 else "une fleur", f"des fleurs {cols}" if n > 1 else f"une fleur {col}",
           "des fleurs de printemps", "de belles fleurs", "des fleurs épanouies"]
    out += [f"une {sing} {col}", f"une {sing}"] if n == 1 else [f"{_FR_COUNT[n]} {plural} {cols}", f"des {plural}"]
    if n >= 5:
        out += [f"un champ de {plural}", f"un jardin plein de {plural}"]
    if a["vase"]:
        out += ["un vase de fleurs", f"un bouquet de {plural}", "un bouquet de fleurs", f"des {plural} dans un vase"]
    elif n > 1:
        out += [f"des fleurs {cols} dans un jardin", f"des {plural} qui poussent dans un jardin"]
    return out


# --- German -----------------------------------------------------------------
# colour -> stem; the ending follows gender and case. "rosa" and "lila" never change.
_DE_STEM = {"red": "rot", "blue": "blau", "yellow": "gelb", "green": "grün", "white": "weiß",
            "black": "schwarz", "orange": "orangefarben", "pink": "rosa", "purple": "lila", "grey": "grau",
            "brown": "braun", "silver": "silbern", "cream": "cremefarben", "golden": "golden"}
_DE_INVARIABLE = {"rosa", "lila"}
_DE_COUNT = {2: "zwei", 3: "drei", 4: "vier", 5: "fünf", 7: "sieben"}
_DE_PLACE = {"indoors": ["drinnen", "in einem Zimmer", "auf dem Boden", "zu Hause", "auf einem Teppich"],
             "outdoors": ["draußen", "auf dem Gras", "im Garten", "im Freien", "auf dem Rasen"]}
_DE_TIME = {"day": ["an einem sonnigen Tag", "bei Tageslicht"], "morning": ["am Morgen", "im Morgengrauen"],
            "sunset": ["bei Sonnenuntergang", "am Abend"], "cloudy": ["an einem bewölkten Tag", "unter grauem Himmel"]}
DE_PREFIXES = ["ein Foto von ", "ein Bild von ", "eine Zeichnung von "]


def _de(colour: str, ending: str) -> str:
    """The adjective with ``ending``: "er"/"e"/"es" after ein(e), "e" for a plural alone, "en" after einem."""
    stem = _DE_STEM[colour]
    return stem if stem in _DE_INVARIABLE else stem + ending


def _de_lake(a, rng):
    if a["snowy"]:
        nom, dat = pick(rng, [("schneebedeckte Berge", "schneebedeckten Bergen"),
                              ("verschneite Gipfel", "verschneiten Gipfeln")])
        plural = True
    elif a["peaks"] > 1:
        (nom, dat), plural = pick(rng, [("Berge", "Bergen"), ("Hügel", "Hügeln")]), True
    else:
        (nom, dat), plural = pick(rng, [("ein Berg", "einem Berg"), ("ein Hügel", "einem Hügel")]), False
    lk = pick(rng, ["See", "See", "Teich"])
    reflect = f"{nom} spiegeln sich im Wasser" if plural else f"{nom} spiegelt sich im Wasser"
    return [f"ein {lk} mit {dat}", "ein See", f"ein ruhiger {lk} unter {dat}", reflect, "ein Bergsee",
            "ein Teich", f"ein stiller {lk} in der Natur", f"eine Landschaft mit einem {lk} und {dat}",
            f"blaues Wasser und {nom}", f"ein friedlicher {lk}", f"ein hübscher {lk}", "eine Berglandschaft"]


def _de_tree(a, rng):
    names = {"beech": ["Buche"], "oak": ["Eiche"], "pine": ["Kiefer", "Tanne"]}   # all feminine
    leaves = "grünen Blättern" if a["season"] == "summer" else pick(rng, ["Herbstlaub", "orangefarbenen Blättern"])
    n, kinds = a["count"], a["kinds"]
    if n == 1:
        t = pick(rng, names[kinds[0]])
        out = [f"eine {t}", "ein Baum", f"eine große {t}", f"eine einzelne {t} auf einem Feld",
               f"eine {t} mit {leaves}", "ein einzelner Baum", f"eine {t} auf einer Wiese"]
    else:
        out = [f"{_DE_COUNT[n]} Bäume", "Bäume", "eine Gruppe von Bäumen", f"Bäume mit {leaves}",
               "Bäume in einem Park", "eine Reihe von Bäumen"]
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
    art, end = ("eine", "e") if feminine and noun == sing[0] else ("ein", "es" if noun.endswith("chen") else "er")
    fur = a["furs"][0] if len(set(a["furs"])) == 1 else None
    if n == 1:
        coat = _de(a["furs"][0], end)
        return [f"{art} {coat} {noun}", f"{art} {noun}", f"{art} {noun} {place}", f"{art} süß{end} {noun}",
                f"{art} klein{end} {noun}", f"{art} {coat} {noun} {place}", f"{art} {pose}{end} {noun} {place}"]
    pl = pick(rng, plural)
    out = [f"{_DE_COUNT[n]} {pl}", f"{_DE_COUNT[n]} {pl} {place}", f"eine Gruppe von {pl}",
           f"{pl} zusammen", f"{_DE_COUNT[n]} Haustiere"]
    return out + [f"{_DE_COUNT[n]} {_de(fur, 'e')} {pl}" if fur else f"{pl} in verschiedenen Farben"]


def _de_cat(a, rng):
    tabby = a["tabby"] and any(f in ("orange", "grey", "brown") for f in a["furs"])
    out = _de_animals(a, rng, ["Katze", "Kätzchen", "Katze"], ["Katzen", "Kätzchen"], "sitzend", True)
    if tabby:
        out += ["eine getigerte Katze", "eine gestreifte Katze"] if a["count"] == 1 else ["getigerte Katzen"]
    return out + ["eine Katze mit Schnurrhaaren", "ein Stubentiger"]


def _de_dog(a, rng):
    out = _de_animals(a, rng, ["Hund", "Welpe", "Hund"], ["Hunde", "Welpen"], "stehend", False)
    if a["ball"]:
        out += ["ein Hund spielt mit einem Ball", "ein Welpe und ein Ball", "ein verspielter Hund mit Spielzeug"]
    return out + ["ein Hund mit Schlappohren", "ein treuer Hund", "ein verspielter Hund"]


def _de_car(a, rng):
    n, paint = a["count"], a["paints"][0]
    if a["luxury"]:
        noun, art, end = pick(rng, [("Luxuslimousine", "eine", "e"), ("Luxusauto", "ein", "es"),
                                    ("Limousine", "eine", "e"), ("Nobelkarosse", "eine", "e")])
        out = [f"{art} {_de(paint, end)} {noun}", "ein elegantes Auto", "ein teures Auto",
               "ein schicker Wagen", "eine Limousine", f"{art} glänzend{end} {_de(paint, end)} {noun}"]
    else:
        noun, art, end = pick(rng, [("Auto", "ein", "es"), ("Wagen", "ein", "er"), ("Auto", "ein", "es"),
                                    ("Kleinwagen", "ein", "er")])
        out = [f"{art} {_de(paint, end)} {noun}", "ein Familienauto", "ein kleines Auto"]
    if n == 1:
        out += [f"{art} {noun}", "ein Auto", f"{art} {noun} auf der Straße", f"{art} {noun} parkt am Straßenrand",
                f"{art} {noun} fährt die Straße entlang"]
    else:
        out += ["zwei Autos auf der Straße", "zwei Fahrzeuge", "Autos fahren auf einer Straße", "Straßenverkehr"]
    return out


def _de_house(a, rng):
    noun, art, end = pick(rng, [("Haus", "ein", "es"), ("Haus", "ein", "es"), ("Häuschen", "ein", "es"),
                                ("Landhaus", "ein", "es")])
    out = [f"{art} {noun}", f"{art} {_de(a['wall'], end)} {noun}", f"{art} {noun} mit einem {_de(a['roof'], 'en')} Dach",
           "ein Haus", f"{art} {noun} mit Tür und Fenstern", "ein Einfamilienhaus", f"{art} hübsch{end} {noun}",
           "ein kleines Haus", "ein gemütliches Häuschen"]
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
    out = [f"ein {_de(a['colour'], 'es')} {noun}", f"ein {noun} auf {water}", f"ein {noun} treibt auf {water}",
           "ein Boot", "ein Schiff auf See", "ein Boot auf ruhigem Wasser"]
    if a["count"] == 2:
        out += ["zwei Boote auf dem Wasser", "Boote auf dem Meer"]
    return out + extra


def _de_snow(a, rng):
    out = ["Schnee", "eine verschneite Landschaft", "ein Wintertag", "der Winter", "eine kalte Winterlandschaft",
           "weißer Schnee auf dem Boden", "ein schneebedecktes Feld"]
    if a["snowman"]:
        out += ["ein Schneemann", "ein Schneemann im Schnee", "ein fröhlicher Schneemann"]
    if a["pond"]:
        out += ["ein zugefrorener Teich", "Eis auf einem zugefrorenen Teich", "Schnee und Eis"]
    if a["falling"]:
        out += ["fallender Schnee", "Schneeflocken", "Schnee fällt vom Himmel"]
    return out


def _de_night(a, rng):
    out = ["der Nachthimmel", "eine sternenklare Nacht", "Sterne am Nachthimmel", "ein dunkler Himmel voller Sterne",
           "die Nacht", "eine klare Nacht mit Sternen", "funkelnde Sterne", "der Himmel um Mitternacht"]
    if a["moon"] != "none":
        out += ["der Vollmond" if a["moon"] == "full" else "eine Mondsichel", "der Mond am Nachthimmel",
                "Mondlicht"]
    if a["land"] == "city":
        out += ["eine Stadt bei Nacht", "die Lichter der Stadt unter den Sternen"]
    if a["land"] == "hills":
        out += ["dunkle Hügel unter den Sternen"]
    return out


def _de_flower(a, rng):
    sing, plural, art, end = {"daisy": ("Gänseblümchen", "Gänseblümchen", "ein", "es"),
                              "tulip": ("Tulpe", "Tulpen", "eine", "e"),
                              "rose": ("Rose", "Rosen", "eine", "e")}[a["kind"]]
    one = len(a["colours"]) == 1
    n = a["count"]
    many = _de(a["colours"][0], "e") if one else "bunte"
    out = ["Blumen" if n > 1 else "eine Blume",
           f"{many} Blumen" if n > 1 else f"eine {_de(a['colours'][0], 'e') if one else 'bunte'} Blume",
           "Frühlingsblumen", "schöne Blumen", "Blüten"]
    if n == 1:
        out += [f"{art} {_de(a['colours'][0], end)} {sing}", f"{art} {sing}"]
    else:
        out += [f"{_DE_COUNT[n]} {many} {plural}", plural]
    if n >= 5:
        out += [f"ein Feld voller {plural}", f"ein Garten voller {plural}"]
    if a["vase"]:
        out += ["eine Vase mit Blumen", f"ein Strauß {plural}", "ein Blumenstrauß", f"{plural} in einer Vase"]
    elif n > 1:
        out += [f"{many} Blumen in einem Garten", f"{plural} wachsen in einem Garten"]
    return out


CAPTIONERS = {
    "fr": {"lake": _fr_lake, "tree": _fr_tree, "cat": _fr_cat, "car": _fr_car, "house": _fr_house,
           "boat": _fr_boat, "snow": _fr_snow, "night": _fr_night, "flower": _fr_flower, "dog": _fr_dog},
    "de": {"lake": _de_lake, "tree": _de_tree, "cat": _de_cat, "car": _de_car, "house": _de_house,
           "boat": _de_boat, "snow": _de_snow, "night": _de_night, "flower": _de_flower, "dog": _de_dog},
}
# What each kind is called, plainly; German also in the dative, for "ein Foto von einem See".
KIND_PHRASE = {
    "fr": {"lake": "un lac", "tree": "un arbre", "cat": "un chat", "car": "une voiture", "house": "une maison",
           "boat": "un bateau", "snow": "de la neige", "night": "le ciel nocturne", "flower": "une fleur",
           "dog": "un chien"},
    "de": {"lake": "ein See", "tree": "ein Baum", "cat": "eine Katze", "car": "ein Auto", "house": "ein Haus",
           "boat": "ein Boot", "snow": "Schnee", "night": "der Nachthimmel", "flower": "eine Blume",
           "dog": "ein Hund"},
}
DE_DATIVE = {"lake": "einem See", "tree": "einem Baum", "cat": "einer Katze", "car": "einem Auto",
             "house": "einem Haus", "boat": "einem Boot", "snow": "Schnee", "night": "dem Nachthimmel",
             "flower": "einer Blume", "dog": "einem Hund"}
# Phrases true of every scene of a kind (as _captions.GENERIC), in each language.
GENERIC = {
    "lake": {"un lac", "un étang", "un lac de montagne", "ein See", "ein Teich", "ein Bergsee"},
    "tree": {"un arbre", "des arbres dans la nature", "un arbre qui pousse dans un champ", "ein Baum",
             "Bäume in der Natur", "ein Baum wächst auf einem Feld"},
    "cat": {"un chat", "un chat avec des moustaches", "un félin", "eine Katze", "eine Katze mit Schnurrhaaren",
            "ein Stubentiger"},
    "car": {"une voiture", "ein Auto"},
    "house": {"une maison", "une maison familiale", "une petite maison", "un petit bâtiment", "ein Haus",
              "ein Einfamilienhaus", "ein kleines Haus", "ein gemütliches Häuschen"},
    "boat": {"un bateau", "un bateau en mer", "un bateau sur une eau calme", "ein Boot", "ein Schiff auf See",
             "ein Boot auf ruhigem Wasser"},
    "snow": {"de la neige", "un paysage enneigé", "une journée d'hiver", "l'hiver", "un paysage d'hiver froid",
             "de la neige blanche sur le sol", "un champ couvert de neige", "Schnee",
             "eine verschneite Landschaft", "ein Wintertag", "der Winter", "eine kalte Winterlandschaft",
             "weißer Schnee auf dem Boden", "ein schneebedecktes Feld"},
    "night": {"le ciel nocturne", "une nuit étoilée", "des étoiles dans le ciel nocturne",
              "un ciel sombre plein d'étoiles", "la nuit", "une nuit claire avec des étoiles",
              "des étoiles qui scintillent", "le ciel à minuit", "der Nachthimmel", "eine sternenklare Nacht",
              "Sterne am Nachthimmel", "ein dunkler Himmel voller Sterne", "die Nacht",
              "eine klare Nacht mit Sternen", "funkelnde Sterne", "der Himmel um Mitternacht"},
    "flower": {"une fleur", "des fleurs de printemps", "de belles fleurs", "des fleurs épanouies", "eine Blume",
               "Frühlingsblumen", "schöne Blumen", "Blüten"},
    "dog": {"un chien", "un chien aux oreilles tombantes", "un chien fidèle", "un chien joueur", "ein Hund",
            "ein Hund mit Schlappohren", "ein treuer Hund", "ein verspielter Hund"},
}


def de_framed(prefix: str, dative: str) -> str:
    """``prefix`` ("ein Bild von ") before a dative phrase; "von dem" contracts to "vom"."""
    if dative.startswith("dem ") and prefix.endswith("von "):
        return prefix[:-len("von ")] + "vom " + dative[len("dem "):]
    return prefix + dative


def _framed_generics() -> dict[str, str]:
    out = {}
    for kind, phrases in GENERIC.items():
        for phrase in phrases:
            out[phrase] = kind
            for prefix in FR_PREFIXES:
                out[fr_framed(prefix, phrase)] = kind
        for prefix in DE_PREFIXES:
            out[de_framed(prefix, DE_DATIVE[kind])] = kind
    return out


# Every French and German generic phrase, bare or framed ("une photo d'un lac") -> its kind.
GENERIC_KIND = _framed_generics()


def framed(lang: str, kind: str, rng) -> str:
    """The kind's plain name, maybe framed: "une photo d'un lac", "ein Bild von einem See"."""
    choice = int(rng.integers(len(FR_PREFIXES if lang == "fr" else DE_PREFIXES) + 1))
    if lang == "fr":
        phrase = KIND_PHRASE["fr"][kind]
        return fr_framed(FR_PREFIXES[choice], phrase) if choice < len(FR_PREFIXES) else phrase
    return (de_framed(DE_PREFIXES[choice], DE_DATIVE[kind]) if choice < len(DE_PREFIXES)
            else KIND_PHRASE["de"][kind])


def decorate(lang: str, phrase: str, attrs: dict, rng) -> str:
    """Maybe add the time of day and a full stop, as the English captions do."""
    if attrs.get("time") and rng.random() < 0.25:
        phrase += " " + pick(rng, (_FR_TIME if lang == "fr" else _DE_TIME)[attrs["time"]])
    return phrase + "." if rng.random() < 0.15 else phrase


def translated_captions(kind: str, attrs: dict, rng, per_language: int) -> list[str]:
    """``per_language`` French and as many German captions of one scene (fewer if it has fewer phrases)."""
    out = []
    for lang in LANGUAGES:
        phrases = list(dict.fromkeys(CAPTIONERS[lang][kind](attrs, rng)))
        order = rng.permutation(len(phrases))[:max(0, per_language - 1)]
        out += [framed(lang, kind, rng)] if per_language else []
        out += [decorate(lang, phrases[i], attrs, rng) for i in order]
    return out
