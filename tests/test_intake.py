"""Intake of a Colab/LMS download (`grade --from downloads.zip`): one bad zip entry is that entry's failure alone.

Each zip is built here with zipfile, then its bytes are patched (struct) in the entry's local header,
the zip's central directory or both, the way a broken exporter or a hand-made zip would have them.
No kernel and no nbgrader: the course is only a source notebook, which is all the intake reads.
"""
import csv
import struct
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import intake
from autograder.course import Course
from autograder.intake import IntakeRefused, collect, write_report

from adversarial import tiny_course as tc

WHEN = (2024, 5, 1, 12, 0, 0)
NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n' + b" " * 2000
# (offset, struct format) of a field in an entry's local header / central directory record
LOCAL = {"flags": (6, "<H"), "method": (8, "<H"), "time": (10, "<H"), "date": (12, "<H"), "crc": (14, "<L"), "csize": (18, "<L"),
         "usize": (22, "<L")}
CENTRAL = {"flags": (8, "<H"), "method": (10, "<H"), "time": (12, "<H"), "date": (14, "<H"), "crc": (16, "<L"), "csize": (20, "<L"),
           "usize": (24, "<L"), "mode": (38, "<L")}


@pytest.fixture
def course(tmp_path) -> Course:
    """A course with the tiny assignment's source notebook only (no release: the intake reads no more)."""
    folder = tmp_path / "course" / "solutions" / tc.ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(tc.source_notebook(), folder / f"{tc.NOTEBOOK}.ipynb")
    return Course(tmp_path / "course", work=tmp_path / "grading")


def make_zip(path: Path, names: list[str], data: bytes = NOTEBOOK) -> bytearray:
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(zipfile.ZipInfo(name, date_time=WHEN), data, compress_type=zipfile.ZIP_DEFLATED)
    return bytearray(path.read_bytes())


def records(blob: bytearray, name: str) -> tuple[int, int]:
    """(local header offset, central directory record offset) of the entry named `name`."""
    encoded = name.encode()
    central = next(i for i in range(len(blob)) if blob.startswith(b"PK\x01\x02", i)
                   and blob[i + 46:i + 46 + struct.unpack_from("<H", blob, i + 28)[0]] == encoded)
    return struct.unpack_from("<L", blob, central + 42)[0], central


def patch(blob: bytearray, name: str, where: str = "both", **fields) -> None:
    """Set header fields of one entry; a callable value gets the old value."""
    local, central = records(blob, name)
    for table, base in ((LOCAL, local), (CENTRAL, central)):
        if where != "both" and (table is LOCAL) != (where == "local"):
            continue
        for field, value in fields.items():
            if field in table:
                offset, fmt = table[field]
                old = struct.unpack_from(fmt, blob, base + offset)[0]
                struct.pack_into(fmt, blob, base + offset, value(old) if callable(value) else value)


