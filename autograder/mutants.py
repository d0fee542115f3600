"""Mutation testing of an assignment's tests: do they catch wrong answers and pass right ones?

Each assignment keeps a catalogue beside its source, `solutions/<assignment>/mutants.py`:

    from autograder.mutants import mutant, alternative

    MUTANTS = [
        mutant("cosine", "zero guard on u only",
               replace=[("np.maximum(nu * nv, 1e-12)", "np.maximum(nu, 1e-12) * nv")]),
        ...
    ]
    ALTERNATIVES = [
        alternative("cosine", "torch in float32", source='''def cosine(u, v): ...'''),
    ]

An entry replaces ONE answer cell (by grade_id) of the perfect submission: either its
whole `source`, or `replace` pairs applied to the solution code (each `old` must occur
exactly once, so a catalogue that went stale with its notebook fails loudly). Every
other answer cell keeps the solution.

A mutant is *caught* when it loses at least one point; an alternative must keep full
marks. `python -m autograder mutants` runs the catalogue and prints both scores.
"""
from __future__ import annotations

import json
import os
import runpy
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .course import Course
from .layout import HIDDEN, visible_part
from .sample_class import solution_code

DESCRIPTION = """Mutation testing of the assignments' tests. Every entry of solutions/<assignment>/mutants.py
(wrong answers that must lose points, correct alternatives that must keep full marks) and the generated
copycats are run, and the mutation score of each assignment is printed."""


@dataclass(frozen=True)
class Entry:
    cell: str                       # grade_id of the answer cell it replaces
    name: str                       # what it is, in a few words (unique per catalogue)
    source: str | None = None       # the whole answer cell, or
    replace: tuple = ()             # ((old, new), ...) applied to the solution's code
    correct: bool = False           # alternative (must keep full marks) or mutant (must lose points)
    copycat: bool = False           # generated from what the release shows (autograder.copycats)

    def answer(self, solution: str) -> str:
        if self.source is not None:
            return self.source
        code = solution
        for old, new in self.replace:
            count = code.count(old)
            if count != 1:
                raise ValueError(f"{self.cell}/{self.name}: {old!r} occurs {count} times in the solution (want 1)")
            code = code.replace(old, new)
        if code == solution:
            raise ValueError(f"{self.cell}/{self.name}: changes nothing")
        return code


def mutant(cell: str, name: str, source: str | None = None, replace=()) -> Entry:
    return Entry(cell, name, source, tuple(tuple(p) for p in replace), correct=False)


def alternative(cell: str, name: str, source: str | None = None, replace=()) -> Entry:
    return Entry(cell, name, source, tuple(tuple(p) for p in replace), correct=True)


def catalogue(course: Course, assignment: str, copycats: bool = False) -> list[Entry]:
    """The assignment's catalogue entries; with `copycats`, the generated copycat mutants after them."""
    path = course.source / assignment / "mutants.py"
    if not path.is_file():
        return []
    spec = runpy.run_path(str(path))
    entries = list(spec.get("MUTANTS", [])) + list(spec.get("ALTERNATIVES", []))
    if copycats:
        from .copycats import for_notebook

        allowed = {tuple(pair) for pair in spec.get("DELEGATIONS", [])}
        for notebook in course.notebooks(assignment):
            entries += for_notebook(course.source / assignment / f"{notebook}.ipynb",
                                    course.release / assignment / f"{notebook}.ipynb", allowed)
    seen = set()
    for e in entries:
        key = (e.cell, e.name)
        if key in seen:
            raise ValueError(f"{assignment}: duplicate catalogue entry {key}")
        seen.add(key)
    return entries


def cross_charges(course: Course, assignment: str) -> set[tuple[str, str]]:
    """(answer cell, test) pairs of the solution where a mistake in one exercise can cost points in another's test
    (autograder.dataflow.cross_charges); the catalogue's BUILDS_ON documents each one."""
    from .dataflow import cross_charges as analyse
    from .reconstruct import reconstruct

    found: set[tuple[str, str]] = set()
    for notebook in course.notebooks(assignment):
        release = nbformat.read(course.release / assignment / f"{notebook}.ipynb", as_version=4)
        source = nbformat.read(course.source / assignment / f"{notebook}.ipynb", as_version=4)
        code = [c for c in reconstruct(source, release, release).plan if c["cell_type"] == "code"]  # the worker's plan
        pairs = analyse(code, sum(1 for c in code if c.get("setup")))
        if pairs is None:
            raise ValueError(f"{assignment}/{notebook}: the name analysis cannot follow this notebook (dynamic names)")
        found |= {(p.answer, p.test) for p in pairs}
    return found


