# Zen: `make mnist` trains the MNIST example, `make test` runs the tests.
# Both set up .venv on first use (only python3 and make are needed).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup test mnist data bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

test: setup
	$(PY) -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
