"""Intake: the submissions to grade, read safely, and downloads from Colab or an LMS mapped to students.

Submitted files are never followed through a symlink and never read when they are not regular
files or are too large. A folder or zip of notebooks downloaded from Colab or an LMS is mapped to
students by file name.

A file maps to (student, notebook) when its name, once the notebook's name and
download noise ("Copy of ", " (1)", LMS ids) are taken out, still starts with a
student id: `alice_types_of_embeddings.ipynb`, `types_of_embeddings - alice.ipynb`,
`alice.ipynb` (one-notebook assignments), `smithj_12345_67890_types_of_embeddings.ipynb`
(Canvas). Everything else is reported, never guessed.
"""
import csv
import hashlib
import os
import re
import stat
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from .course import Course
from .records import NotebookFiles, Task

def submissions(course: Course, assignment: str) -> list[str]:
    if not course.submitted.is_dir():
        return []
    return sorted(p.name for p in course.submitted.iterdir() if (p / assignment).is_dir())


MAX_NOTEBOOK = 50 << 20  # bytes: a larger "notebook" is not graded


def read_submission(path: Path) -> tuple[str | None, str]:
    """(text, problem) of a submitted file, never following a symlink or reading a special file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, ""
    except OSError as error:
        return None, "not a regular file (a symlink?): not read" if error.errno == 40 else f"unreadable ({error.strerror})"
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None, "not a regular file: not read"
        if info.st_size > MAX_NOTEBOOK:
            return None, f"larger than {MAX_NOTEBOOK >> 20} MiB: not read"
        return f.read(MAX_NOTEBOOK + 1).decode("utf-8", errors="replace"), ""


def fingerprint(course: Course, student: str, assignment: str) -> str:
    digest = hashlib.sha256()
    folder = course.submitted / student / assignment
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file():  # never followed: its name alone counts
            digest.update(str(path.relative_to(folder)).encode() + b"\0link\0")
            continue
        text, _ = read_submission(path)
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + (text or "").encode() + b"\0")
    for notebook in course.notebooks(assignment):
        digest.update((course.source / assignment / f"{notebook}.ipynb").read_bytes())
    return digest.hexdigest()[:32]


def _timestamp(course: Course, student: str, assignment: str) -> str | None:
    path = course.submitted / student / assignment / "timestamp.txt"
    return path.read_text().strip() if path.is_file() else None


def make_task(course: Course, student: str, assignment: str, fp: str, **options) -> Task:
    notebooks = {}
    for name in course.notebooks(assignment):
        text, problem = read_submission(course.submitted / student / assignment / f"{name}.ipynb")
        notebooks[name] = NotebookFiles(source=(course.source / assignment / f"{name}.ipynb").read_text(),
                                        release=(course.release / assignment / f"{name}.ipynb").read_text(),
                                        submission=text, invalid=problem)
    return Task(student=student, assignment=assignment, fingerprint=fp, notebooks=notebooks,
                timestamp=_timestamp(course, student, assignment), **options)


_NOISE = [re.compile(p, re.I) for p in (r"^copy of\s+", r"\s*\(\d+\)$", r"\s*-\s*copy$", r"_late$")]
_SPLIT = re.compile(r"[\s_\-.]+")


def _student_of(stem: str, notebooks: list[str]) -> tuple[str | None, str | None, str]:
    name = stem
    for pattern in _NOISE:
        name = pattern.sub("", name)
    lowered = name.lower()
    notebook = next((nb for nb in sorted(notebooks, key=len, reverse=True) if nb.lower() in lowered), None)
    if notebook is None:
        if len(notebooks) != 1:
            return None, None, f"no notebook name of the assignment ({', '.join(notebooks)}) in the file name"
        notebook = notebooks[0]
    else:
        start = lowered.index(notebook.lower())
        name = name[:start] + " " + name[start + len(notebook):]
    tokens = [t for t in _SPLIT.split(name) if t and not t.isdigit() and t.lower() not in ("assignsubmission", "file", "submission")]
    if not tokens:
        return None, notebook, "no student name left in the file name"
    student = re.sub(r"[^a-z0-9]", "", tokens[0].lower())
    return (student or None), notebook, "" if student else "no usable student name"


class IntakeRefused(RuntimeError):
    """Files that map to no student or several to one: nothing is copied until the instructor decides."""

    def __init__(self, report: dict, problems: list[str]):
        super().__init__("intake stopped before grading:\n  " + "\n  ".join(problems))
        self.report = report


def _roster_student(stem: str, notebooks: list[str], roster: list[str]) -> tuple[str | None, str | None, str]:
    """Match a file name against roster ids (longest id that starts the name, ignoring case and punctuation)."""
    _, notebook, _ = _student_of(stem, notebooks)
    name = stem
    for pattern in _NOISE:
        name = pattern.sub("", name)
    flat = re.sub(r"[^a-z0-9]", "", name.lower())
    hits = [s for s in roster if re.sub(r"[^a-z0-9]", "", s.lower()) and flat.startswith(re.sub(r"[^a-z0-9]", "", s.lower()))]
    if not hits:
        return None, notebook, "no roster student starts the file name"
    return max(hits, key=len), notebook, ""


def read_roster(path: Path) -> list[str]:
    """Student ids from a CSV file: the column named id, student or student_id, else the first column."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    column = next((header.index(h) for h in ("id", "student", "student_id") if h in header), None)
    body = rows[1:] if column is not None else rows
    return [r[column or 0].strip() for r in body if r and r[column or 0].strip()]


