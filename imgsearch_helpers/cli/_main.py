"""The ``imgsearch`` parser, its exit statuses and how errors reach the terminal."""
from __future__ import annotations

import argparse
import os
import sys
import warnings

from ._app import register as add_app_command
from ._common import CliError, Interrupted, note
from ._explain import register as add_explain_command
from ._quiet import only_our_words
from ._search import register as add_search_commands
from ._setup import register as add_setup_commands
from ..images import ImageLoadError
from ..index import ImageIndexError
from ..models import ClipartModelWarning, ModelNotAvailableError
from ..settings import DEVICE_ENV, HUB_OFFLINE_ENV, MODEL_ENV, PROFILE_ENV

_DESCRIPTION = """\
Search a folder of your own pictures with words, from a terminal.

examples:
  imgsearch search "a cat on a sofa"              # in the current folder
  imgsearch search "a lake" "+ snow" ~/Pictures   # a combined query
  imgsearch similar IMG_0042.jpg ~/Pictures
  imgsearch duplicates ~/Pictures
  imgsearch models                                # which models, which are here
  imgsearch prefetch                              # while online: get the real models
  imgsearch doctor                                # is this laptop ready?
  imgsearch app ~/Pictures                        # the search app as a web page
  imgsearch explain "a cat" IMG_0042.jpg -o heat.png  # why did it match?

`imgsearch COMMAND --help` shows each command's options and examples.
"""

_EPILOG = f"""\
environment: {MODEL_ENV} (default model), {DEVICE_ENV} (cpu, cuda, mps),
{PROFILE_ENV} (online / offline), {HUB_OFFLINE_ENV}=1 (never download).
exit status: 0 done, 1 failed (the message says why), 2 wrong command line,
130 stopped by Ctrl-C.
"""

# Failures the user can act on; anything else is a bug and keeps its traceback.
_EXPECTED = (ImageIndexError, ModelNotAvailableError, ImageLoadError, OSError)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The top parser and each subcommand's own parser, by name."""
    parser = argparse.ArgumentParser(
        prog="imgsearch", description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for add in (add_search_commands, add_setup_commands, add_app_command, add_explain_command):
        add(sub)
    return parser, dict(sub.choices)


def _version() -> str:
    import imgsearch_helpers
    return imgsearch_helpers.__version__


def main(argv: list[str] | None = None) -> int:
    """Run the ``imgsearch`` command; returns its exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after the command's name; default ``sys.argv[1:]``.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, commands = build_parser()
    if argv and argv[0] in commands:
        # Options may come anywhere, even after the folder: "search 'a cat' -k 3 ~/Pictures".
        args = commands[argv[0]].parse_intermixed_args(argv[1:])
    else:
        args = parser.parse_args(argv)
        if not hasattr(args, "run"):
            parser.print_help(sys.stderr)
            return 2
    try:
        with warnings.catch_warnings(), only_our_words(getattr(args, "verbose", False)):
            # The command prints its own one-line note for a clip-art model on photos.
            warnings.simplefilter("ignore", ClipartModelWarning)
            return args.run(args)
    except BrokenPipeError:
        # `imgsearch search x | head -1`: the reader left, which is no error. Point stdout
        # at /dev/null so that Python's flush at exit does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Interrupted as err:
        note(str(err))
        return err.status
    except KeyboardInterrupt:
        note("stopped")
        return Interrupted.status
    except CliError as err:
        note(f"error: {err}")
        return err.status
    except _EXPECTED as err:
        text = " ".join(str(err).split())
        note(f"error: {text or type(err).__name__}")
        return 1
