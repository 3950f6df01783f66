# Set-up commands of the README. Each creates the virtual environment idempotently.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# CPU build of torch; override e.g. TORCH_SPEC="torch==2.13.0" on other machines
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.qnoise-installed

.PHONY: install train demo test test-all docs lint bench clean clean-numba

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev,chem]"
	touch $(STAMP)

install: $(STAMP)

# main job: a short CRLQAS training run (H2, IBM Mumbai median noise), then its best circuit
train: $(STAMP)
	rm -rf runs/quickstart
	$(VENV)/bin/qnoise train --config configs/h2_2q_mumbai_median_fast.yaml --out runs/quickstart
	$(VENV)/bin/qnoise evaluate runs/quickstart

demo: $(STAMP)
	$(VENV)/bin/qnoise demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 -m ""

# API reference and guides (MkDocs + mkdocstrings, numpy docstrings); warnings are errors
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict --quiet

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) benchmarks/sim_vs_aer.py

clean:
	rm -rf $(VENV) build *.egg-info

# numba's on-disk caches (kept beside the sources); see README, Development
clean-numba:
	find qnoise envs agents benchmarks \( -name '*.nbi' -o -name '*.nbc' \) -delete