def builds_on(course: Course, assignment: str) -> dict[tuple[str, str], str]:
    """The catalogue's BUILDS_ON: (answer cell, test of another exercise) -> where the notebook says so."""
    path = course.source / assignment / "mutants.py"
    return dict(runpy.run_path(str(path)).get("BUILDS_ON", {})) if path.is_file() else {}


@dataclass
class Outcome:
    entry: Entry
    score: float
    max_score: float
    failed: dict = field(default_factory=dict)   # grade_id -> first line of its message
    visible: bool | None = None                  # a visible test (the part students see) fails too (quick mode)
    error: str = ""
    pruned: bool = False                         # ran only what its change can reach (autograder.dataflow)
    skipped: int = 0                             # tests it did not run, scored as the solution's own run
    seconds: float = 0.0                         # its notebooks' run in the grader (wall)

    @property
    def lost(self) -> float:
        return self.max_score - self.score

    @property
    def ok(self) -> bool:
        """Caught (mutant) or kept full marks (alternative)."""
        return not self.error and (self.lost == 0 if self.entry.correct else self.lost > 0)


# -- quick mode: one process executes the preamble once, a fork per entry runs the rest --------------------

def _plan(source_nb) -> list[dict]:
    from .reconstruct import role
    cells = []
    for cell in source_nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        cells.append({"kind": role(cell), "grade_id": meta.get("grade_id"), "source": cell.source,
                      "points": float(meta.get("points", 0) or 0)})
    return cells


def preamble_length(plan: list[dict]) -> int:
    """Number of leading code cells that are locked instructor cells: the shared set-up."""
    n = 0
    for cell in plan:
        if cell["kind"] != "locked":
            break
        n += 1
    return n


def _run_cells(shell, cells, answers) -> dict:
    result = {"tests": {}, "visible": {}}
    for cell in cells:
        code = cell["source"]
        if cell["kind"] == "answer":
            code = answers.get(cell["grade_id"], solution_code(code))
        if cell["kind"] == "test" and HIDDEN.search(code):  # the visible part alone first: what a student sees
            result["visible"][cell["grade_id"]] = _message(shell, visible_part(code))
        msg = _message(shell, code)
        if cell["kind"] == "test":
            result["tests"][cell["grade_id"]] = (cell["points"], msg)
            result["visible"].setdefault(cell["grade_id"], msg)
    return result


def _message(shell, code: str) -> str:
    from IPython.utils.capture import capture_output
    with capture_output(display=True):
        res = shell.run_cell(code, silent=False, store_history=False)
    err = res.error_in_exec or res.error_before_exec
    return "" if err is None else f"{type(err).__name__}: {err}".splitlines()[0][:300] if str(err) else type(err).__name__


def setup_changes(course: Course, assignment: str) -> list[str]:
    """The set-up objects that the solution's own run (its cells and tests, in one process) changes in place.

    Pruned mutation runs (autograder.dataflow) assume there are none: a cell that does not run cannot have
    changed what a set-up name holds. Returns the names whose contents differ after the run, empty when the
    assumption holds."""
    os.environ.setdefault("EMBEDKIT_QUIET", "1")
    from IPython.core.interactiveshell import InteractiveShell

    from .dataflow import bound_names

    changed = []
    for notebook in course.notebooks(assignment):
        plan = _plan(nbformat.read(course.source / assignment / f"{notebook}.ipynb", as_version=4))
        n = preamble_length(plan)
        shell = InteractiveShell.instance()
        shell.reset()
        _run_cells(shell, plan[:n], {})
        objects = {name: shell.user_ns[name] for cell in plan[:n] for name in bound_names(cell["source"])
                   if name in shell.user_ns}
        before = {name: _state(value) for name, value in objects.items()}
        _run_cells(shell, plan[n:], {})  # a later binding of the name is fine: the analysis sees it
        changed += [f"{notebook}: {name}" for name, value in sorted(objects.items())
                    if before[name] is not None and _state(value) != before[name]]
    return changed


