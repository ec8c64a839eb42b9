"""End to end in a real browser: JupyterLab, notebook 05, the search app, headless Chromium;
and the same app served as a web page by ``imgsearch app`` (Voila).

The test starts JupyterLab on a free loopback port with a known token and a
throw-away root folder holding a copy of notebook 05, drives Debian's Chromium
with Playwright (never a downloaded browser), runs all cells from the Run menu,
types a query into the app, presses Enter and checks the top result. It prints
the time from the key press to the results being on screen, measured inside
the page (also written to ``build/app-timing.txt``), and saves a screenshot of
the app to ``build/app-screenshot.png``. It then indexes a folder with a hostile
file name through the folder box and checks that no markup from it runs.

The second test starts ``imgsearch app`` on a copy of the offline gallery, opens
the URL it prints, searches, checks the top result, saves
``build/cli-app-screenshot.png``, turns on the "why?" toggle (each result's
heatmap over its thumbnail: ``build/app-why-screenshot.png``), and stops the command with Ctrl-C (SIGINT),
which must end Voila and its kernel too.

In CI (``CI`` set) every problem fails the test; on a laptop without
``/usr/bin/chromium`` it is skipped with the reason.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import sigint_default

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "05_interactive_search.ipynb"
BUILD = ROOT / "build"
CHROMIUM = Path("/usr/bin/chromium")
QUERY = "a beautiful lake with mountains"
HOSTILE = "<img src=x onerror=alert(1)>.png"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps"]

pytestmark = pytest.mark.browser


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url: str, token: str, method: str = "GET"):
    """Status code and JSON body of a request to the server's REST API."""
    req = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        body = resp.read()
        return resp.status, (json.loads(body) if body.strip() else None)


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.exists():
        message = (f"{CHROMIUM} is missing: install Debian's chromium package "
                   "(apt-get install chromium) to run the browser test")
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server with notebook 05; shut down, kernels included, at the end."""
    root = tmp_path_factory.mktemp("lab-root")
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    home = tmp_path_factory.mktemp("lab-home")
    # No news prompt or update check (a toast over the page, and they go online), and
    # the notebook's kernel starts without a "Select Kernel" dialog.
    for plugin, values in [("apputils-extension/notification",
                            {"fetchNews": "false", "checkForUpdates": False}),
                           ("notebook-extension/tracker", {"autoStartDefaultKernel": True})]:
        path = home / "settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ, IMGSEARCH_PROFILE="offline", HF_HUB_OFFLINE="1",
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    port, token = _free_port(), secrets.token_hex(16)
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.open_browser=False",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly"]
        # CI containers run as root, which the server refuses unless told.
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(proc, base, token, home / "server.log")
        yield {"url": base, "token": token, "root": root, "log": home / "server.log"}
    finally:
        _shut_down(proc, base, token)
        log.close()


def _wait_for_server(proc, base: str, token: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if _request(f"{base}/api/status", token)[0] == 200:
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _shut_down(proc, base: str, token: str) -> None:
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)   # the kernels
    except psutil.NoSuchProcess:
        children = []
    try:
        _request(f"{base}/api/shutdown", token, method="POST")    # stops kernels, then itself
    except (urllib.error.URLError, OSError):
        pass        # already gone or not answering: the signals below end it
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        child.kill()
    assert not alive, f"kernel processes outlived the server: {[c.pid for c in alive]}"


@pytest.fixture
def page(chromium):
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                         args=CHROMIUM_ARGS, timeout=60_000)
        except PlaywrightError as err:
            pytest.fail(f"Chromium did not start: {err}")
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1100})
            page = context.new_page()
            page.dialogs = []
            page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message),
                                              dialog.dismiss()))
            yield page
        finally:
            browser.close()


def _all_cells_done_js() -> str:
    # Every code cell shows "[n]:" once it ran, "[*]:" while it waits or runs; after an
    # error the cells below it stay "[ ]:", so an error with nothing running ends the wait.
    return """() => {
        const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
            .map(p => p.textContent);
        if (prompts.length === 0 || prompts.some(p => p.includes('*'))) return false;
        return prompts.every(p => /\\[\\d+\\]/.test(p))
            || !!document.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
    }"""


def _wait_for_idle_kernel(lab, timeout: float = 60) -> None:
    # jupyter_server answers 500 to /api/kernels while a kernel is still starting (its
    # last_activity is not set yet: TraitError in kernel_model), so a 500 means "ask again";
    # one that lasts until the deadline fails the test with the server's answer. So does a
    # request that times out while the machine is busy.
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            _, kernels = _request(f"{lab['url']}/api/kernels", lab["token"])
        except (urllib.error.URLError, OSError) as err:   # HTTPError is a URLError too
            if isinstance(err, urllib.error.HTTPError) and err.code != 500:
                raise
            last_error = err
            time.sleep(0.3)
            continue
        last_error = None
        if kernels and all(k["execution_state"] == "idle" for k in kernels):
            return
        time.sleep(0.3)
    pytest.fail(f"the notebook's kernel was not idle within {timeout:.0f} s"
                + (f" (the server kept answering {last_error})" if last_error else ""))


def _error_outputs(page) -> list[str]:
    # Tracebacks render as stderr output; so do harmless warnings, which we let through.
    texts = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    return [t for t in texts.all_inner_texts()
            if "Traceback" in t or re.search(r"^\w*(Error|Exception)\b", t, re.M)]


def _install_timer(page, query: str) -> None:
    # Measured in the page: from the Enter keydown to the moment the status line and
    # the first result cell both show the new search (same data-seq), i.e. on screen.
    page.evaluate("""(query) => {
        const app = document.querySelector('.imgsearch-app');
        const status = () => app.querySelector('.imgsearch-status [data-seq]');
        const before = status() ? Number(status().dataset.seq) : -1;
        const timer = window.__imgsearchTimer = {start: null, end: null};
        const shown = () => {
            const s = status();
            if (!s || Number(s.dataset.seq) <= before || !s.textContent.includes(query)) return false;
            const first = [...app.querySelectorAll('.imgsearch-result')]
                .find(cell => getComputedStyle(cell).display !== 'none');
            const label = first && first.querySelector('[data-seq]');
            return !!label && label.dataset.seq === s.dataset.seq;
        };
        app.querySelector('.imgsearch-query input').addEventListener('keydown', event => {
            if (event.key === 'Enter' && timer.start === null) timer.start = performance.now();
        }, true);
        new MutationObserver((_, observer) => {
            if (timer.start !== null && shown()) {
                timer.end = performance.now();
                observer.disconnect();
            }
        }).observe(app, {subtree: true, childList: true, characterData: true, attributes: true});
    }""", query)


def _visible_results(page) -> list[dict]:
    return page.evaluate("""() => [...document.querySelectorAll('.imgsearch-app .imgsearch-result')]
        .filter(cell => getComputedStyle(cell).display !== 'none')
        .map(cell => ({
            name: cell.querySelector('.imgsearch-name').textContent,
            score: Number(cell.querySelector('.imgsearch-score').textContent),
            caption: cell.querySelector('.imgsearch-caption').textContent.trim(),
            thumbnail: !!cell.querySelector('.imgsearch-thumb img'),
        }))""")


def test_search_app_in_jupyterlab(page, lab, tmp_path):
    BUILD.mkdir(exist_ok=True)
    try:
        _run_notebook(page, lab)
        _search_lake(page)
        page.locator(".imgsearch-app").screenshot(path=str(BUILD / "app-screenshot.png"))
        _index_hostile_folder(page, tmp_path)
    except BaseException:
        page.screenshot(path=str(BUILD / "browser-failure.png"), full_page=True)
        print(f"server log ({lab['log']}):\n{lab['log'].read_text()[-3000:]}")
        raise


def _run_notebook(page, lab) -> None:
    page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK.name}?token={lab['token']}")
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    # Wait for the kernel, so that Run All does not race the kernel's start.
    _wait_for_idle_kernel(lab)
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
    page.wait_for_function(_all_cells_done_js(), timeout=150_000, polling=250)
    messages = page.locator(".imgsearch-app .imgsearch-message").all_inner_texts()
    errors = _error_outputs(page)
    assert not errors, ("the notebook raised:\n" + "\n---\n".join(errors)
                        + f"\nthe app's message: {messages}")
    page.locator(".imgsearch-app .imgsearch-query input").wait_for(timeout=30_000)
    assert not any("failed" in m for m in messages), f"the app reports a problem: {messages}"


def _search_lake(page) -> None:
    box = page.locator(".imgsearch-app .imgsearch-query input")
    box.fill(QUERY)
    _install_timer(page, QUERY)
    started = time.perf_counter()
    box.press("Enter")
    page.wait_for_function("() => window.__imgsearchTimer.end !== null", timeout=60_000,
                           polling="raf")
    wall_ms = (time.perf_counter() - started) * 1000
    timer = page.evaluate("() => window.__imgsearchTimer")
    results = _visible_results(page)
    status = page.locator(".imgsearch-app .imgsearch-status").inner_text()
    report = [f"query: {QUERY}",
              f"Enter -> results on screen: {timer['end'] - timer['start']:.0f} ms "
              f"(measured in the page; {wall_ms:.0f} ms as Playwright saw it)",
              f"status: {status}"]
    report += [f"  #{rank} {r['score']:.3f} {r['name']:16} {r['caption']}"
               for rank, r in enumerate(results, 1)]
    # Printed (pytest -s shows it) and kept next to the screenshot.
    print("\n" + "\n".join(report))
    (BUILD / "app-timing.txt").write_text("\n".join(report) + "\n")
    assert len(results) == 6 and all(r["thumbnail"] for r in results)
    assert results[0]["name"].startswith("lake_"), results
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert results[0]["caption"], "the offline gallery has a caption for every picture"


def _index_hostile_folder(page, tmp_path) -> None:
    from PIL import Image

    folder = tmp_path / "hostile"
    folder.mkdir()
    Image.new("RGB", (64, 64), (40, 120, 200)).save(folder / HOSTILE)
    Image.new("RGB", (64, 64), (200, 60, 40)).save(folder / "red.png")
    (folder / "broken.jpg").write_bytes(b"not a picture")
    page.locator(".imgsearch-app .imgsearch-folder input").fill(str(folder))
    page.locator(".imgsearch-app .imgsearch-index").click()
    status = page.locator(".imgsearch-app .imgsearch-status")
    status.filter(has_text="1 skipped (broken.jpg)").wait_for(timeout=60_000)
    # The text query runs again on the new folder: both pictures come back.
    page.wait_for_function("""(name) => [...document.querySelectorAll('.imgsearch-app .imgsearch-name')]
        .some(n => n.textContent === name)""", arg=HOSTILE, timeout=30_000)
    assert page.locator('.imgsearch-app img[src="x"]').count() == 0
    assert page.dialogs == [], f"a file name ran script: {page.dialogs}"


@pytest.fixture
def imgsearch_app(tmp_path):
    """``imgsearch app`` on a copy of the offline gallery; yields the URL it prints."""
    import psutil

    gallery = tmp_path / "gallery"
    shutil.copytree(ROOT / "data" / "gallery", gallery)
    env = dict(os.environ, IMGSEARCH_PROFILE="offline", HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    err_log = (tmp_path / "app.err").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "imgsearch_helpers.cli", "app", str(gallery),
                             "--model", "imgsearch/clipart-clip", "--port", "0"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=err_log,
                            text=True, preexec_fn=sigint_default)
    try:
        url = proc.stdout.readline().strip()     # printed once Voila listens
        if not url.startswith("http://127.0.0.1:"):
            proc.wait(timeout=30)
            pytest.fail(f"imgsearch app printed {url!r}, exit status {proc.returncode}:\n"
                        f"{(tmp_path / 'app.err').read_text()}")
        voila = psutil.Process(proc.pid).children(recursive=True)
        yield url
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130, (tmp_path / "app.err").read_text()
        kernels = [c for v in voila for c in _children(v)]
        _, alive = psutil.wait_procs(voila + kernels, timeout=20)
        assert not alive, f"still running after Ctrl-C: {[p.pid for p in alive]}"
        assert "serving the search app" in (tmp_path / "app.err").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err_log.close()


def _children(proc):
    import psutil
    try:
        return proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _search_in_app(page, url: str, query: str) -> None:
    """Open ``imgsearch app`` at ``url``, search for ``query``, wait for its first results."""
    page.goto(url)
    box = page.locator(".imgsearch-app .imgsearch-query input")
    # Voila starts a kernel, which loads the model and opens the index, then the widgets show.
    box.wait_for(timeout=120_000)
    box.fill(query)
    box.press("Enter")
    page.wait_for_function("""(query) => {
        const status = document.querySelector('.imgsearch-app .imgsearch-status');
        return status && status.textContent.includes(query)
            && document.querySelectorAll('.imgsearch-app .imgsearch-result img').length > 0;
    }""", arg=query, timeout=60_000)


def test_imgsearch_app_serves_the_search_app(page, imgsearch_app):
    BUILD.mkdir(exist_ok=True)
    try:
        _search_in_app(page, imgsearch_app, QUERY)
        assert "import" not in page.locator("body").inner_text(), "the page shows code"
        results = _visible_results(page)
        page.locator(".imgsearch-app").screenshot(path=str(BUILD / "cli-app-screenshot.png"))
        assert results and results[0]["name"].startswith("lake_"), results
        assert results[0]["caption"], "the gallery's captions.json is read through the index"
        assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
        _show_why(page, len(results))
    except BaseException:
        page.screenshot(path=str(BUILD / "cli-app-failure.png"), full_page=True)
        raise


def _show_why(page, n: int) -> None:
    """The "why?" toggle lays each result's heatmap over its thumbnail, and takes it off again."""
    plain = page.evaluate("() => [...document.querySelectorAll('.imgsearch-app .imgsearch-thumb img')]"
                          ".map(img => img.src)")
    page.locator(".imgsearch-app .imgsearch-why").click()
    page.wait_for_function("""(n) => document.querySelectorAll(
        '.imgsearch-app .imgsearch-result .imgsearch-heatmap img').length >= n""", arg=n,
        timeout=60_000)
    heat = page.evaluate("() => [...document.querySelectorAll('.imgsearch-app .imgsearch-heatmap img')]"
                         ".map(img => img.src)")
    page.locator(".imgsearch-app").screenshot(path=str(BUILD / "app-why-screenshot.png"))
    assert len(heat) == n and not set(heat) & set(plain), "the heatmaps replace the thumbnails"
    assert _visible_results(page)[0]["name"].startswith("lake_"), "the ranking stays the same"
    page.locator(".imgsearch-app .imgsearch-why").click()
    page.wait_for_function("() => !document.querySelector('.imgsearch-app .imgsearch-heatmap')",
                           timeout=60_000)


