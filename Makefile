# Two commands do all set-up: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup system-deps demo test lint eval eval-images bench clean

setup: $(STAMP) system-deps

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)" % sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

demo: setup
	$(BIN)/python -m crawlers.demo

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

eval: $(STAMP)
	$(BIN)/python -m matchers.evaluate fixtures/eval

eval-images: $(STAMP)
	$(BIN)/python -m matchers.evaluate_images

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) reports data .pytest_cache
