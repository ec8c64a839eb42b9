"""The course as a book, and the notebooks' own test, from one execution.

`make book` executes every notebook with the offline profile through jupyter-cache
(docs/_ext/course_book.py keys the cache on the package, the data and the libraries, so a
change to any of them runs the notebooks again). The ``book`` fixture runs that same
`make book`; a warm cache makes it a re-render. The notebook tests then read what the
build executed:

- each notebook ran to its end (``build/book-execution.json``); in the cache's execution
  of its present code cells every code cell has an execution count, and no output is an error or a traceback: a notebook's ``check(...)``
  raises when a claim of its text fails, so an error is a failed claim. This is what
  ``pytest --nbval-lax`` checked before, which it replaces, so `make test` runs each
  notebook once instead of twice (the book's build and nbval);
- what a cell wrote to stderr is reported as a warning (a learner sees it as a red box).

Then exercises: every notebook has at least two solution cells, each ending in a
``check(...)`` that therefore runs in CI, shown collapsed behind "Show solution".

The browser tests (marked ``browser``) open every page of the built site from the disk
(file://) in Debian's Chromium: no output shows an error, every picture loads, every
internal link resolves, no request leaves the disk (MathJax included), a solution opens,
the theme's search finds "SigLIP" (from the disk and over a local HTTP server); they save
screenshots of the home page and notebooks 03, 04 and 07 in ``build/book-shots/``.
"""
from __future__ import annotations

import functools
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
import course_book  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
BOOK = ROOT / "build" / "book"
SHOTS = ROOT / "build" / "book-shots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps"]


class NotebookStderrWarning(UserWarning):
    """A notebook cell wrote to stderr: the learner sees a red box that is not the lesson."""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def book():
    """Build the book with `make book` (its own command line, not a copy of it)."""
    started = time.monotonic()
    # STAMP= : the venv is there already (this is its Python); PY= : build with it.
    proc = subprocess.run(["make", "--no-print-directory", "book", "STAMP=", f"PY={sys.executable}"],
                          cwd=ROOT, capture_output=True, text=True)
    seconds = time.monotonic() - started
    report_path = course_book.execution_report()
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    print(f"make book: {seconds:.0f} s, status {proc.returncode}")
    executed = {doc for doc, r in report.items() if r["succeeded"]}
    if proc.returncode != 0 and not report:
        pytest.fail(f"make book failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-6000:]}")
    return {"status": proc.returncode, "report": report, "seconds": seconds,
            "output": proc.stdout + proc.stderr, "succeeded": executed}


# --- the notebooks, executed once -------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_to_the_end_without_an_error(book, notebook):
    doc = f"notebooks/{notebook.stem}"
    status = book["report"].get(doc)
    assert status is not None, f"the book did not execute {notebook.name}:\n{book['output'][-3000:]}"
    assert status["succeeded"], f"{notebook.name} failed:\n" + re.sub(r"\x1b\[[0-9;]*m", "", status["traceback"] or "")

    # The execution the book used: the cache's, for these code cells and these inputs.
    from jupyter_cache import get_cache

    try:
        _, executed = get_cache(str(course_book.execution_cache())).merge_match_into_notebook(
            nbformat.read(notebook, as_version=4))
    except KeyError:
        pytest.fail(f"the execution cache has no run of {notebook.name} as it is now")
    ran = [c for c in executed.cells if c.cell_type == "code"]
    problems, noise = [], []
    for number, cell in enumerate(ran, 1):
        if cell.source.strip() and cell.get("execution_count") is None:
            problems.append(f"code cell {number} did not run")
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"code cell {number}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream":
                if "Traceback (most recent call last)" in out.text:
                    problems.append(f"code cell {number} printed a traceback:\n{out.text[-1500:]}")
                if out.name == "stderr" and out.text.strip():
                    noise.append(f"code cell {number}: {out.text.strip().splitlines()[0][:160]}")
    for line in noise:
        warnings.warn(f"{notebook.name} {line}", NotebookStderrWarning)
    assert not problems, f"{notebook.name}:\n" + "\n".join(problems)


