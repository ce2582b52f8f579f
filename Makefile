# Two commands do everything on a fresh machine:
#   make demo   set up .venv if needed, then run the Section 6 story on the embedded data
#   make test   set up .venv if needed, then run the test suite
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.tricks_mm_installed

.PHONY: install test demo clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml scripts/install.sh requirements/constraints.txt
	VENV=$(VENV) bash scripts/install.sh
	touch $(STAMP)

test: install
	$(PY) -m pytest -q tests

demo: install
	$(PY) -m tricks_mm.cli.demo

clean-venv:
	rm -rf $(VENV)
