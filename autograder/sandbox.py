"""Sandboxed kernels and examiners: where and how student code, and the tests on what it returns, run.

Each graded notebook gets a fresh IPython kernel that

* runs as its own unprivileged uid (no access to root-owned 0700/0600 files, its
  own process limit, and killing "every process of that uid" ends a fork bomb);
* sees a private root file system (mount namespace + chroot) holding only the
  system directories, the Python environment, the installed `embedkit`, the course
  data (read-only) and its own scratch directory (read-write): solutions/, the
  gradebook, the grading folder, the git history and other students' work are
  simply not there;
* has no network (a fresh network namespace; the grader talks to it over Unix
  sockets in the scratch directory), and its own IPC and UTS namespaces (SysV
  objects no other sandbox sees, gone with it; the hostname "sandbox");
* runs under resource limits: address space (memory), processes, file size, no
  core dumps, no new privileges.

Its examiner (the trusted process that runs the test cells on the kernel's data)
gets a sandbox of its own once it holds its sockets: another uid, the same kind of
read-only root (rootfs.py) with only a small tmpfs /tmp and home writable, no
network, its own limits. After each submission, leftovers.py checks that nothing of
either uid is left on the host.

When the grader is not root (or the kernel forbids namespaces) it falls back to
what an ordinary user can do (scratch directory, rlimits, process group) and says
so in every result (`isolation`), and the pipeline flags it in its report.

Start-up cost is cut with a *zygote*: one process per worker that imports numpy,
torch, IPython, embedkit (and optionally sentence-transformers) once and forks a
kernel per submission, so a kernel is ready in a fraction of a second and the
forked kernels share the imported code's memory.
"""
import ctypes
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from embedkit.quiet import QUIET_ENV as LIBRARY_QUIET_ENV

from . import examiner_setup, leftovers, rootfs
from .examiner_setup import ExaminerSetup, reap_children
from .rootfs import CLONE_NEWPID, allowed_paths

PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1

# Imported once by the zygote (fork) or before the sandbox closes (no zygote).
PRELOAD_BASE = ["numpy", "torch", "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "embedkit",
                "embedkit.checks", "plotly.express", "plotly.graph_objects", "tqdm", "transformers.utils.logging",
                "autograder.agent", "autograder.examiner"]
PRELOAD_MODELS = ["transformers", "sentence_transformers"]

QUIET_ENV = {
    **LIBRARY_QUIET_ENV,  # the libraries' own noise switches
    "EMBEDKIT_QUIET": "1", "NBGRADER_EXECUTION": "autograde",
    "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1", "JUPYTER_PLATFORM_DIRS": "1",
    "MALLOC_ARENA_MAX": "4",  # glibc reserves 64 MiB of address space per thread arena otherwise
}

# Every kernel and examiner is a fork of a process that ran the set-up. Numba's default OpenMP threading layer
# terminates a child forked after it started ("fork() called from a process already using GNU OpenMP"), so any
# parallel numba code in a set-up (UMAP without a seed) would kill the batch; its workqueue layer survives forks.
FORK_SAFE_ENV = {"NUMBA_THREADING_LAYER": "workqueue"}

_libc = ctypes.CDLL(None, use_errno=True)


def can_isolate() -> bool:
    """Whether this process may build the full sandbox (root, with mount and network namespaces)."""
    return os.geteuid() == 0 and sys.platform.startswith("linux")


DISK_LIMIT = 1 << 30  # bytes of scratch space (/tmp and home) per sandbox
EXAMINER_DISK = 256 << 20  # bytes of the examiner's /tmp and home, each (it writes little: a test's temporary files)
EXAMINER_SHM = 64 << 20
EXAMINER_HOME = "/home/examiner"
MEMORY_EXIT = 86  # the supervisor's exit code when the sandbox's processes together went over the memory limit


