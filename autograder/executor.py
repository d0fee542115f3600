"""Run a reconstructed notebook: student cells in a sandboxed kernel, test cells in the examiner.

The set-up cells already ran in the zygote both processes fork from. Every other
non-test cell runs in the student's kernel, in order. A test cell runs in the
examiner (autograder.examiner) while the kernel serves the examiner's calls; it passes
when the examiner's own execution of it raised nothing. Nothing the student's process
says is taken as a verdict, and rendered outputs never decide a grade.
"""
import os
import queue
import signal
import socket
import time
from dataclasses import dataclass, field

from jupyter_client import BlockingKernelClient

from . import leftovers, sanitize, wire
from .dataflow import student_names
from .sandbox import KernelLauncher, cleanup, new_spec
from .settings import Grading

MAX_OUTPUTS = 50
MAX_TEXT = 20_000          # characters of stream output per cell
MAX_DISPLAY = 2_000_000    # bytes of rich display data per cell
# ... and per notebook: a submission may hold up to 600 cells, each of which could otherwise keep 2 MB (1.2 GB
# of autograded notebook, carried by the worker and Dask). Outputs never decide a grade; past this, they are dropped.
MAX_NOTEBOOK_DISPLAY = 40_000_000


@dataclass
class Limits:
    """One submission's limits; the defaults are autograder.settings.Grading's."""
    cell_timeout: float = Grading.cell_timeout.default_value
    notebook_timeout: float = Grading.notebook_timeout.default_value
    startup_timeout: float = 60.0
    mem_limit: int | None = int(Grading.mem_limit_gib.default_value * 2**30)  # bytes, all its processes together
    examiner_mem_limit: int | None = int(Grading.mem_limit_gib.default_value * 2**30)  # bytes, the examiner's own
    nproc: int = 256                  # processes/threads of the sandbox uid
    threads: int | None = None        # torch/BLAS threads per kernel (None: CPUs / local workers)
    isolate: bool | None = None       # None: full sandbox when possible
    stop_at_first_failure: bool = False  # mutation testing: a mutant is caught once any test fails


@dataclass
class CellRun:
    index: int                 # position in the reconstructed notebook
    kind: str                  # setup, locked, test, answer, student
    grade_id: str | None
    status: str                # ok, error, timeout, died, not-run, skipped (mutation testing: cannot differ)
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0
    calls: int = 0             # the examiner's calls into the student's kernel (test cells)
    outputs: list = field(default_factory=list)


@dataclass
class NotebookRun:
    cells: list
    died_in: int | None = None     # index of the cell during which the kernel died or was killed
    death: str = ""
    stopped: str = ""              # why the run stopped early on purpose (Limits.stop_at_first_failure)
    failure: str = ""              # the grader's side failed (whose fault: the worker's canary decides)
    failed_in: int | None = None   # index of the cell during which it failed (None: before any cell; -1: the worker)
    isolation: str = ""
    setup_s: float = 0.0           # the set-up, run once per worker (not per submission)
    startup_s: float = 0.0
    wall_s: float = 0.0
    peak_rss_mib: float = 0.0
    leftovers: list = field(default_factory=list)  # what of its sandbox outlived it (removed): empty when it held


class KernelDied(Exception):
    pass


class CellTimeout(Exception):
    """The cell ran out of time and was interrupted; the kernel lives on."""


class ExaminerFailed(Exception):
    """The trusted side broke: an infrastructure failure, never a grade."""


