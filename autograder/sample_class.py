"""The bundled sample class: three students whose expected grades are known.

  alice  answers every exercise with the instructor's solution  -> full marks
  bob    does the same but makes one classic mistake            -> full marks minus that exercise
         (sample_answers/<assignment>.py says which)
  carol  submits the student notebook untouched                 -> zero

Their notebooks are built from the release and the solutions, so the sample
class follows every change to an assignment and never goes stale.
"""
import re
import runpy
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .course import Course

ANSWERS = Path(__file__).resolve().parent / "sample_answers"
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


@dataclass(frozen=True)
class WrongAnswer:
    cell: str      # grade_id of the solution cell bob gets wrong
    source: str    # what he writes there instead
    loses: int     # points the visible and hidden tests must take away


def wrong_answer(assignment: str) -> WrongAnswer | None:
    """Bob's mistake, from sample_answers/<assignment>.py (CELL, SOURCE, LOSES), if the assignment has one."""
    path = ANSWERS / f"{assignment}.py"
    if not path.is_file():
        return None
    spec = runpy.run_path(str(path))
    return WrongAnswer(cell=spec["CELL"], source=spec["SOURCE"], loses=spec["LOSES"])


def solution_code(source: str) -> str:
    """The code a perfect student writes: the solution with nbgrader's markers removed."""
    return "\n".join(line for line in source.splitlines() if not _MARKER.match(line))


def _answers(source_nb) -> dict[str, str]:
    return {
        cell.metadata.nbgrader["grade_id"]: solution_code(cell.source)
        for cell in source_nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def _fill(release_nb, answers: dict[str, str]):
    nb = nbformat.from_dict(release_nb)  # a copy
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def perfect_submission(source_nb, release_nb):
    """The release with every answer cell holding the instructor's solution (alice's notebook; the canary)."""
    return _fill(release_nb, _answers(source_nb))


def build_sample_class(course: Course, assignment: str, dest: Path | None = None) -> Path:
    """Write alice's, bob's and carol's submissions of `assignment` in nbgrader's submitted/ layout."""
    dest = Path(dest or course.submitted)
    for notebook in course.notebooks(assignment):
        source_nb = nbformat.read(course.source / assignment / f"{notebook}.ipynb", as_version=4)
        release_nb = nbformat.read(course.release / assignment / f"{notebook}.ipynb", as_version=4)
        answers = _answers(source_nb)
        wrong = dict(answers)
        mistake = wrong_answer(assignment)
        if mistake and mistake.cell in wrong:
            wrong[mistake.cell] = mistake.source
        for student, nb in (("alice", _fill(release_nb, answers)), ("bob", _fill(release_nb, wrong)), ("carol", release_nb)):
            folder = dest / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / f"{notebook}.ipynb")
    return dest


def expected_scores(assignment: str, max_score: float) -> dict[str, float]:
    """What each sample student must score on `assignment`."""
    mistake = wrong_answer(assignment)
    return {"alice": max_score, "bob": max_score - (mistake.loses if mistake else 0), "carol": 0.0}
