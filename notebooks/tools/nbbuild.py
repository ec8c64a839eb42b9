"""Write a notebook from a list of cells, without outputs: `cells_to_notebook(cells, path)`.

The course notebooks are authored as Python files in this folder (one per notebook,
`src_NN_*.py`) so that they diff and review well; `python notebooks/tools/nbbuild.py`
regenerates every .ipynb from them.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent


def cells_to_notebook(cells, path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    for kind, source in cells:
        source = source.strip("\n")
        nb.cells.append(nbformat.v4.new_markdown_cell(source) if kind == "md"
                        else nbformat.v4.new_code_cell(source))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:03d}"          # stable ids: regenerating gives no diff
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n")


def main() -> int:
    for src in sorted(HERE.glob("src_*.py")):
        spec = importlib.util.spec_from_file_location(src.stem, src)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        out = HERE.parent / (src.stem[len("src_"):] + ".ipynb")
        cells_to_notebook(module.CELLS, out)
        print("wrote", out.relative_to(HERE.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