class Session:
    """One sandboxed kernel, its examiner, and a client speaking to both."""

    def __init__(self, launcher: KernelLauncher, limits: Limits, env: dict | None = None):
        self.launcher = launcher
        self.limits = limits
        self.spec = new_spec(limits.isolate, limits.mem_limit, limits.nproc, limits.threads, env,
                             limits.examiner_mem_limit)
        self.agent = self.spec["agent_name"]
        self.pid = None
        self.examiner_pid = None
        self.client = None
        self.examiner: socket.socket | None = None
        self.peak_rss = 0
        self.display_left = MAX_NOTEBOOK_DISPLAY
        self.leftovers: list[str] = []

    def _budget(self) -> dict:
        """What one cell's outputs may still add: its own limits, within what is left of the notebook's."""
        return {"text": MAX_TEXT, "display": min(MAX_DISPLAY, self.display_left)}

    def start(self) -> None:
        spawned = self.launcher.spawn(dict(self.spec))
        self.pid = spawned["pid"]
        self.examiner_pid = spawned.get("examiner_pid")
        if spawned.get("examiner"):
            self.examiner = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.examiner.connect(spawned["examiner"])
        self.client = BlockingKernelClient()
        self.client.load_connection_file(self.spec["connection_file"])
        self.client.start_channels(hb=False)  # liveness comes from the zygote, not from a socket the student can jam
        deadline = time.monotonic() + self.limits.startup_timeout
        while True:
            self.client.kernel_info()
            try:
                while True:
                    msg = self.client.get_shell_msg(timeout=0.5)
                    if msg["msg_type"] == "kernel_info_reply":
                        break
                break
            except queue.Empty:  # not up yet
                pass
            except Exception:  # noqa: BLE001 - a message the student's kernel malformed: ask again
                pass
            self._check_alive()
            if time.monotonic() > deadline:
                raise KernelDied(f"the kernel did not start within {self.limits.startup_timeout:.0f} s")
        self._drain()

    def _check_alive(self) -> None:
        alive, how = self.launcher.status(self.pid)
        if not alive:
            raise KernelDied(how or "the kernel died")
        self._sample_rss()

    def _sample_rss(self) -> None:
        try:  # the sandbox's supervisor records the peak over all of its processes
            with open(os.path.join(self.spec["base"], "peak_rss")) as f:
                self.peak_rss = max(self.peak_rss, int(f.read() or 0))
            return
        except (OSError, ValueError):
            pass
        self.peak_rss = max(self.peak_rss, leftovers.peak_rss(self.pid))

    def _drain(self) -> None:
        while True:
            try:
                self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                return
            except Exception:  # noqa: BLE001 - a message the student's kernel malformed: the rest is dropped too
                return

    def _collect(self, msg_id: str, outputs: list, budget: dict) -> bool:
        """Take one iopub message for `msg_id` into `outputs`; True when the kernel went idle. queue.Empty: none came."""
        msg = self.client.get_iopub_msg(timeout=0.05)
        if msg["parent_header"].get("msg_id") != msg_id:
            return False
        kind = msg["msg_type"]
        if kind == "status":
            return msg["content"]["execution_state"] == "idle"
        if kind in ("stream", "display_data", "execute_result", "error") and len(outputs) < MAX_OUTPUTS:
            out = self._bounded(kind, msg["content"], budget)
            if out is not None:
                outputs.append(out)
        return False

    def _bounded(self, kind: str, content, budget: dict) -> dict | None:
        """One output, sanitised (autograder.sanitize) within what the cell and the notebook may still keep."""
        if kind in ("display_data", "execute_result"):  # metadata too: a student can make it megabytes
            size = _display_size(content)
            if size > budget["display"]:
                return None
            budget["display"] -= size
            self.display_left -= size
            return sanitize.output(kind, content, MAX_TEXT, data_limit=MAX_DISPLAY)
        out = sanitize.output(kind, content, max(budget["text"], 0) if kind == "stream" else MAX_TEXT)
        if out is not None and kind == "stream":
            out["text"] = out["text"][:max(budget["text"], 0)]
            budget["text"] -= len(out["text"])
        return out

    def execute(self, code: str, timeout: float, silent: bool = False, user_expressions: dict | None = None):
        """(reply content, outputs). Raises KernelDied when the kernel dies or is killed, CellTimeout when interrupted."""
        msg_id = self.client.execute(code, silent=silent, store_history=not silent,
                                     user_expressions=user_expressions or {}, allow_stdin=False)
        deadline = time.monotonic() + timeout
        reply, idle, outputs, interrupted = None, False, [], None
        budget = self._budget()
        while reply is None or not idle:
            now = time.monotonic()
            if now > deadline:
                if interrupted is None:
                    self.interrupt()
                    interrupted = now
                    deadline = now + 10
                else:
                    raise KernelDied(f"timed out after {timeout:.0f} s")
            try:
                idle = self._collect(msg_id, outputs, budget) or idle
                continue
            except queue.Empty:
                pass
            except Exception:  # noqa: BLE001 - a message the student's kernel malformed: dropped
                pass
            if reply is None:
                reply = self._reply(msg_id)
                if reply is not None:
                    if interrupted is not None:
                        raise CellTimeout(f"timed out after {timeout:.0f} s (interrupted)")
                    continue
            self._check_alive()
        return reply, outputs

    def _reply(self, msg_id: str):
        try:
            msg = self.client.get_shell_msg(timeout=0)
        except queue.Empty:
            return None
        except Exception:  # noqa: BLE001 - a message the student's kernel malformed: dropped
            return None
        parent = msg.get("parent_header")  # a kernel can send anything on its shell socket: never trust the shape
        if not isinstance(parent, dict) or parent.get("msg_id") != msg_id:
            return None
        return msg["content"] if isinstance(msg.get("content"), dict) else {}

    def examine(self, source: str, names: list[str], timeout: float) -> tuple[dict, list]:
        """Run a test cell in the examiner while the kernel serves its calls: (verdict, student outputs)."""
        msg_id = self.client.execute("", silent=True, store_history=False, allow_stdin=False,
                                     user_expressions={"a": f"{self.agent}()"})
        wire.send(self.examiner, {"op": "test", "source": source, "names": names, "timeout": timeout})
        deadline = time.monotonic() + timeout
        outputs, budget = [], self._budget()
        verdict, kernel_reply, cancelled, interrupted, died, idle = None, None, False, False, None, False
        self.examiner.settimeout(0)
        buffer = b""
        while verdict is None:
            try:
                chunk = self.examiner.recv(1 << 20)
                if not chunk:
                    raise ExaminerFailed("the examiner exited")
                buffer += chunk
            except (BlockingIOError, InterruptedError):
                pass
            verdict = _complete(buffer)
            if verdict is not None:
                break
            try:
                idle = self._collect(msg_id, outputs, budget) or idle
            except queue.Empty:
                pass
            except Exception:  # noqa: BLE001 - a message the student's kernel malformed: dropped
                pass
            if kernel_reply is None:
                kernel_reply = self._reply(msg_id)
                if kernel_reply is not None and not cancelled:  # the kernel stopped serving: stop the examiner waiting
                    self._cancel()
                    cancelled = True
            now = time.monotonic()
            if now > deadline and not interrupted:
                self.interrupt()
                interrupted, deadline = True, now + 10
            elif now > deadline and not cancelled:
                self._cancel()
                cancelled, deadline = True, now + 10
            elif now > deadline:
                raise ExaminerFailed("the examiner did not finish the test")
            if died is None:
                alive, how = self.launcher.status(self.pid)
                if not alive:
                    died = how or "the kernel died"
                    if not cancelled:
                        self._cancel()
                        cancelled = True
            time.sleep(0.002)
        self.examiner.settimeout(None)
        if interrupted and verdict.get("status") == "ok":
            verdict = {**verdict, "status": "error"}
        if interrupted:
            verdict = {**verdict, "status": "timeout", "ename": "Timeout",
                       "evalue": f"timed out after {timeout:.0f} s (interrupted)"}
        if died is not None:
            raise KernelDied(died)
        # The agent returns when the examiner says the test is over; wait for the kernel to be idle again.
        end = time.monotonic() + 10
        while kernel_reply is None or not idle:
            try:
                idle = self._collect(msg_id, outputs, budget) or idle
                continue
            except queue.Empty:
                pass
            except Exception:  # noqa: BLE001 - a message the student's kernel malformed: dropped
                pass
            if kernel_reply is None:
                kernel_reply = self._reply(msg_id)
            if time.monotonic() > end:
                self.interrupt()
                end = time.monotonic() + 10
                if interrupted:
                    raise KernelDied("the kernel did not return after a test")
                interrupted = True
            self._check_alive()
        return verdict, outputs

    def _cancel(self) -> None:
        try:
            self.examiner.settimeout(None)
            wire.send(self.examiner, {"op": "cancel"})
            self.examiner.settimeout(0)
        except OSError:
            pass

    def interrupt(self) -> None:
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def close(self) -> None:
        if self.examiner is not None:
            try:
                self.examiner.close()
            except OSError:
                pass
        if self.examiner_pid is not None:
            # An examiner stuck in C code on a student's data (set() of ints that all hash alike, say) never
            # reads the closed socket: it would burn a core, outside the sandbox, until the worker ends.
            try:
                if self.launcher.status(self.examiner_pid)[0]:
                    os.kill(self.examiner_pid, signal.SIGKILL)
            except (ProcessLookupError, RuntimeError, OSError):
                pass
        self._sample_rss()
        self.leftovers = cleanup(self.spec, self.pid)  # the kernel first: then nothing on its sockets can hold the client up
        if self.client is not None:
            import threading
            stopper = threading.Thread(target=self._stop_channels, daemon=True)
            stopper.start()
            stopper.join(5)

    def _stop_channels(self) -> None:
        try:
            self.client.stop_channels()
        except Exception:  # noqa: BLE001 - closing sockets of a dead kernel
            pass


