"""The canary decides whose a failure on the grader's side is: the submission's (recorded) or the grader's (stop).

The decision is tested without kernels (the runs are made up here, as in test_steps); one slow test
grades a course whose set-up is broken through the real pipeline: the batch stops, nothing is recorded.
"""
import os
from dataclasses import asdict

import nbformat
import pytest

from autograder import canary, worker
from autograder.executor import CellRun, Limits, NotebookRun
from autograder.intake import make_task
from autograder.score import score

from adversarial import corpus
from adversarial import tiny_course as tc

LIMITS = Limits(cell_timeout=6, notebook_timeout=90, mem_limit=int(3.5 * 2**30), threads=1)


class FakeLauncher:
    """Stands for a worker's warm zygote: alive (this process), never started."""
    rerun_setup = False

    def pid(self):
        return os.getpid()


def _run(test_double="ok", failure="", failed_in=None, ran=True):
    """A run of `plan` (the tiny notebook): every cell ok but test_double; `failed_in` a grade_id; made per plan."""
    def make(plan) -> NotebookRun:
        cells = []
        for p in plan:
            kind = "setup" if p.get("setup") else p["kind"]
            status = "ok" if ran or kind == "setup" else "not-run"
            last = p.get("grade_id") == "test_double" and ran
            cells.append(CellRun(p["index"], kind, p.get("grade_id"), test_double if last else status))
        where = next((c.index for c in cells if failed_in and c.grade_id == failed_in), None)
        return NotebookRun(cells=cells, failure=failure, failed_in=where, isolation="full")
    return make


@pytest.fixture(scope="module")
def tiny_course(tmp_path_factory):
    from autograder.release import register

    course = tc.make_course(tmp_path_factory.mktemp("canary") / "course")
    register(course, [tc.ASSIGNMENT])
    tc.submit(course, "ann", corpus.fill(tc.release_notebook(course), square=corpus.SQ_OK, double=corpus.DB_OK))
    return course


@pytest.fixture
def tiny(tiny_course, monkeypatch):
    """The tiny course, a correct submission, and the fakes: `runs` is what the student's runs return, in turn."""
    course = tiny_course
    task = make_task(course, "ann", tc.ASSIGNMENT, "f" * 32, limits=asdict(LIMITS), env={}, preload_models=False)
    state = {"runs": [], "canary": [], "student_runs": 0}

    def student_run(plan, launcher, limits, env=None, only=None):
        state["student_runs"] += 1
        return state["runs"].pop(0)(plan)

    def canary_run(plan, launcher, limits, env=None):
        return (state["canary"].pop(0) if state["canary"] else _run())(plan)

    monkeypatch.setattr(worker, "run_notebook", student_run)
    monkeypatch.setattr(canary, "run_notebook", canary_run)
    monkeypatch.setattr(worker, "launcher", lambda plan, preload_models=True, env=None: FakeLauncher())
    canary.forget()
    yield course, task, state
    canary.forget()


def _flags(summary) -> list[str]:
    return [reason for _, reason in summary["flags"]]


def test_a_failure_after_the_students_code_is_recorded_when_the_canary_passes(tiny):
    course, task, state = tiny
    state["runs"] = [_run(test_double="not-run", failure="the examiner failed: ExaminerFailed: stuck", failed_in="test_double")]
    runs = canary.RUNS["count"]
    result = worker.grade_submission(task)
    assert not result.error and not result.infrastructure and result.canary == "passed"
    assert canary.RUNS["count"] == runs + 1 and state["student_runs"] == 1  # judged once, not graded again
    summary = score(result, course)
    assert summary["score"] == 1  # test_square ran and keeps its point; test_double never finished: 0
    assert any(f.startswith("grading failed in test_double: the examiner failed") and "canary" in f
               for f in _flags(summary)), _flags(summary)
    double = [t for t in summary["notebooks"][tc.NOTEBOOK]["tests"] if t["grade_id"] == "test_double"][0]
    assert double["message"].startswith("not run: grading failed")


def test_a_passing_canary_is_remembered_per_worker_and_assignment(tiny):
    course, task, state = tiny
    runs = canary.RUNS["count"]
    for _ in range(3):
        state["runs"] = [_run(test_double="not-run", failure="the examiner failed: stuck", failed_in="test_double")]
        assert worker.grade_submission(task).canary == "passed"
    assert canary.RUNS["count"] == runs + 1


def test_the_canary_failing_is_the_infrastructures_failure(tiny):
    course, task, state = tiny
    state["runs"] = [_run(test_double="not-run", failure="the examiner failed: stuck", failed_in="test_double")]
    state["canary"] = [_run(test_double="not-run", failure="the examiner failed: it is the grader", failed_in="test_double")]
    result = worker.grade_submission(task)
    assert result.error and not result.notebooks and not result.canary
    assert result.infrastructure.startswith("the canary (instructor solution) failed: tiny: the examiner failed: it is")


