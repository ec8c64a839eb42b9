"""How many pictures match a query, and learning from a thumbs-up (notebook 04).

A search returns the top k whether 2 pictures match or 200. Here every result gets
a match probability ``p_match`` and a query keeps only the results judged to match
(``search(..., matches="auto")``):

- SigLIP-family models were trained with a sigmoid per (picture, text) pair, so
  ``sigmoid(scale * cos + bias)`` looks like a probability already (:func:`own_sigmoid`);
  measured, it calls far too few pictures matches at p >= 0.5.
- CLIP was trained with a softmax over a batch: no bias, and its cosines shift
  from query to query, so no cosine threshold holds across queries.
- What holds across queries, for both families, is how far a picture stands out
  from the rest of the collection: the z-score of its cosine, mapped to a
  probability by a small logistic fit on the course's own labelled scenes
  (:func:`calibration_for`).
- A query that names a colour or a count ("a red car", :func:`names_a_detail`) wants
  a few of the pictures that stand out (the red cars among the cars), so it gets a
  stricter rule of its own (:meth:`Calibration.for_query`).

:func:`refine` moves a query towards pictures marked right and away from those
marked wrong (Rocchio's relevance feedback). bench/bench_matches.py measures both.

Inside: ``_calibrate`` (the rules), ``_detail`` (which words name a detail), ``_fit`` (which model gets which, fitting),
``_feedback`` (refine), ``_groups`` (labelled query groups on clip-art,
the cut-off table), ``_measure`` (precision/recall/F1 of a cut-off, mAP per round).
"""
from ._calibrate import (CALIBRATION_FILE, MATCH_PROBABILITY, Calibration, match_words,
                         weights_sha256)
from ._feedback import ROCCHIO_WEIGHTS, refine
from ._detail import COLOUR_WORDS, NUMBER_WORDS, named_details, names_a_detail
from ._fit import (CALIBRATION_SCENES_PER_KIND, CALIBRATION_SEED, DEFAULT_CALIBRATION,
                   calibration_for, clipart_scores, fit_calibration, fit_clipart_calibration,
                   own_sigmoid)
from ._groups import (HELDOUT_PER_KIND, HELDOUT_SEED, CutoffRow, Measured, QueryGroup,
                      absent_queries, attribute_queries, calibration_queries, clipart_collections,
                      compare_cutoffs, cutoff_table,
                      cutoffs_by_detail, kind_queries, recorded_details, split_by_detail)
from ._measure import (CutoffScore, average_precision_rows, best_global_threshold, cutoff_score,
                       oracle_cutoff, prf, simulate_feedback)

__all__ = ["Calibration", "calibration_for", "own_sigmoid", "fit_calibration", "clipart_scores",
           "refine", "match_words", "MATCH_PROBABILITY", "weights_sha256", "CALIBRATION_FILE", "CALIBRATION_SEED",
           "CALIBRATION_SCENES_PER_KIND",
           "DEFAULT_CALIBRATION", "ROCCHIO_WEIGHTS", "CutoffScore", "cutoff_score",
           "best_global_threshold", "oracle_cutoff", "prf", "average_precision_rows",
           "simulate_feedback", "QueryGroup", "CutoffRow", "Measured", "cutoff_table",
           "compare_cutoffs", "cutoffs_by_detail", "kind_queries", "names_a_detail", "split_by_detail",
           "recorded_details", "calibration_queries", "COLOUR_WORDS", "NUMBER_WORDS", "fit_clipart_calibration",
           "named_details",
           "attribute_queries", "absent_queries", "clipart_collections", "HELDOUT_SEED", "HELDOUT_PER_KIND"]
