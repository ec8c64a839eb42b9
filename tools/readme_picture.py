"""Draw the README's picture: notebook 03's first search, as the course's result grid.

The same search as notebook 03, section 4 (the offline profile's SigLIP, the first seed
query, the top 5), drawn by the package's own ``results_html`` and photographed by
headless Chromium (Debian's, at /usr/bin/chromium). Run it again after the offline
models change:

    IMGSEARCH_PROFILE=offline .venv/bin/python tools/readme_picture.py
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "images" / "search_results.png"
CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    os.environ.setdefault("IMGSEARCH_PROFILE", "offline")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    from imgsearch_helpers import embed_images, embed_texts, get_profile, load_model, results_html, search
    from imgsearch_helpers.course import SEED_QUERIES

    profile = get_profile()
    model = load_model(profile.siglip)
    images = profile.gallery_images()
    query = SEED_QUERIES[0]
    results = search(embed_texts(model, query)[0], embed_images(model, images), images, k=5)
    grid = results_html(results, title=f"“{query}” · {model.name}", size=128)
    page_html = f'<html><body style="margin:0;background:#fff"><div id="grid">{grid}</div></body></html>'
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        page_file = Path(tmp) / "grid.html"
        page_file.write_text(page_html, encoding="utf-8")
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 760, "height": 400})
            page.goto(page_file.as_uri())
            OUT.parent.mkdir(parents=True, exist_ok=True)
            page.locator("#grid").screenshot(path=str(OUT))
        finally:
            browser.close()
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size // 1024} KiB, "
          f"{query!r}: " + ", ".join(Path(r.item).name for r in results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
