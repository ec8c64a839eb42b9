"""Private French caption writers for :mod:`imgsearch_helpers.clipart` (see ``_languages``).

Each kind's writer takes the attributes the painter chose, as the English one in
``_captions`` does, and writes phrases a French speaker would write: adjectives agree
with their noun (une voiture noire), articles contract (une photo d'un lac), and an
orange cat is "un chat roux".
"""

from __future__ import annotations

from ._draw import pick

# colour -> (masculine, feminine, masculine plural, feminine plural)
_FR_COLOUR = {
    "red": ("rouge", "rouge", "rouges", "rouges"),
    "blue": ("bleu", "bleue", "bleus", "bleues"),
    "yellow": ("jaune", "jaune", "jaunes", "jaunes"),
    "green": ("vert", "verte", "verts", "vertes"),
    "white": ("blanc", "blanche", "blancs", "blanches"),
    "black": ("noir", "noire", "noirs", "noires"),
    "orange": ("orange", "orange", "orange", "orange"),
    "pink": ("rose", "rose", "roses", "roses"),
    "purple": ("violet", "violette", "violets", "violettes"),
    "grey": ("gris", "grise", "gris", "grises"),
    "brown": ("marron", "marron", "marron", "marron"),
    "silver": ("argenté", "argentée", "argentés", "argentées"),
    "cream": ("crème", "crème", "crème", "crème"),
    "golden": ("doré", "dorée", "dorés", "dorées"),
}
# A cat's or a dog's coat has words of its own: an orange cat is "roux", a brown one "brun".
_FR_COAT = dict(
    _FR_COLOUR,
    orange=("roux", "rousse", "roux", "rousses"),
    brown=("brun", "brune", "bruns", "brunes"),
    golden=("fauve", "fauve", "fauves", "fauves"),
)
_FR_COUNT = {2: "deux", 3: "trois", 4: "quatre", 5: "cinq", 7: "sept"}
_FR_PLACE = {
    "indoors": ["à l'intérieur", "dans une pièce", "par terre", "à la maison", "sur un tapis"],
    "outdoors": ["dehors", "sur l'herbe", "dans le jardin", "en plein air", "sur la pelouse"],
}
FR_TIME = {
    "day": ["par une journée ensoleillée", "en plein jour"],
    "morning": ["le matin", "à l'aube"],
    "sunset": ["au coucher du soleil", "le soir"],
    "cloudy": ["par temps nuageux", "sous un ciel gris"],
}
FR_PREFIXES = ["une photo de ", "une image de ", "un dessin de ", "une illustration de "]


def _fr(colour: str, feminine: bool, plural: bool = False, table=_FR_COLOUR) -> str:
    return table[colour][int(feminine) + 2 * int(plural)]


def fr_framed(prefix: str, phrase: str) -> str:
    """``prefix`` ("une photo de ") before ``phrase``, with French elision and contraction."""
    stem = prefix[: -len("de ")]
    for article, joined in (
        ("un ", "d'un "),
        ("une ", "d'une "),
        ("le ", "du "),
        ("les ", "des "),
        ("des ", "de "),
        ("de la ", "de la "),
        ("l'", "de l'"),
    ):
        if phrase.startswith(article):
            return stem + joined + phrase[len(article) :]
    return prefix + phrase


def _fr_lake(a, rng):
    if a["snowy"]:
        mt, mt_def, plural = pick(
            rng,
            [
                ("des montagnes enneigées", "les montagnes enneigées", True),
                ("des sommets enneigés", "les sommets enneigés", True),
            ],
        )
    elif a["peaks"] > 1:
        mt, mt_def, plural = pick(
            rng, [("des montagnes", "les montagnes", True), ("des collines", "les collines", True)]
        )
    else:
        mt, mt_def, plural = pick(
            rng, [("une montagne", "la montagne", False), ("une colline", "la colline", False)]
        )
    lk = pick(rng, ["lac", "lac", "étang"])
    reflect = "se reflètent" if plural else "se reflète"
    return [
        f"un {lk} avec {mt}",
        "un lac",
        f"un {lk} calme au pied {fr_framed('de ', mt)}",
        f"{mt_def} {reflect} dans l'eau",
        "un lac de montagne",
        "un étang",
        f"un {lk} paisible dans la nature",
        f"un paysage avec un {lk} et {mt}",
        f"de l'eau bleue et {mt}",
        f"un {lk} tranquille",
        f"un joli {lk}",
        "un paysage de montagne",
    ]


