"""Run a reconstructed notebook in a sandboxed kernel and judge every test cell from the protocol.

A test cell passes when the kernel's `execute_reply` says status "ok" and the
integrity guard, asked right after it, reports nothing changed while it ran. Rendered
outputs (stderr included) are kept for the instructor but never decide a grade, so
library noise costs nothing and an overridden `showtraceback` gains nothing.
"""
import ast
import json
import os
import signal
import time
from dataclasses import asdict, dataclass, field

from jupyter_client import BlockingKernelClient
from nbformat.v4 import output_from_msg

from . import guard as guard_mod
from .sandbox import KernelLauncher, cleanup, new_spec

MAX_OUTPUTS = 50
MAX_TEXT = 20_000


@dataclass
class Limits:
    cell_timeout: float = 300.0       # seconds per cell (model loading takes > 30 s on a busy CPU)
    notebook_timeout: float = 1800.0  # seconds for the whole notebook
    startup_timeout: float = 60.0
    mem_limit: int | None = 8 << 30   # bytes of address space per kernel (None: unlimited); a MiniLM+GloVe
                                      # notebook peaks at ~3.2 GiB of address space, ~1 GiB resident
    nproc: int = 256                  # processes/threads of the sandbox uid
    threads: int | None = None        # torch/BLAS threads per kernel (None: CPUs / local workers)
    isolate: bool | None = None       # None: full sandbox when possible


@dataclass
class CellRun:
    index: int                 # position in the reconstructed notebook
    kind: str                  # locked, test, answer, student, ...
    grade_id: str | None
    status: str                # ok, error, timeout, died, not-run
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0
    outputs: list = field(default_factory=list)
    tampering: list = field(default_factory=list)   # guard findings (restored) before this cell
    during: list = field(default_factory=list)      # guard findings after this cell: points withheld
    guard_ok: bool = True


@dataclass
class NotebookRun:
    cells: list
    died_in: int | None = None     # index of the cell during which the kernel died or was killed
    death: str = ""
    isolation: str = ""
    startup_s: float = 0.0
    wall_s: float = 0.0
    peak_rss_mib: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


class KernelDied(Exception):
    pass


class CellTimeout(Exception):
    """The cell ran out of time and was interrupted; the kernel lives on."""


class Session:
    """One sandboxed kernel and a client speaking to it."""

    def __init__(self, launcher: KernelLauncher, limits: Limits, env: dict | None = None):
        self.launcher = launcher
        self.limits = limits
        self.spec = new_spec(limits.isolate, limits.mem_limit, limits.nproc, limits.threads, env)
        self.secret = self.spec["secret"]
        self.guard_name = self.spec["guard_name"]
        self.counter = 0
        self.pid = None
        self.client = None
        self.peak_rss = 0

    def start(self) -> None:
        self.pid = self.launcher.spawn(dict(self.spec))
        self.client = BlockingKernelClient()
        self.client.load_connection_file(self.spec["connection_file"])
        self.client.start_channels()
        deadline = time.monotonic() + self.limits.startup_timeout
        while True:
            self.client.kernel_info()
            try:
                while True:
                    msg = self.client.get_shell_msg(timeout=0.5)
                    if msg["msg_type"] == "kernel_info_reply":
                        break
                break
            except Exception:  # noqa: BLE001 - queue.Empty: not up yet
                pass
            self._check_alive()
            if time.monotonic() > deadline:
                raise KernelDied(f"the kernel did not start within {self.limits.startup_timeout:.0f} s")
        # drain start-up iopub chatter
        while True:
            try:
                self.client.get_iopub_msg(timeout=0.2)
            except Exception:  # noqa: BLE001
                break

    def _check_alive(self) -> None:
        alive, how = self.launcher.status(self.pid)
        if not alive:
            raise KernelDied(how or "the kernel died")
        self._sample_rss()

    def _sample_rss(self) -> None:
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak_rss = max(self.peak_rss, int(line.split()[1]) * 1024)
        except OSError:
            pass

    def execute(self, code: str, timeout: float, silent: bool = False, user_expressions: dict | None = None):
        """(reply content, outputs). Raises KernelDied (with .timeout) when the kernel dies or is killed."""
        msg_id = self.client.execute(code, silent=silent, store_history=not silent,
                                     user_expressions=user_expressions or {}, allow_stdin=False)
        deadline = time.monotonic() + timeout
        reply, idle, outputs, interrupted = None, False, [], None
        text_budget = MAX_TEXT
        while reply is None or not idle:
            now = time.monotonic()
            if now > deadline:
                if interrupted is None:
                    self._interrupt()
                    interrupted = now
                    deadline = now + 10
                else:
                    raise KernelDied(f"timed out after {timeout:.0f} s")
            try:
                msg = self.client.get_iopub_msg(timeout=0.2)
                if msg["parent_header"].get("msg_id") == msg_id:
                    kind = msg["msg_type"]
                    if kind == "status" and msg["content"]["execution_state"] == "idle":
                        idle = True
                    elif kind in ("stream", "display_data", "execute_result", "error") and len(outputs) < MAX_OUTPUTS:
                        out = output_from_msg(msg)
                        if kind == "stream":
                            out.text = out.text[:max(text_budget, 0)]
                            text_budget -= len(out.text)
                        outputs.append(out)
                continue
            except Exception:  # noqa: BLE001 - queue.Empty
                pass
            if reply is None:
                try:
                    msg = self.client.get_shell_msg(timeout=0)
                    if msg["parent_header"].get("msg_id") == msg_id:
                        reply = msg["content"]
                        if interrupted is not None:
                            raise CellTimeout(f"timed out after {timeout:.0f} s (interrupted)")
                        continue
                except CellTimeout:
                    raise
                except Exception:  # noqa: BLE001
                    pass
            self._check_alive()
        return reply, outputs

    def _interrupt(self) -> None:
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def guard(self, reply: dict) -> tuple[bool, list]:
        """(answer authentic, changes) from the guard's user expression in `reply`."""
        try:
            data = reply["user_expressions"]["g"]
            if data.get("status") != "ok":
                return False, [f"integrity check failed: {data.get('ename', '')} {data.get('evalue', '')}".strip()]
            answer = json.loads(ast.literal_eval(data["data"]["text/plain"]))
        except Exception:  # noqa: BLE001
            return False, ["integrity check gave no answer"]
        n = answer.get("n")
        body = {"n": n, "changes": answer.get("changes")}
        if not isinstance(n, int) or n <= self.counter or answer.get("mac") != guard_mod.sign(self.secret.encode(), body):
            return False, ["integrity check answer forged or replayed"]
        self.counter = n
        return True, list(answer.get("changes", []))

    def expression(self, op: str) -> dict:
        return {"g": f"{self.guard_name}({op!r})"}

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.stop_channels()
            except Exception:  # noqa: BLE001
                pass
        self._sample_rss()
        cleanup(self.spec, self.pid)


