# The two commands: `make run` (the whole system on the embedded default) and `make test` (the whole suite).
VENV ?= .venv
PY := $(VENV)/bin/python
PYBABEL := $(VENV)/bin/pybabel
VENDOR := hotline/static/vendor

.PHONY: run test setup assets translations lint typecheck extract-messages bench-routing bench-stats clean

run: setup
	VENV=$(VENV) ./scripts/run.sh

test: setup lint typecheck
	./scripts/services.sh
	./scripts/browser.sh
	$(PY) -m pytest

setup: $(VENV)/.installed assets translations

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

assets: $(VENDOR)/bootstrap/bootstrap.min.css $(VENDOR)/echarts/echarts.min.js

# One npm ci builds both (a grouped target, GNU make 4.3): the dashboard's charts are Apache ECharts, served from here.
$(VENDOR)/bootstrap/bootstrap.min.css $(VENDOR)/echarts/echarts.min.js &: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)/bootstrap $(VENDOR)/echarts
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js $(VENDOR)/bootstrap/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts/

translations: $(VENV)/.installed
	$(PYBABEL) -q compile -d hotline/translations

# --ignore-dirs replaces babel's default directory filter, which skips every directory starting with _ (templates/_macros).
extract-messages: $(VENV)/.installed
	$(PYBABEL) -q extract -F babel.cfg -k _l --ignore-dirs='.* node_modules' -o hotline/translations/messages.pot .
	$(PYBABEL) -q update -i hotline/translations/messages.pot -d hotline/translations --no-fuzzy-matching --ignore-obsolete

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check hotline worker tests bench
	$(VENV)/bin/ruff format --check hotline worker tests bench

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# Submit→assigned latency and routed requests/s on Redis + PostgreSQL with 2 workers, next to a Celery no-op.
bench-routing: setup
	./scripts/services.sh
	$(PY) -m bench.routing

# The figures' pages over HTTP through gunicorn (dashboard, API summary, a list behind a figure) over 1,000,000
# requests in PostgreSQL, next to a bare count(*) page in the same run; its own database, dropped at the end.
# `make bench-stats TICKETS=20000` for a quick try.
bench-stats: setup
	./scripts/services.sh
	$(PY) -m bench.stats $(if $(TICKETS),--tickets $(TICKETS))

clean:
	rm -rf $(VENV) node_modules $(VENDOR) instance
