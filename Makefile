# make demo   — everything a new user needs, on SQLite, served at http://127.0.0.1:8000
# make test   — the whole test suite (SQLite unless DATABASE_URL is set)
# make bench  — throughput and latency of the home page and a generated list endpoint
# make lint   — ruff format check and lint

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
DEMO_ENV := DEBUG=1 PTDEMO_HIS_PUSH_SECRET=demo-his-push-secret
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo demo-setup test bench lint messages schema

$(INSTALLED): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(INSTALLED)

demo-setup: $(INSTALLED)
	$(DEMO_ENV) $(PY) manage.py migrate --noinput -v 0
	$(DEMO_ENV) $(PY) manage.py onboard configs/*.yaml
	$(DEMO_ENV) $(PY) manage.py load_fixtures
	$(DEMO_ENV) $(PY) manage.py demo_accounts

demo: demo-setup
	@echo "Admin: http://$(HOST):$(PORT)/admin/   API docs: http://$(HOST):$(PORT)/api/docs/"
	@echo "Fake HIS (the demo hospitals' information system): http://127.0.0.1:8765/_control/state"
	@$(DEMO_ENV) $(PY) manage.py qcluster & QCLUSTER=$$!; \
	$(DEMO_ENV) $(PY) manage.py fake_his --port 8765 & FAKE_HIS=$$!; \
	trap 'kill $$QCLUSTER $$FAKE_HIS 2>/dev/null' EXIT INT TERM; \
	sleep 2; $(DEMO_ENV) $(PY) manage.py sync_schedules || true; \
	$(DEMO_ENV) $(PY) manage.py runserver $(HOST):$(PORT) --noreload

test: $(INSTALLED)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(INSTALLED)
	$(PY) tools/bench.py

lint: $(INSTALLED)
	$(PY) -m ruff format --check platform tests tools
	$(PY) -m ruff check platform tests tools

messages: $(INSTALLED)
	cd platform/hcm && DEBUG=1 ../../$(PY) ../../manage.py makemessages -l zh_Hans --no-obsolete && DEBUG=1 ../../$(PY) ../../manage.py compilemessages

schema: $(INSTALLED)
	$(DEMO_ENV) $(PY) manage.py config_schema