def run(course: Course, path: Path, **options) -> tuple[dict, dict[str, list[str]]]:
    """Intake with the given options; the report and intake_report.csv by file name."""
    report = collect(course, tc.ASSIGNMENT, path, **options)
    with open(write_report(course, report), newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["file", "student", "notebook", "problem"]
    return report, {row[0]: row[1:] for row in rows[1:]}


def mapped(report: dict) -> list[str]:
    return sorted(student for _, student, _ in report["mapped"])


GOOD = ["alice_tiny.ipynb", "bob_tiny.ipynb"]
BAD = {  # file name: (how its bytes are patched, what the report says)
    "carol_tiny.ipynb": ({"date": 0}, "its date is not a date (1980-00-00"),  # month 0, day 0
    "dave_tiny.ipynb": ({"where": "local", "usize": lambda v: v - 100, "csize": lambda v: v - 10},
                        "its header and the zip's directory disagree (size or checksum)"),
    "erin_tiny.ipynb": ({"where": "local", "csize": lambda v: v + 5000},
                        "its header and the zip's directory disagree (size or checksum)"),
    "frank_tiny.ipynb": ({"usize": lambda v: v - 100}, "damaged (checksum does not match)"),
    "grace_tiny.ipynb": ({"usize": lambda v: v + 100}, "its size is not the one its header says"),
    "heidi_tiny.ipynb": ({"crc": lambda v: v ^ 1}, "damaged (checksum does not match)"),
    "ivan_tiny.ipynb": ({"flags": lambda v: v | 1}, "encrypted (password-protected)"),
    "judy_tiny.ipynb": ({"method": 99}, "compression method 99 (only stored or deflated are read)"),
    "trudy_tiny.ipynb": ({"time": 0xFFFF}, "its date is not a date (2024-05-01 31:63:62)"),
    "mallory_tiny.ipynb": ({"where": "central", "csize": lambda v: v + 5000},
                           "its header and the zip's directory disagree (size or checksum)"),
    "oscar_tiny.ipynb": ({"where": "central", "mode": 0o120777 << 16}, "not a regular file (a symlink?)"),
}


def test_bad_entries_are_reported_and_the_others_mapped(course, tmp_path):
    path = tmp_path / "downloads.zip"
    names = ["alice_tiny.ipynb", *BAD, "bob_tiny.ipynb"]
    blob = make_zip(path, names)
    for name, (fields, _) in BAD.items():
        patch(blob, name, **fields)
    path.write_bytes(blob)
    report, rows = run(course, path)
    assert mapped(report) == ["alice", "bob"]
    assert (course.submitted / "alice" / tc.ASSIGNMENT / "tiny.ipynb").read_bytes() == NOTEBOOK
    assert (course.submitted / "bob" / tc.ASSIGNMENT / "timestamp.txt").read_text().startswith("2024-05-01 12:00:00")
    for name, (_, reason) in BAD.items():
        assert name in rows, (name, rows)
        assert rows[name][:2] == ["", ""] and rows[name][2].startswith(reason) and rows[name][2].endswith("not read")
        assert not (course.submitted / name.split("_")[0]).exists()


def test_zip_bomb_stops_at_the_cap_and_at_the_download_budget(course, tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "MAX_NOTEBOOK", 1 << 20)
    path = tmp_path / "downloads.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("alice_tiny.ipynb", WHEN), NOTEBOOK, zipfile.ZIP_DEFLATED)
        zf.writestr(zipfile.ZipInfo("bomb_tiny.ipynb", WHEN), b"\0" * (2 << 20), zipfile.ZIP_DEFLATED)
        zf.writestr(zipfile.ZipInfo("liar_tiny.ipynb", WHEN), b"\0" * (2 << 20), zipfile.ZIP_DEFLATED)
        zf.writestr(zipfile.ZipInfo("bob_tiny.ipynb", WHEN), NOTEBOOK, zipfile.ZIP_DEFLATED)
    blob = bytearray(path.read_bytes())
    patch(blob, "liar_tiny.ipynb", usize=1000)  # says 1000 bytes: no more than that is ever decompressed
    path.write_bytes(blob)
    report, rows = run(course, path)
    assert mapped(report) == ["alice", "bob"]
    assert rows["bomb_tiny.ipynb"][2] == "larger than 1 MiB: not read"
    assert rows["liar_tiny.ipynb"][2] == "damaged (checksum does not match): not read"

    monkeypatch.setattr(intake, "MAX_DOWNLOAD", len(NOTEBOOK) + 10)  # alice's file, then nothing more
    report, rows = run(course, path)
    assert mapped(report) == ["alice"]
    assert rows["bob_tiny.ipynb"][2] == "the download's 0 MiB of notebooks are used up: not read"


def test_names_that_escape_or_hide_characters_are_not_read(course, tmp_path):
    odd = ["../mallory_tiny.ipynb", "/etc/oscar_tiny.ipynb", "C:\\temp\\peggy_tiny.ipynb", "x/../../trent_tiny.ipynb",
           "\x1b[2J\x1b[31mvictor_tiny.ipynb", "walter_tiny\u202egnp.ipynb", "=HYPERLINK(\"x\")_tiny\x07.ipynb",
           "zoe_tinyN.txt.ipynb"]
    path = tmp_path / "downloads.zip"
    blob = make_zip(path, [*GOOD, *odd, "sub folder/Copy of chloé_tiny (1).ipynb"])
    local, central = records(blob, "zoe_tinyN.txt.ipynb")  # a NUL byte: zipfile would show "zoe_tiny"
    for base in (local + 30, central + 46):
        blob[base + len("zoe_tiny")] = 0
    path.write_bytes(blob)
    report, rows = run(course, path)
    assert mapped(report) == ["alice", "bob", "chlo"]  # the student id is the ASCII letters of the name
    problems = [problem for _, _, problem in rows.values() if problem]
    assert sorted(problems) == sorted(
        ["a path that leaves the download (absolute or ..): not read"] * 4
        + ["control or formatting characters in the file name: not read"] * 4)
    cells = [cell for row in rows.items() for cell in (row[0], *row[1])]
    assert not any(c[:1] in ("=", "+", "-", "@") or any(ord(ch) < 32 or ch == "\u202e" for ch in c) for c in cells), cells
    assert "'=HYPERLINK(\"x\")_tiny\ufffd.ipynb" in rows


def test_records_zipfile_cannot_even_list_are_reported_alone(course, tmp_path):
    """zipfile gives up on the whole zip for one such record: the intake reads around it."""
    path = tmp_path / "downloads.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name in [*GOOD, "carolé_tiny.ipynb", "dave_tiny.ipynb", "erin_tiny.ipynb", "frank_tiny.ipynb"]:
            info = zipfile.ZipInfo(name, WHEN)
            info.extra = struct.pack("<HH4s", 0xCAFE, 4, b"abcd")
            zf.writestr(info, NOTEBOOK, zipfile.ZIP_DEFLATED)
    blob = bytearray(path.read_bytes())
    _, carol = records(blob, "carolé_tiny.ipynb")
    _, dave = records(blob, "dave_tiny.ipynb")
    _, erin = records(blob, "erin_tiny.ipynb")
    _, frank = records(blob, "frank_tiny.ipynb")
    blob[carol + 46 + 5:carol + 46 + 7] = b"\xff\xfe"  # "é" becomes bytes that are no UTF-8, flagged UTF-8
    struct.pack_into("<HH", blob, dave + 46 + len("dave_tiny.ipynb"), 0xCAFE, 200)  # runs past its end
    blob[erin + 6] = 99  # version 9.9 of the format
    struct.pack_into("<HH", blob, frank + 46 + len("frank_tiny.ipynb"), 0x0001, 4)  # zip64, 4 bytes for 8
    patch(blob, "frank_tiny.ipynb", where="central", usize=0xFFFFFFFF)
    path.write_bytes(blob)
    report, rows = run(course, path)
    assert mapped(report) == ["alice", "bob"]
    assert sorted(problem for _, _, problem in rows.values() if problem) == [
        "a damaged extra field in its header: not read", "a damaged extra field in its header: not read",
        "a file name that is not the UTF-8 its header says: not read", "made for a newer zip format (version 9.9): not read"]
    assert path.read_bytes() == blob  # patched in memory only


def test_a_bad_entry_never_stops_the_class_but_is_listed_when_something_else_does(course, tmp_path):
    path = tmp_path / "downloads.zip"
    blob = make_zip(path, [*GOOD, "carol_tiny.ipynb", "Copy of tiny (1).ipynb"])
    patch(blob, "carol_tiny.ipynb", date=0, time=0xFFFF)
    path.write_bytes(blob)
    with pytest.raises(IntakeRefused) as refused:  # a file for no one still needs the instructor's word
        collect(course, tc.ASSIGNMENT, path)
    assert "carol_tiny.ipynb: its date is not a date" in str(refused.value)
    assert "Copy of tiny (1).ipynb: no student name left" in str(refused.value)
    assert not course.submitted.exists()
    report, rows = run(course, path, skip_unmapped=True)
    assert mapped(report) == ["alice", "bob"] and rows["carol_tiny.ipynb"][2].startswith("its date is not a date")


def test_a_folder_with_a_symlink_is_still_graded(course, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in GOOD:
        (inbox / name).write_bytes(NOTEBOOK)
    (inbox / "eve_tiny.ipynb").symlink_to(course.source / tc.ASSIGNMENT / "tiny.ipynb")
    report, rows = run(course, inbox)
    assert mapped(report) == ["alice", "bob"]
    assert rows["eve_tiny.ipynb"][2] == "not a regular file (a symlink?): not read"
    assert not (course.submitted / "eve").exists()


def test_a_download_that_is_no_zip_is_refused_with_a_report(course, tmp_path):
    path = tmp_path / "downloads.zip"
    blob = make_zip(path, GOOD)
    _, central = records(blob, "bob_tiny.ipynb")
    blob[central:central + 4] = b"PK\x09\x09"  # its directory is damaged: there is no list of entries
    path.write_bytes(blob)
    with pytest.raises(IntakeRefused, match="not a readable zip"):
        collect(course, tc.ASSIGNMENT, path)
    path.write_bytes(blob[:200])  # a partial download: no zip at all
    with pytest.raises(IntakeRefused, match="neither a folder nor a zip"):
        collect(course, tc.ASSIGNMENT, path)
    assert not course.submitted.exists()


def test_intake_maps_files_to_students(tmp_path):
    course = tc.make_course(tmp_path / "course")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    nb = tc.release_notebook(course)
    for name in ("alice_tiny.ipynb", "tiny - bob.ipynb", "Copy of tiny (1).ipynb"):
        nbformat.write(nb, inbox / name)
    from autograder.intake import collect

    with pytest.raises(IntakeRefused, match=r"Copy of tiny \(1\)\.ipynb"):  # a file for no one stops the intake
        collect(course, tc.ASSIGNMENT, inbox)
    assert not course.submitted.exists()
    report = collect(course, tc.ASSIGNMENT, inbox, skip_unmapped=True)
    assert sorted(s for _, s, _ in report["mapped"]) == ["alice", "bob"]
    assert [name for name, _ in report["unmapped"]] == ["Copy of tiny (1).ipynb"]
    assert (course.submitted / "alice" / tc.ASSIGNMENT / "tiny.ipynb").is_file()


def test_intake_report_never_echoes_a_file_name_raw(tmp_path):
    """A student names the file: no spreadsheet formula in the CSV, no escape codes on the instructor's terminal."""
    from autograder.intake import write_report

    course = tc.make_course(tmp_path / "course")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ('=HYPERLINK("x.invalid","open") tiny.ipynb', "@SUM(1) alice_tiny.ipynb", "\x1b[;=\x07.ipynb"):
        nbformat.write(tc.release_notebook(course), inbox / name)
    with pytest.raises(IntakeRefused) as refused:  # the last maps to no one
        collect(course, tc.ASSIGNMENT, inbox)
    assert "\x1b" not in str(refused.value)
    import csv
    for report in (refused.value.report, collect(course, tc.ASSIGNMENT, inbox, skip_unmapped=True)):
        rows = list(csv.reader(open(write_report(course, report), newline="")))
        assert not any(cell[:1] in ("=", "+", "-", "@") or "\x1b" in cell for row in rows for cell in row), rows
    assert len(rows) == 4


def test_intake_refuses_collisions_and_symlinks(tmp_path):
    """Two Moodle files of two Danas never merge into one student; a symlink is never followed."""
    course = tc.make_course(tmp_path / "course")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    nb = tc.release_notebook(course)
    nbformat.write(nb, inbox / "Dana Smith_123_assignsubmission_file_tiny.ipynb")
    nbformat.write(nb, inbox / "Dana Jones_456_assignsubmission_file_tiny.ipynb")
    (inbox / "eve_tiny.ipynb").symlink_to(course.source / tc.ASSIGNMENT / "tiny.ipynb")
    with pytest.raises(IntakeRefused) as refused:
        collect(course, tc.ASSIGNMENT, inbox)
    text = str(refused.value)
    assert "2 files map to student dana" in text and "eve_tiny.ipynb: not a regular file" in text
    report = collect(course, tc.ASSIGNMENT, inbox, roster=["dana_smith", "dana_jones", "eve"], skip_unmapped=True)
    assert sorted(s for _, s, _ in report["mapped"]) == ["dana_jones", "dana_smith"]
    assert not (course.submitted / "eve").exists()