def _display_size(content) -> int:
    """Characters of a display message's data and metadata, before anything is copied."""
    if not isinstance(content, dict):
        return 0
    data = content.get("data")
    values = data.values() if isinstance(data, dict) else [data]
    return sum(len(v) if isinstance(v, str) else len(str(v)) for v in values) + len(str(content.get("metadata", {})))


def _complete(buffer: bytes):
    """The examiner's verdict once a whole message is in `buffer`, else None."""
    if len(buffer) < wire._HEADER.size:
        return None
    total, json_len = wire._HEADER.unpack_from(buffer)
    if len(buffer) < wire._HEADER.size + total:
        return None
    tree, _ = wire.unpack(buffer[wire._HEADER.size:wire._HEADER.size + total], json_len)
    return tree


def run_notebook(plan: list[dict], launcher: KernelLauncher, limits: Limits, env: dict | None = None,
                 only: list[int] | None = None) -> NotebookRun:
    """Execute the code cells of `plan` (dicts with index, kind, grade_id, source, cell_type, setup) in order.

    `only` (mutation testing): the indices of the cells to run after the set-up, in order; the others are
    "skipped" (autograder.dataflow: they cannot differ from the solution's own run).

    A failure of the grader's own side (the set-up, a kernel that does not start, the examiner) sets
    `failure` and `failed_in` (the cell it happened in): the worker decides, with the canary, whose it was.
    """
    code = [cell for cell in plan if cell["cell_type"] == "code"]
    setup = launcher.warm()  # the worker's zygote and its set-up: once per worker, not this submission's time
    start = time.monotonic()
    session = Session(launcher, limits, env)
    result = NotebookRun(cells=[], isolation="full" if session.spec["isolate"] else "basic (not root: no namespaces/uid)",
                         setup_s=sum(setup.get("seconds", [])))
    if setup.get("error"):
        result.failure = f"the notebook's set-up failed (instructor code): {setup['error']}"
        result.leftovers = cleanup(session.spec, None)
        return result
    try:
        session.start()
        result.startup_s = time.monotonic() - start
        _run_cells(session, code, setup, result, start + limits.notebook_timeout, only)
    except KernelDied as death:
        result.failure = f"the kernel failed to start: {death}"
        log = os.path.join(session.spec["scratch"], "kernel.log")
        if os.path.exists(log):
            result.failure += " | " + wire.clip(open(log, errors="replace").read()[-2000:])
    except (ExaminerFailed, OSError, wire.WireError) as error:
        result.failure = f"the examiner failed: {type(error).__name__}: {error}"
        result.failed_in = result.cells[-1].index if result.cells else None
    finally:
        session.close()
    result.wall_s = time.monotonic() - start
    result.peak_rss_mib = session.peak_rss / 2**20
    result.leftovers = session.leftovers
    return result


