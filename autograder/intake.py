"""Intake: the submissions to grade, read safely, and downloads from Colab or an LMS mapped to students.

Submitted files are never followed through a symlink and never read when they are not regular
files or are too large. A folder or zip of notebooks downloaded from Colab or an LMS is mapped to
students by file name.

A file maps to (student, notebook) when its name, once the notebook's name and
download noise ("Copy of ", " (1)", LMS ids) are taken out, still starts with a
student id: `alice_types_of_embeddings.ipynb`, `types_of_embeddings - alice.ipynb`,
`alice.ipynb` (one-notebook assignments), `smithj_12345_67890_types_of_embeddings.ipynb`
(Canvas). Everything else is reported, never guessed.

Each entry of a zip is read on its own and bounded (streamed up to a byte cap; the sizes its headers
state are never trusted): one that cannot be read (a bad date, CRC or header, encrypted, an unsupported
compression, too large once decompressed, a name with control characters or a path that escapes) is
reported as that entry's failure, and every other entry is still mapped.
"""
import csv
import hashlib
import io
import logging
import os
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn

from .course import Course
from .records import NotebookFiles, Task

log = logging.getLogger(__name__)


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
    """The submission's timestamp.txt if it holds a time nbgrader can parse, else None.

    The student's side of nbgrader's exchange writes it: garbage in it made every write of the grade fail."""
    from nbgrader.utils import parse_utc

    text, _ = read_submission(course.submitted / student / assignment / "timestamp.txt")
    text = (text or "").strip()
    if not text or len(text) > 64 or not text.isprintable():
        return None
    try:
        parse_utc(text)
    except Exception:  # noqa: BLE001 - dateutil raises ParserError, ValueError, OverflowError...
        return None
    return text


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


@dataclass(frozen=True)
class RosterEntry:
    """One student of the roster: the grader's id, and what an LMS knows them by (empty when not given)."""
    student: str
    name: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    email: str = ""
    username: str = ""
    idnumber: str = ""


# Roster columns an LMS export may carry, by their header (lower case, punctuation and spaces as "_").
_ROSTER_FIELDS = {"name": "name", "canvas_id": "canvas_id", "sis_user_id": "sis_user_id",
                  "sis_login_id": "sis_login_id", "section": "section", "email": "email",
                  "email_address": "email", "username": "username", "idnumber": "idnumber", "id_number": "idnumber"}


