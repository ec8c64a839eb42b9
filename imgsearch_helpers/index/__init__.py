"""A persistent, incremental index of a folder of images.

Notebook 05 builds one; :meth:`ImageIndex.build` is all it takes::

    model = load_model("openai/clip-vit-base-patch32")
    index = ImageIndex.build("data/photos", model)
    index.search_text(model, "a cat on a sofa", k=5)

Running ``build`` again embeds only new and changed files, drops deleted ones and
keeps moved ones; an interrupted run (even a killed process) resumes from its last
checkpoint. The embeddings are memory-mapped, so opening a million-image index
takes well under a second. The files on disk: ``_store`` (and ``_checkpoints``);
how an update decides what to embed: ``_update``; when each picture was taken
(EXIF, else the file's time): ``_capture``.
"""
from ._capture import Capture, parse_when, read_capture
from ._image_index import (INDEX_DIRNAME, SORTS, Embedder, ImageIndex, ModelEmbedder,
                           default_index_dir, index_location, user_cache_dir)
from ._store import (ImageIndexError, IndexCorruptError, IndexLockedError,
                     IndexModelMismatchError, IndexReadOnlyError)

__all__ = ["ImageIndex", "Embedder", "ModelEmbedder", "default_index_dir", "INDEX_DIRNAME",
           "index_location", "user_cache_dir",
           "ImageIndexError", "IndexCorruptError", "IndexModelMismatchError", "IndexLockedError",
           "IndexReadOnlyError", "Capture", "read_capture", "parse_when", "SORTS"]
