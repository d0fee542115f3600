"""LMS exports: the gradebook as Canvas's gradebook import CSV or Moodle's grade import CSV (nbgrader export plugins).

    nbgrader export --exporter=autograder.lms.CanvasExportPlugin --to grading/canvas_grades.csv \\
        --CanvasExportPlugin.roster=roster.csv
    nbgrader export --exporter=autograder.lms.MoodleExportPlugin --MoodleExportPlugin.id_field=idnumber ...
    autograder export --lms canvas|moodle [--roster roster.csv] [--id-field email] [--out file]

The grades are read by the course's one reader (gradebook.read_grades), the roster by the intake's
(intake.read_roster_entries: the grader's id plus the LMS columns). A roster student without a graded
submission gets an EMPTY cell, never a 0 (Canvas and Moodle both leave an empty cell alone), and is listed.
"""
import csv
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.plugins import ExportPlugin
from traitlets import Dict, Enum, Unicode

from .gradebook import read_grades
from .intake import RosterEntry, read_roster_entries

log = logging.getLogger(__name__)

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS = "    Points Possible"  # the second row, as Canvas's own export writes it (the import skips it)
# Moodle's grade import maps its identifier column onto one of these user fields (its export's own titles).
MOODLE_FIELDS = {"email": "Email address", "idnumber": "ID number", "username": "Username"}


@dataclass
class GradeSheet:
    """The grades an LMS file holds: assignments (name -> points possible) in order, one row per student."""
    assignments: dict[str, float]
    students: list[RosterEntry]
    scores: dict[tuple[str, str], float] = field(default_factory=dict)   # (student, assignment) -> score
    missing: list[tuple[str, str]] = field(default_factory=list)         # (student, assignment) without a grade
    unlisted: list[str] = field(default_factory=list)                    # graded, but not on the roster: left out

    def cell(self, student: str, assignment: str) -> str:
        """A score as the LMS reads it; empty (never 0) when the gradebook holds none."""
        score = self.scores.get((student, assignment))
        return "" if score is None else f"{score:g}"


def read_sheet(gradebook, roster: list[RosterEntry] | None = None, assignments: list[str] | None = None,
               students: list[str] | None = None) -> GradeSheet:
    """The grade sheet of an open nbgrader Gradebook, for the roster's students (default: the gradebook's)."""
    table = read_grades(gradebook)
    points = {a.name: float(a.max_score or 0) for a in gradebook.assignments if not assignments or a.name in assignments}
    if roster is None:
        roster = [RosterEntry(s.id, name=_name(s), email=s.email or "") for s in gradebook.students]
    if students:
        roster = [entry for entry in roster if entry.student in students]
    sheet = GradeSheet(assignments=points, students=roster)
    for row in table.itertuples(index=False):
        if row.assignment in points and row.score is not None and not math.isnan(row.score):
            sheet.scores[(row.student, row.assignment)] = float(row.score)
    listed = {entry.student for entry in roster}
    sheet.missing = [(e.student, a) for e in roster for a in points if (e.student, a) not in sheet.scores]
    sheet.unlisted = sorted({s for s, a in sheet.scores if s not in listed and (not students or s in students)})
    return sheet


def _name(student) -> str:
    """'Last, First' as Canvas lists a student, or whatever part the gradebook has."""
    parts = [p for p in (student.last_name, student.first_name) if p]
    return ", ".join(parts) or student.id


def write_canvas(sheet: GradeSheet, dest: Path, assignment_ids: dict[str, str] | None = None) -> Path:
    """Canvas's gradebook CSV: Student, ID, SIS User ID, SIS Login ID, Section, one column per assignment
    ("name (canvas id)" when its Canvas id is known, else a new assignment), a Points Possible row."""
    ids = assignment_ids or {}
    columns = [f"{a} ({ids[a]})" if a in ids else a for a in sheet.assignments]
    with open(dest, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(CANVAS_IDENTITY + columns)
        out.writerow([CANVAS_POINTS, "", "", "", ""] + [f"{p:g}" for p in sheet.assignments.values()])
        for e in sheet.students:
            if not (e.canvas_id or e.sis_user_id or e.sis_login_id):
                log.warning("%s has no Canvas ID, SIS User ID or SIS Login ID in the roster: Canvas cannot match the row",
                            e.student)
            out.writerow([_cell(e.name or e.student), _cell(e.canvas_id), _cell(e.sis_user_id),
                          _cell(e.sis_login_id), _cell(e.section)]
                         + [sheet.cell(e.student, a) for a in sheet.assignments])
    return Path(dest)


def write_moodle(sheet: GradeSheet, dest: Path, id_field: str = "email") -> Path:
    """Moodle's grade import CSV: the identifier column (a user field: email, idnumber or username), then
    one column per grade item; one row per student."""
    with open(dest, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow([MOODLE_FIELDS[id_field]] + list(sheet.assignments))
        for e in sheet.students:
            key = getattr(e, id_field)
            if not key:
                log.warning("%s has no %s in the roster: Moodle cannot match the row", e.student, id_field)
            out.writerow([_cell(key)] + [sheet.cell(e.student, a) for a in sheet.assignments])
    return Path(dest)


def _cell(text: str) -> str:
    """A roster value for a CSV cell, never read as a spreadsheet formula."""
    from .reports import safe_text
    return safe_text(text) if text else ""


class _LmsExport(ExportPlugin):
    roster = Unicode("", help="roster CSV (intake's format plus LMS columns); default: the gradebook's students"
                     ).tag(config=True)
    default_name = "grades.csv"

    def sheet(self, gradebook) -> GradeSheet:
        roster = read_roster_entries(Path(self.roster)) if self.roster else None
        sheet = read_sheet(gradebook, roster, [str(a) for a in self.assignment] or None,
                           [str(s) for s in self.student] or None)
        for student in sorted({s for s, _ in sheet.missing}):
            self.log.warning("no grade in the gradebook, left EMPTY: %s (%s)", student,
                             ", ".join(a for s, a in sheet.missing if s == student))
        if sheet.unlisted:
            self.log.warning("graded but not on the roster, left out: %s", ", ".join(sheet.unlisted))
        return sheet

    def export(self, gradebook) -> None:
        self.write(gradebook)

    def write(self, gradebook) -> GradeSheet:
        raise NotImplementedError


class CanvasExportPlugin(_LmsExport):
    """Canvas gradebook import CSV (`nbgrader export --exporter=autograder.lms.CanvasExportPlugin`)."""
    assignment_ids = Dict({}, help="assignment name -> its Canvas assignment id (else Canvas creates a new one)"
                          ).tag(config=True)

    def write(self, gradebook) -> GradeSheet:
        sheet = self.sheet(gradebook)
        dest = write_canvas(sheet, Path(self.to or "canvas_grades.csv"), {k: str(v) for k, v in self.assignment_ids.items()})
        self.log.info("Canvas gradebook CSV written to %s", dest)
        return sheet


class MoodleExportPlugin(_LmsExport):
    """Moodle grade import CSV (`nbgrader export --exporter=autograder.lms.MoodleExportPlugin`)."""
    id_field = Enum(list(MOODLE_FIELDS), default_value="email",
                    help="the Moodle user field the identifier column matches").tag(config=True)

    def write(self, gradebook) -> GradeSheet:
        sheet = self.sheet(gradebook)
        dest = write_moodle(sheet, Path(self.to or "moodle_grades.csv"), self.id_field)
        self.log.info("Moodle grade import CSV written to %s", dest)
        return sheet


PLUGINS = {"canvas": CanvasExportPlugin, "moodle": MoodleExportPlugin}
