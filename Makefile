# Embeddings course: build, grade, test. `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEVICE ?=
JOBS   ?=
ASSIGNMENT ?=
COURSE_REPO ?=
DEST ?=
SCHEDULER ?=
DB_URL ?=
DB_URL_FILE ?=
STUDENTS ?= 20
LMS ?=
ROSTER ?=
ID_FIELD ?=
export DEVICE JOBS SCHEDULER DB_URL DB_URL_FILE
# nbgrader runs tools of its environment (alembic) by name.
export PATH := $(abspath $(BIN)):$(PATH)

# Tests and grading never touch the network: models come from pip packages.
OFFLINE := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
STAMP   := $(VENV)/.installed

.PHONY: help setup student publish demo grade export similarity test test-fast lint browser lab bench bench-grade mutants lock clean

help:
	@echo "make demo    build student notebooks, grade the sample class, print the grade table"
	@echo "make test    run the test suite (make test-fast: the fast tier, about a minute)"
	@echo "make setup   create $(VENV) (only if missing) and install the pinned dependencies"
	@echo "make student regenerate notebooks/ from solutions/"
	@echo "make publish DEST=dir  write the student-facing tree (no solutions) to push to a public repository"
	@echo "make grade   grade the submissions under grading/submitted in parallel on Dask, sandboxed"
	@echo "             (ASSIGNMENT=..., JOBS=N, DEVICE=..., SCHEDULER=tcp://host:port, FORCE=1 to regrade)"
	@echo "make export LMS=canvas|moodle  the gradebook as the LMS's grade import CSV (ROSTER=roster.csv, ID_FIELD=email|idnumber|username)"
	@echo "make similarity  answer cells students share beyond the class: grading/similarity.csv (a pointer, never points)"
	@echo "make lab     JupyterLab with nbgrader's extensions on this course (localhost only)"
	@echo "make bench   wall time and peak memory of every solution notebook"
	@echo "make bench-grade  stock nbgrader autograde vs this pipeline on a generated class (STUDENTS=20)"
	@echo "make mutants mutation testing: each catalogue entry graded (only the tests it can reach, and what they need, run); prints mutation scores"
	@echo "             (ASSIGNMENT=..., FULL=1 runs every cell, COMPARE=sample|all also grades entries in full and diffs,"
	@echo "              OPERATORS=1 adds the operator mutants generated from the solutions)"
	@echo "make lock    re-resolve requirements.lock from pyproject.toml"
	@echo "make clean   remove grading output and caches (keeps $(VENV))"
	@echo "variables: DEVICE=auto|cpu|cuda  JOBS=N  ASSIGNMENT=name  SCHEDULER=tcp://host:port  STUDENTS=N"
	@echo "           DB_URL_FILE=path (mode 600; its first line is the gradebook URL, e.g. postgresql://...)"

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e '.[grader,test]'
	touch $@

# The text sources (solutions/<a>/<nb>.py, jupytext py:percent) are the source of truth: `release` first
# updates their paired .ipynb (nbgrader's source) from them, keeping cell ids, then builds the student versions.
student: $(STAMP)
	$(OFFLINE) $(BIN)/autograder release $(if $(COURSE_REPO),--course-repo $(COURSE_REPO))

publish: $(STAMP)
	@test -n "$(DEST)" || { echo "usage: make publish DEST=path/to/student-repo [COURSE_REPO=https://github.com/...]"; exit 2; }
	$(OFFLINE) $(BIN)/autograder publish $(DEST) $(if $(COURSE_REPO),--course-repo $(COURSE_REPO))

demo: student
	$(OFFLINE) $(BIN)/autograder demo

grade: $(STAMP)
	$(OFFLINE) $(BIN)/autograder grade $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(FORCE),--force)

export: $(STAMP)
	@test "$(LMS)" = canvas -o "$(LMS)" = moodle || { echo "usage: make export LMS=canvas|moodle [ROSTER=roster.csv] [ID_FIELD=email|idnumber|username]"; exit 2; }
	$(OFFLINE) $(BIN)/autograder export --lms $(LMS) $(if $(ROSTER),--roster $(ROSTER)) $(if $(ID_FIELD),--id-field $(ID_FIELD)) $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

similarity: $(STAMP)
	$(OFFLINE) $(BIN)/autograder similarity $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

test: $(STAMP) browser lint
	$(OFFLINE) $(BIN)/python -m pytest --durations=15

# The fast tier (about a minute): everything but the tests marked slow (real notebooks, servers, browsers).
test-fast: $(STAMP) lint
	$(OFFLINE) $(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .

# Debian's Chromium for the browser tests (Playwright drives it; it downloads no browser of its own).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "warning: could not install Debian's chromium (needs root): browser tests are skipped outside CI"

lab: $(STAMP)
	mkdir -p grading/exchange
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser

bench: $(STAMP)
	$(OFFLINE) $(BIN)/autograder bench

bench-grade: student
	$(OFFLINE) $(BIN)/autograder bench-grade $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) --students $(STUDENTS)

# Re-resolve: a fresh virtual environment gets pyproject.toml's ranges (torch pinned to the CPU wheel), then
# its whole installed set is frozen into requirements.lock. Review the diff before committing it.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet 'torch==2.13.0' -e '.[grader,test]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | sed -e 's/+cpu$$//' \
	  | sed -e '1i # The whole resolved dependency set, pinned. Regenerate with: make lock' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf grading .pytest_cache test-artifacts
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +

# Mutation testing: every catalogue entry (solutions/<a>/mutants.py) graded by the real grader, running only the
# tests its changed answer cell can reach and the cells they need (autograder.dataflow); FULL=1 runs them all.
mutants: student
	$(OFFLINE) $(BIN)/autograder mutants --grade $(if $(FULL),--full) $(if $(COMPARE),--compare $(COMPARE)) $(if $(OPERATORS),--operators) $(ASSIGNMENT)
