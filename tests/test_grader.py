"""The grading pipeline end to end: adversarial corpus, sandbox, exactly-once batches, nbgrader interop.

Everything runs through a real Dask LocalCluster, real sandboxed kernels and
nbgrader's real gradebook, on a tiny purpose-built assignment (tests/adversarial)
so the whole file takes a few minutes on two cores.
"""
import ctypes
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

from autograder import leftovers
from autograder.executor import Limits
from autograder.gradebook import LEDGER, summaries
from autograder.pipeline import grade
from autograder.sandbox import _UID_BASE, can_isolate

from adversarial import corpus
from adversarial import tiny_course as tc

pytestmark = pytest.mark.slow

LIMITS = Limits(cell_timeout=6, notebook_timeout=90, mem_limit=int(3.5 * 2**30), threads=1)
QUIET = {"progress": False, "log": lambda *_: None, "preload_models": False}
needs_root = [pytest.mark.root,
              pytest.mark.skipif(not can_isolate(), reason="the full sandbox needs root (namespaces, chroot, uids)")]


SANDBOX_UIDS = range(_UID_BASE, _UID_BASE + 4000)
ISOLATED_ONLY = ("read_solutions_from_disk", "write_gradebook", "network", "fork_bomb", "shm_b_read_note")


def _sandbox_processes():
    return leftovers.processes(SANDBOX_UIDS)


@pytest.fixture(scope="module")
def corpus_graded(tmp_path_factory):
    """The adversarial corpus (78 submissions) graded once through the real pipeline, shared by this file's
    tests. Slow (about 90 s): every attack needs its own sandboxed kernel and examiner."""
    course = tc.make_course(tmp_path_factory.mktemp("tiny"))
    expected = corpus.build(course)
    saved = {k: os.environ.get(k) for k in ("DB_URL", "AUTOGRADER_SCRATCH")}
    os.environ["DB_URL"] = f"postgresql://grader:{corpus.SECRET}@db.invalid/course"  # must never reach a kernel
    scratch = tempfile.mkdtemp(prefix="ag-corpus-", dir="/var/tmp")  # this batch's sandboxes only
    os.chmod(scratch, 0o755)
    os.environ["AUTOGRADER_SCRATCH"] = scratch
    try:
        report = grade(course, jobs=2, limits=LIMITS, **QUIET)
        report["scratch"] = scratch
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.update({key: value})
    by_student = {s["student"]: s for s in summaries(course)}
    yield course, expected, report, by_student
    shutil.rmtree(scratch, ignore_errors=True)


def _mismatches(student: str, score, flag, results) -> list[str]:
    """How one graded submission differs from the corpus's expectation (score, flag pattern)."""
    got = results[student]
    reasons = [reason for _, reason in got["flags"]]
    wrong = []
    if got["score"] != score:
        wrong.append(f"{student}: score {got['score']}, expected {score} (flags: {reasons})")
    if flag is None and reasons and not all("isolation" in r for r in reasons):
        wrong.append(f"{student}: unexpected flags {reasons}")
    if flag not in (None, "any") and not any(re.search(flag, r) for r in reasons):
        wrong.append(f"{student}: no flag matching {flag!r} in {reasons}")
    return wrong


def test_corpus_scores_and_flags(corpus_graded):
    course, expected, report, results = corpus_graded
    assert not report["errors"], report["errors"]
    wrong = [line for student, (score, flag) in expected.items() if student not in ISOLATED_ONLY
             for line in _mismatches(student, score, flag, results)]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("student", [pytest.param(student, marks=needs_root) for student in ISOLATED_ONLY])
def test_attacks_only_the_full_sandbox_stops(corpus_graded, student):
    """Attacks that only the namespaces, chroot and uids stop: without root each is reported as skipped (-ra)."""
    _, expected, _, results = corpus_graded
    assert student in expected, f"{student} is no longer in the adversarial corpus"
    wrong = _mismatches(student, *expected[student], results)
    assert not wrong, "\n".join(wrong)