# -- how many match, the line where they end, a thumbs-up re-ranks ---------------------
# Saves build/matches-screenshot.png (the count, the line and the buttons) and
# build/matches-refined-screenshot.png (after the thumbs-up).

MATCH_QUERY = "a snowman with a red hat"


def _status(page) -> str:
    return page.locator(".imgsearch-app .imgsearch-status").inner_text()


def test_the_app_shows_how_many_match_and_learns_from_a_thumbs_up(page, imgsearch_app):
    BUILD.mkdir(exist_ok=True)
    try:
        _search_in_app(page, imgsearch_app, MATCH_QUERY)
        page.wait_for_function("""() => /\\d+ pictures? match/.test(
            document.querySelector('.imgsearch-app .imgsearch-status').textContent)""",
            timeout=60_000)
        matches = int(re.search(r"(\d+) pictures? match", _status(page)).group(1))
        results = _visible_results(page)
        line = page.locator(".imgsearch-app .imgsearch-matches-end")
        if matches < len(results):
            # The line is visible, says the count, and sits below the last match's cell.
            line.wait_for(state="visible", timeout=10_000)
            said = "1 picture matches" if matches == 1 else f"{matches} pictures match"
            assert said in line.inner_text()
            cells = page.locator(".imgsearch-app .imgsearch-result")
            last_match = cells.nth(matches - 1).bounding_box()
            first_other = cells.nth(matches).bounding_box()
            box_line = line.bounding_box()
            assert last_match["y"] + last_match["height"] <= box_line["y"] + 1
            assert box_line["y"] + box_line["height"] <= first_other["y"] + 1
        likes = page.locator(".imgsearch-app .imgsearch-result .imgsearch-like")
        assert likes.count() >= len(results) and \
            page.locator(".imgsearch-app .imgsearch-unlike").count() >= len(results)
        page.locator(".imgsearch-app").screenshot(path=str(BUILD / "matches-screenshot.png"))
        # A thumbs-up on the first result judged not to match: the search runs again,
        # refined, and that picture is now among the matches.
        slot = min(matches, len(results) - 1)
        liked = results[slot]["name"]
        likes.nth(slot).click()
        page.wait_for_function("""() => document.querySelector('.imgsearch-app .imgsearch-status')
            .textContent.includes('refined: 1 marked right, 0 wrong')""", timeout=60_000)
        now = int(re.search(r"(\d+) pictures? match", _status(page)).group(1))
        after = [r["name"] for r in _visible_results(page)]
        assert liked in after[:now], (liked, after, now)
        marked = page.locator(".imgsearch-app .imgsearch-result").nth(after.index(liked))
        assert "mod-success" in marked.locator(".imgsearch-like").get_attribute("class")
        page.locator(".imgsearch-app").screenshot(
            path=str(BUILD / "matches-refined-screenshot.png"))
    except BaseException:
        page.screenshot(path=str(BUILD / "matches-failure.png"), full_page=True)
        raise


