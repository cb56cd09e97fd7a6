# The quick start's two commands: `make up` (install, then serve the agent) and `make test`.
SHELL := bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP_FLAGS ?= --quiet --disable-pip-version-check
LOCK := requirements.lock
# The extras `make install` installs and the lock covers (compare-serving is a benchmark's alone).
EXTRAS := serve dev postgres plot
UV_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml $(addprefix --extra ,$(EXTRAS)) --universal \
	--python-version 3.11 --quiet --custom-compile-command "make lock"
# The tests run against the embedded model whatever .env configures: an empty exported value
# wins over .env's (pydantic-settings), so a hosted-model .env does not redirect them.
LOCAL_MODEL_ENV := env OPENAI_API_KEY= LLM_BASE_URL= LLM_API_KEY= LLM_MODEL= \
	SELECTOR_BASE_URL= SYNTHESIZER_BASE_URL= CRITIC_BASE_URL= REFINER_BASE_URL= \
	SELECTOR_MODEL= SYNTHESIZER_MODEL= CRITIC_MODEL= REFINER_MODEL=

.PHONY: install up test lint lock lock-check optimize evaluate

install: $(VENV)/.installed

# Exact versions from the lock, every file hash-checked; then the project itself, editable.
# No model is built or downloaded here: `agent-up` does that only when no hosted model is set.
$(VENV)/.installed: pyproject.toml $(LOCK)
	python3 -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) --upgrade pip
	@echo "[install] Python dependencies from $(LOCK)"
	$(PY) -m pip install $(PIP_FLAGS) --require-hashes -r $(LOCK)
	$(PY) -m pip install $(PIP_FLAGS) --no-deps -e .
	$(PY) -m pip check
	touch $@

up: install
	$(VENV)/bin/agent-up

test: install
	$(LOCAL_MODEL_ENV) $(VENV)/bin/agent-up --model-only
	$(LOCAL_MODEL_ENV) $(VENV)/bin/pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

# uv resolves for every platform and Python >= 3.11 in one file (--universal) in seconds, and
# writes a plain requirements file with hashes that pip installs: no uv is needed to install.
$(VENV)/bin/uv:
	python3 -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) "uv>=0.9,<1"

# After changing pyproject.toml's dependencies. Pins already in the lock are kept when they still
# fit; `make lock UPGRADE=--upgrade` moves everything to the newest versions that fit.
lock: $(VENV)/bin/uv
	$(UV_COMPILE) --generate-hashes $(UPGRADE) -o $(LOCK)

# The lock is current when resolving again (preferring its pins) gives the same versions.
lock-check: $(VENV)/bin/uv
	tmp=$$(mktemp -d) && cp $(LOCK) $$tmp/lock && \
	$(UV_COMPILE) --no-annotate --no-header -o $$tmp/lock && \
	if diff <(grep -E '^[A-Za-z0-9]' $(LOCK) | sed 's/ *\\$$//') <(grep -E '^[A-Za-z0-9]' $$tmp/lock); then \
	  echo "[lock-check] $(LOCK) is current"; \
	else echo "[lock-check] $(LOCK) is stale: run make lock" >&2; exit 1; fi

optimize: install
	$(VENV)/bin/optimize

evaluate: install
	$(VENV)/bin/evaluate --program selector --split test
