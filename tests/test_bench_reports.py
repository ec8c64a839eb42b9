"""The written reports (bench/RESULTS.md, EVAL.md, the model cards) hold what was measured."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPORTS = [ROOT / "bench" / "RESULTS.md", ROOT / "data" / "models" / "EVAL.md",
           *sorted((ROOT / "data" / "models").glob("*/README.md"))]


def _bench_module(name: str):
    """A module of bench/ (not a package): loaded from its file."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def common():
    return _bench_module("_common")


@pytest.fixture(scope="module")
def cutoff_rules():
    return _bench_module("_cutoff_rules")


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


@pytest.mark.parametrize("query, kind_query", [
    ("a red car", "a car"), ("an orange car", "a car"), ("a orange cat", "a cat"),
    ("two cats", "cats"), ("one cat", "cat"), ("3 boats", "boats"),
    ("a snowman with a red hat", "a snowman with a hat"), ("a red-roofed house", "a house"),
    ("zwei rote Autos", "Autos"), ("deux chats noirs", "chats"), ("a one-way street", "a one-way street"),
    ("a quiet lake", "a quiet lake"),
])
def test_the_among_its_kind_rule_leaves_out_the_detail_words(cutoff_rules, query, kind_query):
    """bench/_cutoff_rules.py's tried rule "among its kind" asks the query without its details."""
    assert cutoff_rules.without_details(query) == kind_query
