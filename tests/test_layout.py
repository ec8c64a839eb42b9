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
        assert getattr(imgsearch_helpers, name) is not None


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