def run_notebook(plan: list[dict], launcher: KernelLauncher, limits: Limits, env: dict | None = None) -> NotebookRun:
    """Execute the code cells of `plan` (dicts with index, kind, grade_id, source, cell_type) in order."""
    start = time.monotonic()
    session = Session(launcher, limits, env)
    runs: list[CellRun] = []
    result = NotebookRun(cells=runs, isolation="full" if session.spec["isolate"] else "basic (not root: no namespaces/uid)")
    try:
        session.start()
        result.startup_s = time.monotonic() - start
        nb_deadline = start + limits.notebook_timeout
        for cell in plan:
            if cell["cell_type"] != "code":
                continue
            run = CellRun(index=cell["index"], kind=cell["kind"], grade_id=cell.get("grade_id"), status="not-run")
            runs.append(run)
            if result.died_in is not None:
                continue
            t0 = time.monotonic()
            timeout = max(1.0, min(limits.cell_timeout, nb_deadline - t0))
            try:
                if cell["kind"] == "test":
                    reply, _ = session.execute("", timeout=timeout, silent=True, user_expressions=session.expression("check"))
                    ok, run.tampering = session.guard(reply)
                    run.guard_ok = ok
                    reply, run.outputs = session.execute(cell["source"], timeout=timeout,
                                                         user_expressions=session.expression("check"))
                    if reply.get("status") == "ok":
                        ok, run.during = session.guard(reply)
                        run.guard_ok = run.guard_ok and ok
                elif cell["kind"] == "locked":
                    reply, run.outputs = session.execute(cell["source"], timeout=timeout,
                                                         user_expressions=session.expression("bind"))
                    if reply.get("status") == "ok":
                        ok, run.tampering = session.guard(reply)
                        run.guard_ok = ok
                else:
                    reply, run.outputs = session.execute(cell["source"], timeout=timeout)
                run.status = reply.get("status", "error")
                if run.status != "ok":
                    run.ename = str(reply.get("ename") or _error_from(run.outputs)[0] or "Error")
                    run.evalue = str(reply.get("evalue") or _error_from(run.outputs)[1] or "")
            except CellTimeout as late:
                run.status, run.ename, run.evalue = "timeout", "Timeout", str(late)
                _drain(session)
            except KernelDied as death:
                timed_out = "timed out" in str(death)
                run.status = "timeout" if timed_out else "died"
                run.ename = "Timeout" if timed_out else "KernelDied"
                run.evalue = str(death)
                result.died_in = cell["index"]
                result.death = str(death)
                if time.monotonic() >= nb_deadline:
                    result.death = f"notebook time limit ({limits.notebook_timeout:.0f} s) reached"
            run.seconds = time.monotonic() - t0
    except KernelDied as death:
        result.died_in = -1
        result.death = f"kernel failed to start: {death}"
        log = os.path.join(session.spec["scratch"], "kernel.log")
        if os.path.exists(log):
            result.death += " | " + open(log, errors="replace").read()[-2000:]
    finally:
        session.close()
    result.wall_s = time.monotonic() - start
    result.peak_rss_mib = session.peak_rss / 2**20
    return result


def _drain(session: Session) -> None:
    while True:
        try:
            session.client.get_iopub_msg(timeout=0.5)
        except Exception:  # noqa: BLE001
            return


def _error_from(outputs) -> tuple[str, str]:
    for out in outputs:
        if out.get("output_type") == "error":
            return out.get("ename", ""), out.get("evalue", "")
    return "", ""