def _fr_tree(a, rng):
    names = {"beech": ["hêtre"], "oak": ["chêne"], "pine": ["pin", "sapin"]}
    leaves = (
        "des feuilles vertes"
        if a["season"] == "summer"
        else pick(rng, ["des feuilles d'automne", "des feuilles orange"])
    )
    n, kinds = a["count"], a["kinds"]
    if n == 1:
        t = pick(rng, names[kinds[0]])
        out = [
            f"un {t}",
            "un arbre",
            f"un grand {t}",
            f"un {t} seul dans un champ",
            f"un {t} avec {leaves}",
            "un arbre isolé",
            f"un {t} dans un pré",
        ]
    else:
        out = [
            f"{_FR_COUNT[n]} arbres",
            "des arbres",
            "un groupe d'arbres",
            f"des arbres avec {leaves}",
            "des arbres dans un parc",
            "une rangée d'arbres",
        ]
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
        return [
            f"un {noun} {coat}",
            f"un {noun}",
            f"un {noun} {place}",
            f"un joli {noun}",
            f"un petit {noun}",
            f"un {noun} {coat} {place}",
            f"un {noun} {pose} {place}",
        ]
    pl = pick(rng, plural)
    out = [
        f"{_FR_COUNT[n]} {pl}",
        f"{_FR_COUNT[n]} {pl} {place}",
        f"un groupe de {pl}",
        f"des {pl} ensemble",
        f"{_FR_COUNT[n]} animaux",
    ]
    return out + [
        f"{_FR_COUNT[n]} {pl} {_fr(fur, False, True, _FR_COAT)}"
        if fur
        else f"des {pl} de toutes les couleurs"
    ]


def _fr_cat(a, rng):
    tabby = a["tabby"] and any(f in ("orange", "grey", "brown") for f in a["furs"])
    out = _fr_animals(a, rng, ["chat", "chaton", "chat"], ["chats", "chatons"], "assis")
    if tabby:
        out += ["un chat tigré", "un chat rayé"] if a["count"] == 1 else ["des chats tigrés"]
    return out + ["un chat avec des moustaches", "un félin"]


def _fr_dog(a, rng):
    out = _fr_animals(a, rng, ["chien", "chiot", "chien"], ["chiens", "chiots"], "debout")
    if a["ball"]:
        out += [
            "un chien qui joue avec une balle",
            "un chiot et une balle",
            "un chien joueur avec un jouet",
        ]
    return out + ["un chien aux oreilles tombantes", "un chien fidèle", "un chien joueur"]


def _fr_car(a, rng):
    n, paint = a["count"], a["paints"][0]
    if a["luxury"]:
        noun = pick(rng, ["berline de luxe", "voiture de luxe", "limousine", "berline"])
        out = [
            f"une {noun} {_fr(paint, True)}",
            "une voiture élégante",
            "une voiture chère",
            "une belle automobile",
            "une limousine",
            f"une {noun} {_fr(paint, True)} et brillante",
        ]
    else:
        noun = pick(rng, ["voiture", "automobile", "voiture", "petite voiture"])
        out = [f"une {noun} {_fr(paint, True)}", "une voiture familiale", "une petite voiture"]
    if n == 1:
        out += [
            f"une {noun}",
            "une voiture",
            f"une {noun} sur la route",
            f"une {noun} garée dans la rue",
            f"une {noun} qui roule dans la rue",
        ]
    else:
        out += [
            "deux voitures sur la route",
            "deux véhicules",
            "des voitures dans la rue",
            "la circulation",
        ]
    return out