def test_the_app_page_says_when_the_model_reads_the_asked_detail_poorly(page, imgsearch_app):
    """`imgsearch app` runs the clip-art CLIP: it reads colours well and counts poorly."""
    from imgsearch_helpers.evaluation import detail_note

    try:
        for query in ("a red car", "two cats"):
            _search_in_app(page, imgsearch_app, query)
            expected = detail_note("imgsearch/clipart-clip", query)
            shown = page.locator(".imgsearch-app .imgsearch-message").inner_text()
            if expected:
                assert " ".join(expected.split()) in " ".join(shown.split()), (query, shown)
            else:
                assert "poorly" not in shown, (query, shown)
        assert detail_note("imgsearch/clipart-clip", "two cats"), (
            "the shipped CLIP now reads counts: ask this test a detail it still reads poorly")
    except BaseException:
        page.screenshot(path=str(BUILD / "detail-note-failure.png"), full_page=True)
        raise


def test_waiting_for_the_kernel_asks_again_after_the_servers_start_up_500(monkeypatch):
    # The race seen in CI: /api/kernels answers 500 while a kernel is starting.
    import http.server
    import threading

    answers = iter([(500, b'{"message": "Unhandled error"}'), (500, b"{}"),
                    (200, b'[{"execution_state": "starting"}]'),
                    (200, b'[{"execution_state": "idle"}]')])
    asked = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            code, body = next(answers)
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(time, "sleep", lambda s: None)
    try:
        _wait_for_idle_kernel({"url": f"http://127.0.0.1:{server.server_port}", "token": "t"},
                              timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    assert asked == ["/api/kernels"] * 4
