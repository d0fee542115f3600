# Embeddings course: build, grade, test. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEVICE ?= auto
JOBS   ?= 2
ASSIGNMENT ?=
SCHEDULER ?=
STUDENTS ?= 20
export DEVICE JOBS SCHEDULER

# Tests and grading never touch the network: models come from pip packages.
OFFLINE := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
STAMP   := $(VENV)/.installed

.PHONY: help setup student demo grade test lab bench bench-grade lock clean

help:
	@echo "make demo    build student notebooks, grade the sample class, print the grade table"
	@echo "make test    run the test suite"
	@echo "make setup   create $(VENV) (only if missing) and install the pinned dependencies"
	@echo "make student regenerate notebooks/ from solutions/"
	@echo "make grade   grade the submissions under grading/submitted in parallel on Dask, sandboxed"
	@echo "             (ASSIGNMENT=..., JOBS=N, DEVICE=..., SCHEDULER=tcp://host:port, FORCE=1 to regrade)"
	@echo "make lab     JupyterLab with nbgrader's extensions on this course (localhost only)"
	@echo "make bench   wall time and peak memory of every solution notebook"
	@echo "make bench-grade  stock nbgrader autograde vs this pipeline on a generated class (STUDENTS=20)"
	@echo "make lock    re-resolve requirements.lock from pyproject.toml"
	@echo "make clean   remove grading output and caches (keeps $(VENV))"
	@echo "variables: DEVICE=auto|cpu|cuda  JOBS=N  ASSIGNMENT=name  SCHEDULER=tcp://host:port  STUDENTS=N"

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e '.[test]'
	touch $@

student: $(STAMP)
	$(OFFLINE) $(BIN)/python -m autograder release

demo: student
	$(OFFLINE) $(BIN)/python -m autograder demo --jobs $(JOBS) --device $(DEVICE)

grade: $(STAMP)
	$(OFFLINE) $(BIN)/python -m autograder grade --jobs $(JOBS) --device $(DEVICE) $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(FORCE),--force)

test: $(STAMP)
	$(OFFLINE) $(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser

bench: $(STAMP)
	$(OFFLINE) $(BIN)/python -m autograder bench

bench-grade: student
	$(OFFLINE) $(BIN)/python -m autograder bench-grade --assignment $(or $(ASSIGNMENT),01_types) --students $(STUDENTS) --jobs $(JOBS)

lock: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | sed -e 's/+cpu$$//' \
	  | sed -e '1i # The whole resolved dependency set, pinned. Regenerate with: make lock' > requirements.lock

clean:
	rm -rf grading .pytest_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
