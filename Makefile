# `make run` and `make test` set everything up on first use: a virtual environment in
# .venv at the repository root, with this project and its pinned-minimum dependencies.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= all

.PHONY: run test lint report benchmark clean-venv

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

# Three test processes (pytest-xdist): most end-to-end tests wait on snakemake, Slurm or
# a subprocess part of the time, so on two cores a third process keeps both busy.
TEST_PROCESSES ?= 3

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist worksteal

# Runs the study if needed, then builds the self-contained HTML report.
report: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report results/report.html

# Workflow against plain scripts, and costs as a study grows (about 80 minutes).
benchmark: $(STAMP)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check simstudy scripts tests benchmarks examples
	$(BIN)/ruff format --check simstudy scripts tests benchmarks examples
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

# The stamp is remade whenever pyproject.toml changes, so new dependencies get installed.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean-venv:
	rm -rf $(VENV)
