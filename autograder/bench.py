"""`make bench`: wall time (kernel start included) and peak memory of every solution notebook."""
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from .course import Course


def execute(path: Path, timeout: int = 600) -> dict:
    """Execute one notebook in this process's child kernel; figures for the bench line."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    wall = time.perf_counter() - start
    # The kernel was our child and has exited: its peak resident memory is the children's maximum.
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"wall_s": wall, "peak_mib": peak_kib / 1024}


def bench(course: Course, log=print) -> list[dict]:
    rows = []
    for assignment in course.assignments():
        for notebook in course.notebooks(assignment):
            path = course.source / assignment / f"{notebook}.ipynb"
            # A fresh process per notebook, so the memory maximum is this notebook's alone.
            proc = subprocess.run([sys.executable, "-m", "autograder.bench", str(path)], capture_output=True, text=True,
                                  env={**os.environ, "EMBEDKIT_QUIET": "1"})
            if proc.returncode:
                row = {"notebook": f"{assignment}/{notebook}", "error": proc.stderr.strip().splitlines()[-1:]}
                log(f"{row['notebook']:<40} FAILED {row['error']}")
            else:
                row = {"notebook": f"{assignment}/{notebook}", **json.loads(proc.stdout.strip().splitlines()[-1])}
                log(f"{row['notebook']:<40} wall {row['wall_s']:6.1f} s   peak memory {row['peak_mib']:7.0f} MiB")
            rows.append(row)
    return rows


if __name__ == "__main__":  # the per-notebook child process
    print(json.dumps(execute(Path(sys.argv[1]))))
