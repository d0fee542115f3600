"""Submissions downloaded from Colab or an LMS: a folder or zip of notebooks, mapped to students by file name.

A file maps to (student, notebook) when its name, once the notebook's name and
download noise ("Copy of ", " (1)", LMS ids) are taken out, still starts with a
student id: `alice_types_of_embeddings.ipynb`, `types_of_embeddings - alice.ipynb`,
`alice.ipynb` (one-notebook assignments), `smithj_12345_67890_types_of_embeddings.ipynb`
(Canvas). Everything else is reported, never guessed.
"""
import csv
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from .course import Course

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


def collect(course: Course, assignment: str, path: Path) -> dict:
    """Copy the notebooks in folder or zip `path` into submitted/<student>/<assignment>/.

    Returns {"mapped": [(file, student, notebook)], "unmapped": [(file, reason)]}.
    """
    notebooks = course.notebooks(assignment)
    path = Path(path)
    entries = []  # (name, bytes, mtime)
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.filename.endswith(".ipynb") and not info.is_dir() and "__MACOSX" not in info.filename:
                    entries.append((info.filename, zf.read(info), datetime(*info.date_time, tzinfo=timezone.utc)))
    else:
        for file in sorted(path.rglob("*.ipynb")):
            if ".ipynb_checkpoints" not in file.parts:
                entries.append((str(file.relative_to(path)), file.read_bytes(),
                                datetime.fromtimestamp(file.stat().st_mtime, timezone.utc)))
    report = {"mapped": [], "unmapped": []}
    chosen: dict[tuple, tuple] = {}
    for name, data, mtime in entries:
        student, notebook, why = _student_of(Path(name).stem, notebooks)
        if not student:
            report["unmapped"].append((name, why))
            continue
        key = (student, notebook)
        if key in chosen:
            older, newer = sorted([chosen[key], (name, data, mtime)], key=lambda e: e[2])
            report["unmapped"].append((older[0], f"another file for {student}/{notebook} is newer ({newer[0]}): kept that one"))
            chosen[key] = newer
        else:
            chosen[key] = (name, data, mtime)
    for (student, notebook), (name, data, mtime) in sorted(chosen.items()):
        folder = course.submitted / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{notebook}.ipynb"
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)
            (folder / "timestamp.txt").write_text(mtime.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        report["mapped"].append((name, student, notebook))
    return report


def write_report(course: Course, report: dict) -> Path:
    """grading/intake_report.csv: which file went to which student, and why the others went nowhere."""
    path = course.work / "intake_report.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["file", "student", "notebook", "problem"])
        out.writerows([name, student, notebook, ""] for name, student, notebook in report["mapped"])
        out.writerows([name, "", "", why] for name, why in report["unmapped"])
    return path
