# Tambour: every target that needs Python creates or refreshes .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help demo test lint bench catalogs clean chromium wrk

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

REFERENCE := tests/reference
REFERENCE_STAMP := $(REFERENCE)/node_modules/.installed

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Twilio's segment calculator, the independent reference the SMS tests compare with: the tests
# need Node.js and npm, the demo does not.
$(REFERENCE_STAMP): $(REFERENCE)/package-lock.json
	@command -v npm >/dev/null || { echo "make test needs Node.js and npm (the SMS reference tests)"; exit 1; }
	npm ci --prefix $(REFERENCE) --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $(REFERENCE_STAMP)

# Debian's Chromium, which the web app's browser tests drive with Playwright (never a browser
# Playwright downloads): installed from the machine's packages when missing (as root, or sudo).
chromium: ## Install Debian's chromium for the browser tests, when missing
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver fonts-dejavu-core >/dev/null; }
	@chromium --version 2>/dev/null

# wrk, the HTTP load generator benches/bench_redirects.py drives when it is there (a client in C
# leaves the cores to the server); from the machine's packages, as chromium.
wrk: ## Install Debian's wrk for the redirect bench, when missing
	@command -v wrk >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null; }

demo: $(STAMP) ## Set up and run the demo (SQLite in ./tambour-demo.db, no other service)
	$(BIN)/tambour demo --database tambour-demo.db

# In parallel (pytest-xdist): 4 processes on a 2-core machine, as the tests wait on servers,
# subprocesses and databases a good part of their time; a module's tests stay on one process
# (loadscope), which starts the module's server and Chromium once. `pytest tests/x.py` alone
# still runs in one process. The tests marked `paced` measure rates against the wall clock: they
# run afterwards, alone, where the other processes cannot starve their event loop.
test: $(STAMP) $(REFERENCE_STAMP) chromium ## Set up and run the whole test suite
	$(BIN)/python -m pytest -q -n 4 --dist loadscope -m "not paced"
	$(BIN)/python -m pytest -q -m paced

lint: $(STAMP) ## ruff and mypy (strict on the pure core)
	$(BIN)/ruff check src tests benches
	$(BIN)/ruff format --check src tests benches
	$(BIN)/mypy

bench: $(STAMP) wrk ## Run the benchmarks in benches/ and print their figures
	@for b in benches/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The gettext catalogs (tambour.i18n): extract the marked texts, merge them into each language's
# .po (a changed text comes back fuzzy: translate it, remove the fuzzy mark), compile the .mo.
CATALOGS := src/tambour/locale
catalogs: $(STAMP) ## Extract, update and compile the translation catalogs (src/tambour/locale)
	$(BIN)/pybabel extract -F babel.cfg -k C_:1c,2 --no-location --sort-output -w 100 \
	    --project=Tambour --version=0.1.0 --copyright-holder=Tambour -o $(CATALOGS)/tambour.pot .
	$(BIN)/pybabel update -D tambour -i $(CATALOGS)/tambour.pot -d $(CATALOGS) -w 100 --ignore-obsolete
	$(BIN)/pybabel compile -D tambour -d $(CATALOGS) --statistics

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
