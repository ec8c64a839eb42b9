"""The ``imgsearch`` command: search a folder of your own pictures from a terminal.

::

    imgsearch search "a cat on a sofa"            # in the current folder
    imgsearch search "a lake" "+ snow" ~/Pictures -k 10
    imgsearch similar holiday/IMG_0042.jpg ~/Pictures
    imgsearch duplicates ~/Pictures
    imgsearch models | prefetch | doctor | app

Every subcommand's ``--help`` shows examples. It is built on the package's public
API: a persistent :class:`~imgsearch_helpers.index.ImageIndex` per folder and
model, :func:`~imgsearch_helpers.load_model` and notebook 04's
:mod:`~imgsearch_helpers.similarity`.

Inside: ``_main`` (the parser, exit codes and error handling), ``_common`` (the
model, the folder, its index, progress and messages), ``_search`` (index, search,
similar, duplicates), ``_setup`` (models, prefetch, doctor), ``_app`` (app).
"""
from ._main import main

__all__ = ["main"]
