"""`make bench-grade`: the same generated class graded by stock `nbgrader autograde` and by this pipeline.

The class has N students cycling through the sample answers (solution, classic
mistake, blank). Stock nbgrader runs in a child process (`nbgrader autograde` over
the whole assignment, one student after the other); the pipeline runs with JOBS
Dask workers. Both get the same per-cell timeout. Prints both wall times, the
ratio, peak memory, and where the pipeline's time goes (kernel start vs cells).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from .course import Course
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


def bench_grade(root: Path, assignment: str = "01_types", students: int = 20, jobs: int = 2, stock: bool = True,
                log=print) -> dict:
    from .grade import grades
    from .pipeline import grade

    with tempfile.TemporaryDirectory(prefix="bench-grade-") as scratch:
        ours = Course(root, work=Path(scratch) / "pipeline")
        theirs = Course(root, work=Path(scratch) / "stock")
        make_class(ours, assignment, students)
        if stock:
            make_class(theirs, assignment, students)
        log(f"class: {students} submissions of {assignment}; {os.cpu_count()} CPUs; JOBS={jobs}")
        out = {}
        log(f"this pipeline ({jobs} Dask workers, sandboxed, zygote kernels) ...")
        start = time.perf_counter()
        report = grade(ours, [assignment], jobs=jobs, progress=True, log=lambda *_: None)
        wall = time.perf_counter() - start
        timings = pd.read_csv(ours.work / "timings.csv")
        out["pipeline"] = {"wall_s": wall, "graded": report["graded"], "errors": len(report["errors"]),
                           "kernel_peak_mib": float(timings.peak_rss_mib.max()),
                           "mean_wall_s": float(timings.wall_s.mean()), "mean_start_s": float(timings.kernel_start_s.mean()),
                           "mean_cells_s": float(timings.cells_s.mean()),
                           "worker_peak_mib": float(timings.worker_peak_mib.max()),
                           "zygote_peak_mib": float(timings.zygote_peak_mib.max())}
        p = out["pipeline"]
        log(f"  pipeline: {wall:.1f} s for {p['graded']} submissions (errors {p['errors']}); per submission: "
            f"{p['mean_wall_s']:.1f} s wall = {p['mean_start_s']:.2f} s kernel start + {p['mean_cells_s']:.1f} s cells "
            f"+ rest; peak memory per worker: largest kernel {p['kernel_peak_mib']:.0f} MiB, "
            f"Dask worker process {p['worker_peak_mib']:.0f} MiB, kernel zygote {p['zygote_peak_mib']:.0f} MiB "
            "(forked kernels share the zygote's pages)")
        if stock:
            log("stock nbgrader autograde (one submission after the other) ...")
            out["stock"] = _stock(root, theirs.work, assignment)
            log(f"  stock nbgrader: {out['stock']['wall_s']:.1f} s for {out['stock']['ok']} submissions, "
                f"peak memory {out['stock']['peak_mib']:.0f} MiB (largest kernel), "
                f"{out['stock']['self_mib']:.0f} MiB (nbgrader process)")
        if stock:
            out["ratio"] = out["stock"]["wall_s"] / wall
            log(f"stock / pipeline wall time: {out['ratio']:.2f}x")
            a = grades(ours).set_index("student").score
            b = grades(theirs).set_index("student").score
            same = (a.sort_index() == b.sort_index()).all()
            out["same_scores"] = bool(same)
            log(f"same scores from both: {same}")
        return out

