"""The command speaks only its own words: library chatter is kept off the terminal."""
from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import warnings


@contextlib.contextmanager
def only_our_words(verbose: bool = False):
    """While the command runs, send what libraries print (Python warnings, logging, and
    C libraries writing to file descriptor 2, such as libtiff's ``TIFFFetchDirectory``)
    away from the terminal; the command's own lines (``sys.stderr``) still reach it.

    Every file those messages are about is already in the skip list with its reason.
    The descriptor is redirected once for the whole command rather than around each
    decode: the decoding threads share it, and worker processes inherit it when they
    start. ``verbose`` leaves everything as it is.
    """
    if verbose:
        yield
        return
    sys.stderr.flush()
    terminal = os.dup(2)
    try:
        writes_to_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):      # replaced, e.g. by a test's capture
        writes_to_fd2 = False
    ours = open(terminal, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                errors="backslashreplace", closefd=False) if writes_to_fd2 else sys.stderr
    old_stderr, old_env = sys.stderr, os.environ.get("PYTHONWARNINGS")
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.environ["PYTHONWARNINGS"] = "ignore"       # decoding worker processes
        logging.disable(logging.WARNING)
        os.dup2(sink.fileno(), 2)
        sys.stderr = ours
        try:
            yield
        finally:
            ours.flush()
            with contextlib.suppress(ValueError, OSError):
                old_stderr.flush()
            os.dup2(terminal, 2)
            os.close(terminal)
            sys.stderr = old_stderr
            logging.disable(logging.NOTSET)
            if old_env is None:
                os.environ.pop("PYTHONWARNINGS", None)
            else:
                os.environ["PYTHONWARNINGS"] = old_env
