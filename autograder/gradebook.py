"""Gradebook: the one writer of grades (nbgrader's tables plus the ledger), and reading them back.

Never lose a grade: a submission is identified by a fingerprint of its files (and of the
source notebooks). Its grades and its ledger row (table autograder_results, next to
nbgrader's tables in the gradebook) are written in ONE database transaction by the
grading process alone, so an interrupted batch leaves each submission either fully graded
or untouched; the next run grades exactly the untouched ones.

One batch writes a gradebook at a time: the Writer first checks that the database answers
(a clear error before any kernel starts), then holds a lock for the whole batch (a
PostgreSQL advisory lock, or an flock next to an SQLite file); a second `grade` on the
same gradebook is refused with GradebookBusy. Both locks go with the process, even when
it is killed. Errors name the URL with its password hidden.
"""
import fcntl
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from . import sanitize
from .course import Course, tools_on_path
from .records import Result

LEDGER = "autograder_results"
# pg_advisory_lock key of a grading batch (advisory locks are per database): the first 8 bytes of a hash
BATCH_LOCK = int.from_bytes(hashlib.sha256(b"embeddings-course grading batch").digest()[:8], "big", signed=True)


class GradebookError(RuntimeError):
    """The gradebook cannot be used: unreachable, refused the credentials, or busy. The message is safe to print."""


class GradebookBusy(GradebookError):
    """Another grading batch holds the gradebook."""


def safe_url(url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # unparsable: show the scheme only
        return url.split(":", 1)[0] + "://..."


def _reason(error: BaseException) -> str:
    """The driver's own message (never the URL, which SQLAlchemy's wrapper may repeat)."""
    orig = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(orig).strip().splitlines() if line.strip()]
    return "; ".join(lines[:3]) or type(orig).__name__


