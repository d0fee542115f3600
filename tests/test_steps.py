"""The grading steps one by one, on small fixtures: scoring, redaction, the gradebook writer, reports.

Like nbgrader's tests of each preprocessor, these need no kernel: a worker's result is
plain data, built here by hand.
"""
import nbformat
import pandas as pd
import pytest

from autograder.executor import CellRun, NotebookRun
from autograder.gradebook import Writer, summaries
from autograder.records import NotebookResult, Result
from autograder.reports import grade_table, item_analysis, safe_text, write_feedback
from autograder.score import hidden_lines, redact, score

from adversarial import tiny_course as tc


def _result(course, student="ann", square="ok", double=("error", "AssertionError", "double([1, 2]): values differ"),
            died_in=None) -> Result:
    plan = [{"index": 1, "kind": "locked", "grade_id": "setup", "points": 0.0},
            {"index": 2, "kind": "answer", "grade_id": "square", "points": 0.0},
            {"index": 3, "kind": "test", "grade_id": "test_square", "points": 1.0},
            {"index": 5, "kind": "answer", "grade_id": "double", "points": 0.0},
            {"index": 6, "kind": "test", "grade_id": "test_double", "points": 1.0}]
    cells = [CellRun(1, "setup", "setup", "ok"), CellRun(2, "answer", "square", "ok", seconds=0.1),
             CellRun(3, "test", "test_square", square, seconds=0.2, calls=3),
             CellRun(5, "answer", "double", "ok", seconds=0.1),
             CellRun(6, "test", "test_double", double[0], double[1], double[2], seconds=0.3, calls=2)]
    run = NotebookRun(cells=cells, died_in=died_in, death="killed by signal SIGKILL" if died_in else "",
                      isolation="full", setup_s=1.0, startup_s=0.5, wall_s=2.0, peak_rss_mib=100.0)
    notebook = NotebookResult(submitted=True, run=run, plan=plan, autograded=nbformat.writes(tc.source_notebook()))
    return Result(student=student, assignment=tc.ASSIGNMENT, fingerprint="f" * 32, notebooks={tc.NOTEBOOK: notebook})


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    from autograder.release import register
    course = tc.make_course(tmp_path_factory.mktemp("steps") / "course")
    register(course, [tc.ASSIGNMENT])
    return course


def test_score_counts_only_tests_the_examiner_passed(course):
    summary = score(_result(course), course)
    tests = {t["grade_id"]: t for t in summary["notebooks"][tc.NOTEBOOK]["tests"]}
    assert summary["score"] == 1 and summary["max_score"] == 2
    assert tests["test_square"]["passed"] and not tests["test_double"]["passed"]
    assert tests["test_double"]["message"] == "AssertionError: double([1, 2]): values differ"
    assert summary["notebooks"][tc.NOTEBOOK]["parts_s"] == {"answer": 0.2, "test": 0.5, "other": 0.0}


def test_kernel_death_is_flagged_with_the_cell(course):
    summary = score(_result(course, double=("died", "KernelDied", "killed by signal SIGKILL"), died_in=6), course)
    assert summary["score"] == 1
    assert any("kernel died or was killed in test_double" in reason for _, reason in summary["flags"])


def test_redaction_removes_hidden_test_lines():
    lines = hidden_lines(tc.source_notebook())
    assert tc.HIDDEN_LINE in lines
    message = redact("AssertionError: " + tc.HIDDEN_LINE, lines)
    assert tc.HIDDEN_LINE not in message and "[hidden test]" in message
    assert len(redact("x" * 5000, lines)) <= 604


