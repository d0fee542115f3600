"""Examiner-only cells: every source notebook follows their layout rules, and each breach is found."""
import nbformat
import pytest

from autograder import layout
from autograder.course import Course
from autograder.release import ReleaseError

from adversarial import tiny_course as tc

COURSE = Course()
NOTEBOOKS = [(a, n) for a in COURSE.assignments() for n in COURSE.notebooks(a)]


@pytest.mark.parametrize("assignment,notebook", NOTEBOOKS)
def test_every_source_follows_the_examiner_only_layout(assignment, notebook):
    source = nbformat.read(COURSE.source / assignment / f"{notebook}.ipynb", as_version=4)
    assert layout.problems(source) == []


@pytest.mark.parametrize("assignment,notebook", NOTEBOOKS)
def test_no_examiner_only_cell_reaches_the_release(assignment, notebook):
    source = nbformat.read(COURSE.source / assignment / f"{notebook}.ipynb", as_version=4)
    student = nbformat.read(COURSE.release / assignment / f"{notebook}.ipynb", as_version=4)
    hidden = {c.source for c in source.cells if "examiner" in c.metadata.get("tags", [])}
    assert not [c for c in student.cells if "examiner" in c.metadata.get("tags", []) or c.source in hidden]


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _variant(change):
    nb = tc.source_notebook()
    change(nb)
    return nb


def _move_after_square(nb):
    cell = _cell(nb, "examiner-setup")
    nb.cells.remove(cell)
    nb.cells.insert(nb.cells.index(_cell(nb, "square")) + 1, cell)


def _shared_after(nb):
    nb.cells.insert(nb.cells.index(_cell(nb, "examiner-setup")) + 1,
                    nbformat.v4.new_code_cell("y = 2", metadata={"nbgrader": {"grade_id": "late", "locked": True}}))


BREACHES = {
    "outside the set-up": (_move_after_square, "must be a locked code cell in the set-up"),
    "a shared cell after it": (_shared_after, "a shared set-up cell after an examiner-only one"),
    "rebinds a set-up name": (lambda nb: setattr(_cell(nb, "examiner-setup"), "source",
                                                 _cell(nb, "examiner-setup").source + "\nnp = None"),
                              "rebinds the set-up's 'np'"),
    "an answer reads it": (lambda nb: setattr(_cell(nb, "double"), "source",
                                              _cell(nb, "double").source + "\n_ = double_reference"),
                           "a cell the student's kernel runs reads the examiner-only 'double_reference'"),
    "a visible test reads it": (lambda nb: setattr(_cell(nb, "test_double"), "source",
                                                   "double_reference(1)\n" + _cell(nb, "test_double").source),
                                "the visible part of a test reads the examiner-only 'double_reference'"),
}


@pytest.mark.parametrize("breach", BREACHES)
def test_each_layout_breach_is_found(breach):
    change, message = BREACHES[breach]
    found = layout.problems(_variant(change))
    assert any(message in line for line in found), found


def test_a_hidden_test_may_read_examiner_only_names():
    assert "double_secret_expected" in _cell(tc.source_notebook(), "test_double").source
    assert layout.problems(tc.source_notebook()) == []


def test_the_release_refuses_a_breach(tmp_path):
    with pytest.raises(ReleaseError, match="examiner-only cells misplaced"):
        tc.make_course(tmp_path, source=_variant(BREACHES["an answer reads it"][0]))


def test_stock_nbgrader_gets_the_examiner_only_cells_back_for_the_benchmark(tmp_path):
    """`make bench-grade` runs stock nbgrader, which has no examiner: its submissions hold those cells again."""
    from autograder.bench_grade import with_examiner_cells

    course = tc.make_course(tmp_path)
    release = tc.release_notebook(course)
    assert "examiner-setup" not in [c.metadata.get("nbgrader", {}).get("grade_id") for c in release.cells]
    tc.submit(course, "s000", release)
    with_examiner_cells(course, tc.ASSIGNMENT)
    nb = nbformat.read(course.submitted / "s000" / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.ipynb", as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert ids.index("examiner-setup") == ids.index("setup") + 1