def read_roster_entries(path: Path) -> list[RosterEntry]:
    """The roster CSV: the student id is the column named id, student or student_id, else the first column
    (then there is no header row); the LMS columns (name, canvas_id, sis_user_id, sis_login_id, section,
    email, username, idnumber) are read when present. A repeated id keeps its first row."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows:
        return []
    header = [re.sub(r"[^a-z0-9]+", "_", h.strip().lower()).strip("_") for h in rows[0]]
    column = next((header.index(h) for h in ("id", "student", "student_id") if h in header), None)
    fields = {_ROSTER_FIELDS[h]: i for i, h in enumerate(header) if h in _ROSTER_FIELDS} if column is not None else {}
    entries: dict[str, RosterEntry] = {}
    for row in rows[1:] if column is not None else rows:
        student = row[column or 0].strip() if len(row) > (column or 0) else ""
        if not student:
            continue
        if student in entries:
            log.warning("roster %s: student %r is listed twice, the first row is kept", path, student)
            continue
        entries[student] = RosterEntry(student, **{k: row[i].strip() for k, i in fields.items() if i < len(row)})
    return list(entries.values())


def read_roster(path: Path) -> list[str]:
    """Student ids from a roster CSV (read_roster_entries)."""
    return [entry.student for entry in read_roster_entries(path)]


@dataclass(frozen=True)
class Entry:
    """A file of the download that was read: its name as given, its bytes, and when it last changed."""
    name: str
    data: bytes
    mtime: datetime


@dataclass(frozen=True)
class Unread:
    """A file of the download that was not read, and why: its own failure, the other files still go on."""
    name: str
    reason: str


@dataclass
class _Budget:
    """Bytes a download may still decompress, all its entries together (kept or not)."""
    left: int


MAX_DOWNLOAD = 2 << 30  # bytes decompressed from one zip, all entries together: a zip of many bombs ends here
_CHUNK = 1 << 20
# What LMS and Colab downloads use. Not bzip2 or LZMA: an LZMA entry's header alone may ask for gigabytes.
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# What reading a damaged entry raises (zipfile, zlib, the file itself), named so that nothing else is hidden.
_DAMAGED = (zipfile.BadZipFile, EOFError, zlib.error, OSError, ValueError, RuntimeError)
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # the fixed part of a zip entry's local header
_ODD = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control and formatting codes, separators, unassigned
_JOINERS = "\u200c\u200d"  # zero-width (non-)joiners: part of names in some scripts


def collect(course: Course, assignment: str, path: Path, roster: list[str] | None = None,
            keep_newest: bool = False, skip_unmapped: bool = False) -> dict:
    """Copy the notebooks in folder or zip `path` into submitted/<student>/<assignment>/.

    Students are matched against `roster` when given (else the file name's first word is the id).
    Two files for one student, or a file for no one, stop the intake with the full list, unless
    `keep_newest` / `skip_unmapped` say what to do. A file that cannot be read (a symlink, a special
    file, a damaged, encrypted or oversized zip entry, a name that escapes) is reported and the others
    go on. Returns {"mapped": [(file, student, notebook)], "unmapped": [(file, reason)]}.
    """
    outcomes = _read_download(Path(path))
    unread = [(_shown(o.name), o.reason) for o in outcomes if isinstance(o, Unread)]
    entries = [o for o in outcomes if isinstance(o, Entry)]
    by_key, unmapped = _by_student(entries, course.notebooks(assignment), roster)
    chosen, older, collisions = _choose(by_key, keep_newest)
    report = {"mapped": [], "unmapped": unread + unmapped + older}
    problems = ([] if skip_unmapped else [f"{name}: {why}" for name, why in unmapped]) + collisions
    if problems:
        raise IntakeRefused(report, [f"{name}: {why}" for name, why in unread] + problems + [
            "use --roster to match full names, --keep-newest to keep the newest of several files, "
            "--skip-unmapped to leave out files that match no one"])
    report["mapped"] = _store(course, assignment, chosen)
    return report


def _read_download(path: Path) -> list[Entry | Unread]:
    if path.is_dir():
        return _read_folder(path)
    if path.is_file() and zipfile.is_zipfile(path):
        return _read_zip(path)
    raise IntakeRefused({"mapped": [], "unmapped": [(_shown(path.name), "neither a folder nor a zip: not read")]},
                        [f"{_shown(str(path))}: neither a folder nor a zip (a damaged or partial download?)"])


def _read_folder(path: Path) -> list[Entry | Unread]:
    outcomes: list[Entry | Unread] = []
    for file in sorted(path.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in file.parts:
            continue
        name = str(file.relative_to(path))
        text, problem = read_submission(file)
        if text is None:
            outcomes.append(Unread(name, problem or "not read"))
        else:
            outcomes.append(Entry(name, text.encode(), datetime.fromtimestamp(file.lstat().st_mtime, timezone.utc)))
    return outcomes


def _read_zip(path: Path) -> list[Entry | Unread]:
    """Each notebook entry of a zip read on its own: one that cannot be read is that entry's failure alone."""
    budget = _Budget(MAX_DOWNLOAD)
    with open(path, "rb") as raw:
        archive, faults = _open_zip(path, raw)
        with archive:
            outcomes = [Unread(info.orig_filename, faults[i]) if i in faults else _zip_entry(archive, raw, info, budget)
                        for i, info in enumerate(archive.infolist()) if _is_notebook(info)]
    for unread in (o for o in outcomes if isinstance(o, Unread)):
        log.info("intake: %s: %s", _shown(unread.name), unread.reason)
    return outcomes


def _open_zip(path: Path, raw) -> tuple[zipfile.ZipFile, dict[int, str]]:
    """The zip, and why each entry (by its place in the directory) that zipfile cannot even list is not read.

    zipfile gives up on the whole zip for one record it cannot parse (a name that is not the UTF-8 it claims,
    a newer format version, a damaged extra field): those records are found here and made parseable in
    memory, so that the other entries are still read.
    """
    try:
        return zipfile.ZipFile(path), {}
    except _DAMAGED as error:
        faults = _directory_faults(raw)
        if not faults:
            _refuse_zip(path, error)
    patches = {at: data for fault in faults.values() for at, data in fault.patches.items()}
    try:
        return zipfile.ZipFile(_Patched(raw, patches)), {i: fault.reason for i, fault in faults.items()}
    except _DAMAGED as error:
        _refuse_zip(path, error)


def _refuse_zip(path: Path, error: BaseException) -> NoReturn:
    """Its directory, not one entry, cannot be read: there is no list of files to go on with."""
    log.info("intake: %s is not a readable zip: %r", _shown(path.name), error)
    report = {"mapped": [], "unmapped": [(_shown(path.name), "not a readable zip: nothing in it was read")]}
    raise IntakeRefused(report, [f"{_shown(path.name)}: not a readable zip ({_damage(error)})"]) from None


@dataclass(frozen=True)
class _Fault:
    """A directory record zipfile cannot parse: why, and the bytes (file offset: bytes) that make it parse."""
    reason: str
    patches: dict[int, bytes]


_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # a central directory record's fixed part (zipfile's structCentralDir)


def _directory_faults(raw) -> dict[int, _Fault]:
    """The records of the zip's directory that zipfile cannot parse, by their place in the directory."""
    located = _find_directory(raw)
    if located is None:
        return {}
    start, directory = located
    faults, at, index = {}, 0, 0
    while at + _CENTRAL.size <= len(directory) and directory.startswith(b"PK\x01\x02", at):
        fields = _CENTRAL.unpack_from(directory, at)
        name_end = at + _CENTRAL.size + fields[12]
        fault = _record_fault(start + at, fields, directory[at + _CENTRAL.size:name_end],
                              directory[name_end:name_end + fields[13]])
        if fault:
            faults[index] = fault
        at, index = name_end + fields[13] + fields[14], index + 1
    return faults


def _find_directory(raw) -> tuple[int, bytes] | None:
    """(file offset, bytes) of the zip's central directory, found the way zipfile finds it; None for zip64."""
    size = raw.seek(0, os.SEEK_END)
    tail_at = raw.seek(max(0, size - 22 - 0xFFFF))
    tail = raw.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) - end < 22:
        return None
    length, offset = struct.unpack_from("<LL", tail, end + 12)
    start = tail_at + end - length  # where it is, whatever its stated offset (data before the zip)
    if 0xFFFFFFFF in (length, offset) or start < 0:
        return None
    raw.seek(start)
    return start, raw.read(length)


