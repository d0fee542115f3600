"""Every grader setting in one place, read once.

Defaults below, then nbgrader_config.py (`c.Grading.jobs = 4`, as nbgrader configures its own
apps), then the environment (JOBS, DEVICE, SCHEDULER, COURSE_DATA, CELL_TIMEOUT, MEM_LIMIT_GIB),
then the command line. The gradebook URL is the exception: it may hold a password, so it is
read only from $DB_URL or from the file $DB_URL_FILE names (mode 600), never from a command
line or a file others can read.
"""
import os
from pathlib import Path

from traitlets import Float, Int, Unicode
from traitlets.config import Configurable


class Grading(Configurable):
    jobs = Int(2, help="grading workers (Dask), each holding one kernel at a time").tag(config=True)
    device = Unicode("auto", help="auto, cpu or cuda: where torch runs in the graded kernels").tag(config=True)
    scheduler = Unicode("", help="tcp://host:port of an existing Dask scheduler (empty: a local cluster)").tag(config=True)
    cell_timeout = Float(300.0, help="seconds per cell (loading a model takes more than 30 s on a busy CPU)").tag(config=True)
    notebook_timeout = Float(1800.0, help="seconds for a whole notebook").tag(config=True)
    mem_limit_gib = Float(8.0, help="GiB of memory for all processes of one submission (0: none; off on CUDA)").tag(config=True)
    threads = Int(0, help="torch/BLAS threads per kernel (0: CPUs divided by jobs)").tag(config=True)
    course_data = Unicode("", help="the course's data folder (empty: data/ of the course root)").tag(config=True)

    ENVIRONMENT = {"jobs": "JOBS", "device": "DEVICE", "scheduler": "SCHEDULER", "course_data": "COURSE_DATA",
                   "cell_timeout": "CELL_TIMEOUT", "mem_limit_gib": "MEM_LIMIT_GIB"}

    def apply_environment(self) -> "Grading":
        for name, variable in self.ENVIRONMENT.items():
            value = os.environ.get(variable)
            if value:
                setattr(self, name, type(getattr(self, name))(value))
        return self


def load(root: Path) -> Grading:
    """The settings of the course at `root`: nbgrader_config.py, then the environment."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return Grading(config=config).apply_environment()


def database_url() -> str | None:
    """The gradebook URL: $DB_URL, or the first line of the file $DB_URL_FILE names (readable by its owner only)."""
    if os.environ.get("DB_URL"):
        return os.environ["DB_URL"]
    path = os.environ.get("DB_URL_FILE")
    if path:
        if not os.path.isfile(path):
            raise SystemExit(f"DB_URL_FILE names {path}, which is not a file")
        if os.stat(path).st_mode & 0o077:
            raise SystemExit(f"{path} is readable by other users (chmod 600 it): it holds the gradebook's password")
        return Path(path).read_text().strip().splitlines()[0]
    return None
