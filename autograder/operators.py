"""Operator mutants: wrong answers generated from the instructor's solutions, beside the hand-written catalogue.

The catalogue (solutions/<assignment>/mutants.py) holds the mistakes its authors thought of. Mutation tools of
other ecosystems (PIT, Stryker, mutmut, cosmic-ray) also apply small operators to the code under test and ask
whether some test notices. This module does that to every answer cell of a solution notebook:

- `keyword`: one keyword argument of a call removed (the library's default used instead);
- `constant`: a number changed (0 <-> 1, an integer by one either way, a float ten times larger or smaller);
- `compare`: a comparison flipped at its boundary (< and <=, > and >=, == and !=, in and not in, is and is not);
- `slice`: a computed slice bound moved by one;
- `axis`: an `axis=` or `dim=` argument set to another axis;
- `normalise`: a normalisation or a mask removed (a division by a norm, `F.normalize`, `faiss.normalize_L2`, a
  product with a mask);
- `loop`: an object created before a loop created inside it instead (the optimiser made every epoch);
- `naive`: a numerically stable formula replaced by its naive form (`logsigmoid` by log of sigmoid, ...).

Each mutant is a whole answer cell (`ast.unparse` of the changed code: comments go, behaviour stays) graded like
a catalogue entry (autograder.mutants, `--operators`). A survivor is a gap a test should close, or a change no
test can tell from the solution: the catalogue's `EQUIVALENT` names it with the reason.
"""
from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

Path = tuple[tuple[str, int | None], ...]     # (field, index) steps from the module down to a node
Change = Callable[[ast.AST], ast.AST | None]  # the node -> its replacement (None: delete the statement)

_FLIPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
          ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_NORMS = {"norm", "normalize", "maximum"}
# stable form -> its naive form, as code around the first argument ({x}) and the rest ({rest})
_NAIVE = {"logsigmoid": "torch.log(torch.sigmoid({x}))", "softplus": "torch.log(1 + torch.exp({x}))",
          "log_softmax": "torch.log(torch.softmax({x}{rest}))", "logsumexp": "torch.log(torch.exp({x}).sum({restonly}))",
          "log_expit": "np.log(1 / (1 + np.exp(-({x}))))", "logaddexp": "np.log(np.exp({x}){plus})"}


@dataclass(frozen=True)
class Mutation:
    """One generated mutant of an answer cell."""
    cell: str        # grade_id of the answer cell
    function: str    # the top-level function or class it changes
    operator: str    # which operator (see the module's docstring)
    label: str       # what changes, readable and stable across runs while the code is
    source: str      # the whole mutated answer cell

    @property
    def name(self) -> str:
        return f"op {self.operator}: {self.function}: {self.label}"


def mutations(cell: str, code: str) -> list[Mutation]:
    """Every operator mutant of one answer cell's solution code (nbgrader's markers removed), in source order;
    a mutant that unparses like the solution (no behavioural change is possible) or like an earlier one is left out."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    seen = {ast.unparse(tree)}
    out = []
    for path, node in _walk(tree):
        for operator, label, change in _sites(node, path, tree):
            mutated = _apply(tree, path, change)
            if mutated is None or mutated in seen:
                continue
            seen.add(mutated)
            out.append(Mutation(cell, _owner(tree, path), operator, label, mutated))
    return _unique_names(out)


def _walk(node: ast.AST, path: Path = ()) -> Iterator[tuple[Path, ast.AST]]:
    yield path, node
    for name, value in ast.iter_fields(node):
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, ast.AST):
                    yield from _walk(item, path + ((name, i),))
        elif isinstance(value, ast.AST):
            yield from _walk(value, path + ((name, None),))


def _apply(tree: ast.Module, path: Path, change: Change) -> str | None:
    """The module's code with the node at `path` changed; None when the change does not apply."""
    tree = copy.deepcopy(tree)
    parent = tree
    for name, index in path[:-1]:
        parent = getattr(parent, name) if index is None else getattr(parent, name)[index]
    name, index = path[-1]
    node = getattr(parent, name) if index is None else getattr(parent, name)[index]
    new = change(node)
    if new is None and index is not None:
        del getattr(parent, name)[index]
        if not getattr(parent, name):
            getattr(parent, name).append(ast.Pass())
    elif new is None:
        return None
    elif index is None:
        setattr(parent, name, new)
    else:
        getattr(parent, name)[index] = new
    try:
        return ast.unparse(ast.fix_missing_locations(tree))
    except (ValueError, TypeError, AttributeError):
        return None


def _owner(tree: ast.Module, path: Path) -> str:
    if path and path[0][0] == "body":
        top = tree.body[path[0][1]]
        if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return top.name
    return "<cell>"


def _unique_names(found: list[Mutation]) -> list[Mutation]:
    count: dict[str, int] = {}
    out = []
    for m in found:
        count[m.name] = count.get(m.name, 0) + 1
        out.append(m if count[m.name] == 1 else
                   Mutation(m.cell, m.function, m.operator, f"{m.label} ({count[m.name]})", m.source))
    return out


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _text(node: ast.AST, width: int = 40) -> str:
    text = ast.unparse(node)
    return text if len(text) <= width else text[:width - 3] + "..."


