"""The unit of work a Dask worker runs: grade one student's submission of one assignment.

Pure with respect to the course: it receives a Task (the notebooks' contents: source,
release, submission) and returns a Result (records.py); it never opens the gradebook.
Each worker process keeps one kernel launcher (with its warm zygote) for its lifetime.
When grading fails on the grader's side, the canary (canary.py) on this worker decides
whether the failure is the submission's (recorded) or the infrastructure's (not).
"""
import functools
import hashlib
import json
import logging
import os
import time
import traceback

import nbformat

from . import canary, leftovers, sanitize, wire
from .dataflow import schedule
from .executor import Limits, NotebookRun, run_notebook
from .reconstruct import reconstruct
from .records import NotebookFiles, NotebookResult, Result, Task
from .sandbox import KernelLauncher

logger = logging.getLogger(__name__)

_LAUNCHERS: dict[str, KernelLauncher] = {}   # one warm zygote per notebook set-up, most recent last
KEEP = 2                                     # set-ups kept warm per worker (each holds its models in memory)


def setup_of(plan: list[dict]) -> tuple[list[str], list[str]]:
    """A plan's set-up: the shared cells (kernel and examiner) and the examiner-only cells, sources in order."""
    setup = [c for c in plan if c.get("setup")]
    return [c["source"] for c in setup if not c.get("examiner")], [c["source"] for c in setup if c.get("examiner")]


def launcher(plan: list[dict], preload_models: bool = True, env: dict | None = None) -> KernelLauncher:
    """This worker's zygote for a notebook's set-up (started and run on first use)."""
    shared, examiner = setup_of(plan)
    key = hashlib.sha256(json.dumps([shared, examiner, preload_models, env or {}], sort_keys=True).encode()).hexdigest()
    launch = _LAUNCHERS.pop(key, None) or KernelLauncher(preload_models, shared, env, examiner_cells=examiner)
    _LAUNCHERS[key] = launch
    while len(_LAUNCHERS) > KEEP:
        _LAUNCHERS.pop(next(iter(_LAUNCHERS))).close()
    return launch


def grade_submission(task: Task) -> Result:
    """Reconstruct and run every notebook of `task`; a failure on the grader's side is judged by the canary."""
    start = time.monotonic()
    limits = Limits(**task.limits)
    out = Result(student=task.student, assignment=task.assignment, fingerprint=task.fingerprint,
                 timestamp=task.timestamp)
    for name, files in task.notebooks.items():
        out.notebooks[name] = _notebook(files, task, limits)
    if any(nb.run.failure for nb in out.notebooks.values()):
        out = judge(task, out, limits, retry=True)
    out.wall_s = time.monotonic() - start
    out.worker_peak_mib = _hwm("self")
    out.zygote_peak_mib = max((_hwm(z.pid()) for z in _LAUNCHERS.values() if z.pid()), default=0.0)
    return out


def _notebook(files: NotebookFiles, task: Task, limits: Limits) -> NotebookResult:
    """One notebook graded; when the worker itself raises, a result whose run says so (the canary judges it)."""
    try:
        return _graded(files, task, limits)
    except Exception as error:  # noqa: BLE001 - whose failure it was, the canary decides (judge)
        logger.warning("grading %s/%s raised: %s", task.assignment, task.student, traceback.format_exc())
        return unrun(files, f"the worker failed: {type(error).__name__}: {wire.clip(str(error), 1000)}")


def _graded(files: NotebookFiles, task: Task, limits: Limits) -> NotebookResult:
    source = nbformat.reads(files.source, as_version=4)
    release = nbformat.reads(files.release, as_version=4)
    submission, unreadable = _submission(files, release)
    rec = reconstruct(source, release, submission)
    launch = launcher(rec.plan, task.preload_models, task.env)
    run = run_notebook(rec.plan, launch, limits, env=task.env, only=_reached(rec.plan, task.changed_cell))
    count = 0
    for cell in run.cells:  # outputs into the reconstructed notebook, for the instructor
        nb_cell = rec.notebook.cells[cell.index]
        nb_cell.outputs = [nbformat.from_dict(dict(o)) for o in cell.outputs]
        cell.outputs = []
        if cell.status not in ("not-run", "skipped"):
            count += 1
            nb_cell.execution_count = count
    return _result(files, rec, run, unreadable)


def _reached(plan: list[dict], changed_cell: str | None) -> list[int] | None:
    """Mutation testing: the indices of the tests that cell `changed_cell` can reach and of the cells they need,
    in the order to run them (autograder.dataflow.schedule); None: run every cell."""
    code = [c for c in plan if c["cell_type"] == "code"]
    position = next((i for i, c in enumerate(code) if c.get("grade_id") == changed_cell), None)
    if changed_cell is None or position is None:
        return None
    order = schedule(code, sum(1 for c in code if c.get("setup")), position)
    return None if order is None else [code[i]["index"] for i in order]