def collect(course: Course, assignment: str, path: Path, roster: list[str] | None = None,
            keep_newest: bool = False, skip_unmapped: bool = False) -> dict:
    """Copy the notebooks in folder or zip `path` into submitted/<student>/<assignment>/.

    Students are matched against `roster` when given (else the file name's first word is the id).
    Two files for one student, or a file for no one, stop the intake with the full list, unless
    `keep_newest` / `skip_unmapped` say what to do. Symlinks and special files are never read.
    Returns {"mapped": [(file, student, notebook)], "unmapped": [(file, reason)]}.
    """
    notebooks = course.notebooks(assignment)
    path = Path(path)
    entries, invalid = [], []  # (name, bytes, mtime)
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".ipynb") or info.is_dir() or "__MACOSX" in info.filename:
                    continue
                if (info.external_attr >> 16) & 0o170000 not in (0, 0o100000):
                    invalid.append((info.filename, "not a regular file (a symlink?): not read"))
                elif info.file_size > MAX_NOTEBOOK:
                    invalid.append((info.filename, f"larger than {MAX_NOTEBOOK >> 20} MiB: not read"))
                else:
                    entries.append((info.filename, zf.read(info), datetime(*info.date_time, tzinfo=timezone.utc)))
    else:
        for file in sorted(path.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in file.parts:
                continue
            name = str(file.relative_to(path))
            text, problem = read_submission(file)
            if text is None:
                invalid.append((name, problem or "not read"))
            else:
                entries.append((name, text.encode(), datetime.fromtimestamp(file.lstat().st_mtime, timezone.utc)))
    report = {"mapped": [], "unmapped": [(_shown(name), why) for name, why in invalid]}
    by_key: dict[tuple, list] = {}
    for name, data, mtime in entries:
        if roster is not None:
            student, notebook, why = _roster_student(Path(name).stem, notebooks, roster)
        else:
            student, notebook, why = _student_of(Path(name).stem, notebooks)
        if not student or not notebook:
            report["unmapped"].append((_shown(name), why or "no notebook of the assignment in the file name"))
            continue
        by_key.setdefault((student, notebook), []).append((name, data, mtime))
    problems = [f"{name}: {why}" for name, why in report["unmapped"]] if not skip_unmapped else []
    chosen = {}
    for key, files in by_key.items():
        files.sort(key=lambda e: e[2])
        chosen[key] = files[-1]
        if len(files) > 1:
            names = ", ".join(_shown(f[0]) for f in files)
            if keep_newest:
                report["unmapped"] += [(_shown(f[0]), f"another file for {key[0]}/{key[1]} is newer ({_shown(files[-1][0])}): "
                                                      "kept that one")
                                       for f in files[:-1]]
            else:
                problems.append(f"{len(files)} files map to student {key[0]} ({key[1]}): {names}")
    if problems:
        raise IntakeRefused(report, problems + ["use --roster to match full names, --keep-newest to keep the newest of "
                                                "several files, --skip-unmapped to leave out files that match no one"])
    for (student, notebook), (name, data, mtime) in sorted(chosen.items()):
        folder = course.submitted / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{notebook}.ipynb"
        if target.is_symlink():
            target.unlink()
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)
            (folder / "timestamp.txt").write_text(mtime.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        report["mapped"].append((_shown(name), student, notebook))
    return report


def _shown(name: str) -> str:
    """A file name as reports and messages show it: a student chose it (escape codes, newlines, megabytes)."""
    from .wire import clip
    return clip(name, 300).replace("\n", " ")


def write_report(course: Course, report: dict) -> Path:
    """grading/intake_report.csv: which file went to which student, and why the others went nowhere."""
    from .reports import safe_text
    path = course.work / "intake_report.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["file", "student", "notebook", "problem"])
        # never read as a spreadsheet formula: a student names the file "=HYPERLINK(...).ipynb"
        out.writerows([safe_text(name), student, notebook, ""] for name, student, notebook in report["mapped"])
        out.writerows([safe_text(name), "", "", safe_text(why, 600)] for name, why in report["unmapped"])
    return path
