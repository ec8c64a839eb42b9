"""Measure a model on labelled pictures: recall@k, zero-shot top-1, mean average precision.

Notebook 07 (which model?) compares models with it; point it at your own
labelled photos to measure them where it matters to you. A labelled set is
one of:

- :func:`gallery_set`: the offline clip-art gallery, each picture's kind (from
  its file name) and its caption;
- :func:`photos_set`: ``data/photos`` with its ``labels.json``;
- :func:`image_folder_set`: any folder laid out one sub-folder per label
  (``my_photos/cat/*.jpg``, ``my_photos/car/*.jpg``: the ImageFolder convention).

The metrics, all between 0 and 1, higher is better:

``t2i R@k``
    text -> image: the share of text queries with at least one right picture
    among the first k (COCO's R@k, for queries with several right answers).
``t2i mAP``
    the mean, over text queries, of the average precision of the whole ranking:
    1.0 when every right picture comes before every wrong one.
``i2i R@k``, ``i2i mAP``
    image -> image: each picture is a query (and left out of its own results);
    the right answers are the other pictures that show its main (first) label.
``zero-shot top-1``
    the share of pictures whose best label prompt ("a photo of a {label}.") is
    one of the labels the picture shows.

Text queries are the captions when the set has them (the gallery), else one
query per label made from the templates. Several templates are averaged into
one text embedding per label (prompt ensembling, as the CLIP paper does with
:data:`IMAGENET_TEMPLATES`).

The fine-grained benchmark (:func:`finegrained_benchmark`) asks whether a model reads
details: the colour of the car, how many cats, the time of day, on held-out clip-art
scenes whose attributes the painter recorded; top-1 among scenes of the same kind,
with the chance level beside it (notebook 06 teaches it).

Inside: ``_finegrained`` (the fine-grained benchmark), ``_sets`` (the labelled sets), ``_metrics`` (the metrics, :func:`evaluate`, speed and
size), ``_table`` (:class:`ScoreTable`).
"""

from ._metrics import (
    DEFAULT_TEMPLATES,
    IMAGENET_TEMPLATES,
    average_precision,
    evaluate,
    measure_speed,
    model_size,
    recall_at_k,
    score_embeddings,
)
from ._finegrained import (TASKS as FINEGRAINED_TASKS, FINEGRAINED_PER_KIND, FINEGRAINED_SEED, FINEGRAINED_TARGETS, POOL_SIZE,
                           MEASURED_FILE, FineGrainedSet, detail_note, finegrained_benchmark, finegrained_set,
                           finegrained_table, score_finegrained)
from ._sets import LABELS_FILE, LabelledSet, gallery_set, image_folder_set, photos_set, read_labels
from ._table import ScoreTable

__all__ = [
    "LabelledSet",
    "gallery_set",
    "photos_set",
    "image_folder_set",
    "read_labels",
    "evaluate",
    "score_embeddings",
    "recall_at_k",
    "average_precision",
    "measure_speed",
    "model_size",
    "ScoreTable",
    "DEFAULT_TEMPLATES",
    "IMAGENET_TEMPLATES",
    "LABELS_FILE",
    "FineGrainedSet",
    "finegrained_set",
    "finegrained_benchmark",
    "finegrained_table",
    "score_finegrained",
    "FINEGRAINED_SEED",
    "FINEGRAINED_PER_KIND",
    "FINEGRAINED_TARGETS",
    "POOL_SIZE",
    "FINEGRAINED_TASKS",
    "MEASURED_FILE",
    "detail_note",
]
