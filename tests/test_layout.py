"""The package's layout: the wheel holds every subpackage, and private names stay at home."""
import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import imgsearch_helpers

PACKAGE = Path(imgsearch_helpers.__file__).parent
ROOT = PACKAGE.parent
SUBPACKAGES = sorted(p.parent.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("__init__.py"))


def _home(module: Path) -> Path:
    """The folder whose modules may share private names: the module's own subpackage."""
    return module.parent


def _resolve(module: Path, node: ast.ImportFrom) -> Path:
    base = module.parent
    for _ in range(node.level - 1):
        base = base.parent
    return base.joinpath(*node.module.split(".")) if node.module else base


def test_the_parts_are_subpackages():
    assert {"imgsearch_helpers/index", "imgsearch_helpers/app", "imgsearch_helpers/clipart",
            "imgsearch_helpers/training"} <= set(SUBPACKAGES)


@pytest.mark.parametrize("source", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_name_crosses_a_subpackage_boundary(source):
    """``from x import _name`` only inside one subpackage; a private module only from its own folder."""
    tree = ast.parse(source.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "imgsearch_helpers":
                    assert not any(p.startswith("_") for p in parts), f"{source}:{node.lineno}"
        elif isinstance(node, ast.ImportFrom) and node.level:
            target = _resolve(source, node)
            for alias in node.names:
                assert not alias.name.startswith("_"), \
                    f"{source.relative_to(ROOT)}:{node.lineno} imports private {alias.name}"
            private = [p for p in target.relative_to(ROOT).parts if p.startswith("_")
                       and p != "__init__"]
            if private:
                # a private module may be imported only from its own subpackage
                assert target.parent == _home(source), \
                    f"{source.relative_to(ROOT)}:{node.lineno} reaches into {node.module}"


@pytest.mark.parametrize("name", [s.replace("/", ".") for s in SUBPACKAGES])
def test_every_subpackage_imports(name):
    __import__(name)


def test_public_api_is_unchanged():
    assert imgsearch_helpers.__all__ == [
        "select_device", "select_dtype",
        "available_models", "model_info", "load_model", "LoadedModel", "ModelInfo",
        "ModelNotAvailableError",
        "embed_texts", "embed_images", "embed_image_files",
        "load_image", "ImageLoadError",
        "ImageIndex", "ImageIndexError", "IndexCorruptError", "IndexModelMismatchError",
        "top_k", "search", "SearchResult",
        "refine", "Calibration", "calibration_for",
        "zero_shot_scores", "zero_shot_classify",
        "LabelsDB",
        "get_profile", "Profile",
        "results_html", "show_results",
        "SearchApp",
    ]
    for name in imgsearch_helpers.__all__:
        # Defined by the package itself, not a name that leaked in from a library.
        module = getattr(getattr(imgsearch_helpers, name), "__module__", "")
        assert module.startswith("imgsearch_helpers."), (name, module)


@pytest.mark.slow
def test_the_wheel_contains_every_subpackage(tmp_path):
    """A non-editable build: what `pip install .` would install."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel, = tmp_path.glob("imgsearch_helpers-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for sub in SUBPACKAGES:
        assert f"{sub}/__init__.py" in names, sub
    sources = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")}
    assert sources <= names, sorted(sources - names)


def _unit(path: Path) -> str:
    """The part of the package a file belongs to: a top-level module or a subpackage."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def test_the_package_has_no_import_circle():
    """Between its parts (modules and subpackages), imports inside functions included;
    the package's own ``__init__`` (the public facade) is left out."""
    edges: dict[str, set] = {}
    for source in PACKAGE.rglob("*.py"):
        unit = _unit(source)
        if unit == "__init__":
            continue
        for node in ast.walk(ast.parse(source.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.level):
                continue
            target = _resolve(source, node)
            if target == PACKAGE:         # "from . import x" / "from .. import x"
                names = [a.name for a in node.names]
            else:
                names = [None]
            for name in names:
                where = target / name if name else target
                rel = where.relative_to(PACKAGE) if where != PACKAGE else Path("__init__")
                other = rel.parts[0].removesuffix(".py")
                if other not in (unit, "__init__"):
                    edges.setdefault(unit, set()).add(other)

    def circle_from(start, here, seen):
        for nxt in sorted(edges.get(here, ())):
            if nxt == start:
                return seen + [nxt]
            if nxt not in seen:
                found = circle_from(start, nxt, seen + [nxt])
                if found:
                    return found
        return None

    for unit in sorted(edges):
        circle = circle_from(unit, unit, [unit])
        assert circle is None, " -> ".join(circle)


def _docstrings(tree) -> set[int]:
    """The ids of the docstring nodes of a module, its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) \
                and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant):
            found.add(id(node.body[0].value))
    return found


def _package_nodes(skip: str):
    """(source, node, is_text) for every AST node of the package's modules but ``skip``;
    is_text: a string constant that is not a docstring (a message, a help text)."""
    for source in PACKAGE.rglob("*.py"):
        if source.name == skip:
            continue
        tree = ast.parse(source.read_text())
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            yield source, node, (isinstance(node, ast.Constant) and isinstance(node.value, str)
                                 and id(node) not in docstrings)


def test_names_and_defaults_are_spelled_only_in_settings():
    """Environment-variable names (also inside messages and help texts), and the defaults
    of draft_size, batch_size, decoder, threshold and k, are imported (from
    imgsearch_helpers.settings, or a constant named once for the app), never retyped."""
    from imgsearch_helpers import settings

    env_names = {settings.MODEL_ENV, settings.DEVICE_ENV, settings.PROFILE_ENV,
                 settings.DATA_ENV, settings.HUB_OFFLINE_ENV}
    named = {"draft_size": settings.DRAFT_SIZE, "batch_size": settings.BATCH_SIZE,
             "decoder": settings.DECODER, "threshold": settings.DUPLICATE_THRESHOLD}
    counts = {"k", "max_k"}          # how many results: settings.TOP_K, COMMAND_TOP_K, APP_TOP_K
    found = []
    for source, node, is_text in _package_nodes("settings.py"):
        if is_text and any(name in node.value for name in env_names):
            found.append(f"{source.relative_to(ROOT)}:{node.lineno} {node.value[:60]!r}")
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" \
                and node.args and isinstance(node.args[0], ast.Constant) \
                and node.args[0].value == "-k":
            found += [f"{source.relative_to(ROOT)}:{node.lineno} -k default={kw.value.value}"
                      for kw in node.keywords if kw.arg == "default"
                      and isinstance(kw.value, ast.Constant) and kw.value.value is not None]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.args + node.args.kwonlyargs
            defaults = ([None] * (len(node.args.args) - len(node.args.defaults))
                        + node.args.defaults + node.args.kw_defaults)
            for arg, default in zip(args, defaults):
                if arg.arg in named and isinstance(default, ast.Constant) \
                        and default.value == named[arg.arg]:
                    found.append(f"{source.relative_to(ROOT)}:{node.lineno} "
                                 f"{arg.arg}={default.value!r}")
                if arg.arg in counts and isinstance(default, ast.Constant) \
                        and isinstance(default.value, int):
                    found.append(f"{source.relative_to(ROOT)}:{node.lineno} "
                                 f"{arg.arg}={default.value!r}")
    assert found == []


def test_the_course_models_messages_are_spelled_only_in_models():
    """"No text encoder" and "rebuild with python -m imgsearch_helpers.training" come from
    models.no_text_encoder and models.REBUILD_COMMAND (docstrings may name them)."""
    spelled = ("text encoder", "image classifier", "imgsearch_helpers.training --out", "rebuild")
    found = [f"{source.relative_to(ROOT)}:{node.lineno} {node.value[:60]!r}"
             for source, node, is_text in _package_nodes("models.py")
             if is_text and any(s in node.value for s in spelled)]
    assert found == []


# -- no pickle anywhere ----------------------------------------------------------------

def _calls(tree, name):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == name:
                yield node


@pytest.mark.parametrize("source", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_pickle_in_the_package(source):
    tree = ast.parse(source.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            assert not {"pickle", "cPickle", "dill", "joblib", "shelve", "marshal"} & \
                {n.split(".")[0] for n in names}, f"{source.name}:{node.lineno}"
    for call in _calls(tree, "load"):
        keywords = {k.arg: k.value for k in call.keywords}
        owner = getattr(call.func.value, "id", "") if isinstance(call.func, ast.Attribute) else ""
        where = f"{source.name}:{call.lineno}"
        if "allow_pickle" in keywords:
            value = keywords["allow_pickle"]
            assert isinstance(value, ast.Constant) and value.value is False, where
        elif "weights_only" in keywords:
            value = keywords["weights_only"]
            assert isinstance(value, ast.Constant) and value.value is True, where
        else:
            assert owner not in ("np", "numpy", "torch"), \
                f"{where}: {owner}.load without allow_pickle=False / weights_only=True"
