"""A generated class for the similarity report: independent answers, the class-wide obvious solution, and
planted copies (variables renamed, independent statements reordered, comments changed).

    python tests/similarity_class.py 1000     # builds 1,000 students x 4 notebooks and times the report
"""
import json
import random
import sys
import time
from pathlib import Path

ASSIGNMENTS = ["01_a", "02_b", "03_c", "04_d"]
CELLS = ["first", "second", "third"]
FUNCS = ["np.sqrt", "np.exp", "np.log1p", "np.abs", "np.tanh", "np.cumsum", "abs", "float", "len", "sum", "max", "min",
         "sorted", "np.clip", "np.mean", "np.dot", "np.linalg.norm", "np.maximum", "np.argsort", "np.median", "np.std",
         "np.round", "math.floor", "math.sqrt", "np.asarray", "np.sign", "np.square", "np.prod", "reversed", "round"]
OPS = ["+", "-", "*", "/", "//", "%", "**"]
WORDS = ["total", "acc", "out", "vals", "tmp", "res", "best", "idx", "count", "norm", "row", "col", "score", "w", "z",
         "scale", "prev", "cur", "buf", "step", "delta", "keep", "seen", "hits", "mask", "lo", "hi", "mid", "pos", "q"]


def stub(cell: str) -> str:
    return (f"def {cell}(data, eps):\n    \"\"\"Compute the {cell} statistic of data.\n\n    data: a list of floats; "
            "eps: a small float.\n    Returns: one float.\n    \"\"\"\n    # YOUR CODE HERE\n    raise NotImplementedError()\n")


def _expr(rng: random.Random, names: list[str], depth: int = 2) -> str:
    if depth == 0 or rng.random() < 0.3:
        return rng.choice(names) if rng.random() < 0.5 else str(rng.choice([rng.randint(0, 99), round(rng.random(), 2)]))
    kind = rng.random()
    if kind < 0.4:
        return f"{_expr(rng, names, depth - 1)} {rng.choice(OPS)} {_expr(rng, names, depth - 1)}"
    if kind < 0.7:
        return f"{rng.choice(FUNCS)}({_expr(rng, names, depth - 1)})"
    return f"[{_expr(rng, names, depth - 1)} for {rng.choice(names)} in {rng.choice(names)}]"


def _block(rng: random.Random, var: str, names: list[str]) -> list[str]:
    """One independent statement (or a small loop/if) binding `var` from the arguments."""
    kind = rng.random()
    if kind < 0.5:
        return [f"{var} = {_expr(rng, names)}"]
    if kind < 0.75:
        return [f"{var} = {rng.randint(0, 3)}", f"for item in {rng.choice(names)}:",
                f"    {var} {rng.choice(OPS)}= {_expr(rng, names + ['item'])}"]
    return [f"{var} = {_expr(rng, names)}", f"if {var} > {_expr(rng, names)}:", f"    {var} = {_expr(rng, names)}"]


def answer(rng: random.Random, cell: str, blocks: int | None = None) -> dict:
    """An independent answer: the stub's signature and docstring, its own blocks, then the class's obvious ending."""
    variables = rng.sample(WORDS, 6)
    body = [_block(rng, v, ["data", "eps"]) for v in variables[:blocks or rng.randint(4, 7)]]
    return {"cell": cell, "blocks": body, "vars": variables}


def render(rng: random.Random, spec: dict, rename: dict[str, str] | None = None, comments: bool = True) -> str:
    """The answer's source: its blocks in order, the obvious solution (renamed like everyone does) last."""
    import re

    rename = rename or {}
    lines = stub(spec["cell"]).splitlines()[:6]  # signature and docstring, kept as the release has them
    for block in spec["blocks"]:
        if comments and rng.random() < 0.5:
            lines.append(f"    # {rng.choice(WORDS)} {rng.choice(WORDS)}")
        lines += ["    " + re.sub(r"\b\w+\b", lambda m: rename.get(m.group(0), m.group(0)), line) for line in block]
    names = [rename.get(v, v) for v in spec["vars"][:len(spec["blocks"])]]
    result = rng.choice(["result", "answer", "value", "r"])
    lines += [f"    {result} = np.mean(np.asarray(data, dtype=float)) / max(eps, np.std(data))",  # the obvious code
              f"    return float({result} + {names[0]})"]
    return "\n".join(lines) + "\n"


