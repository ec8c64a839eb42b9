"""The course book's own rules, as a small Sphinx extension (docs/conf.py loads it).

- **One execution.** The notebooks run through jupyter-cache in a folder named after
  everything their outputs depend on besides their code cells (the package, the data and
  the offline models, the libraries' versions): jupyter-cache itself keys a notebook on
  its code cells only, so a change to the package would otherwise serve stale outputs.
  `make book` and tests/test_book.py share that folder, so whichever runs first pays.
- **The offline profile**, this checkout's package and this Python's kernel, also for
  the notebooks' kernels (:func:`prepare_environment`).
- **``imgsearch --help``**: the ``imgsearch-help`` directive prints the command's help
  texts from its parser, so the page cannot go stale.
- **Solutions**: a code cell tagged ``solution`` (and ``hide-cell``) is collapsed behind
  "Show solution".
- **Formulas offline**: MathJax 2 from the jupyter-server-mathjax package (JupyterLab's
  own copy) is copied into the site's ``_static/mathjax``.
- **Every notebook reported**: a notebook that fails does not stop the others (nbval did
  not either); it is read again at the next build, the build's status is an error, and
  ``build/book-execution.json`` says for every notebook whether it ran, how long it took
  and, if it failed, the traceback (tests/test_book.py reads it). A build in which every
  notebook ran removes the caches of earlier inputs (:func:`prune_execution_caches`).
"""
from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import sys
from importlib import metadata
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
#: The environment every notebook of the book runs in (the tests' offline profile).
BOOK_ENV = {"IMGSEARCH_PROFILE": "offline", "HF_HUB_OFFLINE": "1"}
#: What a notebook's outputs depend on besides its code cells.
INPUT_FOLDERS = ("imgsearch_helpers", "data")
_SKIP_DIRS = {"__pycache__", ".imgsearch", ".ipynb_checkpoints"}
# The libraries whose version changes what the notebooks print.
_LIBRARIES = ("torch", "transformers", "tokenizers", "numpy", "pillow", "matplotlib",
              "ipywidgets", "ray", "pymilvus", "milvus-lite", "faiss-cpu")

SOLUTION_TAG = "solution"
SOLUTION_PROMPTS = ("Show solution", "Hide solution")

# The package's copy is MathJax 2.7 trimmed to what JupyterLab needed: TeX in, HTML-CSS out,
# the STIX-Web fonts (as .woff), and the one combined configuration below.
MATHJAX_PATH = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
MATHJAX_CONFIG = {
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                "processEscapes": True,
                # myst's pages are tex2jax_ignore but for the formulas' own classes
                "processClass": "tex2jax_process|mathjax_process|math|output_area"},
    "HTML-CSS": {"availableFonts": [], "webFont": "STIX-Web", "imageFont": None,
                 "preferredFont": None},
    "showMathMenu": False,
    "messageStyle": "none",
}


def inputs_fingerprint(root: Path = ROOT) -> str:
    """A hash of what the notebooks' outputs depend on besides their code cells.

    Parameters
    ----------
    root : Path
        The repository.

    Returns
    -------
    str
        16 hex digits: the package's and the data's files (names and bytes), the Python
        and library versions, and the book's environment.
    """
    h = hashlib.sha256()
    for folder in INPUT_FOLDERS:
        for dirpath, dirnames, filenames in os.walk(root / folder):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            for name in sorted(filenames):
                if name.endswith(".pyc"):
                    continue
                path = Path(dirpath) / name
                h.update(path.relative_to(root).as_posix().encode() + b"\0")
                h.update(hashlib.sha256(path.read_bytes()).digest())
    versions = {"python": sys.version}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    h.update(json.dumps([versions, BOOK_ENV], sort_keys=True).encode())
    return h.hexdigest()[:16]


def execution_cache(root: Path = ROOT) -> Path:
    """The jupyter-cache folder for the present inputs: ``build/.jupyter_cache/<fingerprint>``."""
    return root / "build" / ".jupyter_cache" / inputs_fingerprint(root)


