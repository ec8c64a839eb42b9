"""`make lab` opens on the course's start page, notebooks/README.md, rendered, and
JupyterLab asks nothing about "Jupyter news" (issue 26).

The test starts JupyterLab with the options of the Makefile's ``lab`` target (read with
``make -n lab``, so it checks the real command line), a throw-away user settings folder
(as on a laptop that never answered the question) and a "browser" that only records the
page JupyterLab opens. Headless Chromium then opens that page: the README must be the
open tab, rendered as a Markdown preview, with no Launcher and no news notification.
Screenshot: ``build/lab-start.png``.
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
NEWS = "notified about official Jupyter news"

pytestmark = pytest.mark.browser


def _lab_command() -> list[str]:
    dry = subprocess.run(["make", "--no-print-directory", "-n", "lab", "STAMP="], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    line = next(l for l in dry.splitlines() if re.search(r"jupyter lab\b", l))
    argv = shlex.split(line)
    start = argv.index("lab") + 1
    return [sys.executable, "-m", "jupyterlab"] + [a for a in argv[start:] if a != "--allow-root"]


def test_the_makefile_opens_the_start_page_with_the_course_settings():
    args = _lab_command()
    assert "notebooks/README.md" in args
    settings = next(a.split("=", 1)[1] for a in args if a.startswith("--LabApp.app_settings_dir="))
    import json

    overrides = json.loads((ROOT / settings / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    port, token = _free_port(), "course-lab-start-test"
    opened = tmp_path / "opened.txt"
    recorder = tmp_path / "browser.sh"
    recorder.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {shlex.quote(str(opened))}\n')
    recorder.chmod(0o755)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "user-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    log_path = tmp_path / "lab.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        _lab_command() + [f"--ServerApp.browser={recorder} %s", "--ServerApp.ip=127.0.0.1",
                          f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                          f"--IdentityProvider.token={token}"]
        + (["--allow-root"] if os.geteuid() == 0 else []),
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (opened.is_file() and opened.read_text()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab opened no page:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield {"opened": opened.read_text(), "log": log_path}
    finally:
        try:
            req = urllib.request.Request(f"http://127.0.0.1:{port}/api/shutdown", method="POST",
                                         headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(req, timeout=5).close()
        except (urllib.error.URLError, OSError):
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def test_make_lab_opens_the_readme_without_the_news_question(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(lab["opened"])          # JupyterLab's own redirect page, as a browser gets it
            rendered = page.locator(".jp-MainAreaWidget .jp-RenderedMarkdown h1")
            rendered.first.wait_for(timeout=60_000)
            assert "The notebooks: start here" in rendered.first.inner_text()
            tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel")
            assert tab.first.inner_text() == "README.md"
            page.wait_for_timeout(4_000)      # the news question comes a moment after start-up
            assert page.get_by_text(NEWS).count() == 0, "JupyterLab asks about Jupyter news"
            assert page.locator(".jp-Launcher:visible").count() == 0, "the Launcher is open"
            (ROOT / "build").mkdir(exist_ok=True)
            page.screenshot(path=str(ROOT / "build" / "lab-start.png"))
        finally:
            browser.close()
