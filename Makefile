VENV ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: venv lint test demo serve bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	@echo "creating $(VENV) and installing the pinned requirements (the first time takes a few minutes)"
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --progress-bar on -r requirements.txt -c constraints.txt
	$(PYTHON) -m pip install --progress-bar on -e ".[test]" -c constraints.txt
	touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: venv
	$(PYTHON) -m pytest

demo: venv
	$(PYTHON) -m emulator demo

serve: venv
	$(PYTHON) -m emulator serve --stack-file Pulumi.dev.yaml

bench: venv
	$(PYTHON) bench/cold_start.py
	$(PYTHON) bench/cold_start_deployed.py
	$(PYTHON) bench/transitions.py
	$(PYTHON) bench/event_completion.py
	$(PYTHON) bench/downstream.py
	$(PYTHON) bench/cost.py

clean:
	rm -rf build .pytest_cache
