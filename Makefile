# Ventas Digitales. Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint types unit infra functional security scanner browser browser-tests screenshots bench package install clean

# The virtualenv is (re)built from pyproject.toml whenever it changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip>=25.1,<26.3'  # chalice needs pip<26.3; --group needs 25.1
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The template scanner (checkov) in its own virtualenv: its pins clash with the product's
# (pyproject.toml, [dependency-groups] scan). tests/security finds it at .venv-scan/bin/checkov.
SCAN_VENV  := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed
$(SCAN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SCAN_VENV)/bin/python -m pip install --quiet --group scan
	touch $(SCAN_STAMP)

scanner: $(SCAN_STAMP)

## make run: a simulated working day on the embedded local stack (ARGS="--leads 80 --seed 7")
run: $(STAMP)
	$(PY) -m devstack.simulate $(ARGS)

## make test: lint, types and the whole suite
test: lint types unit infra functional security browser-tests

lint: $(STAMP)
	$(PY) -m ruff check src functions tests bench
	$(PY) -m ruff format --check src functions tests bench

types: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

## make infra: the deployable template checked offline (builds it in a temporary folder)
infra: $(STAMP)
	$(PY) -m pytest tests/infra -q -p no:logging

functional: $(STAMP)
	$(PY) -m pytest tests/functional -q -p no:logging -n 2

## make browser: a Chromium for the console's browser tests. Debian's package where apt works (Playwright's
## own browser download is not reachable everywhere); elsewhere Playwright's download.
browser: $(STAMP)
	@if [ -x /usr/bin/chromium ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else $(PY) -m playwright install chromium; fi

## make browser-tests: the console in headless Chromium against the local stack (never skipped)
browser-tests: browser
	$(PY) -m pytest tests/browser -q -p no:logging

## make screenshots: every console page into docs/img/
screenshots: browser
	$(PY) -m devstack.screenshots

## make security: the role-by-route matrix (in process and over HTTP), open routes, checkov
security: $(STAMP) $(SCAN_STAMP)
	$(PY) -m pytest tests/security -q -p no:logging -n 2

## make package: build/ for `sam deploy --template-file build/template.yaml` (docs/deploy.md)
package: $(STAMP)
	$(PY) -m devstack.package
	$(VENV)/bin/cfn-lint -- build/template.yaml build/template.cfn.json

## make bench: every figure the README quotes, into bench/results/ (ARGS="--only api_latency", "--leads 200")
bench: $(STAMP)
	$(PY) -m bench.run_all $(ARGS)

clean:
	rm -rf $(VENV) $(SCAN_VENV) build .mypy_cache .ruff_cache .pytest_cache
