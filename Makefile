# transport-access: `make demo` runs the Dorset study end to end, `make test` the test suite.
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Data root: the shared open-data folder beside the project when it exists, else ./data
# (which `make demo` fills with `transport-access fetch` first).
SHARED := $(abspath ../shared/data)
DATA_ROOT ?= $(if $(wildcard $(SHARED)),$(SHARED),$(abspath data))
export TRANSPORT_ACCESS_DATA := $(DATA_ROOT)

CONFIG ?= configs/dorset.yaml
OUT ?= outputs/demo

.PHONY: venv demo test lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	@if [ ! -d "$(DATA_ROOT)/dorset" ]; then \
		echo "No data under $(DATA_ROOT): fetching the official sources first"; \
		$(BIN)/transport-access fetch --config $(CONFIG) --data-root $(DATA_ROOT); \
	fi
	$(BIN)/transport-access demo $(CONFIG) --data-root $(DATA_ROOT) --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_routing.py
	$(BIN)/python benchmarks/bench_car_matrix.py
	$(BIN)/python benchmarks/bench_scenarios.py
	$(BIN)/python benchmarks/bench_cluster.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