def _run_cells(session: Session, code: list[dict], setup: dict, result: NotebookRun, nb_deadline: float,
               only: list[int] | None = None) -> None:
    """Every code cell in order into `result.cells`, until the kernel dies or the run stops on purpose.

    `only`: the cells after the set-up to run, in this order; the others are "skipped", or "not-run" when
    they come after the cell where the kernel died or the run stopped (as in a run of every cell)."""
    limits, launcher = session.limits, session.launcher
    n_setup = sum(1 for cell in code if cell.get("setup"))
    names = student_names([{"kind": c["kind"], "source": c.get("reference", c["source"])} for c in code], n_setup)
    shared = sum(1 for cell in code if cell.get("setup") and not cell.get("examiner"))
    outputs = list(setup.get("outputs", []))
    setup_outputs, examiner_outputs = outputs[:shared], outputs[shared:]
    position = {cell["index"]: p for p, cell in enumerate(code)}
    order = code if only is None else [c for c in code if c.get("setup")] + [code[position[i]] for i in only]
    ended = None   # the index of the cell where the run ended early
    for cell in order:
        kind = "setup" if cell.get("setup") else cell["kind"]
        run = CellRun(index=cell["index"], kind=kind, grade_id=cell.get("grade_id"), status="not-run")
        result.cells.append(run)
        if cell.get("examiner") or cell.get("setup") and not launcher.rerun_setup:  # ran in the zygote
            held = examiner_outputs if cell.get("examiner") else setup_outputs
            run.status = "ok"
            run.outputs = held.pop(0) if held else []
            continue
        if result.died_in is not None or result.stopped:
            if cell["index"] < ended:  # a cell moved later (dataflow.schedule): a full run had run it before
                run.status = "skipped"
            continue
        t0 = time.monotonic()
        timeout = max(1.0, min(limits.cell_timeout, nb_deadline - t0))
        try:
            _run_cell(session, cell, run, names.get(position[cell["index"]], []), timeout)
        except CellTimeout as late:
            run.status, run.ename, run.evalue = "timeout", "Timeout", str(late)
            session._drain()
        except KernelDied as death:
            _died(run, result, str(death), limits, nb_deadline)
        run.seconds = time.monotonic() - t0
        if limits.stop_at_first_failure and kind == "test" and run.status != "ok":
            result.stopped = f"stopped after the first failed test ({run.grade_id})"
        if ended is None and (result.died_in is not None or result.stopped):
            ended = cell["index"]
    ran = {cell["index"] for cell in order}
    result.cells += [CellRun(index=c["index"], kind=c["kind"], grade_id=c.get("grade_id"),
                             status="not-run" if ended is not None and c["index"] > ended else "skipped")
                     for c in code if c["index"] not in ran]


