"""Score: per-test points, review flags and feedback data from what the worker ran.

A test cell scores its points when the examiner ran it without an exception; everything
the student's process printed or claimed is ignored. Messages are redacted of hidden
test lines and bounded.
"""
import re

import nbformat

from . import sanitize, wire
from .course import Course
from .reconstruct import is_examiner
from .records import Result


def hidden_lines(source_nb) -> list[str]:
    """The lines a message must never quote: hidden tests' and examiner-only cells' (12 characters or more)."""
    lines = []
    for cell in source_nb.cells:
        blocks = [cell.source] if is_examiner(cell) else re.findall(
            r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, flags=re.S)
        for block in blocks:
            lines += [line.strip() for line in block.splitlines() if len(line.strip()) >= 12]
    return lines


def redact(message: str, secret_lines: list[str], limit: int = 600) -> str:
    for line in secret_lines:
        if line in message:
            message = message.replace(line, "[hidden test]")
    return message if len(message) <= limit else message[:limit] + " ..."


def score(result: Result, course: Course) -> dict:
    """Per-test scores, flags and feedback data of one worker Result: the summary (JSON-able, kept in the ledger).

    Every string in it is sanitised (autograder.sanitize): the gradebook, the ledger and the reports write it."""
    summary = {"student": result.student, "assignment": result.assignment, "notebooks": {}, "flags": []}
    flags = summary["flags"]
    for name, entry in result.notebooks.items():
        source_nb = nbformat.read(course.source / result.assignment / f"{name}.ipynb", as_version=4)
        run = entry.run
        by_index = {c.index: c for c in run.cells}
        flags.extend((name, reason) for reason in _flags(entry, by_index, result.canary == "passed"))
        secret, tests = hidden_lines(source_nb), []
        for plan in entry.plan:
            cell = by_index.get(plan["index"])
            status = cell.status if cell else "not-run"
            label = plan.get("grade_id") or f"cell {plan['index']}"
            if status == "timeout" and run.died_in != plan["index"]:
                flags.append((name, f"{label} timed out and was interrupted"))
            if plan["kind"] == "test":
                tests.append(_test(plan, cell, status, run, secret))
        summary["notebooks"][name] = {"tests": tests, "unanswered": list(entry.unanswered),
                                      "matched_by": entry.matched_by, "extra_cells": entry.extra, "notes": entry.notes,
                                      "wall_s": run.wall_s, "startup_s": run.startup_s,
                                      "cells_s": sum(c.seconds for c in run.cells), "setup_s": run.setup_s,
                                      "parts_s": _parts(run.cells),
                                      "cell_times": [[c.index, c.kind, c.grade_id, round(c.seconds, 3), c.calls]
                                                     for c in run.cells],
                                      "peak_rss_mib": run.peak_rss_mib, "isolation": run.isolation,
                                      "leftovers": list(run.leftovers)}
    summary["score"] = sum(t["score"] for nb in summary["notebooks"].values() for t in nb["tests"])
    summary["max_score"] = sum(t["points"] for nb in summary["notebooks"].values() for t in nb["tests"])
    summary["flags"] = [list(f) for f in flags]
    summary["worker_peak_mib"] = result.worker_peak_mib
    summary["zygote_peak_mib"] = result.zygote_peak_mib
    return sanitize.tree(summary, limit=20_000)


def _flags(entry, by_index: dict, canary_passed: bool) -> list[str]:
    """The review flags of one notebook: how it was submitted and read, and how its run ended."""
    run, flags = entry.run, []
    if entry.invalid:
        flags.append(f"submitted file {entry.invalid}: graded as the blank release")
    elif not entry.submitted:
        flags.append("notebook not submitted: its tests score 0")
    if entry.unreadable:
        flags.append(f"notebook unreadable ({wire.clip(entry.unreadable, 200)}): graded as the blank release")
    for gid in entry.missing:
        flags.append(f"answer cell {gid!r} not found in the submission (metadata lost and no similar cell): "
                     "graded with the release stub, review")
    if run.isolation.startswith("basic"):
        flags.append(f"graded without full isolation: {run.isolation}")
    if run.died_in is not None:
        cell = by_index.get(run.died_in)
        where = (cell.grade_id if cell else None) or f"cell {run.died_in}"
        flags.append(f"kernel died or was killed in {where} ({cell.kind if cell else 'startup'}): {run.death}")
    if run.failure:
        cell = by_index.get(run.failed_in)
        where = (cell.grade_id if cell else None) or (f"cell {run.failed_in}" if cell else
                                                      "in the worker" if run.failed_in == -1 else "before its first cell")
        proof = ("the instructor's solution (the canary) graded fully on the same worker, so the failure is the "
                 "submission's own: " if canary_passed else "")
        flags.append(f"grading failed {'in ' if cell else ''}{where}: {wire.clip(run.failure, 600)}; {proof}"
                     "what ran keeps its points, the rest scores 0; review")
    return flags


def _test(plan: dict, cell, status: str, run, secret: list[str]) -> dict:
    """One test cell's score: its points when the examiner ran it without an exception, else 0 and why.

    A "skipped" test (mutation testing: the submission's one changed cell cannot reach it) scores its points
    here; autograder.mutants gives it the outcome of the solution's own run in the same batch."""
    passed = status in ("ok", "skipped")  # the examiner's own verdict; the student's process says nothing
    message = "" if passed else redact(f"{cell.ename}: {cell.evalue}".strip(": "), secret) if cell else ""
    if status == "not-run":
        why = run.stopped or (f"grading failed ({wire.clip(run.failure, 300)})" if run.failure
                              else f"the kernel died earlier ({run.death})")
        message = f"not run: {why}"
    return {"grade_id": plan["grade_id"], "points": plan["points"], "score": plan["points"] if passed else 0.0,
            "status": status, "passed": passed, "message": message, "needs_review": False}


def _parts(cells: list) -> dict:
    """Seconds per kind of cell: answers, tests (in the examiner), other cells run per submission."""
    parts = {"answer": 0.0, "test": 0.0, "other": 0.0}
    for cell in cells:
        if cell.kind != "setup":
            parts[cell.kind if cell.kind in parts else "other"] += cell.seconds
    return {k: round(v, 3) for k, v in parts.items()}