def copy_of(rng: random.Random, spec: dict) -> tuple[dict, dict[str, str]]:
    """A plagiarised answer: the same blocks reordered, every variable renamed, new comments."""
    fresh = [w + "_" + str(rng.randint(1, 99)) for w in rng.sample(WORDS, len(spec["vars"]))]
    blocks = list(spec["blocks"])
    rng.shuffle(blocks)
    return {"cell": spec["cell"], "blocks": blocks, "vars": spec["vars"]}, dict(zip(spec["vars"] + ["item"], fresh + ["el"], strict=False))


def _notebook(sources: dict[str, str]) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "outputs": [], "source": src,
              "metadata": {"nbgrader": {"grade_id": cell, "solution": True, "grade": False, "locked": False,
                                        "schema_version": 3, "task": False}}}
             for i, (cell, src) in enumerate(sources.items())]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def build(root: Path, students: int, planted: int, seed: int = 0, assignments=ASSIGNMENTS,
          stub_only: int = 0) -> set[tuple[str, str, str, str]]:
    """Write the course (release stubs, submissions) under root; returns the planted copies as
    (assignment, cell, student_a, student_b), student_a < student_b. The last `stub_only` students submit the
    release untouched."""
    rng = random.Random(seed)
    names = [f"s{i:04d}" for i in range(students)]
    for assignment in assignments:
        for folder in ("solutions", "notebooks"):
            (root / folder / assignment).mkdir(parents=True, exist_ok=True)
            (root / folder / assignment / "nb.ipynb").write_text(_notebook({c: stub(c) for c in CELLS}))
    specs = {(a, c, s): answer(rng, c) for a in assignments for c in CELLS for s in names}
    sources = {key: render(rng, spec) for key, spec in specs.items()}
    plants = set()
    for n in range(planted):
        a, c = assignments[n % len(assignments)], CELLS[n % len(CELLS)]
        src, dst = rng.sample(names[:students - stub_only], 2)
        spec, rename = copy_of(rng, specs[(a, c, src)])
        sources[(a, c, dst)] = render(rng, spec, rename)
        plants.add((a, c, *sorted((src, dst))))
    for a in assignments:
        for i, s in enumerate(names):
            folder = root / "grading" / "submitted" / s / a
            folder.mkdir(parents=True, exist_ok=True)
            untouched = i >= students - stub_only
            folder.joinpath("nb.ipynb").write_text(_notebook({c: stub(c) if untouched else sources[(a, c, s)]
                                                              for c in CELLS}))
    return plants


def scores(pairs, plants) -> tuple[float, float]:
    """Precision and recall of the flagged pairs against the planted ones."""
    flagged = {(p.assignment, p.cell, *sorted((p.student_a, p.student_b))) for p in pairs if p.flagged}
    hits = len(flagged & plants)
    return (hits / len(flagged) if flagged else 1.0), (hits / len(plants) if plants else 1.0)


if __name__ == "__main__":
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from autograder.course import Course
    from autograder.similarity import report

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        plants = build(Path(tmp), n, planted=max(4, n // 50))
        built = time.perf_counter()
        pairs = report(Course(Path(tmp)))
        done = time.perf_counter()
        precision, recall = scores(pairs, plants)
        print(f"{n} students x {len(ASSIGNMENTS)} notebooks x {len(CELLS)} answer cells: class written in "
              f"{built - started:.1f} s, report in {done - built:.1f} s; {len(plants)} planted, "
              f"{sum(p.flagged for p in pairs)} flagged, precision {precision:.2f}, recall {recall:.2f}")
