"""How many pictures match, and learning from a thumbs-up: measured on the offline models.

For each offline model (clip-art CLIP and SigLIP) and each collection (the gallery's
50 scenes; 200 held-out generated scenes, seed 1, never trained on), two query groups:

- kind: the held-out kind-level queries ("a quiet pond between the hills"); where
  one names a detail the painter records ("a red vehicle on the road"), only the
  pictures of the kind that show it are right (``matching.kind_queries``);
- attribute: "a red car", "two cats", "a snowman with a blue hat", whose right
  pictures are the few of that kind that show it (what the painter drew);

and both together ("all"). One more row per collection scores the kind queries as
the course's retrieval evaluation does, every picture of the kind right. The
automatic cut-off (``calibration_for(model)``: two rules, one for queries that name a
colour or a count; match probability >= 0.5) is compared with (a) the best single global threshold on the
cosine, chosen after the fact on the same pictures and queries, and (b) each query cut
at its own best place (the oracle). Alternatives measured on the same queries: the
model's own sigmoid (SigLIP), a logistic fit on raw cosines, one z-score fit for every
query (shipped until the two rules), four
per-query rules and two detail rules that were tried and not shipped (bench/_cutoff_rules.py). The kind
group is also reported split into the queries that name a detail ("a fancy black
sedan") and those that do not (``matching.cutoffs_by_detail``).

Feedback: a simulated user marks the first 10 results of each query right or wrong
by their true labels; mAP of the whole ranking before, after one round and after
two (each round marks 10 not yet marked), Rocchio with several weights.

Rerun on new weights: ``python bench/bench_matches.py`` (it refits each course
model's calibration when its weights changed, and rewrites its RESULTS.md section).
A training run that is not shipped: ``python bench/bench_matches.py --run DIR --label NAME``
(DIR is the run's ``--out`` folder; its own section, "bench_matches NAME").
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _common import table, write_section  # noqa: E402
from _cutoff_rules import RULES as TRIED_RULES  # noqa: E402
from _cutoff_rules import (GENERIC_COLOURS, GENERIC_COUNTS, among_its_kind,  # noqa: E402
                           beats_its_rivals, generic_rivals, near_the_best)

from imgsearch_helpers import load_model  # noqa: E402
from imgsearch_helpers.clipart import SCENE_KINDS, generate_dataset  # noqa: E402
from imgsearch_helpers.matching import (CALIBRATION_SCENES_PER_KIND, CALIBRATION_SEED,  # noqa: E402
                                        MATCH_PROBABILITY, ROCCHIO_WEIGHTS, Calibration,
                                        calibration_for,
                                        clipart_scores, cutoff_score, fit_calibration,
                                        fit_clipart_calibration, own_sigmoid,
                                        simulate_feedback)
from imgsearch_helpers.matching import (absent_queries, calibration_queries,  # noqa: E402
                                        clipart_collections, compare_cutoffs, cutoff_table,
                                        cutoffs_by_detail, kind_queries, names_a_detail)
from imgsearch_helpers.matching._groups import embed_collection, query_scores  # noqa: E402

MODELS = ("imgsearch/clipart-clip", "imgsearch/clipart-siglip")
ROCCHIO_VARIANTS = [ROCCHIO_WEIGHTS, (1.0, 0.5, 0.1), (1.0, 1.0, 0.5), (1.0, 0.75, 0.0)]


def f3(x: float) -> str:
    return f"{x:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=20, help="held-out scenes per kind")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    parser.add_argument("--run", metavar="DIR",
                        help="measure the models of a training run (python -m imgsearch_helpers.training "
                             "--out DIR) instead of the shipped ones; each gets its calibration fitted as a "
                             "shipped model's is, and the section is named after --label")
    parser.add_argument("--label", default="", help="with --run: what the run is, for the section's name")
    args = parser.parse_args()
    started = time.perf_counter()
    cut_rows, alt_rows, fb_rows, rules, detail_rows, tried_rows = [], [], [], [], [], []
    absent_rows = []
    names = MODELS if not args.run else [str(p) for p in sorted(Path(args.run).glob("clipart-*"))
                                          if (p / "config.json").exists()]
    if not names:
        parser.error(f"{args.run} holds no model folder (clipart-clip, clipart-siglip)")
    for name in names:
        model = load_model(name, device="cpu")
        short = Path(name).name
        # A run's models are not installed course models: fit theirs as calibration_for
        # fits a course model's (the same scenes and queries), without saving it.
        auto = calibration_for(model) if model.is_clipart else fit_clipart_calibration(model)
        rules.append(f"- {name if model.is_clipart else short}: {auto.method} rule, scale {auto.scale:.2f}, bias "
                     f"{auto.bias:.2f} (a match from {auto.cut()}); for queries that name a "
                     f"colour or a count, {auto.detail.method} rule, scale "
                     f"{auto.detail.scale:.2f}, bias {auto.detail.bias:.2f} (a match from "
                     f"{auto.detail.cut()}). Rules {auto.source}.")
        # The alternatives, fitted on the same calibration scenes as the shipped rule.
        fit_scores, fit_relevant = clipart_scores(model, CALIBRATION_SEED,
                                                  CALIBRATION_SCENES_PER_KIND)
        alternatives = {"two rules (auto)": auto,
                        "one z-score fit for every query": fit_calibration(
                            fit_scores, fit_relevant, "zscore"),
                        "fixed z >= 1.5 (no fit)": Calibration("zscore", 10.0, -15.0),
                        "raw-cosine fit": fit_calibration(fit_scores, fit_relevant, "sigmoid")}
        if model.sigmoid_scores:
            alternatives["model's own sigmoid"] = own_sigmoid(model)
        else:
            alternatives["softmax-free sigmoid (scale only)"] = Calibration(
                "sigmoid", model.logit_scale, 0.0)
        # clipart_scores asks one query per kind first, then the attribute queries.
        is_kind = np.arange(len(fit_scores)) < len(SCENE_KINDS)
        tried = {label: make(fit_scores, fit_relevant, is_kind)
                 for label, make in TRIED_RULES.items()}
        # The detail rule "within delta of the best picture", fitted on the calibration
        # queries that name a detail, like the shipped detail rule.
        calib_scenes = generate_dataset(CALIBRATION_SCENES_PER_KIND * len(SCENE_KINDS),
                                        CALIBRATION_SEED, check=False)
        detailed = calibration_queries(calib_scenes)[1]
        calib_pictures = embed_collection(model, calib_scenes)
        detailed_scores = query_scores(model, detailed, calib_pictures)
        delta, near_best = near_the_best(detailed_scores, detailed.relevant)
        kind_cut, among_kind = among_its_kind(model, auto, detailed, detailed_scores, calib_pictures)
        collections = clipart_collections(args.per_kind)

        def auto_rule(queries, scores, auto=auto):
            return auto.query_probabilities(queries, scores) >= MATCH_PROBABILITY

        def near_best_rule(queries, scores, near_best=near_best, auto_rule=auto_rule):
            detail = np.array([names_a_detail(q) for q in queries], bool)[:, None]
            return np.where(detail, near_best(scores), auto_rule(queries, scores))

        for result in cutoff_table(model, args.per_kind, calibration=auto):
            row, scores, group = result
            if row.group == "attribute":
                absent = absent_queries(collections[row.collection])
                absent_scores = (query_scores(model, absent, result.pictures) if len(absent)
                                 else None)
                for label, judge in (("two rules (auto)", auto_rule),
                                     ("best global threshold (after the fact)",
                                      lambda q, s, t=row.best_global.threshold: s >= t),
                                     (f"detail rule: within {delta:.3f} of the best picture "
                                      "(tried)", near_best_rule),
                                     (f"among its kind: the query without its colour or count words "
                                      f"finds the kind, z >= {kind_cut:.2f} among those pictures (tried)",
                                      among_kind(result.pictures)),
                                     ("two rules, and the query beats its rivals: the painter's "
                                      "values (tried)", beats_its_rivals(model, result.pictures, auto_rule)),
                                     ("two rules, and the query beats its rivals: every colour or "
                                      "count word (tried)",
                                      beats_its_rivals(model, result.pictures, auto_rule, generic_rivals))):
                    called = judge(group.queries, scores)
                    none = ((~judge(absent.queries, absent_scores).any(axis=1)).mean()
                            if len(absent) else None)
                    absent_rows.append([short, row.collection, label,
                                        f3(cutoff_score(called, group.relevant).f1),
                                        f"{(~called.any(axis=1)).mean():.2f}", len(absent),
                                        "-" if none is None else f"{none:.2f}"])
            for label, rule in tried.items():
                f1 = cutoff_score(rule(scores), group.relevant).f1
                tried_rows.append([short, row.collection, row.group, label, f3(f1),
                                   f3(row.best_global.f1), f"{f1 / row.oracle.f1:.2f}",
                                   "yes" if f1 > row.best_global.f1 else "no"])
            cut_rows.append([short, row.collection, row.group, row.queries,
                             *map(f3, row.auto.row()), *map(f3, row.best_global.row()),
                             *map(f3, row.oracle.row()), f"{row.auto_vs_oracle:.2f}",
                             "yes" if row.auto.f1 > row.best_global.f1 else "no"])
            for label, cal in alternatives.items():
                score = cutoff_score(cal.query_probabilities(group.queries, scores)
                                     >= MATCH_PROBABILITY, group.relevant)
                alt_rows.append([short, row.collection, row.group, label,
                                 *map(f3, score.row())])
            if row.group == "kind":
                for _, r in cutoffs_by_detail(result, auto):
                    detail_rows.append([short, row.collection, r.group, r.queries,
                                        f3(r.auto.f1), f3(r.best_global.f1), f3(r.oracle.f1),
                                        f"{r.auto_vs_oracle:.2f}",
                                        "yes" if r.auto.f1 > r.best_global.f1 else "no"])
            if row.group == "all":
                continue
            for weights in ROCCHIO_VARIANTS:
                a, b, c = weights
                maps = simulate_feedback(result.queries_emb, result.pictures, group.relevant,
                                         rounds=2, marks=10, alpha=a, beta=b, gamma=c)
                fb_rows.append([short, row.collection, row.group, row.queries,
                                f"{a:g}/{b:g}/{c:g}", *map(f3, maps),
                                f"{maps[1] - maps[0]:+.3f}"])
        for collection, scenes in clipart_collections(args.per_kind).items():
            group = kind_queries(scenes, details=False)
            scores = query_scores(model, group, embed_collection(model, scenes))
            row = compare_cutoffs(name, collection, scores, group, auto)
            cut_rows.append([short, row.collection, row.group, row.queries,
                             *map(f3, row.auto.row()), *map(f3, row.best_global.row()),
                             *map(f3, row.oracle.row()), f"{row.auto_vs_oracle:.2f}",
                             "yes" if row.auto.f1 > row.best_global.f1 else "no"])
    head = ["model", "collection", "queries", "n", "auto P", "auto R", "auto F1",
            "global P", "global R", "global F1", "oracle P", "oracle R", "oracle F1",
            "auto/oracle F1", "auto > global"]
    body = "\n\n".join([
        "### The cut-off: automatic vs the best global threshold vs the per-query oracle\n\n"
        "Means over queries. The global threshold and the oracle are chosen after the fact "
        "on the very pictures and queries they are scored on (upper bounds); the automatic "
        "cut-off was fitted on other scenes (seed "
        f"{CALIBRATION_SEED}). Target: auto F1 >= 0.9 x oracle and above the best global "
        "threshold.\n\n" + table(head, cut_rows),
        ("The shipped rules:\n" if not args.run else "The rules, fitted as a shipped model's are:\n")
        + "\n".join(rules),
        "### Kind queries that name a detail\n\n"
        "Some held-out kind-level queries name a colour or a count (\"a fancy black "
        "sedan\", \"two dogs playing outside\", but also \"pine trees on a green hill\"). "
        "The automatic cut-off judges them with its stricter rule. The kind rows above, "
        "split by the query's words (F1; same cut-offs):\n\n"
        + table(["model", "collection", "queries", "n", "auto F1", "global F1", "oracle F1",
                 "auto/oracle F1", "auto > global"], detail_rows),
        "### Alternatives (P, R, F1 at p >= 0.5)\n\n"
        + table(["model", "collection", "queries", "rule", "P", "R", "F1"], alt_rows),
        "### Per-query rules tried, not shipped\n\n"
        "Fitted on the same calibration scenes as the shipped rule and judged on the same "
        "queries (bench/_cutoff_rules.py says what each does). F1, the best global "
        "threshold's F1 beside it, and the share of the oracle's:\n\n"
        + table(["model", "collection", "queries", "rule", "F1", "global F1", "of oracle",
                 "> global"], tried_rows),
        "### Queries that no picture answers\n\n"
        "F1 scores only queries with at least one right picture, and the oracle always "
        "calls at least the best picture a match. But \"a red car\" asked of a collection "
        "without a red car should find nothing. The attribute queries that no picture of "
        "the collection answers (`matching.absent_queries`) show what each rule does "
        "then: the share of them for which it rightly calls nothing, beside its F1 on the "
        "answered attribute queries and the share of those for which it calls nothing "
        "(wrongly). A rule that always calls its best picture a match gains F1 on the "
        "answered queries and loses every unanswered one. The rule \"among its kind\" leaves "
        "the query's colour and count words out (\"a red car\" -> \"a car\"), takes the pictures "
        "the rule for plain queries calls matches for that, and among them calls a match what "
        "stands out for the whole query (its z-score over those pictures, cut where the "
        "calibration queries' F1 is best). The last two rules of each group "
        "keep a match of the automatic cut-off only where the picture prefers the query "
        "to each of its rivals: the model classifies the named attribute of every picture "
        "itself (bench/_cutoff_rules.py). The rivals are the same query with every other "
        "value the painter draws for that kind (\"a blue car\", \"a white car\", ... for "
        "\"a red car\"; a favourable set that a rule for users' queries cannot know), or "
        f"with every other word of a fixed list of {len(GENERIC_COLOURS)} colours and the counts "
        f"{GENERIC_COUNTS[0]} to {GENERIC_COUNTS[-1]}.\n\n"
        + table(["model", "collection", "rule", "attribute F1", "answered: none called",
                 "unanswered n", "unanswered: none called"], absent_rows),
        "### Feedback: mAP before / after one / after two rounds (simulated user, 10 marks "
        "a round)\n\nRocchio weights query/liked/disliked; the first line of each group is "
        "the shipped default. mAP of the whole ranking, marked pictures included (what "
        "the user sees).\n\n"
        + table(["model", "collection", "queries", "n", "weights", "before", "after 1",
                 "after 2", "gain 1"], fb_rows),
        f"Took {time.perf_counter() - started:.0f} s.",
    ])
    print(body)
    if not args.no_write:
        write_section("bench_matches" + (f" {args.label or Path(args.run).name}" if args.run else ""), body)


if __name__ == "__main__":
    main()
