"""Kernel-free checks of the grader's first steps: reconstruction of a submission, and the command line."""
import subprocess
import sys
import time

import nbformat

from autograder.reconstruct import reconstruct

from adversarial import corpus
from adversarial import tiny_course as tc


def test_reconstruction_rematches_stripped_cells():
    """Metadata stripped, ids changed and every cell in reverse order: answers still land in their places."""
    source = tc.source_notebook()
    release = tc.student_version(source)
    submission = corpus.strip_metadata(corpus.fill(release, square=corpus.SQ_OK, double=corpus.DB_OK))
    submission.cells = list(reversed(submission.cells))
    rec = reconstruct(source, release, submission)
    kinds = [(p["kind"], p["grade_id"], p["examiner"]) for p in rec.plan]
    assert kinds == [("locked", "setup", False), ("locked", "examiner-setup", True), ("answer", "square", False),
                     ("test", "test_square", False), ("answer", "double", False), ("test", "test_double", False)]
    assert rec.notebook.cells[3].source == corpus.SQ_OK and "BEGIN HIDDEN TESTS" in rec.notebook.cells[4].source
    assert not rec.missing and not rec.extra


def test_a_submitted_cell_never_takes_an_examiner_only_cells_place():
    """A student cell that copies the examiner-only cell's grade_id, id and text is the student's own extra cell."""
    source = tc.source_notebook()
    release = tc.student_version(source)
    submission = corpus.fill(release, square=corpus.SQ_OK, double=corpus.DB_OK)
    submission.cells.insert(2, nbformat.from_dict(source.cells[2]))
    rec = reconstruct(source, release, submission)
    assert rec.extra == 1
    assert [p["examiner"] for p in rec.plan].count(True) == 1
    assert [p for p in rec.plan if p["kind"] == "student" and p.get("examiner")] == []


def test_reconstruction_work_is_bounded(monkeypatch):
    """Cells crafted to pass the quick similarity filters (a stub's characters shuffled) cost bounded work."""
    import random

    from autograder import reconstruct as rc

    source = tc.source_notebook()
    sub = corpus.strip_metadata(corpus.fill(tc.student_version(source), square=corpus.SQ_OK, double=corpus.DB_OK))
    rng = random.Random(0)
    for _ in range(590):  # after the answers (a submission's first 600 cells are read)
        chars = list(tc.DOUBLE)
        rng.shuffle(chars)
        sub.cells.append(nbformat.v4.new_code_cell("".join(chars)))
    monkeypatch.setattr(rc, "MAX_SIMILARITY_WORK", 10_000_000)  # scaled to the tiny course's short stubs
    started = time.monotonic()
    rec = rc.reconstruct(source, tc.student_version(source), sub)
    assert time.monotonic() - started < 120 and any("budget" in note for note in rec.notes)
    assert {p["grade_id"]: p["source"] for p in rec.plan if p["kind"] == "answer"} == {"square": corpus.SQ_OK,
                                                                                    "double": corpus.DB_OK}


def test_cli_help():
    out = subprocess.run([sys.executable, "-m", "autograder", "grade", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for option in ("--jobs", "--scheduler", "--device", "--force", "--from", "--cell-timeout", "--mem-limit"):
        assert option in out


def test_cli_mutants_forwards_to_the_mutation_tests(monkeypatch):
    """`autograder mutants` (what `make mutants` calls) is autograder.mutants with the same options."""
    from autograder import cli, mutants

    seen = []

    def run(args):
        seen.append(args)
        return 0

    monkeypatch.setattr(mutants, "run", run)
    assert cli.main(["mutants", "--grade", "--compare", "sample", "--only", "cosine", "01_types"]) == 0
    (args,) = seen
    assert args.grade and not args.full and args.compare == "sample" and args.only == ["cosine"]
    assert args.assignments == ["01_types"] and args.jobs is None
    out = subprocess.run([sys.executable, "-m", "autograder", "mutants", "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "examples:" in out and "autograder mutants --grade" in out
