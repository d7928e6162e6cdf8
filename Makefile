# Two commands do all set-up: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The versions the tests passed with (scripts/lock.sh writes it); pyproject.toml keeps the ranges.
CONSTRAINTS := constraints.txt
# The project folder goes on sys.path (a .pth), not behind an import hook: a user's own folder named like one
# of our packages (a `registry/` beside a script) must not hide it.
EDITABLE := --config-settings editable_mode=compat
# The installed packages, compiled to bytecode before a run: an editable install is not compiled by pip, and
# with PYTHONDONTWRITEBYTECODE set every `scrapy` process would compile them again.
PACKAGES := contract crawlers pipelines store matchers registry exports enforcement workbench
# One test worker more than cores: part of the suite waits on the scrapy processes, browsers and servers it starts
# (on 2 cores: 3 workers ran it in 271 s, 2 in 298 s, 4 in 282 s).
WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

.PHONY: setup system-deps demo test coverage lint eval eval-images bench clean lock upgrade-deps test-latest

setup: $(STAMP) system-deps
	@$(BIN)/python -m compileall -q -j 0 $(PACKAGES)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)" % sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]' -c $(CONSTRAINTS) $(EDITABLE)
	touch $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

demo: setup
	$(BIN)/python -m crawlers.demo

# Bytecode is written during the suite even where PYTHONDONTWRITEBYTECODE is set: the hundreds of `scrapy`
# processes the tests start then compile nothing, and a second run skips pytest's rewriting of ~120 test files.
test: setup
	$(BIN)/ruff check .
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n $(WORKERS)

# The whole suite with coverage of the shipped packages, subprocess crawls included; the covered lines go to
# .coverage-data/lines.json for `scripts/coverage_lines.py diff` against an earlier tree's (combined even when a
# test failed; one does under coverage: its 3 kB file-size limit also stops coverage writing its own data).
coverage: setup
	rm -rf .coverage-data && mkdir .coverage-data
	export IPWATCH_COVERAGE_DIR=$(CURDIR)/.coverage-data PYTHONDONTWRITEBYTECODE=; \
	$(BIN)/python -m coverage run -m pytest -q -n $(WORKERS); status=$$?; \
	$(BIN)/python -m coverage combine -q && $(BIN)/python -m coverage report --format=total && \
	$(BIN)/python scripts/coverage_lines.py dump .coverage-data/.coverage .coverage-data/lines.json; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check .

eval: $(STAMP)
	$(BIN)/python -m bench.evaluate fixtures/eval

eval-images: $(STAMP)
	$(BIN)/python -m bench.evaluate_images

bench: $(STAMP)
	$(BIN)/python -m bench

# After adding a package to pyproject.toml: `make setup lock` pins it (and what it pulled in) too.
lock: $(STAMP)
	bash scripts/lock.sh $(BIN)/python

# The newest versions pyproject.toml allows, then the whole suite; the lock is rewritten only if it passes.
upgrade-deps: setup
	$(BIN)/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[test]' $(EDITABLE)
	touch $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n auto
	bash scripts/lock.sh $(BIN)/python

# The same trial in a venv of its own (.venv-latest), leaving .venv and constraints.txt as they are.
test-latest: system-deps
	test -x .venv-latest/bin/python || $(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[test]' $(EDITABLE)
	.venv-latest/bin/python -m pytest -q -n auto

clean:
	rm -rf $(VENV) .venv-latest reports data .pytest_cache
