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

.PHONY: all book test release check-release clean venv

all: book

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## book: build the HTML book into _build/html (notebooks executed, results cached)
book: $(STAMP)
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

## test: the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest

## release: regenerate exercises/ from solutions/ through nbgrader
release: $(STAMP)
	$(BIN)/cnnbook release

clean:
	rm -rf _build