def _submission(files: NotebookFiles, release):
    """(the student's notebook, why it could not be read); every string of it encodable (autograder.sanitize)."""
    if not files.submission:
        return release, ""
    try:
        return sanitize.unicode_tree(nbformat.reads(files.submission, as_version=4)), ""
    except Exception as error:  # noqa: BLE001 - an unreadable file is the student's problem, reported
        return release, f"{type(error).__name__}: {error}"


def _result(files: NotebookFiles, rec, run: NotebookRun, unreadable: str = "") -> NotebookResult:
    return NotebookResult(
        submitted=files.submission is not None, invalid=files.invalid, unreadable=unreadable, run=run,
        plan=[{k: v for k, v in p.items() if k not in ("source", "reference")} for p in rec.plan],
        matched_by=rec.matched_by, missing=rec.missing, extra=rec.extra, unanswered=rec.unanswered,
        notes=rec.notes, autograded=sanitize.unicode(nbformat.writes(rec.notebook)))


def unrun(files: NotebookFiles, failure: str) -> NotebookResult:
    """A notebook whose grading failed before it could report what ran: every test scores 0, the failure says why."""
    source = nbformat.reads(files.source, as_version=4)
    release = nbformat.reads(files.release, as_version=4)
    rec = reconstruct(source, release, release)
    return _result(files, rec, NotebookRun(cells=[], failure=failure, failed_in=-1))


def judge(task: Task, out: Result, limits: Limits, retry: bool, fresh: bool = False) -> Result:
    """A submission whose grading failed on the grader's side: the canary (instructor solution) says whose failure.

    The canary fails: the infrastructure's; nothing is recorded (`error`) and the batch stops (`infrastructure`).
    It grades fully: the submission's own, recorded with what ran (`canary` = "passed"). But a run that failed
    before any of the student's code ran (the set-up, a kernel that did not start) cannot be the student's: it
    is checked with a fresh canary and graded once more (`retry`); failing so again, it is reported, not recorded.
    """
    early = [name for name, nb in out.notebooks.items() if _before_student_code(nb.run)]
    launch = functools.partial(launcher, preload_models=task.preload_models, env=task.env)
    reason = canary.check(task, launch, limits, fresh=fresh or bool(early))
    if reason:
        logger.error("the canary (instructor solution) failed on worker %s: %s", os.getpid(), reason)
        return _unrecorded(task, out, f"the canary (instructor solution) failed: {reason}")
    for name in early if retry else []:
        logger.warning("%s/%s: %s; the canary passed, grading it again", task.assignment, task.student,
                       out.notebooks[name].run.failure)
        out.notebooks[name] = _notebook(task.notebooks[name], task, limits)
    if retry and any(_before_student_code(nb.run) for nb in out.notebooks.values()):
        return _unrecorded(task, out, "")  # twice, with the canary passing between: the grader is intermittent
    out.canary = "passed"
    return out


def _unrecorded(task: Task, out: Result, infrastructure: str) -> Result:
    failures = "; ".join(f"{name}: {nb.run.failure}" for name, nb in out.notebooks.items() if nb.run.failure)
    return Result(student=task.student, assignment=task.assignment, fingerprint=task.fingerprint,
                  error=failures, infrastructure=infrastructure)


def _before_student_code(run: NotebookRun) -> bool:
    """The run failed before any cell after the set-up ran: the student cannot have caused it."""
    return bool(run.failure) and run.failed_in is None and not any(c.kind != "setup" and c.status not in ("not-run", "skipped")
                                                                   for c in run.cells)


def judge_lost(task: Task, error: str) -> Result:
    """A task whose Dask workers died running it: the canary, on this worker, says whether the submission killed them."""
    out = Result(student=task.student, assignment=task.assignment, fingerprint=task.fingerprint,
                 timestamp=task.timestamp)
    for name, files in task.notebooks.items():
        out.notebooks[name] = unrun(files, f"its grading killed the grading worker ({wire.clip(error, 300)})")
    return judge(task, out, Limits(**task.limits), retry=False, fresh=True)  # workers died: trust no earlier pass


def _hwm(pid) -> float:
    """Peak resident memory (VmHWM) of a process, MiB."""
    return leftovers.peak_rss(pid) / 2**20


def safe_grade_submission(task: Task) -> Result:
    """grade_submission, never raising: what it could not judge is reported, not recorded, and graded next run."""
    try:
        return grade_submission(task)
    except Exception:  # noqa: BLE001 - not even a blank record could be built: is the grader itself broken?
        error = traceback.format_exc()
    out = Result(student=task.student, assignment=task.assignment, fingerprint=task.fingerprint, error=error)
    try:
        launch = functools.partial(launcher, preload_models=task.preload_models, env=task.env)
        reason = canary.check(task, launch, Limits(**task.limits), fresh=True)
    except Exception as failure:  # noqa: BLE001 - the canary could not even be built: the grader's own failure
        reason = f"{type(failure).__name__}: {failure}"
    if reason:
        out.infrastructure = f"the canary (instructor solution) failed: {reason}"
    return out
