"""Where the course's datasets live."""
import os
from pathlib import Path

_REPO_DATA = Path(__file__).resolve().parent.parent / "data"


def data_path(name: str = "") -> Path:
    """Path of a file in the course's data folder.

    Looks in $COURSE_DATA when set, then in the repository's data/ folder.
    """
    root = Path(os.environ.get("COURSE_DATA", _REPO_DATA))
    path = root / name
    if not path.exists():
        raise FileNotFoundError(
            f"course data file {name!r} not found under {root}. "
            "Run the notebook from a clone of the course repository, or set COURSE_DATA."
        )
    return path