def _run_cell(session: Session, cell: dict, run: CellRun, names: list[str], timeout: float) -> None:
    """One cell: a test in the examiner, anything else in the student's kernel."""
    if run.kind == "test":
        verdict, run.outputs = session.examine(cell["source"], names, timeout)
        run.status = verdict.get("status", "error")
        run.ename = wire.clip(verdict.get("ename", ""), 200)
        run.evalue = wire.clip(verdict.get("evalue", ""), 2000)
        run.calls = int(verdict.get("calls", 0))
        if verdict.get("stdout"):
            run.outputs.insert(0, {"output_type": "stream", "name": "stdout",
                                   "text": wire.clip(verdict["stdout"], MAX_TEXT)})
        return
    reply, run.outputs = session.execute(cell["source"], timeout=timeout)
    if cell.get("setup"):  # CUDA: the kernel ran its own set-up; share what it built
        session.execute("", timeout=30, silent=True, user_expressions={"r": f"{session.agent}.rebase()"})
    reply = reply if isinstance(reply, dict) else {}
    run.status = reply.get("status", "error")
    if run.status != "ok":
        ename, evalue = _error_from(run.outputs)
        run.ename = wire.clip(str(reply.get("ename") or ename or "Error"), 200)
        run.evalue = wire.clip(str(reply.get("evalue") or evalue or ""), 2000)


def _died(run: CellRun, result: NotebookRun, death: str, limits: Limits, nb_deadline: float) -> None:
    """The kernel died, or was killed, in this cell: the cells after it do not run."""
    timed_out = "timed out" in death
    run.status = "timeout" if timed_out else "died"
    run.ename = "Timeout" if timed_out else "KernelDied"
    run.evalue = death
    result.died_in = run.index
    result.death = death
    if time.monotonic() >= nb_deadline:
        result.death = f"notebook time limit ({limits.notebook_timeout:.0f} s) reached"


def _error_from(outputs) -> tuple[str, str]:
    for out in outputs:
        if out.get("output_type") == "error":
            return out.get("ename", ""), out.get("evalue", "")
    return "", ""
