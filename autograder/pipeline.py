"""The batch: find submissions, grade them in parallel on Dask, write results from one process.

Never lose a grade: a submission is identified by a fingerprint of its files (and
of the source notebooks). Its grades and its ledger row (table autograder_results,
next to nbgrader's tables in the gradebook) are written in ONE database
transaction by this process alone, so an interrupted batch leaves each submission
either fully graded or untouched; the next run grades exactly the untouched ones.
A re-run changes nothing unless forced; a resubmission (new fingerprint) is
graded anew.
"""
import hashlib
import html
import json
import os
import re
import shutil
import stat
import sys
import time
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pandas as pd

from .course import Course
from .executor import Limits

LEDGER = "autograder_results"


# -- discovery ---------------------------------------------------------------------------------------------

def submissions(course: Course, assignment: str) -> list[str]:
    if not course.submitted.is_dir():
        return []
    return sorted(p.name for p in course.submitted.iterdir() if (p / assignment).is_dir())


MAX_NOTEBOOK = 50 << 20  # bytes: a larger "notebook" is not graded


def read_submission(path: Path) -> tuple[str | None, str]:
    """(text, problem) of a submitted file, never following a symlink or reading a special file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None, ""
    except OSError as error:
        return None, "not a regular file (a symlink?): not read" if error.errno == 40 else f"unreadable ({error.strerror})"
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None, "not a regular file: not read"
        if info.st_size > MAX_NOTEBOOK:
            return None, f"larger than {MAX_NOTEBOOK >> 20} MiB: not read"
        return f.read(MAX_NOTEBOOK + 1).decode("utf-8", errors="replace"), ""


def fingerprint(course: Course, student: str, assignment: str) -> str:
    digest = hashlib.sha256()
    folder = course.submitted / student / assignment
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file():  # never followed: its name alone counts
            digest.update(str(path.relative_to(folder)).encode() + b"\0link\0")
            continue
        text, _ = read_submission(path)
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + (text or "").encode() + b"\0")
    for notebook in course.notebooks(assignment):
        digest.update((course.source / assignment / f"{notebook}.ipynb").read_bytes())
    return digest.hexdigest()[:32]


def _timestamp(course: Course, student: str, assignment: str) -> str | None:
    path = course.submitted / student / assignment / "timestamp.txt"
    return path.read_text().strip() if path.is_file() else None


def needs_models(course: Course, assignment: str) -> bool:
    words = ("load_sentence_model", "load_hf_model", "sentence_transformers", "transformers")
    return any(w in (course.source / assignment / f"{nb}.ipynb").read_text()
               for nb in course.notebooks(assignment) for w in words)


def make_task(course: Course, student: str, assignment: str, fp: str, options: dict) -> dict:
    notebooks = {}
    for name in course.notebooks(assignment):
        text, problem = read_submission(course.submitted / student / assignment / f"{name}.ipynb")
        notebooks[name] = {
            "source": (course.source / assignment / f"{name}.ipynb").read_text(),
            "release": (course.release / assignment / f"{name}.ipynb").read_text(),
            "submission": text, "invalid": problem,
        }
    return {"student": student, "assignment": assignment, "fingerprint": fp, "notebooks": notebooks,
            "timestamp": _timestamp(course, student, assignment), **options}


# -- scoring ------------------------------------------------------------------------------------------------

def hidden_lines(source_nb) -> list[str]:
    lines = []
    for cell in source_nb.cells:
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, flags=re.S):
            lines += [line.strip() for line in block.splitlines() if len(line.strip()) >= 12]
    return lines


def redact(message: str, secret_lines: list[str], limit: int = 600) -> str:
    for line in secret_lines:
        if line in message:
            message = message.replace(line, "[hidden test]")
    return message if len(message) <= limit else message[:limit] + " ..."


def score(result: dict, course: Course) -> dict:
    """Per-test scores, flags and feedback data of one worker result (JSON-able)."""
    summary = {"student": result["student"], "assignment": result["assignment"], "notebooks": {}, "flags": []}
    flags = summary["flags"]
    for name, entry in result["notebooks"].items():
        source_nb = nbformat.read(course.source / result["assignment"] / f"{name}.ipynb", as_version=4)
        secret = hidden_lines(source_nb)
        run = entry["run"]
        by_index = {c["index"]: c for c in run["cells"]}
        tests, manual = [], []
        where = f"{name}"
        if entry.get("invalid"):
            flags.append((name, f"submitted file {entry['invalid']}: graded as the blank release"))
        elif not entry["submitted"]:
            flags.append((name, "notebook not submitted: its tests score 0"))
        if entry.get("unreadable"):
            flags.append((name, f"notebook unreadable ({entry['unreadable']}): graded as the blank release"))
        for gid in entry["missing"]:
            flags.append((name, f"answer cell {gid!r} not found in the submission (metadata lost and no similar cell): "
                                "graded with the release stub, review"))
        if run.get("isolation", "").startswith("basic"):
            flags.append((name, f"graded without full isolation: {run['isolation']}"))
        if run["died_in"] is not None:
            cell = by_index.get(run["died_in"], {})
            where = cell.get("grade_id") or f"cell {run['died_in']}"
            flags.append((name, f"kernel died or was killed in {where} ({cell.get('kind', 'startup')}): {run['death']}"))
        for plan in entry["plan"]:
            cell = by_index.get(plan["index"]) or {"status": "not-run", "ename": "", "evalue": ""}
            label = plan.get("grade_id") or f"cell {plan['index']}"
            if cell.get("status") == "timeout" and run["died_in"] != plan["index"]:
                flags.append((name, f"{label} timed out and was interrupted"))
            if plan["kind"] != "test":
                continue
            passed = cell["status"] == "ok"  # the examiner's own verdict; the student's process says nothing
            message = "" if passed else redact(f"{cell['ename']}: {cell['evalue']}".strip(": "), secret)
            if cell["status"] == "not-run":
                message = f"not run: the kernel died earlier ({run['death']})"
            tests.append({"grade_id": plan["grade_id"], "points": plan["points"],
                          "score": plan["points"] if passed else 0.0, "status": cell["status"],
                          "passed": passed, "message": message, "needs_review": False})
        for gid in entry["unanswered"]:
            manual.append(gid)
        summary["notebooks"][name] = {"tests": tests, "unanswered": manual, "matched_by": entry["matched_by"],
                                      "extra_cells": entry["extra"], "notes": entry["notes"],
                                      "wall_s": run["wall_s"], "startup_s": run["startup_s"],
                                      "cells_s": sum(c["seconds"] for c in run["cells"]),
                                      "setup_s": run.get("setup_s", 0.0),
                                      "parts_s": _parts(run["cells"]),
                                      "cell_times": [[c["index"], c["kind"], c.get("grade_id"), round(c["seconds"], 3),
                                                      c.get("calls", 0)] for c in run["cells"]],
                                      "peak_rss_mib": run["peak_rss_mib"], "isolation": run["isolation"]}
    summary["score"] = sum(t["score"] for nb in summary["notebooks"].values() for t in nb["tests"])
    summary["max_score"] = sum(t["points"] for nb in summary["notebooks"].values() for t in nb["tests"])
    summary["flags"] = [list(f) for f in flags]
    summary["worker_peak_mib"] = result.get("worker_peak_mib", 0.0)
    summary["zygote_peak_mib"] = result.get("zygote_peak_mib", 0.0)
    return summary


def _parts(cells: list[dict]) -> dict:
    """Seconds per kind of cell: answers, tests (in the examiner), other cells run per submission."""
    parts = {"answer": 0.0, "test": 0.0, "other": 0.0}
    for cell in cells:
        kind = cell["kind"]
        if kind != "setup":
            parts[kind if kind in parts else "other"] += cell["seconds"]
    return {k: round(v, 3) for k, v in parts.items()}


# -- the one writer -----------------------------------------------------------------------------------------

class Writer:
    """The only process that writes grades: nbgrader's gradebook plus the ledger, one transaction per submission."""

    def __init__(self, course: Course):
        from nbgrader.api import Gradebook
        from sqlalchemy import text

        import warnings
        # nbgrader's helpers trip SQLAlchemy autoflush warnings inside one transaction; they mean nothing here.
        warnings.filterwarnings("ignore", message=".*not in session.*")
        self.course = course
        self.text = text
        self.gb = Gradebook(course.db_url, course_id="embeddings")
        self.gb.db.execute(text(
            f"CREATE TABLE IF NOT EXISTS {LEDGER} (student VARCHAR(128) NOT NULL, assignment VARCHAR(128) NOT NULL, "
            "fingerprint VARCHAR(64) NOT NULL, graded_at VARCHAR(40) NOT NULL, runs INTEGER NOT NULL, "
            "summary TEXT NOT NULL, PRIMARY KEY (student, assignment))"))
        self.gb.db.commit()

    def ledger(self) -> dict:
        rows = self.gb.db.execute(self.text(f"SELECT student, assignment, fingerprint, runs, summary FROM {LEDGER}"))
        return {(r[0], r[1]): {"fingerprint": r[2], "runs": r[3], "summary": json.loads(r[4])} for r in rows}

    def write(self, result: dict, summary: dict) -> None:
        course, gb = self.course, self.gb
        student, assignment = result["student"], result["assignment"]
        # Files first (idempotent, atomic renames); the database commit below is what makes the grade count.
        folder = course.autograded / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for name, entry in result["notebooks"].items():
            _atomic_write(folder / f"{name}.ipynb", entry["autograded"])
        stamp = course.submitted / student / assignment / "timestamp.txt"
        if stamp.is_file():
            _atomic_write(folder / "timestamp.txt", stamp.read_text())
        real_commit = gb.db.commit
        gb.db.commit = gb.db.flush  # nbgrader's helpers commit as they go: hold everything in one transaction
        try:
            gb.update_or_create_student(student)
            kwargs = {"timestamp": result["timestamp"]} if result.get("timestamp") else {}
            gb.update_or_create_submission(assignment, student, **kwargs)
            for name, nb in summary["notebooks"].items():
                tested = set()
                for test in nb["tests"]:
                    grade = gb.find_grade(test["grade_id"], name, assignment, student)
                    grade.auto_score = test["score"]
                    grade.needs_manual_grade = grade.manual_score is not None or test["needs_review"]
                    tested.add(test["grade_id"])
                submitted_nb = gb.find_submission_notebook(name, assignment, student)
                for grade in submitted_nb.grades:  # manually graded answers (nbgrader's rule: blank scores 0)
                    if grade.name not in tested:
                        blank = grade.name in nb["unanswered"]
                        grade.auto_score = 0.0 if blank else None
                        grade.needs_manual_grade = grade.manual_score is not None or not blank
                for comment in submitted_nb.comments:
                    comment.auto_comment = "No response." if comment.name in nb["unanswered"] else None
            key = {"s": student, "a": assignment}
            row = gb.db.execute(self.text(f"SELECT runs FROM {LEDGER} WHERE student = :s AND assignment = :a"), key).first()
            previous = row[0] if row else 0
            gb.db.execute(self.text(f"DELETE FROM {LEDGER} WHERE student = :s AND assignment = :a"), key)
            gb.db.execute(self.text(
                f"INSERT INTO {LEDGER} (student, assignment, fingerprint, graded_at, runs, summary) "
                "VALUES (:s, :a, :f, :t, :r, :j)"),
                {"s": student, "a": assignment, "f": result["fingerprint"],
                 "t": datetime.now(timezone.utc).isoformat(timespec="seconds"), "r": previous + 1,
                 "j": json.dumps(summary)})
            real_commit()
        except BaseException:
            gb.db.rollback()
            raise
        finally:
            gb.db.commit = real_commit

    def close(self) -> None:
        self.gb.close()


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


