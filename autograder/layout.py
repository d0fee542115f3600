"""The layout rules of a source notebook's examiner-only cells, checked when the release is built.

An examiner-only cell (tag `examiner`, `reconstruct.is_examiner`) holds what a test compares against: a
reference implementation, a hidden fixture, an expected value. It never reaches the release and never runs
in the student's kernel (`examiner_setup`), so the notebook must be laid out for that:

- it is a locked code cell at the end of the set-up (after every shared set-up cell: the examiner runs it
  after the whole shared set-up);
- it binds no name the shared set-up binds (the kernel resolves set-up objects by name to its own copy);
- no cell the student's kernel runs reads a name only an examiner-only cell binds, and neither does the
  visible part of a test (the student runs that part in Jupyter, on the release).

`problems(notebook)` lists every breach; `make student` refuses to build a release with one.
"""
import re

from .dataflow import effects
from .reconstruct import is_examiner, nbg, role, setup_cells

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", flags=re.S | re.M)


def visible_part(source: str) -> str:
    """A test cell's source as the release shows it: its hidden regions removed."""
    return HIDDEN.sub("", source)


def problems(notebook) -> list[str]:
    """Every breach of the examiner-only layout rules in a source notebook, as sentences naming the cell."""
    cells = list(notebook.cells)
    setup = setup_cells(cells)
    examiner = [i for i, c in enumerate(cells) if is_examiner(c)]
    found = [f"{_label(cells[i], i)}: an examiner-only cell must be a locked code cell in the set-up"
             for i in examiner if i not in setup]
    shared = [i for i in setup if i not in examiner]
    first = min(examiner, default=len(cells))
    found += [f"{_label(cells[i], i)}: a shared set-up cell after an examiner-only one (move it before them)"
              for i in shared if i > first]
    shared_names = set().union(*(effects(cells[i].source).binds for i in shared))
    hidden_names: set[str] = set()
    for i in examiner:
        clash = effects(cells[i].source).binds & shared_names
        found += [f"{_label(cells[i], i)}: rebinds the set-up's {name!r}" for name in sorted(clash)]
        hidden_names |= effects(cells[i].source).binds - shared_names
    return found + _readers(cells, max(setup, default=-1) + 1, hidden_names)


def _readers(cells: list, start: int, hidden: set[str]) -> list[str]:
    """Cells after the set-up that the student side runs and that read an examiner-only name."""
    found, rebound = [], set()
    for i in range(start, len(cells)):
        cell = cells[i]
        if cell.cell_type != "code":
            continue
        test = role(cell) == "test"
        seen = effects(visible_part(cell.source) if test else cell.source)
        for name in sorted((seen.reads & hidden) - rebound):
            where = "the visible part of a test" if test else "a cell the student's kernel runs"
            found.append(f"{_label(cell, i)}: {where} reads the examiner-only {name!r}")
        if not test:
            rebound |= seen.binds
    return found


def _label(cell, index: int) -> str:
    return f"cell {index} ({nbg(cell).get('grade_id') or 'no grade_id'})"
