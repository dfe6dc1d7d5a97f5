# The two commands of the README: `make run` and `make test`. Everything else is a helper for them.
# The interpreter .venv is made from; by default the distribution's python3.11 (scripts/ensure_venv.sh says why).
PYTHON ?=
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install migrate seed bench screenshots clean

$(STAMP): requirements.txt requirements-dev.txt
	@scripts/ensure_venv.sh "$(PYTHON)" "$(VENV)"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput -v0

## Install, migrate, seed demo data on an empty database, print a key and start gunicorn on HOST:PORT.
run: migrate
	$(PY) manage.py bootstrap_demo
	$(VENV)/bin/gunicorn -c stellar_mcp_site/gunicorn.conf.py stellar_mcp_site.wsgi

## Install and run the whole test suite.
test: install
	scripts/run_tests.sh

## The tools' latency and throughput over HTTP (benchmarks/tools.py; seeds its own 100,000-case file once).
bench: install
	$(PY) benchmarks/tools.py

## Screenshots of the console's pages, light and dark, on demo data, into .run/screenshots/.
screenshots: install
	scripts/screenshots.sh

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
