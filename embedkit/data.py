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


# questions-words.txt of Mikolov's word2vec repository (Apache-2.0), byte for byte; gensim ships the same file.
GOOGLE_ANALOGIES_SHA256 = "8c29b3332afc46f3fb8be04cb5297bf96f39aa7131272dff57869b4485b22a36"


def google_analogies():
    """The Google analogy test set (Mikolov et al., 2013): 19,544 analogies a : b :: c : d in 14 relations.

    Read from the copy inside the installed gensim package (gensim is not imported), checked against the
    original file's SHA-256. Returns a pandas DataFrame with columns relation, a, b, c, d, lower-cased, in
    the file's order.
    """
    import hashlib
    import importlib.util

    import pandas as pd

    spec = importlib.util.find_spec("gensim")
    if spec is None:
        raise ImportError("the Google analogy set ships with gensim: pip install gensim")
    path = Path(spec.submodule_search_locations[0]) / "test" / "test_data" / "questions-words.txt"
    raw = path.read_bytes()
    if hashlib.sha256(raw).hexdigest() != GOOGLE_ANALOGIES_SHA256:
        raise ValueError(f"{path} is not the original questions-words.txt (SHA-256 differs)")
    rows, relation = [], None
    for line in raw.decode("utf-8").splitlines():
        if line.startswith(":"):
            relation = line[1:].strip()
        elif line.strip():
            rows.append([relation, *line.lower().split()])
    return pd.DataFrame(rows, columns=["relation", "a", "b", "c", "d"])