def _shm_size(mem_limit: int | None) -> int:
    """Bytes of a kernel's /dev/shm, and of its SysV shared memory: an eighth of its memory, 64 MiB to 1 GiB."""
    return max(64 << 20, min((mem_limit or 8 << 30) // 8, 1 << 30))


def _build_root(spec: dict) -> None:
    """A private root holding only the allowed paths, in new mount, network, IPC, UTS and PID namespaces.

    Called as root in the child. The process forks: it stays outside as the sandbox's supervisor
    (see `_supervise`, never returns) and its child becomes PID 1 of the new PID namespace, with a
    fresh /proc (only the sandbox's own processes), a minimal /dev with a private /dev/shm (and the
    GPU's devices), the scratch directory read-write, and size-limited tmpfs for /tmp and home.
    """
    rootfs.unshare(CLONE_NEWPID)
    root, scratch = spec["root"], spec["scratch"]
    disk, shm = spec.get("disk_limit") or DISK_LIMIT, _shm_size(spec.get("mem_limit"))
    rootfs.bound_sysv_ipc(shm)
    ro, _ = allowed_paths()
    rootfs.private_root(root, ro, [scratch], disk)
    rootfs.home(root + scratch + "/home", spec["uid"], disk)
    rootfs.devices(root, shm, gpu=True)
    pid = os.fork()
    if pid:
        _supervise(pid, spec)
    rootfs.proc(root)  # this PID namespace's /proc
    rootfs.enter(root)


def _examiner_paths() -> list[str]:
    """What the examiner reads: the kernel's read-only paths and the grader's own package (its lazy imports)."""
    ro, _ = allowed_paths()
    return sorted(set(ro) | {str(Path(__file__).resolve().parent)}, key=len)


def _build_examiner_root(spec: dict) -> None:
    """The examiner's own private root: like the kernel's, read-only but for its tmpfs /tmp and home.

    New mount, network, IPC and UTS namespaces (its PID namespace stays the host's: a /proc that shows
    only its own processes), no GPU device, no host directory it may write.
    """
    ex = spec["examiner"]
    rootfs.unshare()
    rootfs.bound_sysv_ipc(EXAMINER_SHM)
    rootfs.private_root(ex["root"], _examiner_paths(), [], EXAMINER_DISK)
    rootfs.home(ex["root"] + EXAMINER_HOME, ex["uid"], EXAMINER_DISK)
    rootfs.devices(ex["root"], EXAMINER_SHM, gpu=False)
    rootfs.proc(ex["root"], "hidepid=2")
    rootfs.enter(ex["root"])


def _supervise(child: int, spec: dict) -> None:
    """Outside the sandbox: forward interrupts to its PID 1, watch the memory of ALL its processes, never return.

    The memory limit holds for the sandbox as a whole (every process of its uid), where an rlimit
    only bounds one process and cgroups may be read-only; over it, everything is killed.
    """
    try:
        signal.signal(signal.SIGINT, lambda *_: _kill(child, signal.SIGINT))
        signal.signal(signal.SIGTERM, lambda *_: _kill(child, signal.SIGKILL))
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        limit, uid, peak = spec.get("mem_limit"), spec.get("uid"), 0
        peak_file = os.path.join(spec["base"], "peak_rss")
        while True:
            try:
                done, status = os.waitpid(child, os.WNOHANG)
            except ChildProcessError:
                os._exit(70)
            if done:
                if os.WIFSIGNALED(status):
                    signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
                    os.kill(os.getpid(), os.WTERMSIG(status))
                os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70)
            total = _uid_rss(uid)
            if total > peak:
                peak = total
                with open(peak_file, "w") as f:
                    f.write(str(peak))
            if limit and total > limit:
                kill_all(uid, None)
                os._exit(MEMORY_EXIT)
            time.sleep(0.25)
    finally:
        os._exit(70)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _uid_rss(uid: int) -> int:
    """Resident bytes of all processes of `uid` together."""
    total = 0
    for proc in leftovers.processes([uid]):
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total


def _limits(spec: dict) -> None:
    mem = spec.get("mem_limit")
    if mem:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    if spec.get("isolate") and spec.get("nproc"):
        resource.setrlimit(resource.RLIMIT_NPROC, (spec["nproc"], spec["nproc"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    fsize = spec.get("fsize") or 2 << 30
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))


def enter(spec: dict) -> None:
    """Turn the current (child) process into the sandbox described by `spec`. Irreversible."""
    os.setsid()
    scratch = spec["scratch"]
    home = os.path.join(scratch, "home")
    if spec.get("isolate"):
        _build_root(spec)
    _limits(spec)
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "DEVICE", "OMP_NUM_THREADS",
                                                          "MKL_NUM_THREADS", "COURSE_DATA", "CUDA_VISIBLE_DEVICES")}
    env.update(QUIET_ENV)
    env.update({"HOME": home, "TMPDIR": "/tmp" if spec.get("isolate") else os.path.join(scratch, "tmp"), "MPLCONFIGDIR": os.path.join(home, ".mpl"),
                "HF_HOME": os.path.join(home, ".hf"), "JUPYTER_RUNTIME_DIR": os.path.join(home, ".jupyter"),
                "IPYTHONDIR": os.path.join(home, ".ipython")})
    env.update(spec.get("env") or {})
    os.environ.clear()
    os.environ.update(env)
    if spec.get("isolate"):
        _become(spec["uid"])
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it: dies with its parent
    os.chdir(home)