# -- orchestration ------------------------------------------------------------------------------------------

def _client(jobs: int, scheduler: str | None):
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=":0",
                           memory_limit=0, silence_logs=40)
    return Client(cluster), cluster


def grade(course: Course, assignments: list[str] | None = None, jobs: int = 2, scheduler: str | None = None,
          device: str | None = None, force: bool = False, limits: Limits | None = None, zygote: bool = True,
          preload_models: bool | None = None, progress: bool = True, log=print, outputs: bool = True) -> dict:
    """Grade every new or changed submission; returns {"graded": n, "skipped": n, "errors": [...]}."""
    from .release import register

    limits = limits or Limits()
    gpu = (device or "").startswith("cuda") or (not device and os.path.exists("/dev/nvidia0"))
    if gpu and limits.mem_limit:  # CUDA reserves far more address space than it uses: no RLIMIT_AS there
        limits = Limits(**{**asdict(limits), "mem_limit": None})
    if limits.threads is None and not scheduler:  # workers run side by side: share the cores, don't oversubscribe
        limits = Limits(**{**asdict(limits), "threads": max(1, (os.cpu_count() or 1) // max(jobs, 1))})
    env = {"DEVICE": device} if device else {}
    if limits.threads:
        env.update({k: str(limits.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")})
    options = {"limits": asdict(limits), "env": env, "zygote": zygote, "preload_models": preload_models}
    assignments = [a for a in (assignments or course.assignments()) if submissions(course, a)]
    if preload_models is None:  # import transformers in the zygote only when a notebook will use it
        preload_models = any(needs_models(course, a) for a in assignments)
        options["preload_models"] = preload_models
    course.work.mkdir(parents=True, exist_ok=True)
    if not scheduler:
        from .sandbox import sweep_stale
        sweep_stale()
    for assignment in assignments:
        register(course, [assignment])
    writer = Writer(course)
    report = {"graded": 0, "skipped": 0, "errors": []}
    try:
        ledger = writer.ledger()
        tasks = []
        for assignment in assignments:
            for student in submissions(course, assignment):
                fp = fingerprint(course, student, assignment)
                done = ledger.get((student, assignment))
                if done and done["fingerprint"] == fp and not force:
                    report["skipped"] += 1
                    continue
                tasks.append(make_task(course, student, assignment, fp, options))
        if tasks:
            _run(tasks, writer, course, jobs, scheduler, progress, log, report, zygote, preload_models)
        if report["skipped"]:
            log(f"{report['skipped']} submission(s) already graded and unchanged (use --force to regrade)")
    finally:
        writer.close()
    if outputs:
        write_outputs(course, log=log)
    return report


def _run(tasks, writer, course, jobs, scheduler, progress, log, report, zygote, preload_models):
    from dask.distributed import as_completed
    from tqdm import tqdm

    from .worker import safe_grade_submission

    client, cluster = _client(jobs, scheduler)
    bar = tqdm(total=len(tasks), desc="grading", unit="submission", disable=not progress, file=sys.stderr,
               dynamic_ncols=True, smoothing=0.1)
    try:
        futures = [client.submit(safe_grade_submission, task, pure=False, retries=1,
                                 key=f"grade-{task['assignment']}-{task['student']}-{task['fingerprint'][:8]}")
                   for task in tasks]
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - a lost worker beyond retries: report, retry next run
                result = {"error": f"{type(error).__name__}: {error}", "student": "?", "assignment": "?"}
                for task in tasks:
                    if future.key.startswith(f"grade-{task['assignment']}-{task['student']}-"):
                        result.update(student=task["student"], assignment=task["assignment"])
            if "error" not in result:
                try:  # one submission's scoring or writing never stops the batch
                    summary = score(result, course)
                    writer.write(result, summary)
                    report["graded"] += 1
                    bar.set_postfix_str(f"{result['assignment']}/{result['student']} "
                                        f"{summary['score']:g}/{summary['max_score']:g}")
                except Exception:  # noqa: BLE001 - reported, not recorded, graded again next run
                    import traceback
                    result["error"] = traceback.format_exc()
            if "error" in result:
                report["errors"].append((result["student"], result["assignment"], result["error"]))
                log(f"\nERROR grading {result['assignment']}/{result['student']} (not recorded; rerun to retry):\n"
                    f"{result['error'].strip().splitlines()[-1] if result['error'].strip() else '?'}")
                if not report["graded"] and len(report["errors"]) >= min(len(tasks), 2 * jobs + 1):
                    # everything fails the same way: a broken set-up or sandbox, not the students. Stop.
                    for other in futures:
                        other.cancel()
                    report["stopped"] = (f"stopped: the first {len(report['errors'])} submissions all failed to grade "
                                         f"(infrastructure, not the students); last error: "
                                         f"{result['error'].strip().splitlines()[-1] if result['error'].strip() else '?'}")
                    log("\n" + report["stopped"])
                    break
            bar.update(1)
    finally:
        bar.close()
        client.close()
        if cluster is not None:
            cluster.close()


# -- outputs ------------------------------------------------------------------------------------------------

def summaries(course: Course) -> list[dict]:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(course.db_url)
    try:
        if LEDGER not in inspect(engine).get_table_names():
            return []
        with engine.connect() as conn:
            return [json.loads(r[0]) | {"runs": r[1], "fingerprint": r[2]}
                    for r in conn.execute(text(f"SELECT summary, runs, fingerprint FROM {LEDGER} ORDER BY assignment, student"))]
    finally:
        engine.dispose()


def write_outputs(course: Course, log=print) -> dict:
    """grades.csv, item_analysis.csv, flagged.csv, timings.csv and per-student feedback HTML."""
    rows = summaries(course)
    work = course.work
    grades = pd.DataFrame([{"student": s["student"], "assignment": s["assignment"], "score": s["score"],
                            "max_score": s["max_score"], "flags": len(s["flags"])} for s in rows],
                          columns=["student", "assignment", "score", "max_score", "flags"])
    grades.to_csv(work / "grades.csv", index=False)
    items, flagged, timings, cells = [], [], [], []
    for s in rows:
        for name, nb in s["notebooks"].items():
            for t in nb["tests"]:
                items.append({"assignment": s["assignment"], "notebook": name, "test": t["grade_id"],
                              "points": t["points"], "score": t["score"], "passed": t["passed"],
                              "message": safe_text(t["message"].splitlines()[0], 200) if t["message"] else ""})
            parts = nb.get("parts_s", {})
            for index, kind, grade_id, seconds, calls in nb.get("cell_times", []):
                cells.append({"student": s["student"], "assignment": s["assignment"], "notebook": name, "cell": index,
                              "kind": kind, "grade_id": grade_id or "", "seconds": seconds, "examiner_calls": calls})
            timings.append({"student": s["student"], "assignment": s["assignment"], "notebook": name,
                            "wall_s": round(nb["wall_s"], 2), "kernel_start_s": round(nb["startup_s"], 2),
                            "setup_s": round(nb.get("setup_s", 0.0), 2), "answer_s": parts.get("answer", 0.0),
                            "test_s": parts.get("test", 0.0), "other_cells_s": parts.get("other", 0.0),
                            "cells_s": round(nb["cells_s"], 2), "peak_rss_mib": round(nb["peak_rss_mib"], 1),
                            "isolation": nb["isolation"], "worker_peak_mib": round(s.get("worker_peak_mib", 0), 1),
                            "zygote_peak_mib": round(s.get("zygote_peak_mib", 0), 1)})
        for notebook, reason in s["flags"]:
            flagged.append({"student": s["student"], "assignment": s["assignment"], "notebook": notebook,
                            "reason": safe_text(reason, 600)})
        write_feedback(course, s)
    item_table = item_analysis(pd.DataFrame(items))
    item_table.to_csv(work / "item_analysis.csv", index=False)
    pd.DataFrame(flagged, columns=["student", "assignment", "notebook", "reason"]).to_csv(work / "flagged.csv", index=False)
    pd.DataFrame(timings).to_csv(work / "timings.csv", index=False)
    pd.DataFrame(cells, columns=["student", "assignment", "notebook", "cell", "kind", "grade_id", "seconds",
                                 "examiner_calls"]).to_csv(work / "cell_timings.csv", index=False)
    return {"grades": grades, "items": item_table, "flagged": flagged}


def safe_text(value, limit: int = 300) -> str:
    """A string for a CSV cell: bounded, printable, never read as a spreadsheet formula."""
    from .wire import clip
    text = clip(str(value), limit).replace("\n", " ")
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def item_analysis(items: pd.DataFrame) -> pd.DataFrame:
    columns = ["assignment", "notebook", "test", "points", "submissions", "pass_rate", "mean_score",
               "most_common_failure"]
    if items.empty:
        return pd.DataFrame(columns=columns)
    out = []
    for (assignment, notebook, test), group in items.groupby(["assignment", "notebook", "test"], sort=False):
        failures = Counter(m for m, p in zip(group.message, group.passed) if not p and m)
        common = failures.most_common(1)
        out.append({"assignment": assignment, "notebook": notebook, "test": test, "points": group.points.max(),
                    "submissions": len(group), "pass_rate": round(group.passed.mean(), 3),
                    "mean_score": round(group.score.mean(), 3),
                    "most_common_failure": f"{common[0][0]} (x{common[0][1]})" if common else ""})
    return pd.DataFrame(out, columns=columns).sort_values(["assignment", "pass_rate"])


def write_feedback(course: Course, s: dict) -> None:
    """Feedback per notebook: each test's pass/fail, points and message; never test source."""
    folder = course.feedback / s["student"] / s["assignment"]
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in s["notebooks"].items():
        rows = "".join(
            f"<tr class='{'pass' if t['passed'] else 'fail'}'><td>{html.escape(t['grade_id'])}</td>"
            f"<td>{'passed' if t['passed'] else 'failed'}</td><td>{t['score']:g} / {t['points']:g}</td>"
            f"<td><pre>{html.escape(t['message'])}</pre></td></tr>" for t in nb["tests"])
        notes = [reason for notebook, reason in s["flags"] if notebook == name]
        got = sum(t["score"] for t in nb["tests"])
        total = sum(t["points"] for t in nb["tests"])
        body = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(s['assignment'])} / {html.escape(name)}"
                "</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:.3em .6em;"
                "border-bottom:1px solid #ddd;vertical-align:top}.pass td:nth-child(2){color:#080}"
                ".fail td:nth-child(2){color:#b00}pre{white-space:pre-wrap;margin:0}</style></head><body>"
                f"<h1>{html.escape(s['assignment'])}: {html.escape(name)}</h1>"
                f"<p>Student: <b>{html.escape(s['student'])}</b> &mdash; score <b>{got:g} / {total:g}</b></p>"
                "<table><tr><th>test</th><th>result</th><th>points</th><th>message</th></tr>" + rows + "</table>"
                + ("<h2>Notes for review</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"
                   if notes else "")
                + "</body></html>")
        _atomic_write(folder / f"{name}.html", body)