def test_kernel_death_keeps_earlier_points_and_names_the_cell(corpus_graded):
    _, _, _, results = corpus_graded
    for student in ("os_exit", "segfault", "ignores_interrupt"):
        tests = {t["grade_id"]: t for t in results[student]["notebooks"][tc.NOTEBOOK]["tests"]}
        assert tests["test_square"]["passed"], student
        assert tests["test_double"]["status"] == "not-run", student
        assert "kernel died" in tests["test_double"]["message"], student


@pytest.mark.root
@pytest.mark.skipif(not can_isolate(), reason="the full sandbox needs root (namespaces, chroot, uids)")
def test_sandbox_kept_files_network_and_processes_safe(corpus_graded):
    course, _, _, results = corpus_graded
    assert not (course.work / "pwned.txt").exists(), "student code wrote into the grading folder"
    autograded = (course.autograded / "read_solutions_from_disk" / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.ipynb").read_text()
    assert "cannot read" in autograded and "FileNotFoundError" in autograded
    net = nbformat.read(course.autograded / "network" / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in net.cells if c.cell_type == "code" for o in c.outputs)
    assert "no network" in printed and "NETWORK REACHABLE" not in printed
    with sqlite3.connect(course.db_url.replace("sqlite:///", "")) as db:
        assert db.execute("SELECT max(auto_score) FROM grade").fetchone()[0] <= 1
    assert not _sandbox_processes(), "processes of a sandbox outlived its grading (fork bomb?)"
    procs = nbformat.read(course.autograded / "list_host_processes" / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in procs.cells if c.cell_type == "code" for o in c.outputs)
    assert "no host process" in printed and "HOST PROCESS VISIBLE" not in printed, printed
    visible = int(re.search(r"visible processes: (\d+)", printed).group(1))
    assert visible < 10, f"{visible} processes visible from a kernel"
    assert not os.path.exists(f"/dev/shm/{corpus.SHM_MARKER}"), "a file written to the sandbox's /dev/shm is visible outside"
    env = nbformat.read(course.autograded / "read_secrets_from_environ" / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in env.cells if c.cell_type == "code" for o in c.outputs)
    assert "no secret" in printed and "SECRET VISIBLE" not in printed


def _printed(course, student: str) -> str:
    nb = nbformat.read(course.autograded / student / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.root
@pytest.mark.skipif(not can_isolate(), reason="the full sandbox needs root (namespaces, chroot, uids)")
def test_ipc_hostname_and_descriptors_are_the_sandboxs_own(corpus_graded):
    course, _, _, _ = corpus_graded
    assert "note written" in _printed(course, "shm_a_write_note")  # the writer's note existed (in its namespace)
    assert "no note" in _printed(course, "shm_b_read_note") and "NOTE SEEN" not in _printed(course, "shm_b_read_note")
    held = int(re.search(r"held (\d+) MiB", _printed(course, "shm_hog")).group(1))
    assert 0 < held <= 1024, held  # it got segments, within its namespace's bound
    names = re.search(r"HOSTNAME (\S+) (\S+) (\S+) set: (\S+)", _printed(course, "hostname")).groups()
    assert names[:3] == ("sandbox", "sandbox", "sandbox") and names[3] != "0", names
    assert socket.gethostname() not in names[:3] and socket.gethostname() != "pwned-host"
    printed = _printed(course, "inherited_file_descriptors")
    assert "no host fd" in printed, printed


@pytest.mark.root
@pytest.mark.skipif(not can_isolate(), reason="the full sandbox needs root (namespaces, chroot, uids)")
def test_nothing_of_a_sandbox_outlives_its_grading(corpus_graded):
    """No process, SysV IPC object, /dev/shm file or scratch directory of any sandbox uid after the batch."""
    course, expected, report, results = corpus_graded
    left = {s: results[s]["notebooks"][tc.NOTEBOOK].get("leftovers") for s in expected
            if tc.NOTEBOOK in results[s]["notebooks"]}
    assert not any(left.values()), {s: v for s, v in left.items() if v}
    assert not _sandbox_processes(), "processes of a sandbox outlived its grading"
    assert not leftovers.sysv_objects(SANDBOX_UIDS), "SysV IPC objects of a sandbox outlived its grading"
    assert ctypes.CDLL(None).shmget(corpus.SYSV_KEY, 0, 0) == -1, "the students' note is on the host"
    assert not leftovers.shm_files(SANDBOX_UIDS), "files of a sandbox left in /dev/shm or /dev/mqueue"
    scratch = list(Path(report["scratch"]).iterdir())
    assert not scratch, f"scratch directories or uid locks left: {scratch[:5]}"


def test_outputs_are_bounded(corpus_graded):
    course, _, _, _ = corpus_graded
    path = course.autograded / "flood_the_output" / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.ipynb"
    assert path.stat().st_size < 200_000, "20 MB of prints reached the autograded notebook"
    for student, limit in (("huge_error_message", 2_500_000), ("huge_display_metadata", 2_500_000),
                           ("many_big_displays", 45_000_000)):  # errors, display metadata, a notebook's displays
        path = course.autograded / student / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.ipynb"
        assert path.stat().st_size < limit, f"{student}: {path.stat().st_size} bytes of autograded notebook"


def test_stderr_noise_costs_nothing(corpus_graded):
    _, _, _, results = corpus_graded
    assert results["stderr_noise"]["score"] == 2


def test_feedback_shows_results_never_hidden_source(corpus_graded):
    course, expected, _, results = corpus_graded
    for student in expected:
        page = (course.feedback / student / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.html").read_text()
        assert "np.array([0.5, -3.0])" not in page, f"hidden test source in {student}'s feedback"
        assert "passed" in page or "failed" in page
    wrong = (course.feedback / "wrong_double" / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.html").read_text()
    assert "double([1, 2]): values differ" in wrong  # the assertion message is shown
    leak = results["leak_hidden_tests"]["notebooks"][tc.NOTEBOOK]["tests"]
    assert not any("double_hidden_secret_check" in t["message"] for t in leak)  # the test source never reached
    assert all(not t["passed"] for t in leak if t["grade_id"] == "test_double")   # the student's process


def test_outputs_written(corpus_graded):
    course, expected, _, _ = corpus_graded
    import pandas as pd

    grades = pd.read_csv(course.work / "grades.csv")
    assert set(grades.student) == set(expected)
    items = pd.read_csv(course.work / "item_analysis.csv")
    assert set(items.test) == {"test_square", "test_double"}
    assert items.set_index("test").loc["test_double", "pass_rate"] < items.set_index("test").loc["test_square", "pass_rate"]
    flagged = pd.read_csv(course.work / "flagged.csv")
    assert {"os_exit", "answer_cell_deleted", "symlink_to_solution"} <= set(flagged.student)
    timings = pd.read_csv(course.work / "timings.csv")
    assert (timings.kernel_start_s >= 0).all()


def test_nbgrader_reads_the_results(corpus_graded):
    """nbgrader's own tools see our grades: its gradebook API and `nbgrader export`."""
    course, expected, _, results = corpus_graded
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        for student in expected:
            assert gb.find_submission(tc.ASSIGNMENT, student).score == results[student]["score"]
        assert gb.find_submission(tc.ASSIGNMENT, "monkeypatch_numpy").needs_manual_grade is False
        assert not any(gb.find_submission(tc.ASSIGNMENT, s).needs_manual_grade for s in ("forge_guard_answer", "wrap_guard_hide_patch"))
    api = course.api()  # what the formgrader lists
    assert api.get_autograded_students(tc.ASSIGNMENT) == set(expected)
    assert api.get_submission(tc.ASSIGNMENT, "wrong_double")["score"] == results["wrong_double"]["score"]
    nbgrader = Path(sys.executable).with_name("nbgrader")
    out = course.work / "export.csv"
    subprocess.run([str(nbgrader), "export", f"--to={out}", f"--CourseDirectory.db_url={course.db_url}"],
                   cwd=course.root, check=True, capture_output=True)
    assert "wrong_double" in out.read_text()


def test_rerun_changes_nothing_and_resubmission_is_regraded(corpus_graded):
    course, expected, _, _ = corpus_graded
    again = grade(course, jobs=1, limits=LIMITS, **QUIET)
    assert again["graded"] == 0 and again["skipped"] == len(expected)
    nb = corpus.fill(tc.release_notebook(course), square=corpus.SQ_OK, double=corpus.DB_OK)
    tc.submit(course, "wrong_double", nb)
    third = grade(course, jobs=1, limits=LIMITS, **QUIET)
    assert third["graded"] == 1
    rows = {s["student"]: s for s in summaries(course)}
    assert rows["wrong_double"]["score"] == 2 and rows["wrong_double"]["runs"] == 2
    assert all(s["runs"] == 1 for name, s in rows.items() if name != "wrong_double")


@pytest.mark.root
@pytest.mark.skipif(not can_isolate(), reason="the full sandbox needs root (namespaces, chroot, uids)")
def test_ipc_note_never_reaches_a_later_batch(corpus_graded):
    """A note left on the host under the students' key (as a sandbox without its own IPC namespace did) stays
    invisible to a student graded in a later batch."""
    course, _, _, _ = corpus_graded
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = ctypes.c_void_p
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    ident = libc.shmget(corpus.SYSV_KEY, 4096, 0o1666)
    assert ident >= 0, os.strerror(ctypes.get_errno())
    try:
        address = libc.shmat(ident, None, 0)
        ctypes.memmove(address, corpus.DB_OK.encode(), len(corpus.DB_OK))
        libc.shmdt(ctypes.c_void_p(address))
        path = course.submitted / "shm_b_read_note" / tc.ASSIGNMENT / f"{tc.NOTEBOOK}.ipynb"
        nb = nbformat.read(path, as_version=4)
        nb.cells.append(nbformat.v4.new_markdown_cell("resubmitted"))
        nbformat.write(nb, path)
        report = grade(course, jobs=1, limits=LIMITS, **QUIET)
    finally:
        libc.shmctl(ident, 0, None)  # IPC_RMID
    assert report["graded"] == 1 and not report["errors"], report
    assert {s["student"]: s for s in summaries(course)}["shm_b_read_note"]["score"] == 1
    assert "no note" in _printed(course, "shm_b_read_note")


def test_failing_submissions_sorted_first_never_stop_a_batch(tmp_path):
    """Three kernels that stop reading (the corpus's) sort first, one worker: every submission is still recorded.

    Slow (about a minute): each stalled kernel is only given up at its real cell deadline."""
    course = tc.make_course(tmp_path / "course")
    release = tc.release_notebook(course)
    stops = corpus.fill(release, square=corpus.SQ_OK, double=corpus.DB_OK + corpus.STOPS_READING)
    for student in ("a1_stops", "a2_stops", "a3_stops"):
        tc.submit(course, student, stops)
    honest = {"b_right": (corpus.DB_OK, 2), "c_wrong": (corpus.DB_WRONG, 1), "d_right": (corpus.DB_OK, 2)}
    for student, (double, _) in honest.items():
        tc.submit(course, student, corpus.fill(release, square=corpus.SQ_OK, double=double))
    tc.submit(course, "e_blank", release)
    report = grade(course, jobs=1, limits=LIMITS, **QUIET)
    assert not report.get("stopped") and not report["errors"] and report["graded"] == 7, report
    rows = {s["student"]: s for s in summaries(course)}
    assert {s: rows[s]["score"] for s in rows} == {"a1_stops": 1, "a2_stops": 1, "a3_stops": 1, "b_right": 2,
                                                  "c_wrong": 1, "d_right": 2, "e_blank": 0}
    for student in ("a1_stops", "a2_stops", "a3_stops"):  # killed after the test; or, were the examiner ever stuck
        assert any(re.match(r"(kernel died or was killed|grading failed) in test_double", reason)  # the canary's
                   for _, reason in rows[student]["flags"]), rows[student]["flags"]          # verdict instead


def _small_class(root: Path, n: int, sleep: float):
    course = tc.make_course(root)
    release = tc.release_notebook(course)
    for i in range(n):
        nb = corpus.fill(release, square=corpus.SQ_OK, double=corpus.DB_OK if i % 2 else corpus.DB_WRONG)
        nb.cells.insert(2, nbformat.v4.new_code_cell(f"import time\ntime.sleep({sleep})"))
        tc.submit(course, f"s{i}", nb)
    return course


def _ledger_rows(course) -> int:
    path = course.db_url.replace("sqlite:///", "")
    try:
        with sqlite3.connect(path) as db:
            return db.execute(f"SELECT count(*) FROM {LEDGER}").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_interrupted_batch_grades_each_submission_exactly_once(tmp_path):
    course = _small_class(tmp_path / "course", 6, sleep=1.5)
    cmd = [sys.executable, "-m", "autograder", "grade", "--root", str(course.root), "--jobs", "1", "--quiet",
           "--no-preload-models", "--cell-timeout", "30"]
    proc = subprocess.Popen(cmd, cwd=course.root, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while _ledger_rows(course) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the worst interruption: no clean-up code runs
    proc.wait()
    done = _ledger_rows(course)
    assert 2 <= done < 6, f"{done} graded before the kill: adjust the test's timing"
    from nbgrader.api import Gradebook
    with Gradebook(course.db_url) as gb:  # no half-written submission: the gradebook holds exactly the ledger's
        assert len(gb.assignment_submissions(tc.ASSIGNMENT)) == done
    time.sleep(1)
    report = grade(course, jobs=2, limits=LIMITS, **QUIET)
    assert report["graded"] == 6 - done and not report["errors"]
    rows = summaries(course)
    assert len(rows) == 6 and all(r["runs"] == 1 for r in rows)
    assert sorted(r["score"] for r in rows) == [1, 1, 1, 2, 2, 2]


def test_lost_dask_worker_loses_no_grade(tmp_path):
    """An existing cluster (the SCHEDULER path) losing a worker mid-batch still grades everything once."""
    from dask.distributed import LocalCluster

    course = _small_class(tmp_path / "course", 4, sleep=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as cluster:
        killed = []  # (pid, ledger rows, submissions its worker was grading) at the kill

        def kill_one():
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed:
                graded = _ledger_rows(course)
                for nanny in list(cluster.workers.values()):
                    state = cluster.scheduler.workers.get(getattr(nanny, "worker_address", None))
                    busy = len(state.processing) if state is not None else 0
                    if graded >= 1 and busy and getattr(nanny, "process", None) and nanny.process.pid:
                        os.kill(nanny.process.pid, signal.SIGKILL)
                        killed.append((nanny.process.pid, graded, busy))
                        break
                time.sleep(0.2)

        thread = threading.Thread(target=kill_one, daemon=True)
        thread.start()
        report = grade(course, scheduler=cluster.scheduler_address, limits=LIMITS, **QUIET)
        thread.join(timeout=1)
    # a worker really died mid-batch: killed while grading, with submissions still ungraded, and gone after
    assert killed, ("no worker was killed: the batch ended first", report)
    pid, graded_then, busy = killed[0]
    assert graded_then < 4 and busy >= 1, killed
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    rows = summaries(course)
    assert len(rows) == 4 and all(r["runs"] == 1 for r in rows), (report, killed)
    assert report["graded"] + len(report["errors"]) == 4








def test_without_isolation_still_grades_and_says_so(tmp_path):
    """The fallback for graders without root: same grades, every result flagged as less isolated."""
    course = tc.make_course(tmp_path / "course")
    release = tc.release_notebook(course)
    tc.submit(course, "alice", corpus.fill(release, square=corpus.SQ_OK, double=corpus.DB_OK))
    tc.submit(course, "bob", corpus.fill(release, square=corpus.SQ_OK, double=corpus.DB_WRONG))
    limits = Limits(cell_timeout=30, notebook_timeout=90, isolate=False)
    report = grade(course, jobs=1, limits=limits, **QUIET)
    assert report["graded"] == 2 and not report["errors"]
    rows = {s["student"]: s for s in summaries(course)}
    assert rows["alice"]["score"] == 2 and rows["bob"]["score"] == 1
    assert all(any("isolation" in reason for _, reason in s["flags"]) for s in rows.values())