def test_a_failure_before_the_students_code_is_graded_again_after_a_fresh_canary(tiny):
    course, task, state = tiny
    state["runs"] = [_run(test_double="not-run", failure="the examiner failed: stuck", failed_in="test_double")]
    worker.grade_submission(task)  # a passing canary is remembered ...
    runs = canary.RUNS["count"]
    state["runs"] = [_run(failure="the kernel failed to start: timeout", ran=False), _run()]
    result = worker.grade_submission(task)
    assert canary.RUNS["count"] == runs + 1  # ... but not trusted for a failure the student cannot have caused
    assert state["student_runs"] == 3 and not result.error and score(result, course)["score"] == 2
    assert not _flags(score(result, course))


def test_a_worker_exception_is_judged_and_recorded(tiny, monkeypatch):
    course, task, state = tiny

    real = worker.reconstruct

    def crash(source, release, submission):  # on the student's notebook only
        if submission is not release:
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return real(source, release, submission)

    monkeypatch.setattr(worker, "reconstruct", crash)
    result = worker.grade_submission(task)  # the canary passes: recorded, every test 0
    assert not result.error and result.canary == "passed"
    summary = score(result, course)
    assert summary["score"] == 0 and summary["max_score"] == 2
    assert any(f.startswith("grading failed in the worker: the worker failed: UnicodeEncodeError") for f in
               _flags(summary)), _flags(summary)


def test_a_kernel_that_fails_to_start_twice_is_never_the_students(tiny):
    course, task, state = tiny
    state["runs"] = [_run(failure="the kernel failed to start: timeout", ran=False)] * 2
    result = worker.grade_submission(task)
    assert state["student_runs"] == 2 and result.error.startswith("tiny: the kernel failed to start")
    assert not result.infrastructure and not result.notebooks  # not recorded, and the batch goes on


def test_a_submission_whose_workers_keep_dying_is_judged_by_the_canary(tiny):
    """Dask gave up on a task (KilledWorker): the canary, on another worker, says whether the submission killed them."""
    from autograder import pipeline

    course, task, state = tiny

    class Lost:
        def result(self):
            raise RuntimeError("KilledWorker: all 3 workers died running it")

    class Client:  # runs the canary's task here, as a worker would
        def submit(self, function, *args, **kwargs):
            class Done:
                def result(self):
                    return function(*args)
            return Done()

    result = pipeline._outcome(Client(), Lost(), task)
    assert not result.error and result.canary == "passed"
    summary = score(result, course)
    assert summary["score"] == 0 and summary["max_score"] == 2
    assert any(f.startswith("grading failed in the worker: its grading killed the grading worker (RuntimeError: "
                            "KilledWorker") for f in _flags(summary)), _flags(summary)
    state["canary"] = [_run(test_double="error")]
    canary.forget()
    result = pipeline._outcome(Client(), Lost(), task)
    assert result.error and result.infrastructure.startswith("the canary (instructor solution) failed: tiny: 1 test(s)")


def test_shortfall_names_what_the_canary_lost():
    plan = [{"index": 1, "kind": "locked", "grade_id": "setup", "setup": True},
            {"index": 7, "kind": "test", "grade_id": "test_double"}]
    assert canary.shortfall(_run()(plan)) == ""
    assert "test_double: error" in canary.shortfall(_run(test_double="error")(plan))
    assert canary.shortfall(_run(failure="boom")(plan)) == "boom"


@pytest.mark.slow
def test_a_broken_set_up_stops_the_batch_with_the_canary_and_records_nothing(tmp_path):
    """The canary fails the same way as the submissions: one clear error, nothing recorded, no further grading."""
    from autograder.gradebook import summaries
    from autograder.pipeline import grade

    source = tc.source_notebook()
    source.cells[1].source += "\nraise RuntimeError('the data folder is missing')"
    course = tc.make_course(tmp_path / "course")
    nbformat.write(source, course.source / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.ipynb")
    release = tc.release_notebook(course)
    for student in ("ann", "ben", "cy"):
        tc.submit(course, student, corpus.fill(release, square=corpus.SQ_OK, double=corpus.DB_OK))
    logged = []
    report = grade(course, jobs=1, limits=LIMITS, progress=False, log=logged.append, preload_models=False)
    assert report["stopped"].startswith("stopped: the canary (instructor solution) failed: tiny: the notebook's "
                                        "set-up failed"), report
    assert "the data folder is missing" in report["stopped"]
    assert report["graded"] == 0 and len(report["errors"]) == 1, report
    assert not summaries(course)
    assert sum("the canary (instructor solution) failed" in line for line in logged) == 1