def _record_fault(at: int, fields: tuple, name: bytes, extra: bytes) -> _Fault | None:
    """Why zipfile cannot parse the directory record at file offset `at`, and the patch; None when it can."""
    version, flags, name_end = fields[3], fields[5], at + _CENTRAL.size + len(name)
    checks = [
        (flags & 0x800 and not _is_utf8(name), "a file name that is not the UTF-8 its header says",
         {at + 8: struct.pack("<H", flags & ~0x800)}),
        (version > zipfile.MAX_EXTRACT_VERSION, f"made for a newer zip format (version {version / 10:.1f})",
         {at + 6: bytes([20])}),
        (_extra_damaged(extra, fields[11], fields[10], fields[18]), "a damaged extra field in its header",
         {name_end: struct.pack("<HH", 0, max(len(extra) - 4, 0))}),  # one field of an unknown kind: skipped
    ]
    found = [(reason, patch) for bad, reason, patch in checks if bad]
    if not found:
        return None
    return _Fault(f"{found[0][0]}: not read", {k: v for _, patch in found for k, v in patch.items()})


def _extra_damaged(extra: bytes, size: int, compressed: int, offset: int) -> bool:
    """An extra field zipfile would refuse: a length past its end, a zip64 field short of the sizes it holds."""
    while len(extra) >= 4:
        kind, length = struct.unpack_from("<HH", extra)
        data, extra = extra[4:4 + length], extra[4 + length:]
        wanted = 8 * sum(v == 0xFFFFFFFF for v in (size, compressed, offset)) if kind == 0x0001 else 0
        unicode_path_ok = kind != 0x7075 or (len(data) >= 5 and _is_utf8(data[5:]))  # zipfile >= 3.12 reads it
        if len(data) < max(length, wanted) or not unicode_path_ok:
            return True
    return False


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Patched(io.RawIOBase):
    """A zip file read with a few bytes of its directory changed in memory; the file itself is never written."""

    def __init__(self, raw, patches: dict[int, bytes]):
        super().__init__()
        self._raw, self._patches = raw, patches

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def readinto(self, buffer) -> int:
        start = self._raw.tell()
        count = self._raw.readinto(buffer)
        for at, data in self._patches.items():
            for i in range(max(at, start), min(at + len(data), start + count)):
                buffer[i - start] = data[i - at]
        return count