def test_writer_commits_grades_and_ledger_together(course):
    writer = Writer(course)
    try:
        for student, square in (("ann", "ok"), ("ben", "error")):  # names no other test here uses
            result = _result(course, student, square=square)
            writer.write(result, score(result, course))
        ledger = writer.ledger()
    finally:
        writer.close()
    assert set(ledger) == {("ann", tc.ASSIGNMENT), ("ben", tc.ASSIGNMENT)} and ledger[("ann", tc.ASSIGNMENT)]["runs"] == 1
    from nbgrader.api import Gradebook
    with Gradebook(course.db_url) as gb:
        assert gb.find_submission(tc.ASSIGNMENT, "ann").score == 1
        assert gb.find_submission(tc.ASSIGNMENT, "ben").score == 0
    got = {s["student"]: s["score"] for s in summaries(course)}
    assert got["ann"] == 1 and got["ben"] == 0


def test_item_analysis_and_grade_table():
    items = pd.DataFrame([
        {"assignment": "a", "notebook": "n", "test": "t1", "points": 1, "score": 1, "passed": True, "message": ""},
        {"assignment": "a", "notebook": "n", "test": "t1", "points": 1, "score": 0, "passed": False, "message": "boom"},
        {"assignment": "a", "notebook": "n", "test": "t2", "points": 2, "score": 0, "passed": False, "message": "bad"},
    ])
    table = item_analysis(items).set_index("test")
    assert table.loc["t1", "pass_rate"] == 0.5 and table.loc["t2", "pass_rate"] == 0
    assert table.loc["t1", "most_common_failure"] == "boom (x1)"
    wide = grade_table(pd.DataFrame([{"student": "ann", "assignment": "a", "score": 1.0, "max_score": 2.0},
                                     {"student": "ann", "assignment": "b", "score": 3.0, "max_score": 3.0},
                                     {"student": "ben", "assignment": "a", "score": 2.0, "max_score": 2.0}]))
    assert wide.loc["ben", "b"] == "-" and wide.loc["ben", "total"] == "2 / 5" and wide.loc["ann", "total"] == "4 / 5"


def test_reports_escape_what_a_submission_controls(course):
    assert safe_text("=HYPERLINK(\"http://x\")").startswith("'=")
    assert "\x1b" not in safe_text("a\x1b[31mred\ud800")
    result = _result(course, "eve", double=("error", "AssertionError", "<script>alert(1)</script>"))
    summary = score(result, course)
    write_feedback(course, summary)
    page = (course.feedback / "eve" / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_reconstruction_is_bounded_on_a_hostile_notebook():
    """Thousands of long, similar cells: reconstruction stays fast and still finds the answers."""
    import time

    from autograder.reconstruct import reconstruct

    source = tc.source_notebook()
    release = tc.student_version(source)
    noise = [nbformat.v4.new_code_cell(("def square(x):\n    return x  # " + "y" * 3000 + "\n") * 3) for _ in range(3000)]
    submission = nbformat.from_dict(release)
    submission.cells = noise + list(submission.cells)
    for cell in submission.cells:
        cell.metadata = {}
    started = time.perf_counter()
    rec = reconstruct(source, release, submission)
    assert time.perf_counter() - started < 30
    assert any("only the first" in note for note in rec.notes)


def test_a_timestamp_the_student_wrote_never_blocks_the_grade(course):
    """timestamp.txt comes from the student's side of nbgrader's exchange: garbage in it is dropped, not written."""
    from autograder.intake import _timestamp

    folder = course.submitted / "tim" / tc.ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    for garbage in (b"not a time", b"\xed\xa0\x80", b"9" * 5000, b"2024-05-01 12:00:00\x00"):
        (folder / "timestamp.txt").write_bytes(garbage)
        assert _timestamp(course, "tim", tc.ASSIGNMENT) is None, garbage
    (folder / "timestamp.txt").write_text("2024-05-01 12:00:00.000000 UTC")
    assert _timestamp(course, "tim", tc.ASSIGNMENT) == "2024-05-01 12:00:00.000000 UTC"
    result = _result(course, "tim")
    result.timestamp = _timestamp(course, "tim", tc.ASSIGNMENT)
    writer = Writer(course)
    try:
        writer.write(result, score(result, course))
    finally:
        writer.close()
    assert (course.autograded / "tim" / tc.ASSIGNMENT / "timestamp.txt").read_text().startswith("2024-05-01")
