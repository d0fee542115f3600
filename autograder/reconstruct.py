"""Rebuild a submission from the SOURCE notebook.

Only the student's answers come from the submission; everything else (locked
cells, test cells with their hidden tests, markdown) comes from the instructor's
source. Submission cells are matched to source cells by, in order:

1. nbgrader's grade_id in the cell metadata (the first cell carrying it; a
   duplicate becomes an extra cell at its place, as nbgrader's DeduplicateIds does);
2. the notebook cell id (nbformat >= 4.5), for cells whose nbgrader metadata was lost;
3. similarity to the cell the student started from (the release version: the
   stub with its signature and docstring), helped by the names the cell defines,
   for notebooks whose metadata and ids were rewritten (Colab, VS Code, copy-paste).

Student cells that match nothing are kept as extra code at their place (helpers a
student added). Answer cells that cannot be found are reported, never silently
scored zero.
"""
import copy
import difflib
import re
from dataclasses import dataclass, field

import nbformat

_DEF = re.compile(r"^\s*(?:def|class)\s+([A-Za-z_]\w*)", re.M)
MIN_SIMILARITY = 0.55


def nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


EXAMINER_TAG = "examiner"  # cell tag: an examiner-only set-up cell (AUTHORING.md; checked by autograder.layout)


def is_examiner(cell) -> bool:
    """An examiner-only cell: instructor set-up that runs only in the examiner and never reaches the release."""
    tags = cell.get("metadata", {}).get("tags", [])
    return isinstance(tags, list) and EXAMINER_TAG in tags


def role(cell) -> str:
    meta = nbg(cell)
    if meta.get("solution"):
        return "answer"
    if meta.get("grade"):
        return "test" if cell.cell_type == "code" else "answer"
    if meta.get("locked") or meta.get("task"):
        return "locked"
    return "free"  # untagged: the student may edit it (nbgrader keeps the student's version)


@dataclass
class Reconstruction:
    notebook: object                                  # nbformat notebook to execute and store
    plan: list                                        # code cells in order: index, kind, grade_id, source, cell_type
    matched_by: dict = field(default_factory=dict)    # source grade_id -> "grade_id" | "cell id" | "similarity 0.83"
    missing: list = field(default_factory=list)       # answer cells (grade_id) not found in the submission
    extra: int = 0                                    # student cells kept that match no source cell
    unanswered: list = field(default_factory=list)    # answer cells left exactly as released (nbgrader: "No response.")
    notes: list = field(default_factory=list)


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


MAX_CELLS = 600        # submission cells considered; the rest is dropped (and noted): bounded work
MAX_COMPARED = 3000    # characters compared per cell
# Characters compared (len(a) * len(b) over every ratio() computed) in one reconstruction. A whole solution
# notebook stripped of its metadata costs up to 8.4e9 here (04; minutes on a busy machine); 600 cells crafted
# to pass the quick filters (stubs with their characters shuffled) cost about 20 times that, in the worker,
# with no time limit. Past the budget (3x the worst whole notebook), cells are matched by the names they
# define only, and a note says so.
MAX_SIMILARITY_WORK = 25_000_000_000


def _similarity(a: str, b: str, work: list | None = None) -> float:
    a, b = _norm(a)[:MAX_COMPARED], _norm(b)[:MAX_COMPARED]
    if not a and not b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    score = 0.0
    if matcher.real_quick_ratio() >= MIN_SIMILARITY and matcher.quick_ratio() >= MIN_SIMILARITY:
        if work is None or work[0] > 0:
            score = matcher.ratio()
            if work is not None:
                work[0] -= len(a) * len(b)
    names_a, names_b = set(_DEF.findall(a)), set(_DEF.findall(b))
    if names_b:
        score = max(score, 0.5 + 0.5 * len(names_a & names_b) / len(names_b)) if names_a & names_b else score
    return score