def _is_notebook(info: zipfile.ZipInfo) -> bool:
    name = info.orig_filename  # "x.ipynb\0.txt" is a notebook to report, not "x.ipynb" to read
    return name.endswith(".ipynb") and not info.is_dir() and "__MACOSX" not in name


def _zip_entry(archive: zipfile.ZipFile, raw, info: zipfile.ZipInfo, budget: _Budget) -> Entry | Unread:
    name = info.orig_filename  # before zipfile cuts it at a NUL byte
    mtime = _zip_time(info)
    problem = _entry_problem(info) or _local_header_problem(raw, info)
    if problem or mtime is None:
        return Unread(name, problem or "its date is not a date ({:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}): "
                                       "not read".format(*info.date_time))
    limit = min(MAX_NOTEBOOK, budget.left)
    try:
        data = _read_bounded(archive, info, limit)
    except _DAMAGED as error:
        log.debug("intake: %s: %r", _shown(name), error)
        return Unread(name, f"damaged ({_damage(error)}): not read")
    budget.left -= len(data)
    if len(data) > limit:
        return Unread(name, f"larger than {MAX_NOTEBOOK >> 20} MiB once decompressed: not read" if limit == MAX_NOTEBOOK
                      else f"the download's {MAX_DOWNLOAD >> 20} MiB of notebooks are used up: not read")
    if len(data) != info.file_size:
        return Unread(name, "its size is not the one its header says: not read")
    return Entry(name, data, mtime)


def _zip_time(info: zipfile.ZipInfo) -> datetime | None:
    try:
        return datetime(*info.date_time, tzinfo=timezone.utc)
    except ValueError:  # month 0, day 0, hour 31, ...: zipfile decodes the fields without checking them
        return None


def _entry_problem(info: zipfile.ZipInfo) -> str:
    """Why an entry is not read, from the zip's directory alone ("" when it may be read)."""
    if info.flag_bits & 0x1:
        return "encrypted (password-protected): not read"
    if info.compress_type not in _METHODS:
        return f"compression method {info.compress_type} (only stored or deflated are read): not read"
    if (info.external_attr >> 16) & 0o170000 not in (0, 0o100000):
        return "not a regular file (a symlink?): not read"
    if info.file_size > MAX_NOTEBOOK:
        return f"larger than {MAX_NOTEBOOK >> 20} MiB: not read"
    return _name_problem(info.orig_filename)


def _name_problem(name: str) -> str:
    if any(unicodedata.category(c) in _ODD and c not in _JOINERS for c in name):
        return "control or formatting characters in the file name: not read"
    parts = name.replace("\\", "/").split("/")
    if parts[0] == "" or re.match(r"[A-Za-z]:", parts[0]) or ".." in parts:
        return "a path that leaves the download (absolute or ..): not read"
    return ""