def _become(uid: int) -> None:
    """Drop root for good: `uid` as every user and group id, no supplementary groups."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def enter_examiner(spec: dict) -> None:
    """Turn the examiner (already holding its worker and agent sockets) into a sandbox of its own. Irreversible.

    It runs the tests on what the student's kernel sends, so it gets least privilege too: its own uid,
    a read-only private root with no network (`_build_examiner_root`), its own limits, no new privileges.
    Without root it degrades as the kernel does: limits and a scratch home only.
    """
    ex = spec["examiner"]
    isolate = bool(spec.get("isolate") and ex.get("uid") is not None)
    if isolate:
        _build_examiner_root(spec)
    _limits({"mem_limit": ex.get("mem_limit"), "isolate": isolate, "nproc": spec.get("nproc"), "fsize": EXAMINER_DISK})
    home = EXAMINER_HOME if isolate else ex["home"]
    os.environ.update(_examiner_env(spec, home, isolate))
    if isolate:
        _become(ex["uid"])
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after setuid, which clears it
    os.chdir(home)


def _examiner_env(spec: dict, home: str, isolate: bool) -> dict:
    """The submission's settings (not its DEVICE: the examiner keeps the set-up's, never the GPU) and its own home."""
    env = {k: v for k, v in (spec.get("env") or {}).items() if k != "DEVICE"}
    env.update({"HOME": home, "TMPDIR": "/tmp" if isolate else home, "MPLCONFIGDIR": os.path.join(home, ".mpl"),
                "HF_HOME": os.path.join(home, ".hf"), "IPYTHONDIR": os.path.join(home, ".ipython")})
    return env


def run_kernel(spec: dict, setup: "Setup | None" = None, agent_sock=None) -> None:
    """In the child: enter the sandbox, start an IPython kernel on the spec's connection file, never return.

    With a `setup`, the kernel's namespace is the set-up's (forked, so already built) and the examiner's
    agent answers on `agent_sock` whenever the grader has the kernel evaluate `spec["agent_name"]()`.
    """
    try:
        log = os.open(os.path.join(spec["scratch"], "kernel.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        enter(spec)
        import faulthandler
        faulthandler.enable()
        threads = spec.get("threads")
        if threads:
            import torch
            torch.set_num_threads(threads)
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        if setup is not None:
            from IPython.core.interactiveshell import InteractiveShell
            InteractiveShell.clear_instance()
            app.user_ns = setup.namespace
        app.initialize(["-f", spec["connection_file"], "--HistoryManager.enabled=False",
                        "--IPKernelApp.quiet=True"])
        if setup is not None and agent_sock is not None:
            import builtins

            from autograder.agent import Agent
            setattr(builtins, spec["agent_name"], Agent(agent_sock, app.shell.user_ns, setup.shared))
        spec.clear()
        app.start()
    except BaseException:  # noqa: BLE001 - report and die, never return into the zygote's loop
        import traceback
        traceback.print_exc(file=sys.__stderr__)
        sys.__stderr__.flush()
    finally:
        os._exit(70)


class Setup:
    """The notebook's set-up cells, executed once in the zygote: the state every kernel and examiner forks from."""

    # IPython's own bookkeeping in a namespace: never a set-up object
    _INTERNAL = {"In", "Out", "get_ipython", "exit", "quit", "_ih", "_oh", "_dh", "_", "__", "___", "__builtins__",
                 "__name__", "__doc__", "__package__", "__loader__", "__spec__", "__builtin__"}

    def __init__(self, cells: list[str]):
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        config = Config()
        config.HistoryManager.enabled = False  # no history database: its open file would pass to every fork
        self.shell = InteractiveShell.instance(config=config)
        self.outputs: list[list[dict]] = []
        self.error = ""
        self.seconds: list[float] = []
        self.run(cells)
        self.namespace = self.shell.user_ns
        # passed by reference (by name) to the kernel, which holds its own copy: never an examiner-only object
        self.shared = {k: v for k, v in self.namespace.items() if k not in self._INTERNAL and not k.startswith("_i")}

    def run(self, cells: list[str]) -> None:
        """Run `cells` in order, recording each one's outputs and seconds; stop at the first error."""
        from IPython.utils.capture import capture_output

        for source in cells:
            if self.error:
                break
            started = time.monotonic()
            with capture_output() as captured:
                result = self.shell.run_cell(source, store_history=False)
            self.seconds.append(time.monotonic() - started)
            outs = [{"output_type": "stream", "name": name, "text": text[:20_000]}
                    for name, text in (("stdout", captured.stdout), ("stderr", captured.stderr)) if text]
            outs += [{"output_type": "display_data", "data": dict(o.data), "metadata": dict(o.metadata or {})}
                     for o in captured.outputs]
            self.outputs.append(outs)
            error = result.error_before_exec or result.error_in_exec
            if error is not None:
                self.error = f"{type(error).__name__}: {error}"

    def report(self) -> dict:
        return {"outputs": self.outputs, "error": self.error, "seconds": self.seconds}


