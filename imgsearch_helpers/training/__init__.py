"""Train the course's three offline models on generated clip-art, from scratch, on a CPU.

One command rebuilds them all and writes ``data/models/EVAL.md``::

    python -m imgsearch_helpers.training --out data/models

The functions are also what notebook 06 (how CLIP learns) uses: the two losses,
:func:`contrastive_loss` (CLIP) and :func:`sigmoid_loss` (SigLIP), and the
training loops :func:`train_clip`, :func:`train_siglip` and :func:`train_vit`.

Inside: ``_data`` (captions, tokenizer, batches), ``_models`` (the three small
architectures), ``_loops`` (losses and training), ``_eval`` (metrics, model cards),
``_command`` (the command line), ``_plot`` (training curves).
"""
from ._command import main
from ._details import same_cost_towers
from ._data import TEXT_LENGTH, TrainingData, build_tokenizer, own_negatives, prepare_data, sample_captions
from ._eval import embed_text, evaluate, heldout_scenes
from ._loops import (DEFAULTS, EVERY_LANGUAGE_RECIPE, FINEGRAINED_RECIPE, HARD_NEGATIVE_RECIPE,
                     HARD_PICTURE_RECIPE, HELDOUT_THRESHOLDS, PLAIN_RECIPE, RECIPE_NAMES, SHIPPED_RECIPES,
                     contrastive_loss, full_recipe, hard_negative_loss, hard_picture_loss,
                     heldout_accuracy, recipe_name, sigmoid_loss, train_clip, train_siglip, train_vit,
                     training_step)
from ._models import SIZES, build_processor, save
from ._plot import TrainingCurves, plot_history

__all__ = ["contrastive_loss", "sigmoid_loss", "hard_negative_loss", "hard_picture_loss", "prepare_data",
           "build_tokenizer",
           "TrainingData", "train_clip", "train_siglip", "train_vit", "heldout_accuracy", "evaluate",
           "heldout_scenes", "build_processor", "save", "SIZES", "DEFAULTS", "main", "embed_text",
           "sample_captions", "own_negatives",
           "TEXT_LENGTH", "PLAIN_RECIPE", "FINEGRAINED_RECIPE", "HARD_NEGATIVE_RECIPE", "EVERY_LANGUAGE_RECIPE",
           "HARD_PICTURE_RECIPE", "RECIPE_NAMES",
           "recipe_name", "full_recipe", "SHIPPED_RECIPES", "HELDOUT_THRESHOLDS", "plot_history",
           "TrainingCurves", "same_cost_towers", "training_step"]
