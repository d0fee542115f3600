"""Command line: python -m autograder {release,sample,grade,demo,bench} (or course-grade ...)."""
import argparse
import sys
from pathlib import Path

from .course import REPO, Course


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="course-grade", description="Build, grade and benchmark the embeddings course.")
    parser.add_argument("--root", type=Path, default=None, help="course root (default: this repository)")
    parser.add_argument("--work", type=Path, default=None, help="grading folder (default: ROOT/grading)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate the student notebooks from solutions/")
    p.add_argument("--dest", type=Path, default=None, help="output folder (default: notebooks/)")
    p.add_argument("--course-repo", default=None, help="repository the Colab set-up cell installs from")
    p.add_argument("assignments", nargs="*")

    p = sub.add_parser("publish", help="write the student-facing tree (no solutions) for a public repository")
    p.add_argument("dest", type=Path)
    p.add_argument("--course-repo", default=None, help="its public address (default: pyproject.toml's course_repo)")

    sub.add_parser("sample", help="write the sample class (alice, bob, carol) into the grading folder")

    for name, text in (("grade", "grade every submission in the grading folder"),
                       ("demo", "sample class + grading + grade table: the main job")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
        p.add_argument("--device", default=None, help="auto, cpu or cuda for the graded kernels")

    sub.add_parser("bench", help="wall time and peak memory of every solution notebook")
    args = parser.parse_args(argv)

    course = Course(args.root or REPO, work=args.work)
    if args.command == "release":
        from .release import release
        print(f"student notebooks written to {release(course, args.assignments or None, args.dest, course_repo=args.course_repo)}")
    elif args.command == "publish":
        from .publish import publish
        print(f"student tree written to {publish(course, args.dest, args.course_repo)}")
    elif args.command == "sample":
        _sample(course)
    elif args.command in ("grade", "demo"):
        from .grade import grade, grade_table, write_csv
        if args.command == "demo":
            _sample(course)
        table = grade(course, args.assignment, device=args.device)
        csv = write_csv(table, course.work / "grades.csv")
        print()
        print(grade_table(table).to_string())
        print(f"\ngrades: {csv}\nfeedback: {course.feedback}")
    elif args.command == "bench":
        from .bench import bench
        rows = bench(course)
        return 1 if any("error" in row for row in rows) else 0
    return 0


def _sample(course: Course) -> None:
    from .sample_class import build_sample_class
    for assignment in course.assignments():
        build_sample_class(course, assignment)
    print(f"sample class written to {course.submitted}")


if __name__ == "__main__":
    sys.exit(main())
