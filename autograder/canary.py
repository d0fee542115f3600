"""The canary: the instructor's solution, graded like a submission, tells a student's failure from the grader's.

When grading a submission fails on the grader's side (the examiner breaks, a kernel does not start,
the worker raises, a Dask worker dies), the worker grades the canary: the perfect submission built
from the source (autograder.sample_class), on the same worker, with the same launcher and limits.
If the canary grades fully, the grader works and the failure was the submission's own. If the
canary fails, the failure is the infrastructure's: nothing is recorded and the batch stops.

A passing canary is remembered per worker and assignment while the same zygotes serve it, for at
most TTL seconds, so a class costs a few canary runs, not one per failed submission.
"""
import hashlib
import json
import logging
import time
from dataclasses import asdict

import nbformat
import psutil

from .executor import Limits, NotebookRun, run_notebook
from .reconstruct import reconstruct
from .records import Task
from .sample_class import perfect_submission

log = logging.getLogger(__name__)

TTL = 600.0                                  # seconds a passing canary vouches for its worker
_PASSED: dict[str, tuple[float, tuple]] = {}  # key -> (when it passed, the zygote pids it ran on)
RUNS = {"count": 0}                          # canary runs in this process (tests, reports)


def check(task: Task, launcher_for, limits: Limits, fresh: bool = False) -> str:
    """"" when the canary of `task`'s assignment grades fully on this worker, else why it did not.

    `launcher_for(plan)` is the worker's launcher for a notebook's set-up (the one the submission
    used). `fresh`: never trust a remembered pass (the failure came before any of the student's code ran).
    """
    key = _key(task, limits)
    plans = {name: _plan(files) for name, files in task.notebooks.items()}
    pids = _pids(plans, launcher_for)
    passed = _PASSED.get(key)
    if not fresh and passed and time.monotonic() - passed[0] < TTL and passed[1] == pids and None not in pids:
        return ""
    _PASSED.pop(key, None)
    RUNS["count"] += 1
    started = time.monotonic()
    try:
        reason = "; ".join(f"{name}: {why}" for name, plan in plans.items()
                           if (why := shortfall(run_notebook(plan, _launcher(plan, launcher_for), limits, env=task.env))))
    except Exception as error:  # noqa: BLE001 - the canary failing in any way is the infrastructure's failure
        reason = f"{type(error).__name__}: {error}"
    log.info("canary of %s: %s in %.1f s", task.assignment, reason or "graded fully", time.monotonic() - started)
    if not reason:
        _PASSED[key] = (time.monotonic(), _pids(plans, launcher_for))
    return reason


def shortfall(run: NotebookRun) -> str:
    """"" when `run` graded fully (every test passed in the examiner), else what went wrong."""
    if run.failure:
        return run.failure
    if run.died_in is not None:
        return f"the kernel died: {run.death}"
    failed = [f"{c.grade_id}: {c.status} {c.ename}: {c.evalue}".strip() for c in run.cells
              if c.kind == "test" and c.status != "ok"]
    return f"{len(failed)} test(s) did not pass: " + "; ".join(failed)[:1500] if failed else ""


def _plan(files) -> list[dict]:
    source = nbformat.reads(files.source, as_version=4)
    release = nbformat.reads(files.release, as_version=4)
    return reconstruct(source, release, perfect_submission(source, release)).plan


def _launcher(plan: list[dict], launcher_for):
    return launcher_for(plan)


def _pids(plans: dict, launcher_for) -> tuple:
    """The live zygotes the canary's notebooks run on (None: not started or gone): a pass holds for these only."""
    return tuple(_alive(_launcher(plan, launcher_for).pid()) for plan in plans.values())


def _alive(pid: int | None) -> int | None:
    if not pid:
        return None  # not started (psutil.Process(None) would be this process)
    try:
        state = psutil.Process(pid).status()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return None if state in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD) else pid


def _key(task: Task, limits: Limits) -> str:
    """One canary per assignment version, limits, environment and model preloading."""
    parts = [task.assignment, sorted((n, f.source, f.release) for n, f in task.notebooks.items()), asdict(limits),
             task.env, task.preload_models]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def forget() -> None:
    """Drop every remembered pass (tests)."""
    _PASSED.clear()