def _fr_house(a, rng):
    noun, fem = pick(
        rng, [("maison", True), ("maison", True), ("chalet", False), ("maisonnette", True)]
    )
    art = "une" if fem else "un"
    out = [
        f"{art} {noun}",
        f"{art} {noun} {_fr(a['wall'], fem)}",
        f"{art} {noun} au toit {_fr(a['roof'], False)}",
        "une maison",
        f"{art} {noun} avec une porte et des fenêtres",
        "une maison familiale",
        f"{art} joli{'e' if fem else ''} {noun}",
        "une petite maison",
        "un petit bâtiment",
    ]
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
    out = [
        f"un {noun} {colour}",
        f"un {noun} sur {water}",
        f"un {noun} qui flotte sur {water}",
        "un bateau",
        "un bateau en mer",
        "un bateau sur une eau calme",
    ]
    if a["count"] == 2:
        out += ["deux bateaux sur l'eau", "des bateaux en mer"]
    return out + extra


def _fr_snow(a, rng):
    out = [
        "de la neige",
        "un paysage enneigé",
        "une journée d'hiver",
        "l'hiver",
        "un paysage d'hiver froid",
        "de la neige blanche sur le sol",
        "un champ couvert de neige",
    ]
    if a["snowman"]:
        out += [
            "un bonhomme de neige",
            "un bonhomme de neige dans la neige",
            "un joyeux bonhomme de neige",
        ]
    if a["pond"]:
        out += ["un étang gelé", "de la glace sur un étang gelé", "de la neige et de la glace"]
    if a["falling"]:
        out += ["de la neige qui tombe", "des flocons de neige", "la neige tombe du ciel"]
    return out


def _fr_night(a, rng):
    out = [
        "le ciel nocturne",
        "une nuit étoilée",
        "des étoiles dans le ciel nocturne",
        "un ciel sombre plein d'étoiles",
        "la nuit",
        "une nuit claire avec des étoiles",
        "des étoiles qui scintillent",
        "le ciel à minuit",
    ]
    if a["moon"] != "none":
        out += [
            "la pleine lune" if a["moon"] == "full" else "un croissant de lune",
            "la lune dans le ciel nocturne",
            "le clair de lune",
        ]
    if a["land"] == "city":
        out += ["une ville la nuit", "les lumières de la ville sous les étoiles"]
    if a["land"] == "hills":
        out += ["des collines sombres sous les étoiles"]
    return out


def _fr_flower(a, rng):
    sing, plural = {
        "daisy": ("marguerite", "marguerites"),
        "tulip": ("tulipe", "tulipes"),
        "rose": ("rose", "roses"),
    }[a["kind"]]
    one = len(a["colours"]) == 1
    col, cols = (
        (_fr(a["colours"][0], True), _fr(a["colours"][0], True, True))
        if one
        else ("colorée", "de toutes les couleurs")
    )
    n = a["count"]
    out = [
        "des fleurs" if n > 1 else "une fleur",
        f"des fleurs {cols}" if n > 1 else f"une fleur {col}",
        "des fleurs de printemps",
        "de belles fleurs",
        "des fleurs épanouies",
    ]
    out += (
        [f"une {sing} {col}", f"une {sing}"]
        if n == 1
        else [f"{_FR_COUNT[n]} {plural} {cols}", f"des {plural}"]
    )
    if n >= 5:
        out += [f"un champ de {plural}", f"un jardin plein de {plural}"]
    if a["vase"]:
        out += [
            "un vase de fleurs",
            f"un bouquet de {plural}",
            "un bouquet de fleurs",
            f"des {plural} dans un vase",
        ]
    elif n > 1:
        out += [f"des fleurs {cols} dans un jardin", f"des {plural} qui poussent dans un jardin"]
    return out


