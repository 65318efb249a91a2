# diffusion_edu: build the book and run the tests on a fresh machine.
#
#   make book    build the book into _build/html (executes every chapter)
#   make test    unit tests + every notebook under nbval, in the smoke profile
#
# Both create .venv on first use: the CPU build of torch first (so that nothing pulls a CUDA
# torch), then the package and its [dev] extras at the versions pinned in constraints.txt.
#
# Variables (set them on the command line: make test PROFILE=cpu):
#   PROFILE          smoke | cpu | gpu. make test: smoke unless set. make book: picked from the
#                    hardware unless set (gpu with CUDA, else cpu). Defaults to
#                    $DIFFUSION_EDU_PROFILE, so exporting that works too.
#   PINS             the constraints file (default constraints.txt; needs Python >= 3.11).
#                    PINS= (empty) installs the newest version of everything, torch included.
#   TORCH_INDEX_URL  where torch comes from (default: pip's own index). PyPI's Linux wheels of
#                    torch bundle CUDA (gigabytes): on a Linux machine without a GPU use
#                    https://download.pytorch.org/whl/cpu (as CI does); for a GPU, the index of
#                    your CUDA version, e.g. https://download.pytorch.org/whl/cu128.
#   PYTEST_ARGS      extra pytest arguments, e.g. PYTEST_ARGS="-x -k schedules".
#   SHOTS            make site-check: a folder for a full-page screenshot of every page.
#   PYTHON           the interpreter that creates .venv (default python3).
#   BUDGETS          make bench: training seconds per run (default "150 300 600").
#   SYSTEMS          make bench: which systems (default all; see bench/README.md).
#   SEED             make bench: seed of the runs (default 0); other seeds are stored beside them.
#   RESAMPLES        make bench: more sample sets judged per run, from the same weights (default 0).

SHELL := bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PINS ?= constraints.txt
TORCH_INDEX_URL ?=
PROFILE ?= $(DIFFUSION_EDU_PROFILE)
PYTEST_ARGS ?=

STAMP := $(VENV)/.installed
# torch's version comes from the pins (one place); unpinned when PINS is empty.
TORCH_VERSION := $(if $(PINS),$(shell sed -n 's/^torch==//p' $(PINS)))
TORCH_REQ := torch$(if $(TORCH_VERSION),==$(TORCH_VERSION))
TEST_PROFILE := $(or $(PROFILE),smoke)
# The one pytest command (also used by CI): nbval collects only .ipynb files, and runs them in
# this interpreter's kernel (--nbval-current-env), not whatever kernel "python3" means here.
NBVAL := --nbval --nbval-current-env

.PHONY: help venv book test notebooks site-check clean distclean exercises grade bench

help: ## show this help
	@echo "usage: make <target> [PROFILE=smoke|cpu|gpu] [PINS=constraints.txt] [TORCH_INDEX_URL=...]"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z-]*:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: $(STAMP) ## create .venv (or bring it up to date) with torch, the package and its [dev] extras

# Reuses an existing .venv: `python -m venv` only runs when there is no interpreter yet, and
# pip leaves what already satisfies the requirements alone.
$(STAMP): pyproject.toml constraints.txt requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@if [ -n "$(PINS)" ] && ! $(VENV)/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then \
	  echo "error: $(PINS) pins versions that need Python >= 3.11, and $(VENV) has $$($(VENV)/bin/python -V)." >&2; \
	  echo "  Recreate it with a newer Python (make distclean && make PYTHON=python3.11 $(MAKECMDGOALS))," >&2; \
	  echo "  or install unpinned versions (make $(MAKECMDGOALS) PINS=)." >&2; \
	  exit 1; fi
	$(VENV)/bin/pip install $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL)) '$(TORCH_REQ)'
	$(VENV)/bin/pip install $(if $(PINS),-c $(PINS)) -e '.[dev]'
	touch $@

# --all: Sphinx only re-reads pages whose source changed, so without it a change to the library
# or to PROFILE would leave every chapter showing the outputs of an earlier build.
book: $(STAMP) ## build the book into _build/html, running every chapter (warnings are errors)
	$(if $(PROFILE),DIFFUSION_EDU_PROFILE=$(PROFILE) )$(VENV)/bin/jupyter-book build . -W --all
	@echo "open _build/html/index.html"

test: $(STAMP) ## unit tests + every notebook (book, exercises, solutions) under nbval (PROFILE=smoke unless set)
	DIFFUSION_EDU_PROFILE=$(TEST_PROFILE) $(VENV)/bin/python -m pytest tests book exercises solutions $(NBVAL) $(PYTEST_ARGS)

notebooks: $(STAMP) ## only the notebooks under nbval (CI's GPU job: make notebooks PROFILE=gpu)
	DIFFUSION_EDU_PROFILE=$(TEST_PROFILE) $(VENV)/bin/python -m pytest book $(NBVAL) $(PYTEST_ARGS)

# make test already builds the book (smoke profile, into _build/smoke) and checks every page in
# a browser; this checks the book that `make book` built, without rebuilding it.
site-check: $(STAMP) ## open every page of _build/html in headless Chromium (SHOTS=dir saves screenshots)
	DIFFUSION_EDU_SITE_HTML=_build/html $(if $(SHOTS),DIFFUSION_EDU_SCREENSHOTS=$(SHOTS) )$(VENV)/bin/python -m pytest tests/test_site.py -k "not fixture" $(PYTEST_ARGS)

clean: ## remove the built book and caches (keeps .venv)
	rm -rf _build .pytest_cache build dist *.egg-info
	find . \( -path ./.git -o -path ./$(VENV) \) -prune -o \
	  -type d \( -name __pycache__ -o -name .ipynb_checkpoints -o -name .pytest_cache -o -name '*.egg-info' \) \
	  -prune -exec rm -rf {} +

distclean: clean ## also remove .venv
	rm -rf $(VENV)

# ---------------------------------------------------------------------------------- benchmarks
# The peers are installed here only, never by make test. denoising-diffusion-pytorch declares
# torchvision and pytorch-fid as dependencies (for its image-folder Trainer and FID helper, which
# the bench does not use); torchvision's wheels do not load against the CPU build of torch, so it
# is installed without them and imported with a stand-in torchvision (bench/systems.py).
BUDGETS ?= 150 300 600
SYSTEMS ?=
SEED ?=
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(VENV)/bin/pip install $(if $(PINS),-c $(PINS)) -e '.[bench]'
	$(VENV)/bin/pip install $(if $(PINS),-c $(PINS)) --no-deps denoising-diffusion-pytorch
	touch $@

bench: $(BENCH_STAMP) ## train the course's digits model and two libraries' at equal seconds; print the table
	$(VENV)/bin/python bench/digits_vs_peers.py --budgets $(BUDGETS) $(if $(SYSTEMS),--systems $(SYSTEMS)) $(if $(SEED),--seed $(SEED)) $(if $(RESAMPLES),--resamples $(RESAMPLES))

# ---------------------------------------------------------------------------------- exercises
exercises: $(STAMP) ## regenerate exercises/, their public tests and the autograders from solutions/
	$(VENV)/bin/python solutions/build.py

grade: $(STAMP) ## grade every notebook in SUBMISSIONS=folder into grades.csv (GRADES=path to change)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=path/to/folder [GRADES=grades.csv]" >&2; exit 2; }
	$(VENV)/bin/python solutions/build.py
	$(VENV)/bin/python solutions/grade.py "$(SUBMISSIONS)" --out "$(or $(GRADES),grades.csv)"
