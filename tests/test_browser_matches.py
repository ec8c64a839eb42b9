"""In a real browser: the app says how many pictures match, draws the line where they end,
and re-ranks when a result gets a thumbs-up (``imgsearch app`` on the offline gallery).

Uses the fixtures of test_browser.py (Debian's Chromium through Playwright; skipped with the
reason on a laptop without it). Saves ``build/matches-screenshot.png`` (the count, the line
and the buttons) and ``build/matches-refined-screenshot.png`` (after the thumbs-up).
"""
from __future__ import annotations

import re

import pytest

from test_browser import BUILD, _visible_results, chromium, imgsearch_app, page  # noqa: F401

pytestmark = pytest.mark.browser
QUERY = "a red vehicle on the road"


def _status(page) -> str:
    return page.locator(".imgsearch-app .imgsearch-status").inner_text()


def test_the_app_shows_how_many_match_and_learns_from_a_thumbs_up(page, imgsearch_app):
    BUILD.mkdir(exist_ok=True)
    try:
        page.goto(imgsearch_app)
        box = page.locator(".imgsearch-app .imgsearch-query input")
        box.wait_for(timeout=120_000)
        box.fill(QUERY)
        box.press("Enter")
        page.wait_for_function("""(query) => {
            const s = document.querySelector('.imgsearch-app .imgsearch-status');
            return s && s.textContent.includes(query) && /\\d+ pictures? match/.test(s.textContent);
        }""", arg=QUERY, timeout=60_000)
        matches = int(re.search(r"(\d+) pictures? match", _status(page)).group(1))
        results = _visible_results(page)
        line = page.locator(".imgsearch-app .imgsearch-matches-end")
        if matches < len(results):
            # The line is visible, says the count, and sits below the last match's cell.
            line.wait_for(state="visible", timeout=10_000)
            assert f"{matches} pictures match" in line.inner_text()
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
