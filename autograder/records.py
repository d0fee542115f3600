"""The records passed between the grading steps and across processes (Dask ships them as they are).

intake -> Task -> worker (reconstruct, execute) -> Result -> score -> summary (JSON, in the ledger)
-> gradebook and reports. The executor's own NotebookRun and CellRun (executor.py) travel inside a
NotebookResult, without their rendered outputs (those go into the autograded notebook).
"""
from dataclasses import dataclass, field


@dataclass
class NotebookFiles:
    """One notebook of a task: the instructor's source and release, and what the student submitted."""
    source: str                      # nbformat JSON
    release: str                     # nbformat JSON
    submission: str | None           # nbformat JSON, None when not submitted or not readable
    invalid: str = ""                # why a submitted file was not read (a symlink, too large, ...)


@dataclass
class Task:
    """One student's submission of one assignment, everything a worker needs to grade it."""
    student: str
    assignment: str
    fingerprint: str
    notebooks: dict[str, NotebookFiles]
    timestamp: str | None = None
    limits: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    preload_models: bool = True
    # Mutation testing: the grade_id of the one answer cell in which this submission differs from the
    # instructor's solution. Only the tests it can reach and the cells they need run (autograder.dataflow.reach); the others are
    # "skipped" and their tests keep the solution's outcome. None: every cell runs (every real submission).
    changed_cell: str | None = None


@dataclass
class NotebookResult:
    """What ran for one notebook: the reconstruction's report and the executor's run."""
    submitted: bool
    run: object                      # executor.NotebookRun (outputs stripped)
    plan: list                       # code cells in order: index, kind, grade_id, points, setup
    autograded: str                  # the reconstructed notebook with outputs, nbformat JSON
    invalid: str = ""
    unreadable: str = ""
    matched_by: dict = field(default_factory=dict)
    missing: list = field(default_factory=list)
    extra: int = 0
    unanswered: list = field(default_factory=list)
    notes: list = field(default_factory=list)


@dataclass
class Result:
    """A worker's answer for one Task: its notebooks' results, or the infrastructure error that stopped it."""
    student: str
    assignment: str
    fingerprint: str
    timestamp: str | None = None
    notebooks: dict[str, NotebookResult] = field(default_factory=dict)
    error: str = ""                  # set: nothing is recorded, the next run grades it again
    infrastructure: str = ""         # set: the canary (instructor solution) failed too; the batch stops
    canary: str = ""                 # "passed": a failure on the grader's side was judged the submission's own
    wall_s: float = 0.0
    worker_peak_mib: float = 0.0
    zygote_peak_mib: float = 0.0
