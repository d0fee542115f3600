"""The unit of work a Dask worker runs: grade one student's submission of one assignment.

Pure with respect to the course: it receives a Task (the notebooks' contents: source,
release, submission) and returns a Result (records.py); it never opens the gradebook.
Each worker process keeps one kernel launcher (with its warm zygote) for its lifetime.
"""
import hashlib
import json
import os
import time
import traceback

import nbformat

from .executor import Limits, run_notebook
from .reconstruct import reconstruct
from .records import NotebookResult, Result, Task
from .sandbox import KernelLauncher

_LAUNCHERS: dict[str, KernelLauncher] = {}   # one warm zygote per notebook set-up, most recent last
KEEP = 2                                     # set-ups kept warm per worker (each holds its models in memory)


def launcher(setup_cells: list[str], preload_models: bool = True, env: dict | None = None) -> KernelLauncher:
    """This worker's zygote for a notebook set-up (started and run on first use)."""
    key = hashlib.sha256(json.dumps([setup_cells, preload_models, env or {}], sort_keys=True).encode()).hexdigest()
    launch = _LAUNCHERS.pop(key, None) or KernelLauncher(preload_models, setup_cells, env)
    _LAUNCHERS[key] = launch
    while len(_LAUNCHERS) > KEEP:
        _LAUNCHERS.pop(next(iter(_LAUNCHERS))).close()
    return launch


def grade_submission(task: Task) -> Result:
    """Reconstruct and run every notebook of `task`; an infrastructure failure raises (it is never a grade)."""
    start = time.monotonic()
    limits = Limits(**task.limits)
    out = Result(student=task.student, assignment=task.assignment, fingerprint=task.fingerprint,
                 timestamp=task.timestamp, worker_pid=os.getpid())
    for name, files in task.notebooks.items():
        source = nbformat.reads(files.source, as_version=4)
        release = nbformat.reads(files.release, as_version=4)
        unreadable = ""
        try:
            submission = nbformat.reads(files.submission, as_version=4) if files.submission else release
        except Exception as error:  # noqa: BLE001 - an unreadable file is the student's problem, reported
            unreadable = f"{type(error).__name__}: {error}"
            submission = release
        rec = reconstruct(source, release, submission)
        launch = launcher([c["source"] for c in rec.plan if c.get("setup")], task.preload_models, task.env)
        run = run_notebook(rec.plan, launch, limits, env=task.env)
        if run.failure:  # an infrastructure failure is never a grade: report it, grade it next run
            raise RuntimeError(f"{name}: {run.failure}")
        count = 0
        for cell in run.cells:  # outputs into the reconstructed notebook, for the instructor
            nb_cell = rec.notebook.cells[cell.index]
            nb_cell.outputs = [nbformat.from_dict(dict(o)) for o in cell.outputs]
            cell.outputs = []
            if cell.status != "not-run":
                count += 1
                nb_cell.execution_count = count
        out.notebooks[name] = NotebookResult(
            submitted=files.submission is not None, invalid=files.invalid, unreadable=unreadable, run=run,
            plan=[{k: v for k, v in p.items() if k not in ("source", "reference")} for p in rec.plan],
            matched_by=rec.matched_by, missing=rec.missing, extra=rec.extra, unanswered=rec.unanswered,
            notes=rec.notes, autograded=nbformat.writes(rec.notebook))
    out.wall_s = time.monotonic() - start
    out.worker_peak_mib = _hwm("self")
    out.zygote_peak_mib = max((_hwm(z.pid()) for z in _LAUNCHERS.values() if z.pid()), default=0.0)
    return out


def _hwm(pid) -> float:
    """Peak resident memory (VmHWM) of a process, MiB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def safe_grade_submission(task: Task) -> Result:
    try:
        return grade_submission(task)
    except Exception:  # noqa: BLE001 - an infrastructure failure: reported, not committed, retried next run
        return Result(student=task.student, assignment=task.assignment, fingerprint=task.fingerprint,
                      error=traceback.format_exc())
