"""End to end through nbgrader: the sample class grades to the scores it must get.

alice (the solutions) proves every graded test passes on a correct notebook run
top to bottom; carol (the untouched student version) proves every graded test
fails on the stubs without crashing the run; bob proves a classic mistake is caught.
"""
import nbformat
import pytest

from autograder.course import Course
from autograder.gradebook import cell_scores
from autograder.sample_class import expected_scores

pytestmark = pytest.mark.slow

ASSIGNMENTS = Course().assignments()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_sample_class_scores(graded_class, assignment):
    _, table = graded_class
    rows = table[table.assignment == assignment].set_index("student")
    max_score = rows.max_score.max()
    assert max_score > 0, f"{assignment} has no graded tests"
    for student, expected in expected_scores(assignment, max_score).items():
        assert rows.loc[student, "score"] == pytest.approx(expected), (
            f"{student} scored {rows.loc[student, 'score']} on {assignment}, expected {expected}")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_passes_every_graded_cell(graded_class, assignment):
    course, _ = graded_class
    cells = cell_scores(course, assignment)
    alice = cells[cells.student == "alice"]
    failed = alice[alice.score < alice.max_score]
    assert not failed.empty or len(alice), "no graded cells recorded"
    assert failed.empty, f"the solution fails graded cells: {failed.cell.tolist()}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_stubs_fail_every_graded_cell_without_crashing(graded_class, assignment):
    course, _ = graded_class
    cells = cell_scores(course, assignment)
    carol = cells[cells.student == "carol"]
    passed = carol[(carol.score > 0) & (carol.max_score > 0)]
    assert passed.empty, f"graded cells pass on the untouched stubs: {passed.cell.tolist()}"
    for notebook in course.notebooks(assignment):
        nb = nbformat.read(course.autograded / "carol" / assignment / f"{notebook}.ipynb", as_version=4)
        unrun = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.execution_count is None]
        assert not unrun, f"the run stopped early on carol's {notebook}: cells {unrun} never executed"


def test_feedback_written_for_every_submission(graded_class):
    course, table = graded_class
    for row in table.itertuples():
        for notebook in course.notebooks(row.assignment):
            assert (course.feedback / row.student / row.assignment / f"{notebook}.html").is_file()
