"""Grading entry points over autograder.pipeline, and tables read back from nbgrader's gradebook."""
import os

import pandas as pd

from .course import Course


class GradingError(RuntimeError):
    pass


def grade(course: Course, assignments: list[str] | None = None, device: str | None = None,
          force: bool = False, feedback: bool = True, log=print, jobs: int | None = None,
          scheduler: str | None = None, **options) -> pd.DataFrame:
    """Grade the submissions of `assignments` (default: every assignment with submissions) with the
    parallel, sandboxed pipeline (autograder.pipeline) and return the gradebook's table:
    one row per (student, assignment) with score and max_score.

    Extra keyword arguments (limits, zygote, preload_models, progress) go to pipeline.grade.
    """
    from .pipeline import grade as run

    jobs = jobs or int(os.environ.get("JOBS") or 2)
    options.setdefault("progress", log is print)
    report = run(course, assignments, jobs=jobs, scheduler=scheduler, device=device, force=force, log=log,
                 outputs=feedback, **options)
    if report["errors"]:
        raise GradingError("grading failed for " + ", ".join(f"{a}/{s}" for s, a, _ in report["errors"])
                           + ":\n" + report["errors"][0][2])
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
    # No submission for an assignment is "-" and counts 0 of its points: every total is out of the same maximum.
    out = wide.apply(lambda col: col.map(lambda s: "-" if pd.isna(s) else f"{s:g} / {maxima[col.name]:g}"))
    out["total"] = wide.fillna(0).sum(axis=1).map(lambda s: f"{s:g} / {maxima.sum():g}")
    return out

