"""Project hygiene: dependency lists agree, notebooks carry no outputs, commands documented."""
import json
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return data["dependencies"], data["optional-dependencies"]["test"]


def _environment_pip_specs() -> list[str]:
    # environment.yml lists every dependency under its pip: section; parse it
    # without PyYAML (not a dependency) by reading the indented "- " items there.
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip() == "- pip:")
    specs = []
    for line in lines[start + 1:]:
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue
        if not stripped.startswith("- "):
            break
        specs.append(stripped[2:].strip())
    return specs


def test_environment_yml_and_pyproject_list_the_same_dependencies():
    deps, test = _pyproject()
    env = _environment_pip_specs()
    assert sorted(env) == sorted(deps + test)
    names = {_name(s) for s in deps}
    for required in ("jupyterlab", "ipywidgets", "transformers", "torch", "pillow",
                     "numpy", "tqdm"):
        assert required in names
    assert {"pytest", "nbval"} <= {_name(s) for s in test}
    assert any(s.startswith("transformers>=5") for s in deps)
    assert any(s.startswith("ipywidgets>=8") for s in deps)


def test_notebooks_are_committed_without_outputs():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks, "no notebooks found"
    for nb_path in notebooks:
        nb = json.loads(nb_path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs"), f"{nb_path.name} has outputs"
                assert cell.get("execution_count") is None, f"{nb_path.name} has execution counts"


def test_notebooks_are_numbered_and_open_with_a_goal():
    for nb_path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert re.match(r"\d\d_[a-z0-9_]+\.ipynb$", nb_path.name), nb_path.name
        nb = json.loads(nb_path.read_text())
        first = "".join(nb["cells"][0]["source"])
        assert nb["cells"][0]["cell_type"] == "markdown" and first.startswith("# ")
        sources = "".join("".join(c["source"]) for c in nb["cells"])
        assert "pip install" not in sources and ".cuda()" not in sources, nb_path.name


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab:", makefile, re.M) and re.search(r"^test:", makefile, re.M)


def test_every_python_block_of_the_readme_runs_or_is_checked():
    """Doctest blocks (>>>) run with README.md in `make test`; the online-only block, which
    cannot run without the Hub, at least compiles and imports only names the package has."""
    import ast

    import imgsearch_helpers

    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    doctests = [b for b in blocks if b.lstrip().startswith(">>>")]
    others = [b for b in blocks if not b.lstrip().startswith(">>>")]
    assert len(doctests) >= 3 and len(others) <= 1, "a README Python block that no test runs"
    for block in others:
        tree = ast.parse(block)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "imgsearch_helpers":
                for alias in node.names:
                    assert hasattr(imgsearch_helpers, alias.name), alias.name
