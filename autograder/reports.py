"""Reports: grades.csv, item_analysis.csv, flagged.csv, timings, the grade table and feedback HTML.

Every string that may come from a submission is bounded, printable and escaped: HTML by
the feedback template's autoescaping, CSV cells never start like a spreadsheet formula.
"""
from collections import Counter
from pathlib import Path

import pandas as pd

from .course import Course
from .gradebook import _atomic_write, summaries


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
        failures = Counter(m for m, p in zip(group.message, group.passed, strict=True) if not p and m)
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
    template = _templates().get_template("feedback.html.j2")
    for name, nb in s["notebooks"].items():
        page = template.render(
            assignment=s["assignment"], notebook=name, student=s["student"], tests=nb["tests"],
            score=sum(t["score"] for t in nb["tests"]), total=sum(t["points"] for t in nb["tests"]),
            notes=[reason for notebook, reason in s["flags"] if notebook == name])
        _atomic_write(folder / f"{name}.html", page)


def _templates():
    import jinja2
    return jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
                              autoescape=True, keep_trailing_newline=True)


def grade_table(table: pd.DataFrame) -> pd.DataFrame:
    """Students as rows, assignments as columns ('score / max'), and a total."""
    if table.empty:
        return table
    wide = table.pivot(index="student", columns="assignment", values="score")
    maxima = table.groupby("assignment")["max_score"].max()
    # No submission for an assignment is "-" and counts 0 of its points: every total is out of the same maximum.
    out = wide.apply(lambda col: col.map(lambda s: "-" if pd.isna(s) else f"{s:g} / {maxima[col.name]:g}"))
    out["total"] = wide.fillna(0).sum(axis=1).map(lambda s: f"{s:g} / {maxima.sum():g}")
    return out

