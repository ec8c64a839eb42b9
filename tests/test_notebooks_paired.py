"""Each notebook is paired with its py:percent text file by jupytext, and the two agree."""
from pathlib import Path

import jupytext
import pytest
from jupytext.config import load_jupytext_configuration_file

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cells(nb):
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_the_repository_pairs_notebooks_with_text_files():
    config = load_jupytext_configuration_file(str(ROOT / "jupytext.toml"))
    formats = config.formats if isinstance(config.formats, str) else ",".join(config.formats)
    assert formats == "notebooks///ipynb,notebooks/py///py:percent"
    assert NOTEBOOKS


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_and_its_text_file_agree(notebook):
    text = ROOT / "notebooks" / "py" / (notebook.stem + ".py")
    assert text.is_file(), f"{notebook.name} has no paired {text.relative_to(ROOT)}: run `jupytext --sync {notebook.relative_to(ROOT)}`"
    ipynb, py = jupytext.read(notebook), jupytext.read(text)
    assert _cells(py) == _cells(ipynb), (
        f"{notebook.name} and {text.name} disagree: run `jupytext --sync notebooks/*.ipynb` "
        "(the newer file wins)")


def test_every_text_file_has_its_notebook():
    for text in sorted((ROOT / "notebooks" / "py").glob("*.py")):
        assert (ROOT / "notebooks" / (text.stem + ".ipynb")).is_file(), text.name
