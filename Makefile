# The two commands of the quick start: `make up` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP_FLAGS ?= --quiet --disable-pip-version-check

.PHONY: install up test lint optimize evaluate bench

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) --upgrade pip
	@echo "[install] Python dependencies"
	$(PY) -m pip install $(PIP_FLAGS) -e ".[serve,dev,postgres]"
	@echo "[install] llama.cpp's llama-server for the embedded model (compiled once per machine: ~10 minutes on 2 cores)"
	$(PY) -m serving.llama_server
	touch $@

up: install
	$(VENV)/bin/agent-up

test: install
	$(VENV)/bin/agent-up --model-only
	$(VENV)/bin/pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

optimize: install
	$(VENV)/bin/optimize

evaluate: install
	$(VENV)/bin/evaluate --program selector --split test
