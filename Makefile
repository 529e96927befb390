# cnnbook: `make book` builds the HTML book, `make test` runs the whole suite.
# Both create the virtual environment .venv from nothing when it is missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed-stamp

# Run every tool from the virtual environment; notebook kernels find its python first.
export PATH := $(BIN):$(PATH)
# NumPy and torch share two cores badly; one BLAS thread each keeps them out of each other's way.
export OPENBLAS_NUM_THREADS ?= 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: all book book-instructor test browser sandbox release check-release clean venv bench

all: book

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# animal-mnist (MIT) ships the harder data set; its own loader needs TensorFlow, so no deps.
	$(BIN)/python -m pip install --quiet --no-deps animal-mnist==0.4
	touch $(STAMP)

## book: build the HTML book into _build/html (notebooks executed, results cached)
book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

## book-instructor: the instructor edition, solutions and hidden tests shown, into _build/instructor/html
book-instructor: $(STAMP)
	$(BIN)/python -m cnnbook.instructor

## test: the whole test suite (browser tests included: `browser` installs what they need)
test: $(STAMP) browser sandbox
	$(BIN)/python -m pytest

# The browser tests (tests/test_site.py) drive Debian's Chromium with Playwright and check
# every page with axe-core. Playwright never downloads a browser of its own here.
CHROMIUM    := /usr/bin/chromium
AXE_VERSION := 4.14.1
AXE         := _build/node/node_modules/axe-core

## browser: Debian's chromium (apt-get, as root, only when missing) and axe-core (npm, into _build/node)
browser:
	@if [ -x $(CHROMIUM) ]; then \
	  echo "chromium: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
	  echo "chromium is missing and installing it needs root (apt-get install -y chromium):"; \
	  echo "the browser tests (tests/test_site.py) will be skipped"; \
	fi
	@if grep -qs '"version": "$(AXE_VERSION)"' $(AXE)/package.json; then \
	  echo "axe-core $(AXE_VERSION): $(AXE)"; \
	elif command -v npm >/dev/null; then \
	  npm install --no-save --no-audit --no-fund --prefix _build/node axe-core@$(AXE_VERSION); \
	else \
	  echo "npm is missing (apt-get install -y npm): the accessibility test will be skipped"; \
	fi

## sandbox: bubblewrap for the grader's kernel sandbox (apt-get, as root, only when missing)
sandbox:
	@if command -v bwrap >/dev/null; then \
	  echo "bubblewrap: $$(command -v bwrap)"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap || \
	   (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap)); \
	else \
	  echo "bubblewrap is missing and installing it needs root (apt-get install -y bubblewrap):"; \
	  echo "grading runs without filesystem and network isolation, and tests/test_sandbox.py is skipped"; \
	fi

## release: regenerate exercises/ from solutions/ through nbgrader, and the otter files into _build/otter
release: $(STAMP)
	$(BIN)/cnnbook release

## bench: the benchmarks: one table, bench/results.json and bench/results.png (BENCH_ARGS="--only layers,lenet --quick")
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf _build