@pytest.mark.slow
def test_a_finished_build_keeps_only_the_present_inputs_execution_cache(tmp_path):
    caches = tmp_path / "build" / ".jupyter_cache"
    for name in ("0ld0ld0ld0ld0ld0", "present", "0ther0ther0ther0"):
        (caches / name).mkdir(parents=True)
        (caches / name / "global.db").write_text("x")
    removed = course_book.prune_execution_caches(caches / "present")
    assert sorted(p.name for p in removed) == ["0ld0ld0ld0ld0ld0", "0ther0ther0ther0"]
    assert [p.name for p in caches.iterdir()] == ["present"]
    assert (caches / "present" / "global.db").read_text() == "x"
    assert course_book.prune_execution_caches(tmp_path / "none" / "x") == []


def test_the_book_build_passes_and_records_every_notebook(book):
    assert sorted(book["report"]) == [f"notebooks/{p.stem}" for p in NOTEBOOKS]
    assert book["status"] == 0, book["output"][-4000:]
    for doc, status in book["report"].items():
        assert status["seconds"] and status["seconds"] > 0, doc


def test_the_book_builds_without_a_sphinx_warning(book):
    # A warning is a page that renders wrong: a docstring whose layout breaks, a reference
    # that points at two things.
    warnings = [line for line in book["output"].splitlines() if "WARNING:" in line]
    assert warnings == [], "\n".join(warnings)


# --- exercises with solutions -----------------------------------------------------------------

def _solution_cells(notebook: Path) -> list:
    nb = nbformat.read(notebook, as_version=4)
    return [c for c in nb.cells if course_book.SOLUTION_TAG in c.get("metadata", {}).get("tags", [])]


@pytest.mark.slow
def test_the_book_collapses_each_solution_behind_show_solution(book):
    for notebook in NOTEBOOKS:
        page = (BOOK / "notebooks" / f"{notebook.stem}.html").read_text(encoding="utf-8")
        shown = page.count(f">{course_book.SOLUTION_PROMPTS[0]}<")
        assert shown == len(_solution_cells(notebook)), notebook.name


# --- the other pages --------------------------------------------------------------------------

@pytest.mark.slow
def test_the_command_page_shows_every_commands_own_help(book):
    page = (BOOK / "docs" / "cli.html").read_text(encoding="utf-8")
    helps = course_book.command_helps()
    assert len(helps) >= 9
    for command, text in helps:
        usage = text.splitlines()[0]
        assert usage.startswith(f"usage: {command}")
        assert f"usage: {command}" in page, command


@pytest.mark.slow
def test_the_api_page_documents_every_public_name(book):
    import imgsearch_helpers

    page = (BOOK / "docs" / "api.html").read_text(encoding="utf-8")
    missing = [name for name in imgsearch_helpers.__all__ if f'id="imgsearch_helpers.{name}"' not in page]
    assert not missing, f"not in the API reference: {missing}"


@pytest.mark.slow
def test_the_site_loads_nothing_from_the_network(book):
    pages = sorted(BOOK.rglob("*.html"))
    assert len(pages) >= len(NOTEBOOKS) + 4
    remote = re.compile(r'<(?:script|img|iframe)[^>]*\ssrc="(?:https?:)?//|<link[^>]*rel="(?:stylesheet|preload)"[^>]*href="(?:https?:)?//')
    for page in pages:
        if "_static" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        assert not remote.search(text), f"{page.relative_to(BOOK)} loads {remote.search(text).group(0)}"
    mathjax = BOOK / "_static" / course_book.MATHJAX_PATH.split("?")[0]
    assert mathjax.is_file()
    formulas = (BOOK / "notebooks" / "06_how_clip_learns.html").read_text(encoding="utf-8")
    assert f'src="../_static/{course_book.MATHJAX_PATH}"' in formulas


