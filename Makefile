# One command runs every check, the same for people and CI.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-floors lint fmt bench lock clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The whole pipeline against the sandbox (a fake ActiveCampaign on this machine): no account needed.
demo: $(STAMP)
	$(BIN)/acsync --config config.example.toml demo

test: $(STAMP) lint
	$(BIN)/python -m pytest -q

# The tests at the declared minimum of every dependency (pyproject's floors), in a second venv.
FLOORS := .venv-floors
test-floors:
	rm -rf $(FLOORS)
	$(PYTHON) -m venv $(FLOORS)
	$(FLOORS)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON) .ci/floors.py > $(FLOORS)/floors.txt
	$(FLOORS)/bin/python -m pip install --quiet -c $(FLOORS)/floors.txt -e '.[dev]'
	$(FLOORS)/bin/python .ci/floors.py --check
	$(FLOORS)/bin/python -m pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_scoring.py
	$(BIN)/python benchmarks/bench_ratelimit.py
	$(BIN)/python benchmarks/bench_webhooks.py
	$(BIN)/python benchmarks/bench_backfill.py
	$(BIN)/python benchmarks/bench_sync.py
	$(BIN)/python benchmarks/bench_push.py
	$(BIN)/python benchmarks/bench_quality.py
	$(BIN)/python benchmarks/bench_daemon_latency.py
	$(BIN)/python benchmarks/bench_shared_budget.py
	$(BIN)/python benchmarks/bench_decay_steps.py
	$(BIN)/python benchmarks/bench_tables.py

# The image's pinned, hashed dependencies (docker/requirements.txt) from pyproject.toml: run after
# changing a dependency (needs pip-tools: $(BIN)/pip install pip-tools).
lock: $(STAMP)
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links \
		-o docker/requirements.txt pyproject.toml docker/build.in

clean:
	rm -rf $(VENV) .venv-floors build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
