"""`make bench-grade`: the same generated class graded by stock `nbgrader autograde` and by this pipeline.

The class has N students cycling through the sample answers (solution, classic
mistake, blank). Stock nbgrader runs in a child process (`nbgrader autograde` over
the whole assignment, one student after the other); the pipeline runs with JOBS
Dask workers. Both get the same per-cell timeout. Prints both wall times, the
ratio, peak memory, and where the pipeline's time goes (kernel start vs cells). Stock nbgrader's
submissions get the examiner-only cells back (it has nowhere else to run them).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd

from .course import Course
from .reconstruct import is_examiner, nbg
from .sample_class import build_sample_class


def make_class(course: Course, assignment: str, students: int) -> list[str]:
    """N submissions in course.submitted: copies of alice, bob and carol in turn."""
    build_sample_class(course, assignment)
    names = []
    for i in range(students):
        template = ("alice", "bob", "carol")[i % 3]
        name = f"s{i:03d}"
        shutil.copytree(course.submitted / template / assignment, course.submitted / name / assignment)
        names.append(name)
    for template in ("alice", "bob", "carol"):
        shutil.rmtree(course.submitted / template)
    return names


def with_examiner_cells(course: Course, assignment: str) -> None:
    """Stock nbgrader has no examiner: it runs the examiner-only cells in the student's kernel, so each of its
    submissions gets them back, after the shared set-up (where the source has them), to grade the same tests."""
    for notebook in course.notebooks(assignment):
        source = nbformat.read(course.source / assignment / f"{notebook}.ipynb", as_version=4)
        hidden = [cell for cell in source.cells if is_examiner(cell)]
        if not hidden:
            continue
        before = nbg(source.cells[source.cells.index(hidden[0]) - 1]).get("grade_id")
        for path in course.submitted.glob(f"*/{assignment}/{notebook}.ipynb"):
            nb = nbformat.read(path, as_version=4)
            at = next((i + 1 for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == before), len(nb.cells))
            nb.cells[at:at] = [nbformat.from_dict(cell) for cell in hidden]
            nbformat.write(nb, path)


def _stock(root: Path, work: Path, assignment: str) -> dict:
    """Child process: register the assignment and run nbgrader's Autograde app over every student."""
    code = f"""
import json, resource, time, os, warnings
warnings.filterwarnings("ignore")
from pathlib import Path
from autograder.course import Course
from autograder.release import register
os.environ.update({{"EMBEDKIT_QUIET": "1", "TQDM_DISABLE": "1", "TOKENIZERS_PARALLELISM": "false"}})
course = Course(Path({str(root)!r}), work=Path({str(work)!r}))
register(course, [{assignment!r}])
api = course.api()
start = time.perf_counter()
ok = 0
for student in sorted(p.name for p in course.submitted.iterdir()):
    ok += api.autograde({assignment!r}, student, force=True, create=True)["success"]
wall = time.perf_counter() - start
print(json.dumps({{"wall_s": wall, "ok": ok, "peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    if proc.returncode:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def disagreements(ours: Course, theirs: Course, assignment: str) -> pd.DataFrame:
    """The test cells the two graders scored differently: student, notebook, cell, ours, stock."""
    from .gradebook import cell_scores

    keys = ["student", "notebook", "cell"]
    both = cell_scores(ours, assignment).merge(cell_scores(theirs, assignment), on=keys, how="outer",
                                               suffixes=("_ours", "_stock"))
    differ = both[both.score_ours.fillna(-1) != both.score_stock.fillna(-1)]
    return differ[keys + ["score_ours", "score_stock"]].rename(columns={"score_ours": "ours", "score_stock": "stock"})


def bench_grade(root: Path, assignments: list[str] | None = None, students: int = 20, jobs: int = 2,
                stock: bool = True, log=print) -> dict:
    """Grade a generated class of each assignment with this pipeline and with stock nbgrader; print the table."""
    from .gradebook import grades
    from .pipeline import grade

    assignments = assignments or Course(root).assignments()
    results = {}
    for assignment in assignments:
        with tempfile.TemporaryDirectory(prefix="bench-grade-") as scratch:
            ours = Course(root, work=Path(scratch) / "pipeline")
            theirs = Course(root, work=Path(scratch) / "stock")
            make_class(ours, assignment, students)
            log(f"{assignment}: {students} submissions; {os.cpu_count()} CPUs; JOBS={jobs}")
            start = time.perf_counter()
            report = grade(ours, [assignment], jobs=jobs, progress=False, log=lambda *_: None)
            wall = time.perf_counter() - start
            t = pd.read_csv(ours.work / "timings.csv")
            out = {"wall_s": wall, "graded": report["graded"], "errors": len(report["errors"]),
                   "per_submission_s": float(t.wall_s.median()), "kernel_start_s": float(t.kernel_start_s.median()),
                   "answer_s": float(t.answer_s.median()), "test_s": float(t.test_s.median()),
                   "other_s": float(t.other_cells_s.median()), "setup_s": float(t.setup_s.max()),
                   "kernel_peak_mib": float(t.peak_rss_mib.max()), "zygote_peak_mib": float(t.zygote_peak_mib.max())}
            out["floor_s"] = out["answer_s"] + out["test_s"]
            out["after_setup_s"] = out["floor_s"] + out["other_s"]
            log(f"  this pipeline: {wall:.1f} s; per submission {out['per_submission_s']:.1f} s = kernel start "
                f"{out['kernel_start_s']:.2f} + answers {out['answer_s']:.1f} + tests {out['test_s']:.1f} + other cells "
                f"{out['other_s']:.1f} (+ set-up {out['setup_s']:.1f} s once per worker)")
            if stock:
                make_class(theirs, assignment, students)
                with_examiner_cells(theirs, assignment)
                out["stock"] = _stock(root, theirs.work, assignment)
                out["ratio"] = out["stock"]["wall_s"] / wall
                a = grades(ours).set_index("student").score.sort_index()
                b = grades(theirs).set_index("student").score.sort_index()
                out["same_scores"] = bool(len(a) == len(b) and (a == b).all())
                log(f"  stock nbgrader: {out['stock']['wall_s']:.1f} s; ratio {out['ratio']:.2f}x; "
                    f"same scores: {out['same_scores']}")
                if not out["same_scores"]:
                    out["disagreements"] = disagreements(ours, theirs, assignment)
                    log("  cells scored differently (ours vs stock):\n" + out["disagreements"].to_string(index=False))
            results[assignment] = out
    header = (f"{'assignment':16s} {'stock s':>8s} {'ours s':>7s} {'ratio':>6s} {'per sub':>8s} {'after set-up':>12s} "
              f"{'floor':>6s} {'start':>6s} {'set-up':>7s} {'kernel MiB':>10s} {'same':>5s}")
    log("\n" + header)
    for assignment, o in results.items():
        log(f"{assignment:16s} {o.get('stock', {}).get('wall_s', float('nan')):8.1f} {o['wall_s']:7.1f} "
            f"{o.get('ratio', float('nan')):6.2f} {o['per_submission_s']:8.2f} {o['after_setup_s']:12.2f} "
            f"{o['floor_s']:6.2f} {o['kernel_start_s']:6.2f} {o['setup_s']:7.1f} {o['kernel_peak_mib']:10.0f} "
            f"{str(o.get('same_scores', '-')):>5s}")
    log("per sub: median grading time of one submission; after set-up: its cells (answers, tests, other cells); "
        "floor: answers and tests alone; set-up: once per worker")
    return results