def run_examiner(spec: dict, setup: Setup, listener, agent_sock) -> None:
    """In the examiner child: serve one worker connection with test cells, never return."""
    try:
        log = os.open(os.path.join(spec["base"], "examiner.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)  # not the zygote's request pipe
        os.dup2(log, 1)
        os.dup2(log, 2)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        threads = spec.get("threads")
        if threads:
            import torch
            torch.set_num_threads(threads)
        listener.settimeout(60)
        worker, _ = listener.accept()
        listener.close()
        worker.settimeout(None)
        enter_examiner(spec)
        from autograder.examiner import serve
        serve(worker, agent_sock, setup.shell, setup.shared)
    except BaseException:  # noqa: BLE001
        import traceback
        traceback.print_exc(file=sys.__stderr__)
        sys.__stderr__.flush()
    finally:
        os._exit(0)


def kill_all(uid: int | None, pgid: int | None) -> None:
    """Kill every process of the sandbox: all processes of its uid (isolated), else its process group."""
    if uid is not None and os.geteuid() == 0:
        for _ in range(3):
            _kill_uid(uid)
            if not leftovers.processes([uid]):
                break
            time.sleep(0.05)
    if pgid:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _kill_uid(uid: int) -> None:
    """SIGKILL to every process of `uid` at once, sent as that uid (kill(-1)): a fork bomb cannot outrun it."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


# -- zygote ------------------------------------------------------------------------------------------------

def preload(models: bool) -> None:
    import importlib
    os.environ.update(QUIET_ENV)
    for name in PRELOAD_BASE + (PRELOAD_MODELS if models else []):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional library only costs speed
            pass
    try:  # fork-safety: no parallel region has run in this process
        import torch
        torch.set_num_threads(1)
    except Exception:  # noqa: BLE001
        pass


def _zygote_main() -> None:
    """`python -m autograder.sandbox zygote [models]`: preload, run a set-up on request, then fork per request on stdin.

    Requests (one JSON line each): {"op": "setup", "cells": [...], "examiner_fd": n | null} runs the notebook's
    set-up cells once, then forks the examiner-only set-up (`examiner_setup`), which reads the examiner-only
    cells from the inherited descriptor n (this process never does);
    {"op": "spawn", "spec": ...} forks a sandboxed kernel and, after a set-up, its examiner;
    {"op": "status", "pid": n} says whether a kernel (or an examiner) still runs.
    """
    preload(models="models" in sys.argv[2:])
    statuses: dict[int, int] = {}
    spawned: dict[int, dict] = {}  # pid -> its spec (uid, scratch), to clean up if the worker goes away
    setup: Setup | None = None
    examiners: ExaminerSetup | None = None   # where examiners fork from when the notebook has examiner-only cells

    def reap(*_):
        reap_children(statuses)

    signal.signal(signal.SIGCHLD, reap)
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        op = request.get("op")
        if op == "setup":
            setup, examiners = _setup(request, setup, examiners)
            reply = setup.report()
        elif op == "spawn":
            reply = _spawn(request["spec"], setup, spawned, examiners)
        elif op == "status":
            reap()
            pid = request["pid"]
            if examiners is not None and pid in examiners.children:
                status = examiners.status(pid)
            else:
                status = statuses.pop(pid, None)
            if status is not None:
                spawned.pop(pid, None)
            reply = {"status": None if status is None else _describe(status), "alive": status is None and _alive(pid)}
        else:
            reply = {"error": f"unknown op {op!r}"}
        try:
            out.write(json.dumps(reply) + "\n")
            out.flush()
        except BrokenPipeError:  # the worker went away during a long request (a set-up): as if stdin had closed
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())  # what is left in the buffer goes nowhere
            break
    # stdin closed: the worker is gone. Leave nothing of its sandboxes behind.
    if examiners is not None:
        examiners.close()
    reap()
    for pid, spec in spawned.items():
        if pid not in statuses:  # still running: its grading was cut short (finished ones were cleaned by the worker)
            if spec.get("base"):
                cleanup(spec, pid)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _setup(request: dict, setup: "Setup | None", examiners: "ExaminerSetup | None"):
    """Run the set-up request: the shared cells here, the examiner-only ones in a fork the kernels never see."""
    if examiners is not None:
        examiners.close()
        examiners = None
    with _redirect_stdout_to_stderr():
        setup = Setup(request["cells"])
        handover = request.get("examiner_fd")
        if isinstance(handover, int) and not setup.error:
            examiners = ExaminerSetup(setup, handover, run_examiner)
        elif isinstance(handover, int):
            os.close(handover)
    return setup, examiners


def _spawn(spec: dict, setup: Setup | None, spawned: dict, examiners: "ExaminerSetup | None" = None) -> dict:
    """Fork a submission's examiner (after a set-up) and its kernel; record both in `spawned`; the reply.

    With examiner-only cells the examiner forks from `examiners`, the process that ran them."""
    import socket

    reply, agent_end = {}, None
    if setup is not None:
        examiner_end, agent_end = socket.socketpair()
        path = os.path.join(spec["base"], "examiner.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        os.chmod(path, 0o600)
        listener.listen(1)
        if examiners is not None:
            pid = examiners.spawn(spec, listener, examiner_end)
        else:
            pid = os.fork()
            if pid == 0:
                agent_end.close()
                run_examiner(spec, setup, listener, examiner_end)
            spawned[pid] = {"uid": None, "isolate": False, "base": None}
        listener.close()
        examiner_end.close()
        reply.update(examiner_pid=pid, examiner=path)
    pid = os.fork()
    if pid == 0:
        if examiners is not None:
            examiners.forget()  # the link that orders examiners is never the student's
        run_kernel(spec, setup, agent_end)
    if agent_end is not None:
        agent_end.close()
    spawned[pid] = {k: spec.get(k) for k in ("uid", "isolate", "base", "examiner")}
    reply["pid"] = pid
    return reply


class _redirect_stdout_to_stderr:
    """The zygote's stdout is its reply channel: set-up code must not print into it."""

    def __enter__(self):
        sys.stdout.flush()
        self.saved = os.dup(1)
        os.dup2(2, 1)

    def __exit__(self, *exc):
        sys.stdout.flush()
        os.dup2(self.saved, 1)
        os.close(self.saved)


def _alive(pid: int) -> bool:
    # One read of /proc/<pid>/stat, not psutil: asked on every status request (each ~2 ms of a running cell),
    # where psutil.Process(pid).status() costs two reads and twice the time.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] not in ("Z", "X")
    except OSError:
        return False


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by signal {name}"
    if os.WEXITSTATUS(status) == MEMORY_EXIT:
        return "killed: its processes together went over the memory limit"
    return f"exited with code {os.WEXITSTATUS(status)}"


# The only variables of the grader's environment a zygote (and so every kernel forked from it) inherits:
# a process's initial environment stays readable in /proc/self/environ, so secrets (DB_URL) never get there.
_ENV_KEEP = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "DEVICE", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
             "CUDA_VISIBLE_DEVICES", "COURSE_DATA", "AUTOGRADER_SCRATCH", "VIRTUAL_ENV", "PYTHONPATH",
             "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def zygote_environment() -> dict:
    return {k: v for k, v in os.environ.items() if k in _ENV_KEEP or k.startswith("LC_")}


class KernelLauncher:
    """Forks sandboxed kernels, and their examiners, from a warm zygote that has run the notebook's set-up.

    One launcher per (worker, notebook set-up). The zygote runs the set-up cells once; every
    submission's kernel and examiner are forks of that state. On CUDA nothing may touch the GPU before a
    fork, so there the zygote runs the set-up on the CPU (for the examiner) and each kernel runs it again
    itself on the GPU (`rerun_setup`). `examiner_cells`, the examiner-only set-up, run after the set-up in a
    fork that only examiners come from (`examiner_setup`).
    """

    def __init__(self, preload_models: bool = True, setup_cells: list[str] | None = None, env: dict | None = None,
                 straight: bool = False, examiner_cells: list[str] | None = None):
        self.preload_models = preload_models
        self.setup_cells = list(setup_cells or [])
        self.examiner_cells = list(examiner_cells or [])
        self.env = dict(env or {})
        # straight: every kernel runs the set-up itself (as on CUDA); the examiner still forks from the zygote
        self.rerun_setup = straight or self.env.get("DEVICE", "").startswith("cuda")
        self.setup: dict | None = None   # the set-up's outputs, error and timings, once run
        self._proc = None
        self._lock = threading.Lock()

    def _zygote(self):
        if self._proc is None or self._proc.poll() is not None:
            args = [sys.executable, "-m", "autograder.sandbox", "zygote"] + (["models"] if self.preload_models else [])
            with tempfile.TemporaryFile() as handover:  # the examiner-only cells: never in the zygote's memory
                examiner_setup.write_cells(handover, self.examiner_cells)
                fds = (handover.fileno(),) if self.examiner_cells else ()
                self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                              env=self.zygote_env(), start_new_session=True, pass_fds=fds)
                ready = self._proc.stdout.readline()
                if not ready:
                    raise RuntimeError("the kernel zygote failed to start")
                self.setup = self._send({"op": "setup", "cells": self.setup_cells,
                                         "examiner_fd": fds[0] if fds else None})
                if fds and not self.setup.get("error"):
                    report = examiner_setup.read_report(handover)
                    self.setup["outputs"] += report["outputs"]
                    self.setup["seconds"] += report["seconds"]
                    self.setup["error"] = report["error"]
        return self._proc

    def zygote_env(self) -> dict:
        env = {**zygote_environment(), **QUIET_ENV, **FORK_SAFE_ENV, **self.env}
        if self.rerun_setup:
            env["DEVICE"] = "cpu"  # CUDA does not survive a fork: the zygote (and so the examiner) never touches it
        return env

    def _send(self, request: dict) -> dict:
        proc = self._proc
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            self._proc = None
            raise RuntimeError("the kernel zygote died")
        return json.loads(line)

    def _ask(self, request: dict) -> dict:
        with self._lock:
            self._zygote()
            return self._send(request)

    def warm(self) -> dict:
        """Start the zygote and run the set-up now; returns its report."""
        with self._lock:
            self._zygote()
            return self.setup

    def spawn(self, spec: dict) -> dict:
        """{"pid": kernel, "examiner_pid": ..., "examiner": socket path}."""
        return self._ask({"op": "spawn", "spec": spec})

    def status(self, pid: int) -> tuple[bool, str | None]:
        """(alive, how it ended)."""
        reply = self._ask({"op": "status", "pid": pid})
        return bool(reply["alive"]), reply["status"]

    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


_UID_BASE = 61000


def new_spec(isolate: bool | None, mem_limit: int | None, nproc: int, threads: int | None,
             env: dict | None = None, examiner_mem_limit: int | None = None) -> dict:
    """A fresh scratch directory and the spec of a kernel to run in it, with its examiner's (`spec["examiner"]`)."""
    import secrets

    isolate = can_isolate() if isolate is None else (isolate and can_isolate())
    # Not under /tmp: inside the sandbox /tmp is the scratch directory's own tmp/.
    parent = Path(os.environ.get("AUTOGRADER_SCRATCH", "/var/tmp/autograder" if isolate else tempfile.gettempdir()))
    parent.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="ag-", dir=parent))
    uid = _claim_uid(parent) if isolate else None
    scratch = _scratch(base, uid)
    conn = str(scratch / "kernel.json")
    from jupyter_client.connect import write_connection_file
    write_connection_file(conn, ip=str(scratch / "k"), transport="ipc", key=secrets.token_hex(16).encode(),
                          kernel_name="python3")
    if isolate:
        os.chown(conn, uid, uid)
    return {"base": str(base), "scratch": str(scratch), "root": str(base / "root"), "connection_file": conn,
            "uid": uid, "isolate": isolate, "mem_limit": mem_limit, "nproc": nproc, "threads": threads,
            "env": env or {}, "agent_name": "_ag_" + secrets.token_hex(6),
            "examiner": _examiner_spec(base, isolate, examiner_mem_limit)}


