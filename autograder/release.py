"""Student versions: nbgrader's generate_assignment from solutions/ into notebooks/ (or elsewhere)."""
import shutil
import tempfile
from pathlib import Path

from .course import Course


class ReleaseError(RuntimeError):
    pass


def release(course: Course, assignments: list[str] | None = None, dest: Path | None = None,
            register: bool = False) -> Path:
    """Generate the student notebooks of `assignments` (default: all) into `dest` (default: notebooks/).

    nbgrader records each assignment's graded cells in a gradebook as it generates
    them. With register=True that is the course's gradebook, which autograding
    needs; otherwise a throw-away one, so building the release never touches it.
    """
    dest = Path(dest or course.release).resolve()
    with tempfile.TemporaryDirectory() as scratch:
        work = course.work if register else Path(scratch)
        api = Course(course.root, work=work, db_url=course.db_url if register else None).api(CourseDirectory={"release_directory": str(dest)})
        for assignment in assignments or course.assignments():
            shutil.rmtree(dest / assignment, ignore_errors=True)
            result = api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                raise ReleaseError(f"nbgrader generate_assignment {assignment} failed:\n"
                                   f"{result.get('log', '')}\n{result.get('error', '')}")
    return dest


def register(course: Course, assignments: list[str]) -> None:
    """Record `assignments` in the course's gradebook, as nbgrader's autograde requires."""
    with tempfile.TemporaryDirectory() as scratch:
        release(course, assignments, dest=Path(scratch), register=True)
