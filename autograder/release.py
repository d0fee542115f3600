"""Student versions: nbgrader's generate_assignment from solutions/ into notebooks/ (or elsewhere).

Every student notebook starts with the Colab set-up cell (nbgrader's IncludeHeaderFooter
preprocessor adds it), stamped with the repository students install the course from. Examiner-only
cells never reach it: the release is refused when they break the layout rules (autograder.layout), and
they are dropped from what nbgrader generates.
"""
import json
import shutil
import tempfile
from pathlib import Path

import nbformat

from . import layout
from .course import Course
from .reconstruct import is_examiner


class ReleaseError(RuntimeError):
    pass


COLAB_SETUP = '''\
# Set-up for Google Colab: fetches the course and installs its helper package. Does nothing elsewhere.
COURSE_REPO = {repo}  # set by `make student COURSE_REPO=...`
import os, sys
if "google.colab" in sys.modules or os.environ.get("COURSE_SETUP") == "force":
    import importlib, subprocess
    course_dir = os.path.abspath(os.environ.get("COURSE_DIR", "/content/embeddings-course"))
    if not os.path.isdir(course_dir):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", COURSE_REPO, course_dir], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", course_dir], check=True)
    sys.path.insert(0, course_dir)  # an editable install is only seen after a restart
    importlib.invalidate_caches()'''


def colab_setup_cell(repo: str):
    """The first cell of every student notebook."""
    cell = nbformat.v4.new_code_cell(COLAB_SETUP.format(repo=json.dumps(repo)))
    cell.id = "colab-setup"
    cell.metadata = {"tags": ["colab-setup"]}
    return cell


def sync_sources(course: Course) -> list[Path]:
    """Update each solution notebook from its text source (solutions/<a>/<nb>.py, jupytext py:percent).

    The .py is what instructors edit and review; the paired .ipynb is nbgrader's source, rewritten from it
    with its cell ids kept. Returns the notebooks that changed.
    """
    import jupytext
    from jupytext.combine import combine_inputs_with_outputs

    changed = []
    for notebook in sorted(course.source.glob("*/*.ipynb")):
        text_path = notebook.with_suffix(".py")
        if not text_path.is_file():
            continue
        text = jupytext.read(text_path)
        old = nbformat.read(notebook, as_version=4)
        new = combine_inputs_with_outputs(text, old, fmt="py:percent")
        if nbformat.writes(new) != nbformat.writes(old):
            nbformat.write(new, notebook)
            changed.append(notebook)
    return changed


def release(course: Course, assignments: list[str] | None = None, dest: Path | None = None,
            register: bool = False, course_repo: str | None = None) -> Path:
    """Generate the student notebooks of `assignments` (default: all) into `dest` (default: notebooks/).

    nbgrader records each assignment's graded cells in a gradebook as it generates
    them. With register=True that is the course's gradebook, which autograding
    needs; otherwise a throw-away one, so building the release never touches it.
    """
    dest = Path(dest or course.release).resolve()
    with tempfile.TemporaryDirectory() as scratch:
        header = Path(scratch) / "colab_setup.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[colab_setup_cell(course_repo or course.course_repo)]), header)
        work = course.work if register else Path(scratch) / "work"
        api = Course(course.root, work=work, db_url=course.db_url if register else None).api(
            CourseDirectory={"release_directory": str(dest)}, IncludeHeaderFooter={"header": str(header)})
        for assignment in assignments or course.assignments():
            _check_layout(course, assignment)
            shutil.rmtree(dest / assignment, ignore_errors=True)
            result = api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                raise ReleaseError(f"nbgrader generate_assignment {assignment} failed:\n"
                                   f"{result.get('log', '')}\n{result.get('error', '')}")
            for path in (dest / assignment).glob("*.ipynb"):
                _student_only(path)
    return dest


def _check_layout(course: Course, assignment: str) -> None:
    """Refuse a source notebook whose examiner-only cells break the layout rules (autograder.layout)."""
    for path in sorted((course.source / assignment).glob("*.ipynb")):
        found = layout.problems(nbformat.read(path, as_version=4))
        if found:
            raise ReleaseError(f"{path.name}: examiner-only cells misplaced:\n  " + "\n  ".join(found))


def _student_only(path: Path) -> None:
    """Drop what is the instructor's from a generated notebook: examiner-only cells, the jupytext pairing."""
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if not is_examiner(c)]
    paired = nb.metadata.pop("jupytext", None) is not None
    if paired or len(cells) < len(nb.cells):
        nb.cells = cells
        nbformat.write(nb, path)


def register(course: Course, assignments: list[str]) -> None:
    """Record `assignments` in the course's gradebook, as nbgrader's autograde requires."""
    with tempfile.TemporaryDirectory() as scratch:
        release(course, assignments, dest=Path(scratch), register=True)