def _state(value):
    """A digest of what `value` holds (a torch module: its parameters, buffers and mode); None: not data."""
    from .agent import _digest

    if hasattr(value, "state_dict") and hasattr(value, "training"):
        return (value.training, tuple((k, _digest(v)) for k, v in value.state_dict().items()))
    return _digest(value)


def _fork_entry(entry: Entry, shell, cells: list, solutions: dict) -> tuple[int, int]:
    """Run `cells` with `entry`'s answer in a child forked from the warmed-up `shell`: (its pid, the read end of
    the pipe its outcome comes back on, as JSON)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            answers = {entry.cell: entry.answer(solutions[entry.cell])}
            out = _run_cells(shell, cells, answers)
        except BaseException:  # noqa: BLE001 - report anything to the parent
            out = {"error": traceback.format_exc()[-2000:]}
        with os.fdopen(w, "w") as f:
            json.dump(out, f)
        os._exit(0)
    os.close(w)
    return pid, r


def quick(course: Course, assignment: str, entries: list[Entry], jobs: int = 2, log=print) -> list[Outcome]:
    """Run `entries` against the source notebook(s) without the sandbox: fast, for writing catalogues."""
    os.environ.setdefault("EMBEDKIT_QUIET", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    outcomes = []
    for notebook in course.notebooks(assignment):
        source_nb = nbformat.read(course.source / assignment / f"{notebook}.ipynb", as_version=4)
        plan = _plan(source_nb)
        solutions = {c["grade_id"]: solution_code(c["source"]) for c in plan if c["kind"] == "answer"}
        todo = [e for e in entries if e.cell in solutions]
        bad = [e for e in entries if e.cell not in solutions]
        for e in bad:
            outcomes.append(Outcome(e, 0, 0, error=f"no answer cell {e.cell!r} in {notebook}"))
        n = preamble_length(plan)
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        t0 = time.perf_counter()
        pre = _run_cells(shell, plan[:n], {})
        log(f"{assignment}/{notebook}: preamble of {n} cell(s) in {time.perf_counter() - t0:.1f} s")
        del pre
        running: dict[int, tuple] = {}
        queue = list(todo)
        while queue or running:
            while queue and len(running) < jobs:
                entry = queue.pop(0)
                pid, r = _fork_entry(entry, shell, plan[n:], solutions)
                running[pid] = (entry, r, time.perf_counter())
            pid, _ = os.wait()
            entry, r, began = running.pop(pid)
            with os.fdopen(r) as f:
                text = f.read()
            try:
                out = json.loads(text)
            except ValueError:
                out = {"error": "the run died without a result"}
            if "error" in out:
                outcomes.append(Outcome(entry, 0, 0, error=out["error"]))
                continue
            tests = out["tests"]
            total = sum(p for p, _ in tests.values())
            got = sum(p for p, m in tests.values() if not m)
            outcomes.append(Outcome(entry, got, total, failed={g: m for g, (p, m) in tests.items() if m},
                                    visible=any(out["visible"].values())))
            log(f"  {'ok  ' if outcomes[-1].ok else 'MISS'} {entry.cell}/{entry.name}: "
                f"{got:g}/{total:g} ({time.perf_counter() - began:.1f} s)")
    return outcomes


# -- through the real grader: every entry a student of a generated class, graded in one batch ----------------

def selected(entries: list[Entry], only: list[str] | None) -> list[Entry]:
    """The entries whose cell or name contains one of the `only` texts (all of them without `only`)."""
    return [e for e in entries if not only or any(s in e.cell or s in e.name for s in only)]


def stratified(entries: list[Entry]) -> list[Entry]:
    """A fixed sample with every exercise in it: per answer cell, its first mutant and its first alternative."""
    first: dict[tuple[str, bool], Entry] = {}
    for entry in entries:
        first.setdefault((entry.cell, entry.correct), entry)
    return list(first.values())


@dataclass(frozen=True)
class Submission:
    """One generated student of the batch: a catalogue entry (None: the solution itself) and how it is run."""
    assignment: str
    entry: Entry | None
    pruned: bool


def graded(course: Course, assignments: list[str], jobs: int = 2, log=print, only: list[str] | None = None,
           prune: bool = True, compare=None, copycats: bool = True) -> dict[str, list[Outcome]]:
    """Grade the catalogue entries of `assignments` (those `only` selects) as submissions with the real
    pipeline (examiner, sandbox).

    `prune`: each entry runs only the tests its changed answer cell can reach, and the cells they need
    (autograder.dataflow); its other tests take the outcome of the solution itself, graded in full in the same batch. `compare` (a function
    of the entries, such as `stratified`): the entries it picks are also graded in full, as outcomes with
    `pruned` False beside their pruned ones (see `differences`). `copycats`: the generated copycat mutants
    (autograder.copycats) too."""
    import tempfile

    from .executor import Limits
    from .gradebook import summaries
    from .pipeline import grade

    with tempfile.TemporaryDirectory(prefix="mutants-") as scratch:
        work = Course(course.root, work=Path(scratch))
        results: dict[str, list[Outcome]] = {a: [] for a in assignments}
        batch = _submissions(course, work, assignments, only, prune, compare, results, copycats)
        log(f"grading {len(batch)} submissions ({sum(s.entry is not None for s in batch.values())} catalogue entries) of "
            f"{', '.join(assignments)} with {jobs} workers ...")
        # A mutant is caught by its first failed test: the cells after it cannot change that verdict.
        report = grade(work, assignments, jobs=jobs, progress=True, log=lambda *_: None, outputs=False,
                       limits=Limits(stop_at_first_failure=True),
                       changed_cells={student: s.entry.cell for student, s in batch.items() if s.pruned})
        errors = {student: error for student, _, error in report["errors"]}
        graded_ = {summary["student"]: summary for summary in summaries(work) if summary["student"] in batch}
    solution = {s.assignment: graded_.get(student) for student, s in batch.items() if s.entry is None}
    for student, submission in batch.items():
        if submission.entry is not None:
            results[submission.assignment].append(
                _outcome(submission, graded_.get(student), solution.get(submission.assignment), errors.get(student)))
    return results


def _submissions(course: Course, work: Course, assignments: list[str], only, prune: bool, compare,
                 results: dict[str, list[Outcome]], copycats: bool = True) -> dict[str, Submission]:
    """Write the batch under `work`: the solution, then every entry (pruned or not), then the sample in full."""
    from .sample_class import _answers, _fill

    batch: dict[str, Submission] = {}
    for assignment in assignments:
        entries = selected(catalogue(course, assignment, copycats), only)
        runs = [Submission(assignment, None, False)] + [Submission(assignment, e, prune) for e in entries]
        runs += [Submission(assignment, e, False) for e in compare(entries)] if compare and prune else []
        for notebook in course.notebooks(assignment):
            source_nb = nbformat.read(course.source / assignment / f"{notebook}.ipynb", as_version=4)
            release_nb = nbformat.read(course.release / assignment / f"{notebook}.ipynb", as_version=4)
            solutions = _answers(source_nb)
            for run in runs:
                if run.entry is not None and run.entry.cell not in solutions:
                    continue
                answers = dict(solutions)
                try:
                    if run.entry is not None:
                        answers[run.entry.cell] = run.entry.answer(solutions[run.entry.cell])
                except ValueError as error:
                    results[assignment].append(Outcome(run.entry, 0, 0, error=str(error), pruned=run.pruned))
                    continue
                student = f"m{len(batch):04d}"
                batch[student] = run
                folder = work.submitted / student / assignment
                folder.mkdir(parents=True, exist_ok=True)
                nbformat.write(_fill(release_nb, answers), folder / f"{notebook}.ipynb")
    return batch


def _outcome(submission: Submission, summary: dict | None, solution: dict | None, error: str | None) -> Outcome:
    """An entry's outcome; a test its pruned run skipped gets the solution's own outcome."""
    entry = submission.entry
    if error or summary is None:
        return Outcome(entry, 0, 0, error=error or "not graded", pruned=submission.pruned)
    tests = [t for nb in summary["notebooks"].values() for t in nb["tests"]]
    skipped = [t for t in tests if t["status"] == "skipped"]
    if skipped and solution is None:
        return Outcome(entry, 0, 0, error="the solution itself was not graded: pruned tests have no outcome",
                       pruned=submission.pruned)
    reference = {t["grade_id"]: t for nb in (solution or {"notebooks": {}})["notebooks"].values() for t in nb["tests"]}
    tests = [reference.get(t["grade_id"], t) if t["status"] == "skipped" else t for t in tests]
    return Outcome(entry, sum(t["score"] for t in tests), sum(t["points"] for t in tests),
                   failed={t["grade_id"]: t["message"] for t in tests if not t["passed"]},
                   pruned=submission.pruned, skipped=len(skipped),
                   seconds=sum(nb["wall_s"] for nb in summary["notebooks"].values()))


def primary(outcomes: list[Outcome]) -> list[Outcome]:
    """One outcome per entry: the pruned one where the entry was also graded in full for comparison."""
    pruned = {o.entry for o in outcomes if o.pruned}
    return [o for o in outcomes if o.pruned or o.entry not in pruned]


def differences(outcomes: list[Outcome]) -> list[str]:
    """The entries graded both ways whose pruned verdict (caught or full marks, points) differs from the full one."""
    full = {o.entry: o for o in outcomes if not o.pruned}
    out = []
    for o in outcomes:
        other = full.get(o.entry)
        if o.pruned and other is not None and (o.ok, o.score, o.max_score, bool(o.error)) != \
                (other.ok, other.score, other.max_score, bool(other.error)):
            out.append(f"{o.entry.cell}/{o.entry.name}: pruned {o.score:g}/{o.max_score:g} {sorted(o.failed)}, "
                       f"full {other.score:g}/{other.max_score:g} {sorted(other.failed)}")
    return out


def report(outcomes: list[Outcome], assignment: str, log=print) -> dict:
    """Print each entry and the mutation score; returns {"mutation_score", "alternatives_ok", ...}."""
    outcomes = primary(outcomes)
    copied = [o for o in outcomes if o.entry.copycat]
    outcomes = [o for o in outcomes if not o.entry.copycat]
    mutants = [o for o in outcomes if not o.entry.correct]
    alts = [o for o in outcomes if o.entry.correct]
    log(f"\n{assignment}: {len(mutants)} mutants, {len(alts)} alternatives")
    for o in sorted(outcomes, key=lambda o: (o.entry.correct, o.entry.cell, o.entry.name)):
        kind = "alternative" if o.entry.correct else "mutant"
        verdict = ("ERROR " + o.error.strip().splitlines()[-1][:200]) if o.error else \
            ("caught" if not o.entry.correct and o.lost > 0 else
             "MISSED" if not o.entry.correct else "full marks" if o.lost == 0 else "LOST POINTS")
        by = "; ".join(f"{g}: {m[:120]}" for g, m in o.failed.items())
        log(f"  {kind:11s} {o.entry.cell:18s} {o.entry.name[:48]:48s} -{o.lost:g}  {verdict}  {by}")
    caught = sum(o.ok for o in mutants)
    visible = sum(bool(o.ok and o.visible) for o in mutants) if all(o.visible is not None for o in mutants) else None
    per_cell: dict[str, list] = {}
    for o in mutants:
        per_cell.setdefault(o.entry.cell, []).append(o.ok)
    score = caught / len(mutants) if mutants else 1.0
    log("  per exercise: " + ", ".join(f"{c} {sum(v)}/{len(v)}" for c, v in sorted(per_cell.items())))
    slowest = sorted(outcomes, key=lambda o: -o.seconds)[:5]
    log(f"  grading time {sum(o.seconds for o in outcomes):.0f} s in all; slowest: " +
        ", ".join(f"{o.entry.cell}/{o.entry.name[:30]} {o.seconds:.0f} s" for o in slowest))
    log(f"  mutation score {caught}/{len(mutants)} = {score:.1%}; alternatives at full marks "
        f"{sum(o.ok for o in alts)}/{len(alts)}; caught by the visible tests alone "
        f"{'-' if visible is None else visible}/{len(mutants)}")
    kept = [o for o in copied if not o.ok]
    log(f"  copycats (answers that copy or call what the release shows): {len(copied) - len(kept)}/{len(copied)} "
        "lose points" + "".join(f"\n    KEEPS POINTS {o.entry.cell}: {o.entry.name} "
                                f"{o.error.strip().splitlines()[-1][:200] if o.error else f'-{o.lost:g}'}"
                                for o in kept))
    return {"assignment": assignment, "mutants": len(mutants), "caught": caught, "mutation_score": score,
            "alternatives": len(alts), "alternatives_ok": sum(o.ok for o in alts), "visible": visible,
            "copycats": len(copied), "copycats_kept": [o.entry.name for o in kept]}


EXAMPLES = """examples:
  autograder mutants 01_types --only cosine    quick (no sandbox): 01_types' entries about cosine
  autograder mutants --grade                   every catalogue through the real grader (what `make mutants` runs)
  autograder mutants --grade --compare sample  also grade a stratified sample unpruned; any difference fails
