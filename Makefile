# Two commands: `make lab` (the course) and `make test` (the test suite).
# Each creates .venv on first use and installs what it needs.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch is installed first, on its own, pinned: on a machine with the CPU wheel on
# local disk this takes it; elsewhere pip gets the standard build for the platform
# (CUDA on Linux, MPS on Apple silicon). For a CPU-only Linux laptop, e.g.:
#   make lab TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: lab test book prefetch check models clean-venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e ".[test]"
	@touch $@

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# The lab opens on the course's start page, rendered (Markdown files open as a preview), with
# no "news" pop-up and no update check: .jupyter/lab-settings/overrides.json sets the defaults.
LAB_OPTIONS := notebooks/README.md --notebook-dir=. --LabApp.app_settings_dir=.jupyter/lab-settings

lab: $(STAMP)  ## open the course in JupyterLab, at the repository root, on notebooks/README.md
	$(VENV)/bin/jupyter lab $(LAB_OPTIONS) $(ROOT_FLAG) $(LAB_ARGS)

test: $(STAMP)  ## unit tests, notebook tests (offline profile), browser test
	IMGSEARCH_PROFILE=offline HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

# The notebooks run once per version of the package and data (docs/_ext/course_book.py);
# `make test` builds the same book through the same cache (tests/test_book.py).
book: $(STAMP)  ## the course as a static site in build/book/ (open build/book/index.html)
	$(PY) -m sphinx -b html -c docs -d build/book-doctrees . build/book $(SPHINX_ARGS)
	@echo "the book: build/book/index.html"

prefetch: $(STAMP)  ## while online: download the real models for offline use
	$(VENV)/bin/imgsearch prefetch $(MODELS)

# The profile the workshop uses: IMGSEARCH_PROFILE=online|offline, else online when the real
# models are here or the Hub answers, else offline. Exit status 0 only when it is ready.
check: $(STAMP)  ## workshop laptop check: the profile's models load, run and find the right picture
	$(VENV)/bin/imgsearch doctor

models: $(STAMP)  ## retrain the three offline models from scratch (~26 min on 2 idle cores)
	$(PY) -m imgsearch_helpers.training --out data/models

clean-venv:
	rm -rf $(VENV)
