"""The written reports (bench/RESULTS.md, EVAL.md, the model cards) hold what was measured."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPORTS = [ROOT / "bench" / "RESULTS.md", ROOT / "data" / "models" / "EVAL.md",
           *sorted((ROOT / "data" / "models").glob("*/README.md"))]


@pytest.fixture(scope="module")
def common():
    spec = importlib.util.spec_from_file_location("bench_common", ROOT / "bench" / "_common.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_section_with_an_unfilled_field_is_refused(common, tmp_path, monkeypatch):
    """A format string that lost its f prefix wrote "{text}" into RESULTS.md once; now it cannot."""
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nkept\n")
    monkeypatch.setattr(common, "RESULTS", results)
    monkeypatch.setattr(common, "machine", lambda: "a test machine")
    for body in ("medians.\n\n{text}\n\n{summary}", "took {seconds:.1f} s", "on {args.device}"):
        with pytest.raises(ValueError, match="never filled"):
            common.write_section("bench_x", body)
        assert results.read_text() == "# Benchmark results\n\nkept\n"
    # Braces that are not fields pass: a dict, a set, JSON, LaTeX-free Markdown.
    common.write_section("bench_x", 'sizes {"a": 1}, {} and {1, 2}; 12 ms')
    text = results.read_text()
    assert "kept" in text and "<!-- bench_x:start -->" in text and 'sizes {"a": 1}, {} and {1, 2}' in text


@pytest.mark.parametrize("report", REPORTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_report_holds_an_unfilled_field(common, report):
    unfilled = common.UNFILLED.findall(report.read_text(encoding="utf-8"))
    assert not unfilled, f"{report.name} shows fields that were never filled: {unfilled}"
