"""The `autograder` command (also `python -m autograder`): release, publish, sample, grade, demo, export,
similarity, bench, bench-grade. Every option goes after its subcommand; defaults come from autograder.settings."""
import argparse
import shutil
import sys
from pathlib import Path

from .course import REPO, Course
from .settings import database_url, load


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    root = _peek_root(argv)
    settings = load(root)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, default=root, help="course root (default: this repository)")
    common.add_argument("--work", type=Path, default=None, help="grading folder (default: ROOT/grading)")
    common.add_argument("--db-url", default=None, help="gradebook URL WITHOUT a password (peer auth, ~/.pgpass); "
                        "one with a password belongs in $DB_URL or $DB_URL_FILE (default: those, else SQLite)")
    parser = argparse.ArgumentParser(prog="autograder", description="Build, grade and benchmark the embeddings course. "
                                     "The gradebook is $DB_URL or the file $DB_URL_FILE names (default: SQLite in the "
                                     "grading folder); a URL with a password never goes on a command line.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", parents=[common], help="generate the student notebooks from solutions/")
    p.add_argument("--dest", type=Path, default=None, help="output folder (default: notebooks/)")
    p.add_argument("--course-repo", default=None, help="repository the Colab set-up cell installs from")
    p.add_argument("assignments", nargs="*")

    p = sub.add_parser("publish", parents=[common], help="write the student-facing tree (no solutions) for a public repository")
    p.add_argument("dest", type=Path)
    p.add_argument("--course-repo", default=None, help="its public address (default: pyproject.toml's course_repo)")

    sub.add_parser("sample", parents=[common], help="write the sample class (alice, bob, carol) into the grading folder")

    for name, text in (("grade", "grade every submission in the grading folder"),
                       ("demo", "sample class graded in grading/sample-class + grade table: the main job")):
        p = sub.add_parser(name, parents=[common], help=text)
        p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
        _grading_options(p, settings)

    p = sub.add_parser("export", parents=[common], help="the gradebook as a Canvas or Moodle grade import CSV")
    p.add_argument("--lms", choices=["canvas", "moodle"], required=True)
    p.add_argument("--roster", type=Path, default=None, help="roster CSV: id column (id/student/student_id) plus "
                   "LMS columns (name, canvas_id, sis_user_id, sis_login_id, section, email, username, idnumber); "
                   "default: the gradebook's students")
    p.add_argument("--id-field", choices=["email", "idnumber", "username"], default="email",
                   help="moodle: the user field its identifier column matches (default email)")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable; default: all)")
    p.add_argument("--out", type=Path, default=None, help="output file (default: WORK/<lms>_grades.csv)")

    p = sub.add_parser("similarity", parents=[common], help="answer cells shared between students beyond the "
                       "class: grading/similarity.csv and a page per flagged pair (a pointer for a human, never points)")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable; default: all)")

    sub.add_parser("bench", parents=[common], help="wall time and peak memory of every solution notebook")
    p = sub.add_parser("bench-grade", parents=[common], help="grade a generated class of every assignment with stock "
                       "`nbgrader autograde` and with this grader; print both wall times, the ratio, where the time goes")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable; default: all)")
    p.add_argument("--students", type=int, default=20, help="class size (default 20)")
    p.add_argument("--jobs", type=int, default=settings.jobs, help=f"grading workers (default {settings.jobs})")
    p.add_argument("--skip-stock", action="store_true", help="only time this grader")

    from . import mutants
    p = sub.add_parser("mutants", help="mutation testing: do the assignments' tests catch wrong answers and pass "
                       "right ones?", description=mutants.DESCRIPTION, epilog=mutants.EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    mutants.add_arguments(p)
    args = parser.parse_args(argv)
    if args.command == "mutants":  # the course in this repository (its catalogues, its release), like `make mutants`
        return mutants.run(args)

    work = args.work
    if args.command == "demo" and work is None:
        # The sample class gets a fresh grading folder of its own, never the instructor's gradebook.
        work = args.root / "grading" / "sample-class"
        shutil.rmtree(work, ignore_errors=True)
    if args.db_url and _has_password(args.db_url):
        parser.error("--db-url must not hold a password (every process can read a command line): "
                     "put the URL in $DB_URL or in a file named by $DB_URL_FILE (chmod 600)")
    course = Course(args.root, work=work, db_url=args.db_url or database_url())
    if args.command == "release":
        from .release import release, sync_sources
        for notebook in sync_sources(course):
            print(f"updated {notebook.relative_to(course.root)} from its .py")
        print(f"student notebooks written to {release(course, args.assignments or None, args.dest, course_repo=args.course_repo)}")
    elif args.command == "publish":
        from .publish import publish
        print(f"student tree written to {publish(course, args.dest, args.course_repo)}")
    elif args.command == "sample":
        _sample(course)
    elif args.command in ("grade", "demo"):
        return _grade(course, args)
    elif args.command == "export":
        return _export(course, args)
    elif args.command == "similarity":
        _similarity(course, args.assignment)
    elif args.command == "bench-grade":
        from .bench_grade import bench_grade
        bench_grade(course.root, args.assignment, args.students, args.jobs, stock=not args.skip_stock)
    elif args.command == "bench":
        from .bench import bench
        rows = bench(course)
        return 1 if any("error" in row for row in rows) else 0
    return 0


def _has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password is not None
    except ArgumentError:
        return ":" in url.split("@")[0].split("//")[-1]


def _peek_root(argv: list[str]) -> Path:
    """--root before parsing: the settings (and so the defaults) are the course's own."""
    for i, arg in enumerate(argv):
        if arg == "--root" and i + 1 < len(argv):
            return Path(argv[i + 1]).resolve()
        if arg.startswith("--root="):
            return Path(arg.split("=", 1)[1]).resolve()
    return REPO


def _grading_options(p, s) -> None:
    p.add_argument("--jobs", type=int, default=s.jobs, help=f"Dask workers (default {s.jobs}; $JOBS)")
    p.add_argument("--device", default=s.device, help=f"auto, cpu or cuda for the graded kernels (default {s.device}; $DEVICE)")
    p.add_argument("--scheduler", default=s.scheduler or None,
                   help="tcp://host:port of an existing Dask scheduler (default: $SCHEDULER, else a local cluster)")
    p.add_argument("--force", action="store_true", help="regrade submissions already graded and unchanged")
    p.add_argument("--from", dest="intake", type=Path, default=None,
                   help="a folder or zip of notebooks (Colab/LMS download) to map to students by file name first "
                        "(needs exactly one --assignment)")
    p.add_argument("--roster", type=Path, default=None,
                   help="CSV of student ids (column id/student/student_id) to match --from files against")
    p.add_argument("--keep-newest", action="store_true", help="--from: of several files for one student, grade the newest")
    p.add_argument("--skip-unmapped", action="store_true", help="--from: leave out files that match no student")
    p.add_argument("--cell-timeout", type=float, default=s.cell_timeout, help=f"seconds per cell (default {s.cell_timeout:g})")
    p.add_argument("--notebook-timeout", type=float, default=s.notebook_timeout,
                   help=f"seconds per notebook (default {s.notebook_timeout:g})")
    p.add_argument("--mem-limit", type=float, default=s.mem_limit_gib,
                   help=f"GiB of memory for all processes of a submission, 0 = none (default {s.mem_limit_gib:g})")
    p.add_argument("--threads", type=int, default=s.threads or None,
                   help="torch/BLAS threads per kernel (default: CPUs divided by --jobs)")
    p.add_argument("--no-isolation", action="store_true", help="run kernels without namespaces/chroot/uid (debugging)")
    p.add_argument("--no-preload-models", action="store_true",
                   help="never import transformers in the zygote (default: when a graded notebook uses them)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _grade(course: Course, args) -> int:
    from .executor import Limits
    from .gradebook import GradebookError, grades
    from .pipeline import grade
    from .reports import grade_table

    if args.command == "demo":
        _sample(course)
    if args.intake:
        from .intake import IntakeRefused, collect, read_roster, write_report
        if not args.assignment or len(args.assignment) != 1:
            print("--from needs exactly one --assignment", file=sys.stderr)
            return 2
        try:
            report = collect(course, args.assignment[0], args.intake,
                             roster=read_roster(args.roster) if args.roster else None,
                             keep_newest=args.keep_newest, skip_unmapped=args.skip_unmapped)
        except IntakeRefused as refused:
            print(refused, file=sys.stderr)
            print(f"intake report: {write_report(course, refused.report)}", file=sys.stderr)
            return 2
        print(f"mapped {len(report['mapped'])} file(s) to students")
        for name, why in report["unmapped"]:
            print(f"  NOT MAPPED {name}: {why}")
        print(f"intake report: {write_report(course, report)}")
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                    mem_limit=int(args.mem_limit * 2**30) or None, threads=args.threads,
                    isolate=False if args.no_isolation else None)
    try:
        report = grade(course, args.assignment, jobs=args.jobs, scheduler=args.scheduler,
                       device=None if args.device == "auto" else args.device,
                       force=args.force or args.command == "demo", limits=limits,
                       preload_models=False if args.no_preload_models else None, progress=not args.quiet)
    except GradebookError as error:  # unreachable, refused or busy: said before any kernel started
        print(f"error: {error}", file=sys.stderr)
        return 2
    table = grades(course)
    print()
    print(grade_table(table).to_string() if not table.empty else "no graded submissions")
    flagged = course.work / "flagged.csv"
    print(f"\ngraded {report['graded']}, unchanged {report['skipped']}, failed {len(report['errors'])}")
    if report.get("stopped"):
        print(report["stopped"], file=sys.stderr)
    if args.command == "grade":
        _similarity(course, args.assignment)
    print(f"grades: {course.work / 'grades.csv'}\nitem analysis: {course.work / 'item_analysis.csv'}\n"
          f"flagged for review: {flagged}\nfeedback: {course.feedback}")
    return 1 if report["errors"] else 0


def _export(course: Course, args) -> int:
    from nbgrader.api import Gradebook

    from .course import tools_on_path
    from .lms import PLUGINS

    if args.roster and not args.roster.is_file():
        print(f"error: no roster at {args.roster}", file=sys.stderr)
        return 2
    tools_on_path()  # nbgrader's Gradebook runs alembic by name
    out = args.out or course.work / f"{args.lms}_grades.csv"
    traits = {"to": str(out), "roster": str(args.roster or ""), "assignment": args.assignment or []}
    if args.lms == "moodle":
        traits["id_field"] = args.id_field
    with Gradebook(course.db_url) as gradebook:
        sheet = PLUGINS[args.lms](**traits).write(gradebook)
    print(f"{args.lms} grades: {out} ({len(sheet.students)} students, {len(sheet.assignments)} assignments)")
    missing = sorted({s for s, _ in sheet.missing})
    if missing:
        print("no grade in the gradebook (cells left EMPTY, not 0):")
        for student in missing:
            print(f"  {student}: {', '.join(a for s, a in sheet.missing if s == student)}")
    if sheet.unlisted:
        print(f"graded but not on the roster (left out): {', '.join(sheet.unlisted)}")
    return 0


def _similarity(course: Course, assignments: list[str] | None) -> None:
    from .similarity import report

    pairs = report(course, assignments)
    flagged = [p for p in pairs if p.flagged]
    print(f"similarity: {course.work / 'similarity.csv'} ({len(flagged)} pair(s) to look at, "
          f"pages under {course.work / 'similarity'}; a pointer for a human, no grade changes)")


def _sample(course: Course) -> None:
    from .sample_class import build_sample_class
    for assignment in course.assignments():
        build_sample_class(course, assignment)
    print(f"sample class written to {course.submitted}")


if __name__ == "__main__":
    sys.exit(main())
