"""data/: every file documented in the data card, every generated file reproducible from its seeded script."""
import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data"
GENERATORS = sorted(DATA.glob("make_*.py"))


def test_every_data_file_is_in_the_data_card():
    card = (DATA / "README.md").read_text()
    undocumented = [p.name for p in DATA.iterdir()
                    if p.is_file() and p.name != "README.md" and not p.name.startswith("make_") and f"`{p.name}`" not in card]
    assert not undocumented, f"add these files to data/README.md: {undocumented}"


@pytest.mark.parametrize("generator", GENERATORS, ids=[g.name for g in GENERATORS])
def test_generated_data_is_reproducible(generator, tmp_path):
    """Run the generator on a copy of itself; the files it writes must equal the committed ones."""
    copy = tmp_path / generator.name
    shutil.copy2(generator, copy)
    subprocess.run([sys.executable, str(copy)], cwd=tmp_path, check=True, timeout=300)
    written = [p for p in tmp_path.iterdir() if p.is_file() and p.name != generator.name]
    assert written, f"{generator.name} wrote nothing next to itself"
    stale = [p.name for p in written if not (DATA / p.name).is_file() or not filecmp.cmp(p, DATA / p.name, shallow=False)]
    assert not stale, f"data/ differs from what {generator.name} generates: {stale}; rerun it and commit"


INSTRUCTOR_GENERATORS = sorted((DATA.parent / "solutions").glob("*/instructor/make_*.py"))


@pytest.mark.parametrize("generator", INSTRUCTOR_GENERATORS, ids=[g.name for g in INSTRUCTOR_GENERATORS])
def test_instructor_generated_data_is_reproducible(generator, tmp_path):
    """A generator kept with the instructor's sources (its recipes are graded answers) writes into the folder it is
    given; what it writes there must equal the committed files in data/."""
    subprocess.run([sys.executable, str(generator), str(tmp_path)], check=True, timeout=300)
    written = [p for p in tmp_path.iterdir() if p.is_file()]
    assert written, f"{generator.name} wrote nothing"
    stale = [p.name for p in written if not (DATA / p.name).is_file() or not filecmp.cmp(p, DATA / p.name, shallow=False)]
    assert not stale, f"data/ differs from what {generator.name} generates: {stale}; rerun it and commit"
