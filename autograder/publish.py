"""`make publish DEST=...`: the student-facing tree an instructor pushes to a public repository.

It holds what students need and nothing that gives answers away: the student
notebooks, the helper package, the data and a student README with Colab links.
No solutions, hidden tests, grader, gradebook or submissions.
"""
import shutil
from pathlib import Path

from .course import Course
from .release import release

# Copied as they are; everything else in the repository stays behind.
STUDENT_FILES = ("embedkit", "data", "requirements.lock", "LICENSE")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


def colab_url(repo: str, path: str) -> str:
    """The 'Open in Colab' address of a notebook at `path` in a GitHub repository."""
    github = repo.removesuffix(".git").removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{github}/blob/main/{path}"


def publish(course: Course, dest: Path, course_repo: str | None = None) -> Path:
    """Write the student tree into `dest` (emptied first, except a .git folder)."""
    dest = Path(dest).resolve()
    if dest == course.root or course.root in dest.parents:
        raise ValueError(f"publish into a folder outside the course repository, not {dest}")
    repo = course_repo or course.course_repo
    dest.mkdir(parents=True, exist_ok=True)
    for child in dest.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    release(course, dest=dest / "notebooks", course_repo=repo)
    for name in STUDENT_FILES:
        source = course.root / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=IGNORE)
        elif source.is_file():
            shutil.copy2(source, dest / name)
    (dest / "pyproject.toml").write_text(_student_pyproject(course, repo))
    (dest / "README.md").write_text(_student_readme(course, repo))
    return dest


def _student_pyproject(course: Course, repo: str) -> str:
    """The course's pyproject.toml with the helper package alone (no grader, no instructor extras)."""
    text = (course.root / "pyproject.toml").read_text().replace(course.course_repo, repo)
    text = text.replace('include = ["embedkit*", "autograder*"]', 'include = ["embedkit*"]')
    lines, skip = [], False
    for line in text.splitlines():
        if line.startswith("["):
            skip = line.strip() in ("[project.optional-dependencies]", "[project.scripts]", "[tool.pytest.ini_options]")
        if not skip:
            lines.append(line)
    return "\n".join(lines).rstrip() + "\n"


def _student_readme(course: Course, repo: str) -> str:
    rows = []
    for assignment in course.assignments():
        for notebook in course.notebooks(assignment):
            path = f"notebooks/{assignment}/{notebook}.ipynb"
            rows.append(f"| {assignment} | [{notebook}]({path}) | [Open in Colab]({colab_url(repo, path)}) |")
    table = "\n".join(rows)
    return f"""# Embeddings, auto-graded: student notebooks

| assignment | notebook | Colab |
|---|---|---|
{table}

## In Colab
Click *Open in Colab*, then *Runtime → Run all*. The first cell installs the course's helper package and
its libraries (about a minute, once per runtime). For a GPU: *Runtime → Change runtime type*.

## On your own machine
Python 3.11 or 3.12:

```bash
git clone {repo} embeddings-course && cd embeddings-course
python3 -m venv .venv && .venv/bin/pip install -r requirements.lock -e .
.venv/bin/pip install jupyterlab && .venv/bin/jupyter lab
```

## Working and submitting
Write your code where it says `YOUR CODE HERE` (delete the `raise NotImplementedError()`), run the visible
tests, then *Restart & Run All* and check that every cell ran. Submit the `.ipynb` file the way your
instructor asks: from Colab use *File → Download → Download .ipynb*. Keep its file name; the grader
matches your cells to the assignment even if Colab or your editor changed their metadata.
Hidden tests check edge cases when the notebook is graded.
"""