def prune_execution_caches(keep: Path) -> list[Path]:
    """Remove the execution caches of earlier inputs beside ``keep``; returns what was removed.

    Each change to the package, the data or a library starts a new cache folder (see
    :func:`execution_cache`); the old ones would only pile up in ``build/``.
    """
    keep = Path(keep)
    if not keep.parent.is_dir():
        return []
    removed = []
    for folder in sorted(keep.parent.iterdir()):
        if folder.is_dir() and folder.name != keep.name:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def execution_report(root: Path = ROOT) -> Path:
    """The JSON file in which each build records every notebook's execution."""
    return root / "build" / "book-execution.json"


def prepare_environment(root: Path = ROOT) -> None:
    """Set up the process (and so the notebooks' kernels) for the book.

    The offline profile; this checkout's package first on ``PYTHONPATH`` (the venv may
    hold another checkout's editable install); and the kernel named ``python3`` is
    this Python, whatever other ``python3`` kernel the user has installed (nbval's
    ``--nbval-current-env``).
    """
    os.environ.update(BOOK_ENV)
    paths = [str(root)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                           if p and Path(p).resolve() != root]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    kernels = root / "build" / "jupyter-path"
    spec = kernels / "kernels" / "python3" / "kernel.json"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (the course's)", "language": "python"}))
    jupyter_path = [str(kernels)] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
                                     if p and p != str(kernels)]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(jupyter_path)


def command_helps() -> list[tuple[str, str]]:
    """``imgsearch --help`` and each ``imgsearch COMMAND --help``, as (command, text)."""
    from imgsearch_helpers.cli._main import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"     # argparse wraps to the terminal: the same on every machine
    try:
        parser, commands = build_parser()
        helps = [("imgsearch", parser.format_help())]
        helps += [(sub.prog, sub.format_help()) for sub in commands.values()]
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    return helps


class ImgsearchHelp(SphinxDirective):
    """``imgsearch-help``: one section per command with its ``--help`` text."""

    option_spec = {"level": directives.unchanged}

    def run(self):
        out = []
        for command, text in command_helps():
            section = nodes.section(ids=[nodes.make_id(command)], names=[command])
            section += nodes.title(text=command)
            block = nodes.literal_block(text, text, language="text")
            section += block
            out.append(section)
        self.env.note_dependency(str(ROOT / "imgsearch_helpers" / "cli"))
        return out


class SolutionPrompts(SphinxPostTransform):
    """A cell tagged ``solution`` says "Show solution" instead of "Show code cell content"."""

    default_priority = 198        # before myst-nb's HideInputCells (199) wraps the cell
    formats = ("html",)

    def run(self, **kwargs):
        for node in self.document.findall(nodes.container):
            if node.get("nb_element") != "cell_code" or not node.get("hide_mode"):
                continue
            tags = (node.get("cell_metadata") or {}).get("tags", [])
            if SOLUTION_TAG in tags:
                node["prompt_show"], node["prompt_hide"] = SOLUTION_PROMPTS
                node["classes"].append("solution")


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# The note, with (text, is_code) parts.
# The note, with (text, is_code) parts.
WIDGET_NOTE = [("Here the notebook shows a live widget, which needs the notebook's Python to run: "
                "open the notebook with ", False), ("make lab", True),
               (" to use it. Notebook 05's search app also runs as a web page: ", False),
               ("imgsearch app data/gallery", True), (".", False)]


class WidgetNote(SphinxPostTransform):
    """A widget's output: a progress bar drawn from its final state, else a note.

    A widget needs its kernel, and embedding ipywidgets' JavaScript would load it from a
    CDN. The executed notebook keeps every widget's last state, so a progress bar (tqdm's:
    a text, a bar, a text) is drawn as it ended ("training clip: 100% ▮▮▮ 728/728"); another
    widget (the search app) becomes a note that says where it runs.
    """

    default_priority = 3          # before myst-nb's SelectMimeType (4) picks a mime type
    formats = ("html",)

    def run(self, **kwargs):
        bundles = [n for n in self.document.findall(nodes.container)
                   if n.get("nb_element") == "mime_bundle"
                   and any(c.get("mime_type") == WIDGET_MIME for c in n.children)]
        if not bundles:
            return
        states = _widget_states(self.env)
        for bundle in bundles:
            view = next(c for c in bundle.children if c.get("mime_type") == WIDGET_MIME)
            # the view is a <script> with the widget-view JSON, which names its model
            found = re.search(r'"model_id"\s*:\s*"([^"]+)"', view.astext())
            bar = _progress_html(states, found and found.group(1))
            if bar is not None:
                bundle.replace_self(nodes.raw("", bar, format="html"))
                continue
            note = nodes.note(classes=["widget-note"])
            para = nodes.paragraph()
            for part, code in WIDGET_NOTE:
                para += nodes.literal(part, part) if code else nodes.Text(part)
            note += para
            bundle.replace_self(note)