CAPTIONERS = {
    "lake": _fr_lake,
    "tree": _fr_tree,
    "cat": _fr_cat,
    "car": _fr_car,
    "house": _fr_house,
    "boat": _fr_boat,
    "snow": _fr_snow,
    "night": _fr_night,
    "flower": _fr_flower,
    "dog": _fr_dog,
}
KIND_PHRASE = {
    "lake": "un lac",
    "tree": "un arbre",
    "cat": "un chat",
    "car": "une voiture",
    "house": "une maison",
    "boat": "un bateau",
    "snow": "de la neige",
    "night": "le ciel nocturne",
    "flower": "une fleur",
    "dog": "un chien",
}
# Phrases true of every scene of a kind (as _captions.GENERIC).
GENERIC = {
    "lake": ["un lac", "un lac de montagne", "un étang"],
    "tree": ["des arbres dans la nature", "un arbre", "un arbre qui pousse dans un champ"],
    "cat": ["un chat", "un chat avec des moustaches", "un félin"],
    "car": ["une voiture"],
    "house": ["un petit bâtiment", "une maison", "une maison familiale", "une petite maison"],
    "boat": ["un bateau", "un bateau en mer", "un bateau sur une eau calme"],
    "snow": [
        "de la neige",
        "de la neige blanche sur le sol",
        "l'hiver",
        "un champ couvert de neige",
        "un paysage d'hiver froid",
        "un paysage enneigé",
        "une journée d'hiver",
    ],
    "night": [
        "des étoiles dans le ciel nocturne",
        "des étoiles qui scintillent",
        "la nuit",
        "le ciel nocturne",
        "le ciel à minuit",
        "un ciel sombre plein d'étoiles",
        "une nuit claire avec des étoiles",
        "une nuit étoilée",
    ],
    "flower": ["de belles fleurs", "des fleurs de printemps", "des fleurs épanouies", "une fleur"],
    "dog": ["un chien", "un chien aux oreilles tombantes", "un chien fidèle", "un chien joueur"],
}


# -- attribute captions ("une voiture rouge", "deux chats"): see _attributes.attribute_captions.
# The main thing of each kind: singular, plural, feminine.
_FR_NOUNS = {"car": ("voiture", "voitures", True), "house": ("maison", "maisons", True),
             "boat": ("bateau", "bateaux", False), "cat": ("chat", "chats", False),
             "dog": ("chien", "chiens", False), "flower": ("fleur", "fleurs", True),
             "tree": ("arbre", "arbres", False)}


def _fr_colour_query(kind: str, colour: str, count: int = 1) -> str:
    """'une voiture rouge', 'deux chats noirs', 'des fleurs jaunes'."""
    sing, plural, feminine = _FR_NOUNS[kind]
    table = _FR_COAT if kind in ("cat", "dog") else _FR_COLOUR
    if count == 1:
        return f"{'une' if feminine else 'un'} {sing} {_fr(colour, feminine, table=table)}"
    adjective = _fr(colour, feminine, plural=True, table=table)
    return f"des {plural} {adjective}" if kind == "flower" else f"{_FR_COUNT[count]} {plural} {adjective}"


def _fr_count_query(kind: str, count: int) -> str:
    """'un seul arbre', 'trois arbres'.

    One is "un seul": "un arbre" is what every picture of trees is (``generic_kind``),
    and here it would be the hard negative of two trees.
    """
    sing, plural, feminine = _FR_NOUNS[kind]
    return (f"{'une seule' if feminine else 'un seul'} {sing}" if count == 1
            else f"{_FR_COUNT[count]} {plural}")


ATTRIBUTE_PHRASES = {
    "colour": _fr_colour_query,
    "photo": lambda kind, colour, count=1: fr_framed("une photo de ", _fr_colour_query(kind, colour, count)),
    "house": lambda wall, roof: f"{_fr_colour_query('house', wall)} au toit {_fr(roof, False)}",
    "count": _fr_count_query,
    "hat": lambda colour: ("un bonhomme de neige sans chapeau" if colour is None
                           else f"un bonhomme de neige avec un chapeau {_fr(colour, False)}"),
    "time": lambda kind, time: f"{KIND_PHRASE[kind]} {FR_TIME[time][0]}",
}
