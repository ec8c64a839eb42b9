"""Every notebook ends with exercises, each followed by a solution that CI runs and checks."""
import ast
import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTION_TAGS = {"solution", "hide-cell"}


def _exercises(nb):
    cells = nb.cells
    return [(cell, cells[i + 1] if i + 1 < len(cells) else None) for i, cell in enumerate(cells)
            if cell.cell_type == "markdown" and re.match(r"\*\*Exercise \d+\.\*\*", cell.source)]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_two_to_four_exercises_each_followed_by_a_checked_solution(notebook):
    nb = jupytext.read(notebook)
    exercises = _exercises(nb)
    assert 2 <= len(exercises) <= 4, f"{notebook.name}: {len(exercises)} exercises"
    numbers = [int(re.match(r"\*\*Exercise (\d+)\.", e.source).group(1)) for e, _ in exercises]
    assert numbers == list(range(1, len(exercises) + 1)), numbers
    for exercise, solution in exercises:
        assert solution is not None and solution.cell_type == "code", exercise.source[:60]
        assert SOLUTION_TAGS <= set(solution.metadata.get("tags", [])), exercise.source[:60]
        # collapsed in the book (hide-cell), a normal cell in JupyterLab
        assert not solution.metadata.get("jupyter", {}).get("source_hidden"), exercise.source[:60]
        lines = [line for line in solution.source.strip().splitlines() if line.strip()]
        assert lines[0] == "# Solution", lines[0]
        # the solution's last statement checks its answer: check(...) or profile.check(...)
        last = ast.parse(solution.source).body[-1]
        call = last.value if isinstance(last, ast.Expr) else None
        name = getattr(getattr(call, "func", None), "id", None) or \
            getattr(getattr(call, "func", None), "attr", None)
        assert isinstance(call, ast.Call) and name == "check", \
            f"{notebook.name}: a solution ends with {ast.unparse(last)[:80]!r}"


def test_only_solutions_are_tagged_as_solutions():
    for notebook in NOTEBOOKS:
        nb = jupytext.read(notebook)
        solutions = {id(s) for _, s in _exercises(nb)}
        for cell in nb.cells:
            if "solution" in cell.metadata.get("tags", []):
                assert id(cell) in solutions, f"{notebook.name}: {cell.source[:60]!r}"