def _widget_states(env) -> dict:
    # myst-nb keeps the notebook's widget state (for ipywidgets' embedding script) in the
    # environment, by page.
    entry = getattr(env, "nb_metadata", {}).get(env.docname, {}).get("js_files", {}).get("ipywidgets_state")
    if not entry:
        return {}
    try:
        return json.loads(entry[1]["body"]).get("state", {})
    except (ValueError, KeyError, TypeError):
        return {}


def _progress_html(states: dict, model_id: str | None) -> str | None:
    """tqdm's notebook bar (an HBox of text, progress, text) as static HTML, else None."""
    box = states.get(model_id or "", {})
    if box.get("model_name") != "HBoxModel":
        return None
    parts = [states.get(str(c).replace("IPY_MODEL_", ""), {}) for c in box["state"].get("children", [])]
    names = [p.get("model_name") for p in parts]
    if len(parts) != 3 or names[0] != "HTMLModel" or names[2] != "HTMLModel" \
            or names[1] not in ("FloatProgressModel", "IntProgressModel"):
        return None
    left, bar, right = (p["state"] for p in parts)
    text = [html.escape(html.unescape(str(t.get("value", "")))) for t in (left, right)]
    return (f'<div class="widget-progress" style="display:flex;gap:.5em;align-items:center;'
            f'font-family:var(--pst-font-family-monospace);font-size:.85em">'
            f'<span>{text[0]}</span><progress value="{float(bar.get("value") or 0)}" '
            f'max="{float(bar.get("max") or 1)}"></progress><span>{text[1]}</span></div>')


_WIDGET_REPR = re.compile(r"^\w+\((children|value|layout|description|options)=")


def mathjax_source() -> Path:
    """MathJax 2 as the jupyter-server-mathjax package ships it."""
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def _copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if not (target / "MathJax.js").is_file():
        shutil.copytree(mathjax_source(), target, dirs_exist_ok=True)


def _exec_data(env) -> dict[str, dict]:
    from myst_nb.sphinx_ import NbMetadataCollector

    return {doc: data["exec_data"] for doc, data in NbMetadataCollector.get_doc_data(env).items()
            if data.get("exec_data")}


def _read_failed_again(app, env, added, changed, removed) -> list[str]:
    # A failed notebook is not in the cache; without this Sphinx would not read it again
    # (its file did not change), and the next build would pass with the failure in it.
    return [doc for doc, data in _exec_data(env).items()
            if not data.get("succeeded") and doc in env.found_docs]


def _report_execution(app, exception) -> None:
    if app.builder.format != "html":
        return
    executed = {doc: data for doc, data in _exec_data(app.env).items() if doc in app.env.found_docs}
    report = {doc: {"succeeded": bool(data.get("succeeded")), "method": data.get("method"),
                    "seconds": data.get("runtime"), "error": data.get("error"),
                    "traceback": data.get("traceback")}
              for doc, data in sorted(executed.items())}
    path = execution_report(Path(app.confdir).parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1), encoding="utf-8")
    failed = [doc for doc, data in report.items() if not data["succeeded"]]
    if exception is None and not failed:
        prune_execution_caches(Path(app.config.nb_execution_cache_path))
    if exception is None and failed:
        from sphinx.errors import ExtensionError

        raise ExtensionError(
            f"{len(failed)} notebook(s) failed: {', '.join(failed)}; their tracebacks are in "
            f"{path} and in the build's reports/ folder")


def setup(app):
    # Sphinx re-reads every page when a config value changes: this one is this file's own
    # hash, so that a change to the rules above rebuilds the book (the cache still serves).
    app.add_config_value("course_book_rules", hashlib.sha256(Path(__file__).read_bytes()).hexdigest(), "env")
    app.add_directive("imgsearch-help", ImgsearchHelp)
    app.add_post_transform(SolutionPrompts)
    app.add_post_transform(WidgetNote)
    app.connect("env-get-outdated", _read_failed_again)
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _report_execution)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