def _local_header_problem(raw, info: zipfile.ZipInfo) -> str:
    """The entry's own header must agree with the zip's directory: two readers of one zip never see two files."""
    raw.seek(info.header_offset)
    block = raw.read(_LOCAL_HEADER.size)
    if len(block) != _LOCAL_HEADER.size or block[:4] != b"PK\x03\x04":
        return "no entry where the zip's directory says: not read"
    _, _, _, flags, method, _, _, crc, compressed, size, _, _ = _LOCAL_HEADER.unpack(block)
    if method != info.compress_type or (flags & 0x1) != (info.flag_bits & 0x1):
        return "its header and the zip's directory disagree (compression or encryption): not read"
    if flags & 0x8 or 0xFFFFFFFF in (compressed, size):  # sizes after the data, or in a zip64 field
        return ""
    if (crc, compressed, size) != (info.CRC, info.compress_size, info.file_size):
        return "its header and the zip's directory disagree (size or checksum): not read"
    return ""


def _read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """At most `limit` + 1 bytes of an entry, streamed: whatever its headers say, no more is decompressed."""
    chunks, total = [], 0
    with archive.open(info) as stream:
        while total <= limit and (chunk := stream.read(min(_CHUNK, limit + 1 - total))):
            chunks.append(chunk)
            total += len(chunk)
    return b"".join(chunks)


def _damage(error: BaseException) -> str:
    """A short, fixed description of what was wrong (error messages may quote the student's file name)."""
    if isinstance(error, zipfile.BadZipFile):
        return "checksum does not match" if "CRC" in str(error) else "bad header"
    if isinstance(error, (EOFError, zlib.error)):
        return "compressed data truncated or corrupt"
    if isinstance(error, OSError):
        return "unreadable"
    return type(error).__name__


def _by_student(entries: list[Entry], notebooks: list[str],
                roster: list[str] | None) -> tuple[dict[tuple[str, str], list[Entry]], list[tuple[str, str]]]:
    """Files grouped by (student, notebook), and (file, reason) for each file that maps to no one."""
    by_key: dict[tuple[str, str], list[Entry]] = {}
    unmapped = []
    for entry in entries:
        stem = Path(entry.name).stem
        student, notebook, why = (_roster_student(stem, notebooks, roster) if roster is not None
                                  else _student_of(stem, notebooks))
        if student and notebook:
            by_key.setdefault((student, notebook), []).append(entry)
        else:
            unmapped.append((_shown(entry.name), why or "no notebook of the assignment in the file name"))
    return by_key, unmapped


def _choose(by_key: dict[tuple[str, str], list[Entry]],
            keep_newest: bool) -> tuple[dict[tuple[str, str], Entry], list[tuple[str, str]], list[str]]:
    """The newest file of each (student, notebook); the older ones (with keep_newest) or collisions (without)."""
    chosen, older, collisions = {}, [], []
    for (student, notebook), files in by_key.items():
        files = sorted(files, key=lambda e: e.mtime)
        chosen[student, notebook] = newest = files[-1]
        if len(files) == 1:
            continue
        if keep_newest:
            older += [(_shown(f.name), f"another file for {student}/{notebook} is newer ({_shown(newest.name)}): "
                                       "kept that one") for f in files[:-1]]
        else:
            collisions.append(f"{len(files)} files map to student {student} ({notebook}): "
                              + ", ".join(_shown(f.name) for f in files))
    return chosen, older, collisions


def _store(course: Course, assignment: str, chosen: dict[tuple[str, str], Entry]) -> list[tuple[str, str, str]]:
    mapped = []
    for (student, notebook), entry in sorted(chosen.items()):
        folder = course.submitted / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{notebook}.ipynb"
        if target.is_symlink():
            target.unlink()
        if not target.is_file() or target.read_bytes() != entry.data:
            target.write_bytes(entry.data)
            (folder / "timestamp.txt").write_text(entry.mtime.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        mapped.append((_shown(entry.name), student, notebook))
    return mapped


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
