"""Private: labelled query groups on clip-art scenes, and the cut-off comparison table."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._calibrate import MATCH_PROBABILITY, Calibration
from ._detail import names_a_detail
from ._measure import CutoffScore, best_global_threshold, cutoff_score, oracle_cutoff
from ..models import LoadedModel

# The held-out evaluation scenes (training's EVAL_SEED: never trained on, never used to
# fit a calibration) and how many of each kind the benchmark draws.
HELDOUT_SEED = 1
HELDOUT_PER_KIND = 20
# Colour queries are asked of these kinds; count and hat queries of the others below.
_COLOUR_KINDS = ("car", "house", "boat", "cat", "dog", "flower")
_COUNT_KINDS = ("cat", "tree")


@dataclass(frozen=True)
class QueryGroup:
    """Text queries over one collection of pictures, with the right pictures of each."""

    name: str
    queries: tuple[str, ...]
    relevant: np.ndarray           # (queries, pictures) bool

    def __len__(self) -> int:
        return len(self.queries)


def kind_queries(scenes, details: bool = True) -> QueryGroup:
    """The held-out kind-level queries ("a quiet pond between the hills") and their right pictures.

    Parameters
    ----------
    scenes : list of Scene
    details : bool
        True: a query that names a detail the painter records ("a red vehicle on the
        road", "two dogs playing outside": :func:`recorded_details`) is right only for
        the pictures of its kind that show it. False: every picture of the kind is
        right, whatever the query says (how the course's held-out queries are scored
        for retrieval).
    """
    from ..clipart import HELDOUT_QUERIES

    relevant = np.array([_right_pictures(q if details else "", kinds, scenes)
                         for q, kinds in HELDOUT_QUERIES])
    keep = relevant.any(axis=1)
    return QueryGroup("kind" if details else "kind, any of the kind right",
                      tuple(q for (q, _), ok in zip(HELDOUT_QUERIES, keep) if ok), relevant[keep])


def _right_pictures(query: str, kinds, scenes) -> np.ndarray:
    """Which scenes are of one of ``kinds`` and show every detail of them that ``query`` names.

    The details are those of :func:`recorded_details`, judged by the painter's record
    (:func:`~imgsearch_helpers.clipart.shows`); a query that names none is right for
    every scene of its kinds.
    """
    from ..clipart import shows

    wanted = recorded_details(query, kinds)
    return np.array([s.kind in kinds and shows(s.attributes, **wanted) for s in scenes], bool)


def recorded_details(query: str, kinds) -> dict:
    """The details the painter records for ``kinds`` that ``query`` names, as attributes.

    A colour of that kind ("a fancy black *sedan*": ``{"colour": "black"}``) or a count
    word ("*two* dogs playing outside": ``{"count": 2}``). "snowy peaks above blue
    water" names a colour, but not one the painter records for a lake: ``{}``.
    """
    from ..clipart import ATTRIBUTE_VALUES, COUNT_WORDS

    words = set(query.lower().replace(",", " ").split())
    found = {}
    for kind in kinds:
        for colour in ATTRIBUTE_VALUES.get((kind, "colour"), ()):
            if colour in words:
                found["colour"] = colour
        for n in ATTRIBUTE_VALUES.get((kind, "count"), ()):
            if n > 1 and COUNT_WORDS.get(n) in words:
                found["count"] = n
    return found


def _split_by_detail(group: QueryGroup) -> list[tuple[QueryGroup, np.ndarray]]:
    flags = np.array([names_a_detail(q) for q in group.queries], bool)
    return [(QueryGroup(name, tuple(q for q, k in zip(group.queries, keep) if k),
                        group.relevant[keep]), keep)
            for name, keep in (("kind, no detail named", ~flags), ("kind, names a detail", flags))]


def split_by_detail(group: QueryGroup) -> tuple[QueryGroup, QueryGroup]:
    """A group's queries that name no colour or count, and those that do (:func:`names_a_detail`).

    The calibration judges the two with different rules (:meth:`Calibration.for_query`).
    """
    (plain, _), (detailed, _) = _split_by_detail(group)
    return plain, detailed


def cutoffs_by_detail(measured: "Measured",
                      calibration: Calibration) -> list[tuple[QueryGroup, "CutoffRow"]]:
    """A row of :func:`cutoff_table` split as :func:`split_by_detail` splits its queries.

    Parameters
    ----------
    measured : Measured
    calibration : Calibration
        The cut-off to judge (the one the row was measured with).

    Returns
    -------
    list of (QueryGroup, CutoffRow)
        The queries that name no detail, then those that do, each with its cut-offs.
    """
    return [(part, compare_cutoffs(measured.row.model, measured.row.collection,
                                   measured.scores[keep], part, calibration))
            for part, keep in _split_by_detail(measured.group)]


def _attribute_tests(scenes) -> tuple[list[str], np.ndarray]:
    """Every attribute query the painter's values allow, and which scenes each is right for."""
    from ..clipart import ATTRIBUTE_VALUES, colour_query, count_query
    from ..clipart import hat_query

    tests = []
    for kind in _COLOUR_KINDS:
        for colour in ATTRIBUTE_VALUES[(kind, "colour")]:
            tests.append((colour_query(kind, colour),
                          lambda a, k=kind, c=colour: a["kind"] == k and a["colour"] == c))
    for kind in _COUNT_KINDS:
        for n in ATTRIBUTE_VALUES[(kind, "count")]:
            tests.append((count_query(kind, n),
                          lambda a, k=kind, n=n: a["kind"] == k and a["count"] == n))
    for hat in ATTRIBUTE_VALUES[("snow", "hat")]:
        tests.append((hat_query(hat), lambda a, h=hat: a["kind"] == "snow"
                      and a.get("snowman") and a.get("hat") == h))
    relevant = np.array([[bool(test(s.attributes)) for s in scenes] for _, test in tests])
    return [q for q, _ in tests], relevant.reshape(len(tests), len(scenes))


def attribute_queries(scenes) -> QueryGroup:
    """Attribute queries ("a red car", "two cats", "a snowman with a blue hat").

    Right: the pictures of that kind that show the attribute, as the painter drew
    it (:attr:`Scene.attributes`); only queries with at least one right picture
    (:func:`absent_queries` has the others).
    """
    queries, relevant = _attribute_tests(scenes)
    keep = relevant.any(axis=1)
    return QueryGroup("attribute", tuple(q for q, ok in zip(queries, keep) if ok),
                      relevant[keep])


def absent_queries(scenes) -> QueryGroup:
    """The attribute queries that no picture of ``scenes`` answers ("a red car" with no red car).

    A good cut-off calls nothing a match for them. F1 cannot score such a query (it
    has no right picture), so the cut-off table leaves them out and the benchmark
    reports how often each rule rightly calls nothing.
    """
    queries, relevant = _attribute_tests(scenes)
    absent = ~relevant.any(axis=1)
    return QueryGroup("absent", tuple(q for q, none in zip(queries, absent) if none),
                      relevant[absent])


def calibration_queries(scenes, per_kind: int = 6,
                        seed: int = 0) -> tuple[QueryGroup, QueryGroup]:
    """Labelled queries to fit the two rules of a calibration on: plain ones, and detailed ones.

    Each rule is fitted on the kind of query it will judge (:func:`names_a_detail`):

    - plain: the zero-shot prompt of each kind ("a photo of a cat") and up to
      ``per_kind`` of the scenes' own English captions per kind that name no colour or
      count ("a quiet lake in daylight"); right: that kind;
    - detailed: :func:`attribute_queries` and up to ``per_kind`` captions per kind that
      name one ("a red car parked outside", "blue water and snowy mountains"); right:
      the pictures of that kind that show what the painter records of it
      (:func:`recorded_details`; every picture of the kind for a detail it does not
      record).

    Parameters
    ----------
    scenes : list of Scene
    per_kind : int
        Captions per kind in each group.
    seed : int
        Which captions are drawn.
    """
    from ..clipart import SCENE_KINDS, ZERO_SHOT_PROMPTS

    rng = np.random.default_rng(seed)
    kinds = np.array([s.kind for s in scenes])
    plain = [(ZERO_SHOT_PROMPTS[k], kinds == k) for k in SCENE_KINDS]
    detailed = []
    for kind in SCENE_KINDS:
        captions = sorted({c for s in scenes if s.kind == kind
                           for c, lang in zip(s.captions, s.languages) if lang == "en"})
        found = {False: [], True: []}
        for caption in rng.permutation(captions):
            names = names_a_detail(caption)
            if len(found[names]) >= per_kind:
                continue
            right = _right_pictures(str(caption), (kind,), scenes)
            if right.any():
                found[names].append((str(caption), right))
        plain += found[False]
        detailed += found[True]
    attributes = attribute_queries(scenes)
    detailed = list(zip(attributes.queries, attributes.relevant)) + detailed
    return tuple(QueryGroup(name, tuple(q for q, _ in pairs), np.array([r for _, r in pairs]))
                 for name, pairs in (("plain", plain), ("detailed", detailed)))


def mixed(groups) -> QueryGroup:
    """All the groups' queries together (over the same pictures)."""
    return QueryGroup("all", tuple(q for g in groups for q in g.queries),
                      np.concatenate([g.relevant for g in groups]))


@dataclass(frozen=True)
class CutoffRow:
    """One line of the cut-off table: a model, a collection, a query group, three cut-offs."""

    model: str
    collection: str
    group: str
    queries: int
    auto: CutoffScore
    best_global: CutoffScore
    oracle: CutoffScore

    @property
    def auto_vs_oracle(self) -> float:
        """The automatic cut-off's F1 as a share of the oracle's."""
        return self.auto.f1 / self.oracle.f1 if self.oracle.f1 else float("nan")


def compare_cutoffs(model_name: str, collection: str, scores: np.ndarray, group: QueryGroup,
                    calibration: Calibration) -> CutoffRow:
    """The automatic cut-off against the best global threshold and the per-query oracle.

    Parameters
    ----------
    model_name, collection : str
        For the table.
    scores : np.ndarray, (queries, pictures)
        The group's cosines against every picture of the collection.
    group : QueryGroup
    calibration : Calibration
        Each query is judged by its own rule (:meth:`Calibration.for_query`).
    """
    auto = cutoff_score(calibration.query_probabilities(group.queries, scores)
                        >= MATCH_PROBABILITY, group.relevant)
    return CutoffRow(model_name, collection, group.name, len(group), auto,
                     best_global_threshold(scores, group.relevant),
                     oracle_cutoff(scores, group.relevant))


def embed_collection(model: LoadedModel, scenes) -> np.ndarray:
    """Unit embeddings of the scenes' pictures."""
    from ..embeddings import embed_images

    return embed_images(model, [s.image for s in scenes])


def query_scores(model: LoadedModel, group: QueryGroup, pictures: np.ndarray) -> np.ndarray:
    """Cosines of the group's queries (embedded by ``model``) with every picture."""
    from ..embeddings import embed_texts

    return embed_texts(model, list(group.queries)) @ np.asarray(pictures).T


def clipart_collections(heldout_per_kind: int = HELDOUT_PER_KIND) -> dict[str, list]:
    """The two clip-art collections the cut-off is measured on, by name: their scenes."""
    from ..clipart import generate_dataset, gallery_scenes

    return {"gallery": list(gallery_scenes().values()),
            "held-out scenes": generate_dataset(heldout_per_kind * 10, HELDOUT_SEED, check=False)}


@dataclass(frozen=True)
class Measured:
    """One cut-off row with what it was computed from (for further measures)."""

    row: CutoffRow
    scores: np.ndarray          # (queries, pictures)
    group: QueryGroup
    queries_emb: np.ndarray     # (queries, d)
    pictures: np.ndarray        # (pictures, d)

    def __iter__(self):
        return iter((self.row, self.scores, self.group))


def cutoff_table(model: LoadedModel, heldout_per_kind: int = HELDOUT_PER_KIND,
                 calibration: Calibration | None = None) -> list[Measured]:
    """The cut-off comparison of ``model`` on both clip-art collections and all query groups.

    Parameters
    ----------
    model : LoadedModel
    heldout_per_kind : int
        Held-out scenes per kind.
    calibration : Calibration, optional
        Default: :func:`calibration_for` the model.

    Returns
    -------
    list of Measured
        Per collection: the kind, attribute and all-queries rows.
    """
    from ..embeddings import embed_texts
    from ._fit import calibration_for

    calibration = calibration or calibration_for(model)
    out = []
    for collection, scenes in clipart_collections(heldout_per_kind).items():
        pictures = embed_collection(model, scenes)
        groups = [kind_queries(scenes), attribute_queries(scenes)]
        groups.append(mixed(groups))
        for group in groups:
            queries = embed_texts(model, list(group.queries))
            scores = queries @ pictures.T
            out.append(Measured(compare_cutoffs(model.name, collection, scores, group,
                                                calibration), scores, group, queries, pictures))
    return out
