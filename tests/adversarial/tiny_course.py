"""A tiny nbgrader course (one assignment, one notebook, two 1-point tests) in a temporary folder.

Cell order matters for the kernel-death cases: the square exercise and its test
come first, so an attack in the double exercise that kills the kernel must leave
test_square's point in place. test_double's last hidden check sends a 1.6 MB array:
a request over 1 MB, for the kernel that stops reading large requests (corpus).
"""
import copy
import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course import REPO, Course
from autograder.release import release

ASSIGNMENT = "99_tiny"
NOTEBOOK = "tiny"

SETUP = """import numpy as np
import embedkit as ek
from embedkit.checks import as_array, assert_close
DEVICE = ek.setup(seed=0)
_note = "SETUP-VISIBLE-" + "MARKER"  # joined at run time: only the set-up's state holds it whole"""
SETUP_MARKER = "SETUP-VISIBLE-MARKER"

# Examiner-only set-up: the reference and a hidden expected value. They never reach the release, and the
# student's kernel never runs them (not even in the zygote it forks from): nothing of them is in its memory.
EXAMINER = """def double_reference(x):  # the examiner's own, never the student's
    return np.asarray(x, dtype=float) * 2
double_secret_expected = double_reference(np.array([7.25, -1.5]))  # EXAMINER-ONLY-MARKER"""
EXAMINER_MARKER = "EXAMINER-ONLY-MARKER"

SQUARE = '''def square(x):
    """Elementwise square of a list or array of numbers; returns an np.ndarray."""
    ### BEGIN SOLUTION
    return np.asarray(x, dtype=float) ** 2
    ### END SOLUTION'''

DOUBLE = '''def double(x):
    """Twice a list or array of numbers; returns an np.ndarray."""
    ### BEGIN SOLUTION
    return np.asarray(x, dtype=float) * 2
    ### END SOLUTION'''

TEST_SQUARE = """assert_close(square([1, 2]), [1, 4], "square([1, 2])")
### BEGIN HIDDEN TESTS
assert_close(square([-3.0, 0.5]), [9.0, 0.25], "square of a negative number and a fraction")
### END HIDDEN TESTS"""

TEST_DOUBLE = """assert_close(double([1, 2]), [2, 4], "double([1, 2])")
### BEGIN HIDDEN TESTS
_x = np.array([0.25, 4.0])
_got = double(_x)
_expected = double_reference(_x)  # from _x after the call: a change copied back into _x would move it
assert_close(_got, _expected, "double of another array")
assert_close(double(np.array([0.5, -3.0])), [1.0, -6.0], "double_hidden_secret_check of an array")
assert_close(double(np.array([7.25, -1.5])), double_secret_expected, "double of a third array")
assert_close(double(np.ones(200_000)), np.full(200_000, 2.0), "double of a large array")
### END HIDDEN TESTS"""

HIDDEN_LINE = 'assert_close(double(np.array([0.5, -3.0])), [1.0, -6.0], "double_hidden_secret_check of an array")'


def _meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def source_notebook():
    cells = [
        new_markdown_cell("# Tiny assignment", metadata=_meta("intro", locked=True)),
        new_code_cell(SETUP, metadata=_meta("setup", locked=True)),
        new_code_cell(EXAMINER, metadata={**_meta("examiner-setup", locked=True), "tags": ["examiner"]}),
        new_code_cell(SQUARE, metadata=_meta("square", solution=True)),
        new_code_cell(TEST_SQUARE, metadata=_meta("test_square", grade=True, locked=True, points=1)),
        new_markdown_cell("Now double.", metadata=_meta("double-intro", locked=True)),
        new_code_cell(DOUBLE, metadata=_meta("double", solution=True)),
        new_code_cell(TEST_DOUBLE, metadata=_meta("test_double", grade=True, locked=True, points=1)),
    ]
    for cell in cells:
        cell["id"] = cell.metadata["nbgrader"]["grade_id"]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def student_version(source):
    """The source as a release shows it, without building one: the examiner-only cells dropped."""
    nb = nbformat.from_dict(copy.deepcopy(source))
    nb.cells = [c for c in nb.cells if "examiner" not in c.metadata.get("tags", [])]
    return nb


def with_hidden_code(code: str):
    """A variant of the source notebook: `code` added to test_double's hidden tests (it runs in the examiner)."""
    nb = source_notebook()
    cell = [c for c in nb.cells if c.metadata["nbgrader"]["grade_id"] == "test_double"][0]
    cell.source = cell.source.replace("### END HIDDEN TESTS", code.rstrip("\n") + "\n### END HIDDEN TESTS")
    return nb


def make_course(root: Path, work: Path | None = None, source=None) -> Course:
    """Write the tiny course (config, source, release) under `root`; `source`: a variant of its notebook."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    (root / "solutions" / ASSIGNMENT).mkdir(parents=True, exist_ok=True)
    nbformat.write(source or source_notebook(), root / "solutions" / ASSIGNMENT / f"{NOTEBOOK}.ipynb")
    course = Course(root, work=work or root / "grading")
    release(course, [ASSIGNMENT])
    return course


def release_notebook(course: Course):
    return nbformat.read(course.release / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)


def submit(course: Course, student: str, nb) -> Path:
    folder = course.submitted / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{NOTEBOOK}.ipynb"
    nbformat.write(nb, path)
    return path