@pytest.mark.slow
def test_widgets_show_their_final_state_or_where_they_run(book):
    pages = {p.stem: p.read_text(encoding="utf-8") for p in (BOOK / "notebooks").glob("*.html")}
    assert not any("application/vnd.jupyter.widget-view+json" in text for text in pages.values())
    # notebook 06's training bar, drawn as it ended; notebook 05's app, a note
    bars = re.findall(r'<div class="widget-progress".*?<progress value="([\d.]+)" max="([\d.]+)">',
                      pages["06_how_clip_learns"])
    assert bars and all(0 < float(v) <= float(m) for v, m in bars), bars
    assert 'class="widget-note admonition note"' in pages["05_interactive_search"]


def test_the_workshop_guide_has_every_notebooks_measured_time():
    guide = (ROOT / "docs" / "workshop.md").read_text(encoding="utf-8")
    times = re.search(r"<!-- workshop-times: start -->(.*?)<!-- workshop-times: end -->", guide, re.S)
    assert times, "docs/workshop.md lost its measured times"
    rows = re.findall(r"^\| `(\d\d_\w+)` \| ([\d.]+) (s|min) \|$", times.group(1), re.M)
    assert [name for name, _, _ in rows] == [p.stem for p in NOTEBOOKS]
    assert all(float(value) > 0 for _, value, _ in rows)
    for command in ("imgsearch prefetch", "make check", "imgsearch app", "IMGSEARCH_PROFILE=offline"):
        assert command in guide, command
    assert re.search(r"^## A 90-minute plan", guide, re.M) and re.search(r"^## A half-day plan", guide, re.M)


# --- in a browser -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser(book):
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium to run the book's browser test"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.remote = []       # every request that leaves the disk or the local server
    page.on("request", lambda r: page.remote.append(r.url)
            if not r.url.startswith(("file:", "data:", "blob:", "about:", "http://127.0.0.1")) else None)
    yield page
    context.close()