The exit status is 1 when a mutation score is under 95%, an alternative loses points or a copycat keeps full marks."""


def add_arguments(p) -> None:
    """The options of `autograder mutants` (and of `python -m autograder.mutants`)."""
    p.add_argument("assignments", nargs="*", help="assignments to test (default: every one with a catalogue)")
    p.add_argument("--only", action="append", help="entries whose cell or name contains this text")
    p.add_argument("--jobs", type=int, default=None, help="grading workers (default: the grader's setting)")
    p.add_argument("--grade", action="store_true",
                   help="grade every entry through the real grader (examiner, sandbox) instead of the quick runner")
    p.add_argument("--full", action="store_true", help="with --grade: run every cell of every entry (no pruning)")
    p.add_argument("--compare", choices=("sample", "all"),
                   help="with --grade: also grade the stratified sample (or every entry) in full; differences fail")


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(prog="python -m autograder.mutants", description=DESCRIPTION, epilog=EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return run(p.parse_args(argv))


def run(args) -> int:
    """Run the catalogues `args` names (add_arguments' options) and print the scores; the exit status."""
    course = Course()
    if args.jobs is None:
        from .settings import load
        args.jobs = load(course.root).jobs
    assignments = [a for a in (args.assignments or course.assignments()) if catalogue(course, a)]
    started = time.perf_counter()
    if args.grade:
        compare = {"sample": stratified, "all": list}.get(args.compare)
        outcomes = graded(course, assignments, jobs=args.jobs, only=args.only, prune=not args.full, compare=compare)
    else:
        outcomes = {}
        for assignment in assignments:
            entries = selected(catalogue(course, assignment, copycats=True), args.only)
            outcomes[assignment] = quick(course, assignment, entries, jobs=args.jobs)
    status, rows = 0, []
    for assignment in assignments:
        out = report(outcomes[assignment], assignment)
        rows.append(out)
        if out["mutation_score"] < 0.95 or out["alternatives_ok"] < out["alternatives"] or out["copycats_kept"]:
            status = 1
        compared = sum(not o.pruned for o in outcomes[assignment]) if args.compare else 0
        if compared:
            different = differences(outcomes[assignment])
            print(f"  pruned vs full: {compared} entries compared, {len(different)} different")
            for line in different:
                print(f"    DIFFERENT {line}")
            status = status or int(bool(different))
    print(f"\n{'assignment':16s} {'mutants':>8s} {'caught':>7s} {'score':>7s} {'visible':>8s} {'alternatives ok':>16s}")
    for r in rows:
        print(f"{r['assignment']:16s} {r['mutants']:8d} {r['caught']:7d} {r['mutation_score']:7.1%} "
              f"{'-' if r['visible'] is None else r['visible']:>8} "
              f"{r['alternatives_ok']:>8d} / {r['alternatives']:<6d}")
    print(f"wall time {time.perf_counter() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
