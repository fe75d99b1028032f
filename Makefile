# The two commands: `make run` (the whole system on the embedded default) and `make test` (the whole suite).
VENV ?= .venv
PY := $(VENV)/bin/python
PYBABEL := $(VENV)/bin/pybabel
VENDOR := hotline/static/vendor

.PHONY: run test setup assets translations lint typecheck extract-messages bench-routing bench-stats bench-web clean

run: setup
	VENV=$(VENV) ./scripts/run.sh

# The programs of a running `make run` (supervisorctl): RUNNING, STARTING, BACKOFF, FATAL, with pid and uptime.
.PHONY: status stop
status:
	@VENV=$(VENV) ./scripts/run.sh ctl status

# Stops a `make run` started in another terminal (Ctrl-C in its own terminal does the same).
stop:
	@VENV=$(VENV) ./scripts/run.sh ctl shutdown

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

# The clock sweep over 5,000 overdue requests by a real worker, and a liaison's acknowledge over HTTP (gunicorn)
# during it next to the same with no sweep running; its own database and Redis. `make bench-sweep REQUESTS=800`.
.PHONY: bench-sweep
bench-sweep: setup
	./scripts/services.sh
	$(PY) -m bench.sweep $(if $(REQUESTS),--requests $(REQUESTS))

# 10,000 real tasks (requests filed over the API, routed, e-mails handled) through `make run`'s supervised stack
# on SQLite in a temporary instance folder: tasks/s, crashes, lost.  `make bench-embedded TASKS=2000` to try.
.PHONY: bench-embedded bench-embedded-broker
bench-embedded: setup
	$(PY) -m bench.embedded $(if $(TASKS),--tasks $(TASKS))

# The embedded broker's candidates (kombu filesystem, kombu SQLAlchemy on SQLite, a private redis-server).
bench-embedded-broker: setup
	$(PY) -m bench.embedded_broker

# Every list and page of every role, and the filing of a request (form and API), over HTTP through gunicorn over
# 1,000,000 requests in PostgreSQL, next to a count(*) page, a bare ORM insert and Flask hello in the same run.
# `make bench-web TICKETS=100000` shows how each cost grows with the table.
bench-web: setup
	./scripts/services.sh
	$(PY) -m bench.web $(if $(TICKETS),--tickets $(TICKETS))

# The requests CSV and Excel downloads over HTTP through gunicorn on PostgreSQL (time, rows/s, the workers'
# peak RSS), then each file built alone with its peak memory; its own database, dropped at the end.
# `make bench-exports TICKETS=200000` for a quicker run.
.PHONY: bench-exports
bench-exports: setup
	./scripts/services.sh
	$(PY) -m bench.exports $(if $(TICKETS),--tickets $(TICKETS))

# The spreadsheet import API over HTTP through gunicorn on PostgreSQL: 10,000 enterprises dry run (.xlsx, .csv)
# and applied, 1,000 buildings and 1,000 coverage rows at once, next to a Core executemany of the same rows and
# a no-op upload in the same run; its own database, dropped at the end.  `make bench-imports ROWS=2000` to try.
.PHONY: bench-imports
bench-imports: setup
	./scripts/services.sh
	$(PY) -m bench.imports $(if $(ROWS),--rows $(ROWS))

clean:
	rm -rf $(VENV) node_modules $(VENDOR) instance