@pytest.fixture(scope="module")
def server(book):
    """The built site over HTTP, on a free loopback port."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(BOOK)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _site_pages() -> list[Path]:
    return sorted(p for p in BOOK.rglob("*.html")
                  if not {"_static", "_sources", "_images", "reports"} & set(p.relative_to(BOOK).parts))


_PAGE_FACTS_JS = """async () => {
    for (const img of document.images) img.loading = 'eager';
    await Promise.all([...document.images].map(img => img.decode().catch(() => null)));
    const outputs = [...document.querySelectorAll('.cell_output')];
    return {
        images: [...document.images].map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth})),
        links: [...document.querySelectorAll('a[href]')].map(a => a.href),
        errors: outputs.filter(o => o.querySelector('.traceback, .output.error')
                                   || /Traceback \\(most recent call last\\)/.test(o.textContent))
                       .map(o => o.textContent.slice(0, 300)),
        cells: document.querySelectorAll('.cell').length,
    };
}"""


def _ids(path: Path, cache: dict) -> set[str]:
    if path not in cache:
        cache[path] = set(re.findall(r'\sid="([^"]+)"', path.read_text(encoding="utf-8", errors="replace")))
    return cache[path]


@pytest.mark.browser
@pytest.mark.slow
def test_every_page_of_the_book_opens_from_the_disk_cleanly(page):
    pages = _site_pages()
    assert len(pages) >= len(NOTEBOOKS) + 4
    ids, problems, checked_links = {}, [], 0
    for path in pages:
        name = path.relative_to(BOOK).as_posix()
        if name == "index.html":            # the site's door: it leads to the home page
            page.goto(path.as_uri())
            page.wait_for_url((BOOK / "docs" / "index.html").as_uri(), timeout=10_000)
            continue
        page.goto(path.as_uri(), wait_until="load")
        facts = page.evaluate(_PAGE_FACTS_JS)
        problems += [f"{name}: an output shows an error: {e!r}" for e in facts["errors"]]
        problems += [f"{name}: picture did not load: {i['src'][:120]}" for i in facts["images"] if i["width"] == 0]
        for href in facts["links"]:
            url = urlsplit(href)
            if url.scheme != "file":
                continue
            target = Path(unquote(url.path))
            checked_links += 1
            if not target.exists():
                problems.append(f"{name}: broken link to {target}")
            elif url.fragment and target.suffix == ".html" and url.fragment not in _ids(target, ids):
                problems.append(f"{name}: link to a missing anchor {target.name}#{url.fragment}")
        if name.startswith("notebooks/"):
            assert facts["cells"] > 0, f"{name} shows no notebook cells"
    assert checked_links > 50
    assert not page.remote, f"requests that left the disk: {sorted(set(page.remote))[:10]}"
    assert not problems, "\n".join(problems[:40])


@pytest.mark.browser
@pytest.mark.slow
def test_formulas_render_offline(page):
    page.goto((BOOK / "notebooks" / "06_how_clip_learns.html").as_uri(), wait_until="load")
    # every formula typeset by MathJax (a rendered box with a width), none an error
    page.wait_for_function("""() => {
        const formulas = [...document.querySelectorAll('.math.notranslate')];   // Sphinx's
        return formulas.length > 0 && formulas.every(f => {
            const box = f.querySelector('.MathJax, .MathJax_Display');
            return box && box.getBoundingClientRect().width > 0; });
    }""", timeout=30_000)
    assert page.locator("text=Math Processing Error").count() == 0
    assert not page.remote, page.remote


@pytest.mark.browser
@pytest.mark.slow
def test_a_solution_opens_when_clicked(page):
    notebook = next((p for p in NOTEBOOKS if _solution_cells(p)), None)
    assert notebook is not None, "no notebook has a solution cell"
    page.goto((BOOK / "notebooks" / f"{notebook.stem}.html").as_uri(), wait_until="load")
    details = page.locator(".solution details").first
    summary = details.locator("summary")
    assert course_book.SOLUTION_PROMPTS[0] in summary.inner_text()
    code = details.locator(".cell_input").first
    assert not code.is_visible() and details.get_attribute("open") is None
    summary.click()
    code.wait_for(state="visible", timeout=5_000)
    assert "# Solution" in code.inner_text() and "check(" in code.inner_text()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("where", ["file", "http"])
def test_the_theme_search_finds_siglip(page, server, where):
    home = (BOOK / "docs" / "index.html").as_uri() if where == "file" else f"{server}/docs/index.html"
    page.goto(home, wait_until="load")
    page.keyboard.press("Control+k")            # the theme's search dialog
    field = page.locator("input[name='q']:visible").first
    field.fill("SigLIP")
    field.press("Enter")
    page.wait_for_url(re.compile(r"search\.html\?q=SigLIP"))
    hits = page.locator("#search-results ul.search li")
    hits.first.wait_for(timeout=30_000)
    found = hits.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any("02_zero_shot_classification" in h for h in found), found
    assert not page.remote, page.remote


@pytest.mark.browser
@pytest.mark.slow
def test_screenshots_of_the_home_page_and_notebooks_03_04_07(page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto((BOOK / "docs" / "index.html").as_uri(), wait_until="load")
    page.screenshot(path=str(SHOTS / "home.png"))
    for stem in ("03_text_to_image_search", "04_image_to_image_search", "07_which_model"):
        page.goto((BOOK / "notebooks" / f"{stem}.html").as_uri(), wait_until="load")
        page.evaluate(_PAGE_FACTS_JS)
        page.screenshot(path=str(SHOTS / f"{stem[:2]}_top.png"))
        # the first picture among the outputs: what the notebook shows, not only its text
        first = page.locator(".cell_output img").first
        assert first.count() == 1, f"{stem} shows no picture"
        first.scroll_into_view_if_needed()
        page.evaluate("() => window.scrollBy(0, -120)")
        page.screenshot(path=str(SHOTS / f"{stem[:2]}_output.png"))
    assert len(list(SHOTS.glob("*.png"))) >= 7