def _sites(node: ast.AST, path: Path, tree: ast.Module) -> Iterator[tuple[str, str, Change]]:
    """(operator, label, change) for every mutation the operators offer at `node`."""
    if isinstance(node, ast.Call):
        yield from _keyword_sites(node)
        yield from _naive_sites(node)
        yield from _normalise_call_sites(node)
    elif isinstance(node, ast.Constant):
        yield from _constant_sites(node)
    elif isinstance(node, ast.Compare):
        yield from _compare_sites(node)
    elif isinstance(node, ast.Slice):
        yield from _slice_sites(node)
    elif isinstance(node, ast.BinOp):
        yield from _normalise_binop_sites(node)
    elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        yield from _loop_sites(node)
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and _called(node.value) == "normalize_L2":
        yield "normalise", f"{_text(node)}: not normalised", lambda _: None  # an in-place call: the statement goes


def _keyword_sites(call: ast.Call) -> Iterator[tuple[str, str, Change]]:
    for i, keyword in enumerate(call.keywords):
        if keyword.arg is None:
            continue

        def drop(node, i=i):
            node.keywords.pop(i)
            return node
        yield "keyword", f"{_called(call)}(): {keyword.arg}= left out", drop
        if keyword.arg in ("axis", "dim"):
            yield from _axis_sites(call, i, keyword)


def _axis_sites(call: ast.Call, i: int, keyword: ast.keyword) -> Iterator[tuple[str, str, Change]]:
    try:
        value = ast.literal_eval(keyword.value)
    except ValueError:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        return
    for other in sorted({0, 1, -1} - {value}):
        def set_axis(node, i=i, other=other):
            node.keywords[i].value = ast.Constant(other)
            return node
        yield "axis", f"{_called(call)}(): {keyword.arg}={value} -> {other}", set_axis


def _constant_sites(node: ast.Constant) -> Iterator[tuple[str, str, Change]]:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, int):
        others = {value + 1, value - 1} | ({1} if value == 0 else set()) | ({0} if value == 1 else set())
    else:
        others = {value * 10, value / 10} if value else {1.0}
    for other in sorted(others - {value}):
        yield "constant", f"{value!r} -> {other!r}", lambda _, other=other: ast.Constant(other)


def _compare_sites(node: ast.Compare) -> Iterator[tuple[str, str, Change]]:
    for j, op in enumerate(node.ops):
        flipped = _FLIPS.get(type(op))
        if flipped is None:
            continue

        def flip(n, j=j, flipped=flipped):
            n.ops[j] = flipped()
            return n
        yield "compare", f"{_text(node)}: {type(op).__name__} -> {flipped.__name__}", flip


def _slice_sites(node: ast.Slice) -> Iterator[tuple[str, str, Change]]:
    for bound in ("lower", "upper"):
        value = getattr(node, bound)
        if value is None or isinstance(value, ast.Constant):
            continue  # constant bounds: the constant operator moves them
        for op, sign in ((ast.Add(), "+"), (ast.Sub(), "-")):
            def shift(n, bound=bound, op=op):
                setattr(n, bound, ast.BinOp(getattr(n, bound), op, ast.Constant(1)))
                return n
            yield "slice", f"[{_text(node)}]: {bound} bound {sign} 1", shift


def _normalise_call_sites(call: ast.Call) -> Iterator[tuple[str, str, Change]]:
    name = _called(call)
    if name == "normalize" and call.args:
        yield "normalise", f"{_text(call)}: not normalised", lambda n: n.args[0]


def _normalise_binop_sites(node: ast.BinOp) -> Iterator[tuple[str, str, Change]]:
    if isinstance(node.op, ast.Div) and any(isinstance(n, ast.Call) and _called(n) in _NORMS for n in ast.walk(node.right)):
        yield "normalise", f"{_text(node)}: not divided by the norm", lambda n: n.left
    if isinstance(node.op, ast.Mult):
        for side, other in (("left", "right"), ("right", "left")):
            if "mask" in ast.unparse(getattr(node, side)).lower():
                yield "normalise", f"{_text(node)}: the mask left out", lambda n, other=other: getattr(n, other)


def _loop_sites(func: ast.FunctionDef) -> Iterator[tuple[str, str, Change]]:
    """An assignment of a call's result before a loop whose body uses it: made inside the loop instead."""
    body = func.body
    for i, statement in enumerate(body):
        if not (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)):
            continue
        targets = {n.id for t in statement.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        for j in range(i + 1, len(body)):
            loop = body[j]
            if isinstance(loop, (ast.For, ast.While)) and targets & {n.id for n in ast.walk(loop) if isinstance(n, ast.Name)}:
                def into_loop(f, i=i, j=j):
                    moved = f.body[i]
                    f.body[j].body.insert(0, moved)
                    del f.body[i]
                    return f
                yield "loop", f"{_text(statement)}: made inside the loop", into_loop
                break


def _naive_sites(call: ast.Call) -> Iterator[tuple[str, str, Change]]:
    form = _NAIVE.get(_called(call))
    if form is None or not call.args:
        return
    x = ast.unparse(call.args[0])
    rest = [ast.unparse(a) for a in call.args[1:]] + [f"{k.arg}={ast.unparse(k.value)}" for k in call.keywords if k.arg]
    text = form.format(x=x, rest="".join(", " + r for r in rest), restonly=", ".join(rest),
                       plus="".join(f" + np.exp({r})" for r in rest))
    try:
        naive = ast.parse(text, mode="eval").body
    except SyntaxError:
        return
    yield "naive", f"{_text(call)}: the naive form", lambda _, naive=naive: copy.deepcopy(naive)
