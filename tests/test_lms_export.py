"""LMS exports (autograder.lms): the written files follow Canvas's and Moodle's documented import columns."""
import csv
import logging

import pytest
from nbgrader.api import Gradebook

from autograder.cli import main
from autograder.course import tools_on_path
from autograder.lms import CANVAS_IDENTITY, CanvasExportPlugin, MoodleExportPlugin

ASSIGNMENTS = {"01_types": 10.0, "02_creating": 5.0}
# student -> (first, last, email, {assignment: score}); dana is on the roster but never submitted anything
CLASS = {"alice": ("Alice", "Adams", "alice@uni.edu", {"01_types": 9.5, "02_creating": 5.0}),
         "bob": ("Bob", "Brown", "bob@uni.edu", {"01_types": 0.0}),
         "erin": ("Erin", "Evans", "erin@uni.edu", {"01_types": 7.0, "02_creating": 2.0})}
ROSTER = ("student_id,name,canvas_id,sis_user_id,sis_login_id,section,email,idnumber\n"
          "alice,\"Adams, Alice\",101,S001,alice,Sec A,alice@uni.edu,1001\n"
          "bob,\"Brown, Bob\",102,S002,bob,Sec A,bob@uni.edu,1002\n"
          "dana,\"Doe, Dana\",104,S004,dana,Sec B,dana@uni.edu,1004\n")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    tools_on_path()  # nbgrader's Gradebook runs alembic by name
    folder = tmp_path_factory.mktemp("gradebook")
    url = f"sqlite:///{folder / 'gradebook.db'}"
    with Gradebook(url) as gb:
        for name, points in ASSIGNMENTS.items():
            gb.add_assignment(name)
            gb.add_notebook("nb", name)
            gb.add_grade_cell("q", "nb", name, max_score=points, cell_type="code")
        for student, (first, last, email, scores) in CLASS.items():
            gb.add_student(student, first_name=first, last_name=last, email=email)
            for assignment, score in scores.items():
                gb.add_submission(assignment, student)
                gb.find_grade("q", "nb", assignment, student).auto_score = score
        gb.db.commit()
    (folder / "roster.csv").write_text(ROSTER)
    return url, folder


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def _export(plugin, url, **traits):
    with Gradebook(url) as gb:
        return plugin(**traits).write(gb)


def test_canvas_columns_points_row_and_empty_cells(db, tmp_path, caplog):
    url, folder = db
    out = tmp_path / "canvas.csv"
    with caplog.at_level(logging.WARNING):
        sheet = _export(CanvasExportPlugin, url, to=str(out), roster=str(folder / "roster.csv"),
                        assignment_ids={"01_types": "5551"})
    rows = _rows(out)
    header, points, body = rows[0], rows[1], rows[2:]
    assert header[:5] == CANVAS_IDENTITY == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert header[5:] == ["01_types (5551)", "02_creating"]
    assert points[0].strip() == "Points Possible" and points[1:5] == [""] * 4 and points[5:] == ["10", "5"]
    assert all(len(row) == len(header) for row in rows)
    by_id = {row[1]: row for row in body}
    assert set(by_id) == {"101", "102", "104"}  # the roster's students, with their Canvas ids; erin is not on it
    assert by_id["101"] == ["Adams, Alice", "101", "S001", "alice", "Sec A", "9.5", "5"]
    assert by_id["102"][5:] == ["0", ""]      # a real zero stays a zero, no submission is empty
    assert by_id["104"][5:] == ["", ""]       # missing from the gradebook: empty, never 0
    for row in body:
        for cell in row[5:]:
            assert cell == "" or float(cell) >= 0
    assert ("dana", "01_types") in sheet.missing and ("bob", "02_creating") in sheet.missing
    assert sheet.unlisted == ["erin"]
    assert "dana" in caplog.text and "erin" in caplog.text


@pytest.mark.parametrize("field, title, alice", [("email", "Email address", "alice@uni.edu"),
                                                 ("idnumber", "ID number", "1001")])
def test_moodle_identifier_column_and_one_column_per_item(db, tmp_path, field, title, alice):
    url, folder = db
    out = tmp_path / "moodle.csv"
    _export(MoodleExportPlugin, url, to=str(out), roster=str(folder / "roster.csv"), id_field=field)
    rows = _rows(out)
    assert rows[0] == [title, "01_types", "02_creating"]
    body = {row[0]: row[1:] for row in rows[1:]}
    assert len(rows) - 1 == len(body) == 3  # one row per roster student
    assert body[alice] == ["9.5", "5"]
    dana = "dana@uni.edu" if field == "email" else "1004"
    assert body[dana] == ["", ""]


def test_without_roster_the_gradebook_students_and_names(db, tmp_path):
    url, _ = db
    out = tmp_path / "canvas.csv"
    _export(CanvasExportPlugin, url, to=str(out))
    body = {row[0]: row for row in _rows(out)[2:]}
    assert set(body) == {"Adams, Alice", "Brown, Bob", "Evans, Erin"}
    assert body["Evans, Erin"][5:] == ["7", "2"]


def test_cli_export_lists_the_missing(db, tmp_path, capsys):
    url, folder = db
    out = tmp_path / "moodle.csv"
    assert main(["export", "--lms", "moodle", "--db-url", url, "--work", str(tmp_path), "--roster",
                 str(folder / "roster.csv"), "--id-field", "idnumber", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "dana" in printed and "01_types, 02_creating" in printed
    assert _rows(out)[0][0] == "ID number"


def test_nbgrader_export_loads_the_plugin(db, tmp_path):
    """`nbgrader export --exporter=autograder.lms.CanvasExportPlugin` resolves the class by its dotted name."""
    from nbgrader.apps.exportapp import ExportApp

    url, folder = db
    out = tmp_path / "from_nbgrader.csv"
    app = ExportApp()
    app.initialize(["--exporter=autograder.lms.CanvasExportPlugin", f"--to={out}", f"--db={url}",
                    f"--CanvasExportPlugin.roster={folder / 'roster.csv'}"])
    assert app.plugin_class is CanvasExportPlugin
    app.start()
    assert _rows(out)[0][:5] == CANVAS_IDENTITY


def test_roster_reads_lms_headers_as_an_lms_writes_them(tmp_path):
    from autograder.intake import read_roster, read_roster_entries

    path = tmp_path / "roster.csv"
    path.write_text("\ufeffStudent ID,Name,Canvas ID,SIS User ID,SIS Login ID,Section,Email Address,ID number\n"
                    "alice,\"Adams, Alice\",101,S001,alice01,A,alice@uni.edu,1001\nalice,dup,,,,,,\n\nbob,,,,,,,\n")
    alice, bob = read_roster_entries(path)
    assert (alice.student, alice.canvas_id, alice.sis_user_id, alice.sis_login_id, alice.section, alice.email,
            alice.idnumber) == ("alice", "101", "S001", "alice01", "A", "alice@uni.edu", "1001")
    assert bob.student == "bob" and bob.canvas_id == "" and read_roster(path) == ["alice", "bob"]
    (tmp_path / "plain.csv").write_text("carol\ndave\n")  # the intake's plain list of ids still reads
    assert read_roster(tmp_path / "plain.csv") == ["carol", "dave"]
