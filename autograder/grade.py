"""Grading: nbgrader autograde for every submission, feedback, a grades table and CSV."""
import os
import warnings
from pathlib import Path

import pandas as pd

from .course import Course
from .release import register


class GradingError(RuntimeError):
    pass


def submissions(course: Course, assignment: str) -> list[str]:
    """Students who submitted `assignment` (nbgrader layout submitted/<student>/<assignment>/)."""
    if not course.submitted.is_dir():
        return []
    return sorted(p.name for p in course.submitted.iterdir() if (p / assignment).is_dir())


def grade(course: Course, assignments: list[str] | None = None, device: str | None = None,
          force: bool = True, feedback: bool = True, log=print) -> pd.DataFrame:
    """Autograde the submissions of `assignments` (default: every assignment with submissions).

    Returns one row per (student, assignment) with score and max_score.
    """
    # The kernels nbgrader starts inherit this environment: the device choice, and
    # quiet libraries (a warning on stderr would zero a test cell).
    os.environ.update({"EMBEDKIT_QUIET": "1", "TQDM_DISABLE": "1", "TOKENIZERS_PARALLELISM": "false"})
    if device:
        os.environ["DEVICE"] = device
    api = course.api()
    # nbgrader's own gradebook code trips SQLAlchemy autoflush warnings that mean nothing here.
    warnings.filterwarnings("ignore", message=".*not in session.*")
    for assignment in assignments or course.assignments():
        students = submissions(course, assignment)
        if students:
            register(course, [assignment])
        for student in students:
            log(f"grading {assignment} / {student}")
            result = api.autograde(assignment, student, force=force, create=True)
            if not result["success"]:
                raise GradingError(f"autograde {assignment}/{student} failed:\n{result.get('log', '')}\n{result.get('error', '')}")
        if feedback and students:
            result = api.generate_feedback(assignment, force=True)
            if not result["success"]:
                raise GradingError(f"feedback for {assignment} failed:\n{result.get('log', '')}\n{result.get('error', '')}")
    return grades(course)


def grades(course: Course) -> pd.DataFrame:
    """Every graded submission in the gradebook: student, assignment, score, max_score."""
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(course.db_url) as gradebook:
        for assignment in gradebook.assignments:
            for submission in gradebook.assignment_submissions(assignment.name):
                rows.append({"student": submission.student.id, "assignment": assignment.name,
                             "score": submission.score, "max_score": submission.max_score})
    return pd.DataFrame(rows, columns=["student", "assignment", "score", "max_score"])


def cell_scores(course: Course, assignment: str) -> pd.DataFrame:
    """Per test cell scores of every submission of `assignment`: student, notebook, cell, score, max_score."""
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(course.db_url) as gradebook:
        for submission in gradebook.assignment_submissions(assignment):
            for notebook in submission.notebooks:
                for g in notebook.grades:
                    rows.append({"student": submission.student.id, "notebook": notebook.name, "cell": g.name,
                                 "score": g.score, "max_score": g.max_score})
    return pd.DataFrame(rows, columns=["student", "notebook", "cell", "score", "max_score"])


def grade_table(table: pd.DataFrame) -> pd.DataFrame:
    """Students as rows, assignments as columns ('score / max'), and a total."""
    if table.empty:
        return table
    wide = table.pivot(index="student", columns="assignment", values="score")
    maxima = table.groupby("assignment")["max_score"].max()
    out = wide.apply(lambda col: col.map(lambda s: f"{s:g} / {maxima[col.name]:g}"))
    out["total"] = wide.sum(axis=1).map(lambda s: f"{s:g} / {maxima.sum():g}")
    return out


def write_csv(table: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.sort_values(["assignment", "student"]).to_csv(path, index=False)
    return path
