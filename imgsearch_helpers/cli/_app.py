"""app: notebook 05's search app as a standalone web page, served by Voilà."""
from __future__ import annotations

import argparse
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._common import (CliError, Interrupted, UsageError, add_device_options, check_model,
                      choose_model, folder_arg, load, note, open_index, shown, warn_clipart)

_APP_HELP = """\
Serve the search app of notebook 05 as a web page (with Voila, which shows the
app without the notebook's code): type words, upload a picture, click "More like
this". The folder's index is brought up to date first, so the page opens at once
when nothing changed. It listens on this computer only (127.0.0.1) unless --host
says otherwise, with a secret token in the URL it prints. Each open page runs its
own Python process with the model: show it to a room from one screen.

examples:
  imgsearch app ~/Pictures
  imgsearch app data/gallery --model imgsearch/clipart-clip --model imgsearch/clipart-siglip
  imgsearch app ~/Pictures --port 9000
  imgsearch app ~/Pictures --host 0.0.0.0     # reachable from the network: careful
"""

# The page: a notebook whose only cell makes the app. Voila runs it for each visitor.
_CELL = """\
from imgsearch_helpers import SearchApp
from imgsearch_helpers.index import ImageIndex

SearchApp(ImageIndex.open({index!r}), {models!r}, device={device!r})
"""


def register(sub) -> None:
    """Add the ``app`` subcommand to the ``imgsearch`` parser."""
    p = sub.add_parser("app", formatter_class=argparse.RawDescriptionHelpFormatter,
                       description=_APP_HELP, help="the search app as a web page")
    p.add_argument("folder", nargs="?", help="default: the current folder")
    p.add_argument("-m", "--model", action="append", metavar="NAME",
                   help="a model for the app's picker (repeat for more; the first is used "
                        "first); default as for search")
    add_device_options(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int, default=8866, help="default 8866; 0 for any free port")
    p.set_defaults(run=run_app)


def _free_port(host: str, port: int) -> int:
    """``port`` if it can be bound on ``host`` (any free one for 0); else UsageError."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        try:
            sock.bind((host, port))
        except OSError as err:
            raise UsageError(f"cannot listen on {host}:{port} ({err.strerror or err}); choose "
                             "another with --port (0 takes any free port)") from None
        return sock.getsockname()[1]


def _page(folder: Path, index_dir: Path, models: list[str], device: str | None) -> Path:
    import nbformat

    workdir = Path(tempfile.mkdtemp(prefix="imgsearch-app-"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(_CELL.format(index=str(index_dir), models=models,
                                                       device=device))]
    nb.metadata["title"] = f"imgsearch: {folder.name or folder}"
    path = workdir / "imgsearch.ipynb"
    nbformat.write(nb, path)
    return path


def _wait_until_listening(proc, host: str, port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:]
            raise CliError(f"Voila stopped at start ({tail[0] if tail else 'no output'}); "
                           f"its log: {log}")
        try:
            with socket.create_connection((host if host not in ("0.0.0.0", "::") else
                                           "127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise CliError(f"Voila did not answer within {timeout:.0f} s; its log: {log}")


def run_app(args) -> int:
    try:
        import voila  # noqa: F401  (checked before any work is done)
    except ImportError:
        raise CliError("the app needs Voila: pip install voila") from None
    folder = folder_arg(args.folder)
    asked = [(name, False) for name in args.model] if args.model else [choose_model(None, folder)]
    models = [check_model(name, is_default) for name, is_default in asked]
    port = _free_port(args.host, args.port)
    # The first model's index is built here, with a progress bar, so that the page only
    # opens it; the others are embedded by the app when picked.
    loaded = load(models[0], args.device)
    index = open_index(folder, loaded, f"imgsearch app {shown(folder)}")
    if len(index) == 0:
        raise CliError(f"no pictures to show in {shown(folder)}")
    models[0] = index.model_name
    warn_clipart(loaded.name, folder)
    page = _page(folder, index.index_dir, models, args.device)
    token = secrets.token_urlsafe(16)
    log = page.with_name("voila.log")
    command = [sys.executable, "-m", "voila", str(page), "--no-browser", f"--port={port}",
               f"--Voila.ip={args.host}", "--Voila.port_retries=0", f"--Voila.token={token}",
               "--show_tracebacks=False", "--theme=light"]
    # `kill` (SIGTERM) ends the app as Ctrl-C does, so that Voila is never left behind.
    signal.signal(signal.SIGTERM, _terminate)
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=page.parent, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_until_listening(proc, args.host, port, log)
        shown_host = f"[{args.host}]" if ":" in args.host else args.host
        print(f"http://{shown_host}:{port}/?token={token}", flush=True)
        note(f"serving the search app for {shown(folder)} ({len(index)} pictures, model "
             f"{index.model_name}); Ctrl-C stops it")
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            note("note: anyone who can reach this computer and has the URL can search your "
                 "pictures and type any folder of this computer into the app's folder box")
        return _serve(proc)
    finally:
        _stop(proc)
        shutil.rmtree(page.parent, ignore_errors=True)


def _terminate(signum, frame):
    raise KeyboardInterrupt


def _serve(proc) -> int:
    try:
        proc.wait()
    except KeyboardInterrupt:
        # 130, as the README promises and shells expect of a command stopped by Ctrl-C.
        raise Interrupted("stopped") from None
    raise CliError(f"Voila stopped unexpectedly (exit status {proc.returncode})")


def _stop(proc) -> None:
    """End Voila; on SIGTERM it shuts down the kernels it started, then itself."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()     # its kernels notice their parent is gone and exit too
        proc.wait()