def _scratch(base: Path, uid: int | None) -> Path:
    """The kernel's scratch directory (with home/ and tmp/) in `base`, its uid's own; its root's mount point."""
    scratch = base / "s"
    for d in (scratch, scratch / "home", scratch / "tmp"):
        d.mkdir(mode=0o700)
    if uid is not None:
        os.chmod(base, 0o711)
        for d in (scratch, scratch / "home", scratch / "tmp"):
            os.chown(d, uid, uid)
        (base / "root").mkdir()
    return scratch


def _examiner_spec(base: Path, isolate: bool, mem_limit: int | None) -> dict:
    """The examiner's uid (a second one: it shares nothing with the kernel's), root mount point and limits.

    Isolated, its mount point is owned by its uid (so `sweep_stale` knows it); otherwise it gets a scratch home.
    """
    ex = {"uid": None, "root": str(base / "examiner"), "home": str(base / "e"), "mem_limit": mem_limit}
    if isolate:
        ex["uid"] = _claim_uid(base.parent)
        os.mkdir(ex["root"], 0o700)
        os.chown(ex["root"], ex["uid"], ex["uid"])
    else:
        os.mkdir(ex["home"], 0o700)
    return ex


def _running_uids() -> set:
    return {p.info["uids"].real for p in psutil.process_iter(["uids"]) if p.info["uids"] is not None}


