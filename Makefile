VENV ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: venv test demo bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt constraints.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

test: venv
	$(PYTHON) -m pytest

demo: venv
	$(PYTHON) -m emulator demo

bench: venv
	$(PYTHON) bench/cold_start.py
	$(PYTHON) bench/cold_start_deployed.py
	$(PYTHON) bench/transitions.py

clean:
	rm -rf build .pytest_cache
