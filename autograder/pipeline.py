"""The batch: intake -> reconstruct -> execute (sandbox, examiner) -> score -> gradebook -> reports.

Each step is a module named after it; this one finds what to grade, fans the submissions
out to Dask workers (worker.py: reconstruct and execute, returning plain data), and
feeds each result through score and the one gradebook writer, then writes the reports.
It stops the batch only when the canary (canary.py: the instructor's solution) fails.
"""
import logging
import os
import sys
import traceback
from dataclasses import asdict

from .course import Course
from .executor import Limits
from .gradebook import Writer
from .intake import fingerprint, make_task, submissions
from .records import Result
from .reports import write_outputs
from .score import score

logger = logging.getLogger(__name__)


def needs_models(course: Course, assignment: str) -> bool:
    words = ("load_sentence_model", "load_hf_model", "sentence_transformers", "transformers")
    return any(w in (course.source / assignment / f"{nb}.ipynb").read_text()
               for nb in course.notebooks(assignment) for w in words)


def _client(jobs: int, scheduler: str | None):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=":0",
                           memory_limit=0, silence_logs=40)
    return Client(cluster), cluster


def grade(course: Course, assignments: list[str] | None = None, jobs: int = 2, scheduler: str | None = None,
          device: str | None = None, force: bool = False, limits: Limits | None = None,
          preload_models: bool | None = None, progress: bool = True, log=print, outputs: bool = True,
          changed_cells: dict[str, str] | None = None) -> dict:
    """Grade every new or changed submission; returns {"graded": n, "skipped": n, "errors": [...]}, and
    "stopped" when the canary (the instructor's solution) failed: the grader, not the students, is broken.

    `changed_cells` (mutation testing, autograder.mutants): student -> the one answer cell in which that
    submission differs from the solution; only what that cell can reach runs (records.Task.changed_cell)."""
    from .release import register

    limits, device = _limits(limits or Limits(), device, jobs, scheduler)
    assignments = [a for a in (assignments or course.assignments()) if submissions(course, a)]
    if preload_models is None:  # import transformers in the zygote only when a notebook will use it
        preload_models = any(needs_models(course, a) for a in assignments)
    env = {"DEVICE": device} if device else {}
    if limits.threads:
        env.update({k: str(limits.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")})
    options = {"limits": asdict(limits), "env": env, "preload_models": preload_models}
    course.work.mkdir(parents=True, exist_ok=True)
    # The gradebook first: unreachable, wrong credentials or another batch on it stop here (GradebookError),
    # before any sandbox is swept, any assignment registered, or any Dask worker or kernel started.
    writer = Writer(course)
    report = {"graded": 0, "skipped": 0, "errors": []}
    try:
        if not scheduler:
            from .sandbox import sweep_stale
            sweep_stale()
        for assignment in assignments:
            register(course, [assignment])
        tasks = _tasks(course, assignments, writer.ledger(), options, force, report, changed_cells or {})
        if tasks:
            _run(tasks, writer, course, jobs, scheduler, progress, log, report)
        if report["skipped"]:
            log(f"{report['skipped']} submission(s) already graded and unchanged (use --force to regrade)")
    finally:
        writer.close()
    if outputs:
        write_outputs(course, log=log)
    return report


def _limits(limits: Limits, device: str | None, jobs: int, scheduler: str | None) -> tuple[Limits, str | None]:
    """The limits and device the workers get: CUDA said explicitly, no address-space limit on it, cores shared."""
    gpu = (device or "").startswith("cuda") or (not device and os.path.exists("/dev/nvidia0"))
    if gpu and not device:  # auto on a GPU machine is cuda, said explicitly: the zygotes must keep off the GPU
        device = "cuda"
    if gpu:  # CUDA reserves far more address space than it uses: no RLIMIT_AS there (nor in the examiner)
        limits = Limits(**{**asdict(limits), "mem_limit": None, "examiner_mem_limit": None})
    if limits.threads is None and not scheduler:  # workers run side by side: share the cores, don't oversubscribe
        limits = Limits(**{**asdict(limits), "threads": max(1, (os.cpu_count() or 1) // max(jobs, 1))})
    return limits, device


def _tasks(course: Course, assignments: list[str], ledger: dict, options: dict, force: bool, report: dict,
           changed_cells: dict[str, str]) -> list:
    """A task per submission not yet graded in its current version (all of them with `force`)."""
    tasks = []
    for assignment in assignments:
        for student in submissions(course, assignment):
            fp = fingerprint(course, student, assignment)
            done = ledger.get((student, assignment))
            if done and done["fingerprint"] == fp and not force:
                report["skipped"] += 1
                continue
            tasks.append(make_task(course, student, assignment, fp, changed_cell=changed_cells.get(student), **options))
    return tasks


def _run(tasks, writer, course, jobs, scheduler, progress, log, report):
    from dask.distributed import as_completed
    from tqdm import tqdm

    from .worker import safe_grade_submission

    client, cluster = _client(jobs, scheduler)
    bar = tqdm(total=len(tasks), desc="grading", unit="submission", disable=not progress, file=sys.stderr,
               dynamic_ncols=True, smoothing=0.1)
    try:
        by_key = {f"grade-{t.assignment}-{t.student}-{t.fingerprint[:8]}": t for t in tasks}
        futures = [client.submit(safe_grade_submission, task, pure=False, retries=1, key=key)
                   for key, task in by_key.items()]
        for future in as_completed(futures):
            result = _outcome(client, future, by_key[future.key])
            if not result.error:
                _record(result, writer, course, report, bar)
            if result.error:
                _report_error(result, report, log)
            if result.infrastructure:  # the canary failed: the grader is broken, not the students. Stop.
                for other in futures:
                    other.cancel()
                report["stopped"] = f"stopped: {result.infrastructure}"
                logger.error(report["stopped"])
                log("\n" + report["stopped"])
                break
            bar.update(1)
    finally:
        bar.close()
        client.close()
        if cluster is not None:
            cluster.close()


def _outcome(client, future, task) -> Result:
    """The worker's Result; for a task whose workers all died, the canary's verdict on another worker."""
    from .worker import judge_lost

    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - workers died running it (Dask gave up): did the submission kill them?
        lost = f"{type(error).__name__}: {error}"
    logger.warning("%s/%s: %s; grading the canary", task.assignment, task.student, lost)
    try:
        return client.submit(judge_lost, task, lost, pure=False, retries=0).result()
    except Exception as error:  # noqa: BLE001 - the canary's worker went too: the cluster is broken
        return Result(task.student, task.assignment, task.fingerprint, error=lost,
                      infrastructure=f"the canary (instructor solution) failed: {type(error).__name__}: {error}")


def _record(result: Result, writer: Writer, course: Course, report: dict, bar) -> None:
    """Score and write one submission; a failure here is reported (`result.error`) and never stops the batch."""
    try:
        summary = score(result, course)
        writer.write(result, summary)
        report["graded"] += 1
        bar.set_postfix_str(f"{result.assignment}/{result.student} {summary['score']:g}/{summary['max_score']:g}")
    except Exception:  # noqa: BLE001 - reported, not recorded, graded again next run
        result.error = traceback.format_exc()


def _report_error(result: Result, report: dict, log) -> None:
    last = result.error.strip().splitlines()[-1] if result.error.strip() else "?"
    report["errors"].append((result.student, result.assignment, result.error))
    logger.warning("grading %s/%s failed (not recorded): %s", result.assignment, result.student, last)
    log(f"\nERROR grading {result.assignment}/{result.student} (not recorded; rerun to retry):\n{last}")