class BatchLock:
    """Held for a whole batch; refused (GradebookBusy) while another process holds it. Checks the connection first."""

    def __init__(self, url: str):
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import SQLAlchemyError
        from sqlalchemy.pool import NullPool

        self.url, self._conn, self._file, self._engine = url, None, None, None
        shown = safe_url(url)
        args = {"connect_timeout": 10} if url.startswith("postgresql") else {}
        try:
            self._engine = create_engine(url, connect_args=args, poolclass=NullPool)
            self._conn = self._engine.connect()
            self._conn.execute(text("SELECT 1"))
            self._conn.commit()
        except SQLAlchemyError as error:
            self.release()
            raise GradebookError(f"cannot open the gradebook {shown}: {_reason(error)}") from None
        except ImportError as error:  # the dialect's driver is missing
            self.release()
            raise GradebookError(f"cannot open the gradebook {shown}: {error}") from None
        busy = (f"another grading batch is writing the gradebook {shown}: wait for it to finish (or stop it) "
                "and run again; nothing was graded by this one")
        dialect = self._engine.dialect.name
        if dialect == "postgresql":  # a session-level lock on this connection, kept until close()
            got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": BATCH_LOCK}).scalar()
            self._conn.commit()
            if not got:
                self.release()
                raise GradebookBusy(busy)
        elif dialect == "sqlite" and self._engine.url.database not in (None, "", ":memory:"):
            self._file = open(f"{self._engine.url.database}.lock", "a")
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self.release()
                raise GradebookBusy(busy) from None

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None
        if self._conn is not None:
            self._conn.close()  # closing the session drops the advisory lock
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class Writer:
    """The only process that writes grades: nbgrader's gradebook plus the ledger, one transaction per submission.

    Raises GradebookError before touching anything when the database cannot be opened, and
    GradebookBusy when another batch holds it."""

    def __init__(self, course: Course):
        from nbgrader.api import Gradebook
        from sqlalchemy import text

        self.lock = BatchLock(course.db_url)
        tools_on_path()  # nbgrader's Gradebook runs alembic by name
        try:
            self._open(course, Gradebook, text)
        except BaseException:
            self.lock.release()
            raise

    def _open(self, course, Gradebook, text) -> None:
        import warnings
        # nbgrader's helpers trip SQLAlchemy autoflush warnings inside one transaction; they mean nothing here.
        warnings.filterwarnings("ignore", message=".*not in session.*")
        self.course = course
        self.text = text
        self.gb = Gradebook(course.db_url, course_id=course.course_id)
        self.gb.db.execute(text(
            f"CREATE TABLE IF NOT EXISTS {LEDGER} (student VARCHAR(128) NOT NULL, assignment VARCHAR(128) NOT NULL, "
            "fingerprint VARCHAR(64) NOT NULL, graded_at VARCHAR(40) NOT NULL, runs INTEGER NOT NULL, "
            "summary TEXT NOT NULL, PRIMARY KEY (student, assignment))"))
        self.gb.db.commit()

    def ledger(self) -> dict:
        rows = self.gb.db.execute(self.text(f"SELECT student, assignment, fingerprint, runs, summary FROM {LEDGER}"))
        return {(r[0], r[1]): {"fingerprint": r[2], "runs": r[3], "summary": json.loads(r[4])} for r in rows}

    def write(self, result: Result, summary: dict) -> None:
        course, gb = self.course, self.gb
        summary = sanitize.tree(summary, limit=20_000)  # what a submission controls, storable (score does it too)
        student, assignment = result.student, result.assignment
        # Files first (idempotent, atomic renames); the database commit below is what makes the grade count.
        folder = course.autograded / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for name, entry in result.notebooks.items():
            _atomic_write(folder / f"{name}.ipynb", entry.autograded)
        if result.timestamp:  # as intake read and checked it (a student may write timestamp.txt)
            _atomic_write(folder / "timestamp.txt", result.timestamp)
        real_commit = gb.db.commit
        gb.db.commit = gb.db.flush  # nbgrader's helpers commit as they go: hold everything in one transaction
        try:
            gb.update_or_create_student(student)
            kwargs = {"timestamp": result.timestamp} if result.timestamp else {}
            gb.update_or_create_submission(assignment, student, **kwargs)
            for name, nb in summary["notebooks"].items():
                tested = set()
                for test in nb["tests"]:
                    grade = gb.find_grade(test["grade_id"], name, assignment, student)
                    grade.auto_score = test["score"]
                    grade.needs_manual_grade = grade.manual_score is not None or test["needs_review"]
                    tested.add(test["grade_id"])
                submitted_nb = gb.find_submission_notebook(name, assignment, student)
                for grade in submitted_nb.grades:  # manually graded answers (nbgrader's rule: blank scores 0)
                    if grade.name not in tested:
                        blank = grade.name in nb["unanswered"]
                        grade.auto_score = 0.0 if blank else None
                        grade.needs_manual_grade = grade.manual_score is not None or not blank
                for comment in submitted_nb.comments:
                    comment.auto_comment = "No response." if comment.name in nb["unanswered"] else None
            key = {"s": student, "a": assignment}
            row = gb.db.execute(self.text(f"SELECT runs FROM {LEDGER} WHERE student = :s AND assignment = :a"), key).first()
            previous = row[0] if row else 0
            gb.db.execute(self.text(f"DELETE FROM {LEDGER} WHERE student = :s AND assignment = :a"), key)
            gb.db.execute(self.text(
                f"INSERT INTO {LEDGER} (student, assignment, fingerprint, graded_at, runs, summary) "
                "VALUES (:s, :a, :f, :t, :r, :j)"),
                {"s": student, "a": assignment, "f": result.fingerprint,
                 "t": datetime.now(timezone.utc).isoformat(timespec="seconds"), "r": previous + 1,
                 "j": json.dumps(summary)})
            real_commit()
        except BaseException:
            gb.db.rollback()
            raise
        finally:
            gb.db.commit = real_commit

    def close(self) -> None:
        try:
            self.gb.close()
        finally:
            self.lock.release()


def _atomic_write(path: Path, text: str) -> None:
    """Write `text` whole or not at all; a lone surrogate a submission smuggled in becomes U+FFFD, never an error."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(sanitize.unicode(text), encoding="utf-8")
    os.replace(tmp, path)


def summaries(course: Course) -> list[dict]:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(course.db_url)
    try:
        if LEDGER not in inspect(engine).get_table_names():
            return []
        with engine.connect() as conn:
            return [json.loads(r[0]) | {"runs": r[1], "fingerprint": r[2]}
                    for r in conn.execute(text(f"SELECT summary, runs, fingerprint FROM {LEDGER} ORDER BY assignment, student"))]
    finally:
        engine.dispose()


def grades(course: Course) -> pd.DataFrame:
    """Every graded submission in the gradebook: student, assignment, score, max_score."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gradebook:
        return read_grades(gradebook)


def read_grades(gradebook) -> pd.DataFrame:
    """Every graded submission in an open nbgrader Gradebook: student, assignment, score, max_score."""
    rows = []
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


