"""Decoding and preprocessing images for the models, at the speed of the machine.

* ``_prepare``: one image on the CPU (:func:`load_image`, then the model's processor);
* ``_workers``: as many workers as the process may use cores, threads or processes,
  never more than two batches ahead of the model;
* ``_nvjpeg``: JPEGs decoded on the GPU (torchvision's nvJPEG) and preprocessed
  there, when the model runs on CUDA and torchvision is installed
  (``pip install 'imgsearch-helpers[gpu]'``); without it nothing changes.

:func:`~imgsearch_helpers.embeddings.iter_image_batches` is the caller.
"""
from ._nvjpeg import TensorPreprocessor, UnsupportedProcessor, load_decoder
from ._prepare import image_processor, prepare_image, processor_inputs, size_dict
from ._workers import (DECODERS, PROCESSES_FROM, PROCESSES_MIN_ITEMS, cpu_backend, default_workers,
                       main_is_reimportable, prepared_batches)

__all__ = ["DECODERS", "PROCESSES_FROM", "PROCESSES_MIN_ITEMS", "default_workers", "cpu_backend",
           "main_is_reimportable", "prepared_batches",
           "image_processor", "processor_inputs", "prepare_image", "size_dict",
           "TensorPreprocessor", "UnsupportedProcessor", "load_decoder"]
