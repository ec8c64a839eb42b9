"""Sphinx configuration of the course book: `make book` builds it into build/book/.

The source folder is the repository root (so that the notebooks stay in notebooks/ and
run there, as in JupyterLab); only docs/ and the numbered notebooks are read. The
notebooks are executed with the offline profile through jupyter-cache, which the test
suite shares (tests/test_book.py): one execution serves the book and the tests.
The rules that need code (the cache's key, the ``imgsearch --help`` pages, the
"Show solution" toggles, the offline MathJax) live in docs/_ext/course_book.py.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))
import course_book  # noqa: E402

course_book.prepare_environment()   # offline profile, this checkout's package, this Python

project = "Text-based image search: a hands-on course"
author = "the course's authors"
copyright = "the course's authors (MIT licence)"

root_doc = "docs/index"
include_patterns = ["docs/**", "notebooks/[0-9][0-9]_*.ipynb"]
# Pruned while Sphinx walks the source folder (the venv alone has tens of thousands of files).
exclude_patterns = [".venv", ".git", "build", "data", "bench", "tests", "tools",
                    "imgsearch_helpers", "notebooks/py", "docs/_ext", "docs/_root",
                    "**/.ipynb_checkpoints", "**/.imgsearch"]

extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "course_book"]

# MyST: $...$ and $$...$$ formulas, as JupyterLab renders them.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# Execution: through jupyter-cache, once per version of the inputs (course_book's key),
# in the notebook's own folder, as long as a cell may take in the notebooks' own tests.
nb_execution_mode = "cache"
nb_execution_cache_path = str(course_book.execution_cache())
nb_execution_in_temp = False
nb_execution_timeout = 1200
# A failing notebook fails the build at its end, after every other notebook ran (course_book).
nb_execution_raise_on_error = False
nb_execution_show_tb = True
nb_merge_streams = True
# A widget needs its kernel: the book says where it runs (course_book.WidgetNote) and loads
# no widget JavaScript from the internet.
nb_ipywidgets_js = {}

autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_numpy_docstring = True
napoleon_google_docstring = False

html_theme = "sphinx_book_theme"
html_title = "Text-based image search"
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,
    "use_fullscreen_button": False,
}
# build/book/index.html leads to the home page (docs/index.html), also from file://.
html_extra_path = ["_root"]   # relative to docs/, like every html_* path
html_last_updated_fmt = None
# MathJax 2 from the jupyter-server-mathjax package, copied into the site: no CDN.
mathjax_path = course_book.MATHJAX_PATH
mathjax2_config = course_book.MATHJAX_CONFIG