def _claim_uid(parent: Path) -> int:
    """A sandbox uid no other sandbox on this machine holds (lock file) and no process runs as."""
    in_use = _running_uids()
    for _ in range(1000):
        uid = _UID_BASE + int.from_bytes(os.urandom(2), "little") % 4000
        if uid in in_use:
            continue
        try:
            os.close(os.open(parent / f"uid-{uid}.lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            return uid
        except FileExistsError:
            continue
    raise RuntimeError("no free sandbox uid")


def _release_uids(parent: Path, uids) -> None:
    for uid in uids:
        try:
            os.unlink(parent / f"uid-{uid}.lock")
        except OSError:
            pass


def _stale_uids(base: Path) -> set:
    """The uids of a sandbox left on disk: its kernel's (scratch owner) and its examiner's (mount point owner)."""
    uids = set()
    for path in (base / "s", base / "examiner"):
        try:
            uids.add(path.stat().st_uid)
        except OSError:
            pass
    return uids - {0}


def sweep_stale(min_age_s: float = 600.0) -> int:
    """Remove sandboxes left by a grader that was killed outright: old, and no process runs as their uids."""
    parent = Path(os.environ.get("AUTOGRADER_SCRATCH", "/var/tmp/autograder"))
    if not parent.is_dir() or os.geteuid() != 0:
        return 0
    running = _running_uids()
    removed = 0
    for base in parent.glob("ag-*"):
        try:
            old = time.time() - base.stat().st_mtime > min_age_s
        except OSError:
            continue
        uids = _stale_uids(base)
        if old and uids and not uids & running:
            leftovers.sweep(uids, str(base))
            _release_uids(parent, uids)
            removed += 1
    return removed


def _sandbox_uids(spec: dict) -> list[int]:
    """The uids of one submission's sandbox (its kernel's, its examiner's); none without isolation."""
    if not spec.get("isolate"):
        return []
    return [u for u in (spec.get("uid"), (spec.get("examiner") or {}).get("uid")) if u is not None]


def cleanup(spec: dict, pid: int | None) -> list[str]:
    """End one submission's sandbox: kill its processes, remove its scratch, then check nothing of it is left.

    Returns what the check found (and removed): processes, SysV IPC objects or /dev/shm files of its
    uids, or its scratch directory; empty when the sandbox held. Its uids are free again only after.
    """
    uids = _sandbox_uids(spec)
    for uid in uids:
        kill_all(uid, None)
    kill_all(None, pid)
    shutil.rmtree(spec["base"], ignore_errors=True)
    left = leftovers.sweep(uids, spec["base"])
    _release_uids(Path(spec["base"]).parent, uids)
    return left


if __name__ == "__main__":
    if sys.argv[1] == "zygote":
        _zygote_main()
