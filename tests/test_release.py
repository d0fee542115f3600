"""The student notebooks: up to date, free of solutions and hidden tests; the sources free of outputs."""
import filecmp

import nbformat
import pytest

from autograder.course import Course
from autograder.release import release
from autograder.sample_class import solution_code

COURSE = Course()
NOTEBOOKS = [(a, n) for a in COURSE.assignments() for n in COURSE.notebooks(a)]


def test_there_are_notebooks():
    assert NOTEBOOKS, "solutions/ holds no assignment notebooks"


def test_release_is_up_to_date(tmp_path):
    """notebooks/ must be exactly what `make student` generates from solutions/."""
    fresh = release(COURSE, dest=tmp_path)
    compared = filecmp.dircmp(COURSE.release, fresh)
    stale = []

    def walk(cmp, prefix=""):
        stale.extend(f"{prefix}{name} (only in notebooks/)" for name in cmp.left_only)
        stale.extend(f"{prefix}{name} (missing from notebooks/)" for name in cmp.right_only)
        stale.extend(f"{prefix}{name} (differs)" for name in cmp.diff_files)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(compared)
    assert not stale, "notebooks/ is stale, run `make student` and commit: " + ", ".join(stale)


@pytest.mark.parametrize("assignment,notebook", NOTEBOOKS)
def test_notebook_source_matches_its_text_source(assignment, notebook):
    """solutions/<a>/<nb>.py (jupytext py:percent) is the source; its paired .ipynb must say the same."""
    import jupytext

    text_path = COURSE.source / assignment / f"{notebook}.py"
    assert text_path.is_file(), f"{text_path} is missing: every solution notebook is paired with a py:percent file"
    text = jupytext.read(text_path)
    nb = nbformat.read(COURSE.source / assignment / f"{notebook}.ipynb", as_version=4)

    def cells(n):
        return [(c.cell_type, c.source, c.metadata.get("nbgrader", {})) for c in n.cells]

    assert cells(text) == cells(nb), (f"solutions/{assignment}/{notebook}.ipynb is stale against its .py: "
                                      "run `make student` and commit both")


@pytest.mark.parametrize("assignment,notebook", NOTEBOOKS)
def test_sources_are_committed_without_outputs(assignment, notebook):
    nb = nbformat.read(COURSE.source / assignment / f"{notebook}.ipynb", as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"solutions/{assignment}/{notebook}.ipynb has outputs in cells {dirty}: clear them before committing"


@pytest.mark.parametrize("assignment,notebook", NOTEBOOKS)
def test_student_notebook_has_no_solutions_or_hidden_tests(assignment, notebook, secrets):
    source = nbformat.read(COURSE.source / assignment / f"{notebook}.ipynb", as_version=4)
    student = nbformat.read(COURSE.release / assignment / f"{notebook}.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in student.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"{marker!r} found in the student version of {assignment}/{notebook}"
    # Every non-trivial line of a solution or of a hidden test must be gone.
    leaked = [line for line in secrets.lines(source) if line in text]
    assert not leaked, f"solution or hidden-test lines leaked into the student version: {leaked[:3]}"


def test_solution_code_strips_only_markers():
    source = "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n"
    assert solution_code(source) == "def f():\n    return 1"


def test_release_holds_only_student_notebooks():
    """The text sources (solutions included) and the mutation catalogues stay with the instructor."""
    extra = [str(p.relative_to(COURSE.release)) for p in COURSE.release.rglob("*") if p.is_file() and p.suffix != ".ipynb"]
    assert not extra, f"instructor files in the release: {extra}"