def reconstruct(source_nb, release_nb, submission_nb) -> Reconstruction:
    source_cells = list(source_nb.cells)
    release_by_id = {nbg(c).get("grade_id"): c for c in release_nb.cells if nbg(c).get("grade_id")}
    release_by_cellid = {c.get("id"): c for c in release_nb.cells if c.get("id")}

    def released(i):
        cell = source_cells[i]
        gid = nbg(cell).get("grade_id")
        return release_by_id.get(gid) or release_by_cellid.get(cell.get("id")) or cell

    by_gid = {nbg(c).get("grade_id"): i for i, c in enumerate(source_cells) if nbg(c).get("grade_id")}
    by_cellid = {c.get("id"): i for i, c in enumerate(source_cells) if c.get("id")}
    sub_cells = [_clean(c) for c in list(submission_nb.cells)[:MAX_CELLS] if isinstance(c, dict)]
    match: dict[int, int] = {}      # submission index -> source index
    how: dict[int, str] = {}        # source index -> how
    taken = {i for i, c in enumerate(source_cells) if is_examiner(c)}  # never in a release: nothing matches them

    for k, cell in enumerate(sub_cells):  # 1. grade_id
        gid = nbg(cell).get("grade_id")
        i = by_gid.get(gid)
        if i is not None and i not in taken and source_cells[i].cell_type == cell.cell_type:
            match[k], how[i] = i, "grade_id"
            taken.add(i)
    for k, cell in enumerate(sub_cells):  # 2. cell id
        if k in match:
            continue
        i = by_cellid.get(cell.get("id"))
        if i is not None and i not in taken and source_cells[i].cell_type == cell.cell_type and not nbg(cell).get("grade_id"):
            match[k], how[i] = i, "cell id"
            taken.add(i)
    # 3. similarity to the released version (what the student started from)
    candidates = []
    work = [MAX_SIMILARITY_WORK]
    for k, cell in enumerate(sub_cells):
        if k in match or not cell.source.strip():
            continue
        for i, src in enumerate(source_cells):
            if i in taken or src.cell_type != cell.cell_type:
                continue
            score = _similarity(cell.source, released(i).source, work)
            if role(src) == "test":  # a test cell the student kept: compare with the visible part too
                score = max(score, _similarity(cell.source, src.source, work))
            if score >= MIN_SIMILARITY:
                candidates.append((score, -abs(k / max(len(sub_cells), 1) - i / max(len(source_cells), 1)), k, i))
    for score, _, k, i in sorted(candidates, reverse=True):
        if k in match or i in taken:
            continue
        match[k], how[i] = i, f"similarity {score:.2f}"
        taken.add(i)

    # Extra student cells go after the source cell matched by the nearest preceding submission cell.
    extras: dict[int, list] = {}
    anchor = -1
    for k, cell in enumerate(sub_cells):
        if k in match:
            anchor = match[k]
        elif cell.cell_type == "code" and cell.source.strip():
            extras.setdefault(anchor, []).append(cell)
    chosen = {i: sub_cells[k] for k, i in match.items()}

    out = nbformat.v4.new_notebook(metadata=copy.deepcopy(source_nb.metadata))
    rec = Reconstruction(notebook=out, plan=[])

    setup = set(setup_cells(source_cells))

    def add(cell, kind, grade_id=None, is_setup=False, reference=""):
        index = len(out.cells)
        out.cells.append(cell)
        if cell.cell_type == "code":
            # `reference`: the instructor's version of the cell, whose bindings say which names a test takes
            # from the student's kernel (never the student's own code, which could claim `assert_close`)
            rec.plan.append({"index": index, "kind": kind, "grade_id": grade_id, "source": cell.source,
                             "cell_type": "code", "points": float(nbg(cell).get("points", 0) or 0),
                             "setup": is_setup, "reference": reference, "examiner": is_setup and is_examiner(cell)})

    if setup:  # student cells placed before or inside the set-up run right after it (the set-up is shared)
        last = max(setup)
        moved = [c for i in sorted(extras) if i < last for c in extras.pop(i)]
        extras[last] = moved + extras.get(last, [])
    for extra in extras.get(-1, []):
        add(_plain(extra), "student")
        rec.extra += 1
    for i, src in enumerate(source_cells):
        kind = role(src)
        gid = nbg(src).get("grade_id")
        base = released(i)
        if kind in ("answer", "free") and i in chosen:
            cell = copy.deepcopy(base)
            cell.source = chosen[i].source
            if kind == "answer" and _norm(cell.source) == _norm(base.source):
                rec.unanswered.append(gid)
        elif kind in ("answer", "free"):
            cell = copy.deepcopy(base)
            if kind == "answer":
                rec.missing.append(gid)
        else:  # locked and test cells: the source, hidden tests included
            cell = copy.deepcopy(src)
            cell.metadata = copy.deepcopy(base.metadata) if base is not src else cell.metadata
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if gid:
            rec.matched_by[gid] = how.get(i, "not found (from the source)")
        add(cell, "answer" if kind == "answer" else ("test" if kind == "test" else ("locked" if kind == "locked" else "student")),
            gid, is_setup=i in setup, reference=src.source)
        for extra in extras.get(i, []):
            add(_plain(extra), "student")
            rec.extra += 1
    if len(submission_nb.cells) > MAX_CELLS:
        rec.notes.append(f"only the first {MAX_CELLS} of {len(submission_nb.cells)} cells were read")
    if work[0] <= 0:
        rec.notes.append("similarity matching ran out of its budget (many long unmatched cells): later cells were "
                         "matched by the names they define only, review")
    lost = [h for h in how.values() if h != "grade_id"]
    if lost:
        rec.notes.append(f"{len(lost)} cell(s) re-matched without nbgrader metadata")
    return rec


def setup_cells(cells) -> list[int]:
    """Indices of the set-up: the leading code cells that are locked instructor cells (markdown in between).

    They run once per grading worker; every submission's kernel and examiner start from their state.
    """
    out = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        if role(cell) != "locked":
            break
        out.append(i)
    return out


def _clean(cell):
    """A submission cell with the types the matching relies on, whatever the file said.

    nbformat reads a notebook whose nbgrader metadata is a string, whose grade_id is a list or whose
    cell has no cell_type; matching such a cell crashed the worker (the grade lost, and a batch of them
    stopped). Here it is a cell with a string source, nbgrader metadata only as a dict with a string
    grade_id, and its id only when it is a string.
    """
    kind = cell.get("cell_type")
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    source = source if isinstance(source, str) else ""
    new = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}.get(
        kind, nbformat.v4.new_raw_cell)(source)  # any other cell type matches nothing and runs nothing
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
        new.metadata["nbgrader"] = {"grade_id": meta["grade_id"]}
    if isinstance(cell.get("id"), str):
        new["id"] = cell["id"]
    return new


def _plain(cell):
    """A student's extra code cell, without any nbgrader role."""
    new = nbformat.v4.new_code_cell(cell.source)
    return new
