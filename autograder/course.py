"""The course on disk: where sources, releases and grading output live, and nbgrader's API over them."""
import os
import sys
import tomllib
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent


class Course:
    """A course root (holding nbgrader_config.py, solutions/ and notebooks/) and a grading folder.

    `work` defaults to the git-ignored grading/ folder of the root; tests point it
    at a temporary folder so they never touch an instructor's gradebook.
    """

    def __init__(self, root: Path = REPO, work: Path | None = None, db_url: str | None = None):
        self.root = Path(root).resolve()
        self.work = Path(work).resolve() if work else self.root / "grading"
        self._db_url = db_url

    @property
    def source(self) -> Path:
        return self.root / "solutions"

    @property
    def release(self) -> Path:
        return self.root / "notebooks"

    @property
    def submitted(self) -> Path:
        return self.work / "submitted"

    @property
    def autograded(self) -> Path:
        return self.work / "autograded"

    @property
    def feedback(self) -> Path:
        return self.work / "feedback"

    @property
    def db_url(self) -> str:
        """SQLite in the grading folder by default; any SQLAlchemy URL (e.g. PostgreSQL) when given."""
        return self._db_url or f"sqlite:///{self.work / 'gradebook.db'}"

    @property
    def course_id(self) -> str:
        return PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config().CourseDirectory.course_id

    @property
    def course_repo(self) -> str:
        """The public repository students open the notebooks from ([tool.embeddings-course] in pyproject.toml)."""
        pyproject = self.root / "pyproject.toml"
        if not pyproject.is_file():  # a course root without one (a scratch or test course): this repository's
            pyproject = REPO / "pyproject.toml"
        with open(pyproject, "rb") as f:
            return tomllib.load(f)["tool"]["embeddings-course"]["course_repo"]

    def assignments(self) -> list[str]:
        """Assignment names: the folders of solutions/ that hold a notebook, in order."""
        return sorted(p.name for p in self.source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def notebooks(self, assignment: str) -> list[str]:
        """Notebook names (without .ipynb) of one assignment."""
        return sorted(p.stem for p in (self.source / assignment).glob("*.ipynb"))

    def config(self, **sections) -> Config:
        """nbgrader_config.py of the root, with grading output redirected to `work`.

        Keyword arguments are extra config sections, e.g. Execute={"timeout": 60}.
        """
        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        directories = config.CourseDirectory
        directories.root = str(self.root)
        # Absolute paths: os.path.join(root, absolute) is the absolute path itself.
        directories.submitted_directory = str(self.submitted)
        directories.autograded_directory = str(self.autograded)
        directories.feedback_directory = str(self.feedback)
        directories.solution_directory = str(self.work / "solution")
        directories.db_url = self.db_url
        for section, values in sections.items():
            for key, value in values.items():
                config[section][key] = value
        return config

    def api(self, **sections):
        """nbgrader's NbGraderAPI configured for this course."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = self.config(**sections)
        self.work.mkdir(parents=True, exist_ok=True)
        tools_on_path()
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def tools_on_path() -> None:
    """nbgrader runs the `alembic` and `jupyter` executables of its environment by name: put them on PATH."""
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
