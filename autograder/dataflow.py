"""Static name analysis of a notebook's code cells: what each cell binds and reads, and what reaches what.

Two questions are answered from the instructor's source (never by running anything):

- which names a test cell takes from the student's kernel (`student_names`, for the examiner's requests);
- which tests one changed answer cell can affect, and which cells those need (`reach`, for mutation testing:
  the other tests keep the instructor's solution's outcome, and cells no such test needs do not run).

The analysis is conservative. A cell that reads a name may have changed the object behind it in place, a test
that takes a name from the kernel may have changed that object through its handle, and a cell that reaches
names dynamically (`globals()`, `exec`, `get_ipython()`, frames, `__dict__`, ...) makes `reach` give up: every
cell runs.
"""
from __future__ import annotations

import ast
import functools
import symtable
from dataclasses import dataclass, field

# Names and attributes through which code reaches other names than the ones it spells out.
DYNAMIC_NAMES = frozenset({"globals", "locals", "vars", "eval", "exec", "compile", "get_ipython", "__import__",
                           "__builtins__", "__main__", "builtins", "inspect", "gc", "ctypes", "getattr", "setattr",
                           "delattr"})
DYNAMIC_ATTRIBUTES = frozenset({"__globals__", "__dict__", "__code__", "__closure__", "f_globals", "f_locals",
                                "f_back", "__builtins__", "modules", "user_ns", "__setattr__", "__getattribute__",
                                "_getframe", "import_module", "reload"})


def python_source(source: str) -> str:
    """A cell's source as plain Python (IPython magics and shell escapes transformed)."""
    from IPython.core.inputtransformer2 import TransformerManager
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - unparsable: treated as binding nothing
        return source


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(python_source(source))
    except (SyntaxError, ValueError):
        return None


def bound_names(source: str) -> set[str]:
    """Names a cell binds at module level (assignments, defs, classes, imports, loop and with targets, globals)."""
    tree = _parse(source)
    if tree is None:
        return set()
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    names: set[str] = set()

    def module_level(node):
        """`node` and everything under it, except what is inside a function or class (its own scope)."""
        yield node
        if isinstance(node, scopes + (ast.Lambda,)):
            return
        for child in ast.iter_child_nodes(node):
            yield from module_level(child)

    def targets(*nodes):
        names.update(n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name))

    for node in module_level(tree):
        if isinstance(node, scopes):
            names.add(node.name)
            names.update(g for sub in ast.walk(node) if isinstance(sub, ast.Global) for g in sub.names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.Delete)):
            targets(*node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor, ast.NamedExpr)):
            targets(node.target)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets(node.optional_vars)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def used_names(source: str) -> set[str]:
    """Every name a cell loads anywhere (function bodies and their locals included)."""
    tree = _parse(source)
    if tree is None:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def student_names(cells: list[dict], setup_count: int) -> dict[int, list[str]]:
    """For each test cell (by position in `cells`): the names it must take from the student's kernel.

    `cells`: code cells in notebook order, each {"kind", "source"}; the first `setup_count` are the set-up.
    A name comes from the student when the last cell before the test that binds it is a non-test cell
    after the set-up; set-up and test bindings stay the examiner's own. A name no earlier cell binds (a test's
    own variables: `expected`, `*_reference`) is never requested: the request would tell the student's
    kernel what the hidden test computes.
    """
    last: dict[str, str] = {}     # name -> "examiner" | "student"
    out: dict[int, list[str]] = {}
    for i, cell in enumerate(cells):
        if cell["kind"] == "test":
            wanted = used_names(cell["source"])
            out[i] = sorted(n for n in wanted if last.get(n) == "student")
            owner = "examiner"
        else:
            owner = "examiner" if i < setup_count else "student"
        for name in bound_names(cell["source"]):
            last[name] = owner
    return out


# -- what a cell reads and writes, for `reach` ----------------------------------------------------------------

@dataclass
class Effects:
    """One cell's names: `reads` (objects it finds already bound, which it may also change in place), `binds`
    (names it may bind or delete), `kills` (names it surely rebinds, so their older objects no longer matter
    after it), `imports` (names it binds only by importing), `dynamic` (it reaches names it does not spell)."""
    reads: set[str] = field(default_factory=set)
    binds: set[str] = field(default_factory=set)
    kills: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)
    others: set[str] = field(default_factory=set)   # names it binds otherwise than by importing
    functions: set[str] = field(default_factory=set)  # names it binds only by a plain `def` (see _plain_functions)
    stored_on: set[str] = field(default_factory=set)  # names whose attributes or items it sets or deletes
    dynamic: bool = False


_DEFINITE = (ast.Assign, ast.AnnAssign, ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
             ast.ClassDef)


@functools.lru_cache(maxsize=4096)  # a batch's submissions share most of their cells: analyse each source once
def effects(source: str) -> Effects:
    """The names one cell reads and binds, statement by statement (see Effects). Shared: never change it."""
    tree = _parse(source)
    if tree is None:
        return Effects(dynamic=True)
    out = Effects(dynamic=_is_dynamic(tree))
    try:
        _statements(tree.body, out.kills, out)
    except (SyntaxError, ValueError):  # top-level await and the like: nothing is known
        return Effects(dynamic=True)
    out.stored_on = {node.value.id for node in ast.walk(tree) if isinstance(node, (ast.Attribute, ast.Subscript))
                     and isinstance(node.ctx, (ast.Store, ast.Del)) and isinstance(node.value, ast.Name)}
    plain = _functions(tree.body, plain=True)
    out.functions = plain - (out.binds - plain) - _functions(tree.body, plain=False)
    return out


def _functions(statements: list[ast.stmt], plain: bool) -> set[str]:
    """The module-level names `statements` bind by a plain `def` (`plain`), or by any other def. A plain def's
    function object no call can change: it has no decorator (which may return anything) and its defaults are
    constants or names (a list or a call as a default is state that every call may change)."""
    out: set[str] = set()
    for statement in statements:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defaults = statement.args.defaults + [d for d in statement.args.kw_defaults if d is not None]
            if (not statement.decorator_list and all(map(_fixed, defaults))) == plain:
                out.add(statement.name)
        elif not isinstance(statement, ast.ClassDef):
            for field_ in ("body", "orelse", "finalbody", "handlers"):
                out |= _functions(getattr(statement, field_, []), plain)
    return out


def _fixed(default: ast.expr) -> bool:
    """A default value no call can change in place: a constant, a name, a dotted name, or a tuple of them (a
    name's object is followed as the name itself)."""
    if isinstance(default, ast.Tuple):
        return all(map(_fixed, default.elts))
    if isinstance(default, ast.UnaryOp):
        return isinstance(default.operand, ast.Constant)
    while isinstance(default, ast.Attribute):
        default = default.value
    return isinstance(default, (ast.Constant, ast.Name))


def _statements(statements: list[ast.stmt], killed: set[str], out: Effects) -> None:
    """Add the reads and binds of `statements` to `out`; `killed`: the names surely rebound before them (grows
    with this block's own plain assignments; a nested block's never leave it, since it may not run)."""
    for statement in statements:
        if isinstance(statement, (ast.For, ast.AsyncFor)):  # the target is bound before the body reads it
            _simple(ast.Expr(statement.iter), killed, out)
            targets = _names_in(statement.target)
            _bind(targets, out, imported=False)
            _statements(statement.body + statement.orelse, killed | targets, out)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            targets = set()
            for item in statement.items:
                _simple(ast.Expr(item.context_expr), killed, out)
                targets |= _names_in(item.optional_vars) if item.optional_vars is not None else set()
            _bind(targets, out, imported=False)
            killed |= targets   # the body runs whole, or the exception ends the cell
            _statements(statement.body, killed, out)
        elif isinstance(statement, (ast.If, ast.While)):
            _simple(ast.Expr(statement.test), killed, out)
            _statements(statement.body, set(killed), out)
            _statements(statement.orelse, set(killed), out)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                _statements(block, set(killed), out)
            for handler in statement.handlers:
                if handler.type is not None:
                    _simple(ast.Expr(handler.type), killed, out)
                _bind({handler.name} if handler.name else set(), out, imported=False)
                _statements(handler.body, killed | ({handler.name} if handler.name else set()), out)
        else:
            _simple(statement, killed, out)


def _simple(statement: ast.stmt, killed: set[str], out: Effects) -> None:
    """One statement taken whole (symtable resolves its scopes): reads not yet killed, binds, kills."""
    table = symtable.symtable(ast.unparse(statement), "<cell>", "exec")
    loads, stores, later, immediate = _names(table)
    out.reads |= (loads - killed) | later | (immediate - killed)
    _bind(stores, out, imported=isinstance(statement, (ast.Import, ast.ImportFrom)))
    if isinstance(statement, _DEFINITE):
        killed |= _definite_targets(statement, stores)


def _bind(names: set[str], out: Effects, imported: bool) -> None:
    out.binds |= names
    (out.imports if imported else out.others).update(names)


def _names_in(target: ast.expr) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


# Scopes that run where they are written: a name they read is the one bound at that point of the cell.
_IMMEDIATE_SCOPES = frozenset({"listcomp", "setcomp", "dictcomp"})


def _names(table: symtable.SymbolTable) -> tuple[set[str], set[str], set[str], set[str]]:
    """(module-level loads, module-level stores, globals that nested scopes read or write later, and those read only
    by comprehensions that run on the spot) of one statement. A function's, lambda's or generator's body runs
    later, when the name may be bound to something else."""
    loads = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stores = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    nested: set[str] = set()
    later: set[str] = set()
    todo = [(child, child.get_name() in _IMMEDIATE_SCOPES) for child in table.get_children()]
    while todo:
        child, now = todo.pop()
        todo.extend((grand, now and grand.get_name() in _IMMEDIATE_SCOPES) for grand in child.get_children())
        for symbol in child.get_symbols():
            if symbol.is_global():  # a free name is an enclosing function's (a closure): not the notebook's
                nested.add(symbol.get_name())
                if not now:
                    later.add(symbol.get_name())
                if symbol.is_declared_global() and symbol.is_assigned():
                    stores.add(symbol.get_name())
    return loads, stores, later, nested - later


def _definite_targets(statement: ast.stmt, stores: set[str]) -> set[str]:
    """The names a top-level statement always rebinds (a plain `name = ...`, an import, a def or class)."""
    if isinstance(statement, ast.Assign):  # `a = ...` and `a, (b, *c) = ...` (unpacking binds all, or raises)
        return set().union(*map(_unpacked_names, statement.targets))
    if isinstance(statement, ast.AnnAssign):
        return {statement.target.id} if statement.value is not None and isinstance(statement.target, ast.Name) else set()
    return set(stores)


def _unpacked_names(target: ast.expr) -> set[str]:
    """The names an assignment target surely rebinds: a name, or names inside tuples, lists and stars of names
    (an item or attribute target changes an object, and rebinds nothing)."""
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, ast.Starred):
        return _unpacked_names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*map(_unpacked_names, target.elts))
    return set()


def _is_dynamic(tree: ast.Module) -> bool:
    """Whether the code may reach names it does not spell out (`"x" in sys.modules` alone reaches nothing)."""
    membership = {id(side) for node in ast.walk(tree) if isinstance(node, ast.Compare)
                  and all(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops) for side in node.comparators}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in DYNAMIC_NAMES:
            return True
        if isinstance(node, ast.Attribute) and node.attr in DYNAMIC_ATTRIBUTES and id(node) not in membership:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                (alias.name or "").split(".")[0] in DYNAMIC_NAMES for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in DYNAMIC_NAMES:
            return True
    return False


# -- which tests one changed cell can reach, and which cells they need -----------------------------------------------

# Names IPython itself rebinds between cells (the last outputs and inputs): reading one reads another cell's result.
_IPYTHON_NAMES = frozenset({"_", "__", "___", "In", "Out", "_oh", "_ih", "_dh", "_ii", "_iii"})


class _Flow:
    """The cells' effects, with the names each side (the kernel, the examiner) may have changed through them."""

    def __init__(self, cells: list[dict], setup_count: int):
        self.kinds = [c["kind"] for c in cells]
        self.setup_count = setup_count
        self.effects = [_merged(c) for c in cells]
        bound = set().union(*(e.binds for e in self.effects))
        constant = set().union(*(e.imports for e in self.effects)) - set().union(*(e.others for e in self.effects))
        self.names = bound - constant         # the names that can carry a change: bound, and not only by imports
        references = [{"kind": c["kind"], "source": c.get("reference", c["source"])} for c in cells]
        self.fetched = {i: set(names) & self.effects[i].reads & self.names
                        for i, names in student_names(references, setup_count).items()}
        # The set-up's objects are taken as read-only for the solution's cells (a check in the suite holds the
        # course to it): only rebinding one changes what later cells see.
        self.shared = set().union(*(e.binds for e in self.effects[:setup_count])) & self.names
        # A plain function (dataflow._functions) never changes in place, so reading one changes nothing; what
        # its body reads still can (followed through `held`). Unless some cell sets an attribute on it.
        self.frozen = set().union(*(e.functions for e in self.effects)) - set().union(
            *(e.binds - e.functions for e in self.effects), *(e.stored_on for e in self.effects))
        self.touches = self._touches()

    def dynamic(self) -> bool:
        return any(e.dynamic or e.reads & _IPYTHON_NAMES for e in self.effects[self.setup_count:])

    def kernel_reads(self, i: int) -> set[str]:
        return self.fetched[i] if self.kinds[i] == "test" else self.effects[i].reads & self.names

    def examiner_reads(self, i: int) -> set[str]:
        return (self.effects[i].reads & self.names) - self.fetched[i] if self.kinds[i] == "test" else set()

    def _touches(self) -> list[set[str]]:
        """Per cell: the kernel's names it may change in place, through what it reads and what those objects
        may hold or reach (a function's body reads, a result built from other objects)."""
        held: dict[str, set[str]] = {}       # name -> names its object may reach (the reads of the cell that bound it)
        out = []
        for i, e in enumerate(self.effects):
            reads = self.kernel_reads(i)
            out.append(_closure(reads, held) - self.frozen)
            if self.kinds[i] == "test" or i < self.setup_count:
                continue
            for name in e.binds & self.names:
                held[name] = (set() if name in e.kills else held.get(name, set())) | (e.reads & self.names)
        return out

    def forward(self, changed: int) -> set[int]:
        """The cells whose run may differ once cell `changed` does: it, and what reads what it changed."""
        kernel = self.touches[changed] | (self.effects[changed].binds & self.names)
        examiner: set[str] = set()
        affected = {changed}
        for i in range(changed + 1, len(self.effects)):
            e = self.effects[i]
            if self.kinds[i] == "test":
                if self.fetched[i] & kernel or self.examiner_reads(i) & examiner:
                    affected.add(i)  # a test changes its own objects, and the kernel's through handles; never the set-up's
                    examiner |= (e.binds & self.names) | (self.examiner_reads(i) - self.shared)
                    kernel |= self.touches[i] - self.shared
                else:
                    examiner -= e.kills
            elif e.reads & kernel:
                affected.add(i)
                kernel |= (self.touches[i] - self.shared) | (e.binds & self.names)
            else:
                kernel -= e.kills
        return affected

    def graded(self, changed: int) -> set[int]:
        """The cells to run for a change of cell `changed`: the tests it can affect, and every cell they need
        (and the changed cell itself). A cell it affects that no such test needs (a plot, a printed table)
        cannot change a verdict and is left out."""
        tests = {i for i in self.forward(changed) if self.kinds[i] == "test"}
        return self.backward(tests | {changed})

    def backward(self, cells: set[int]) -> set[int]:
        """`cells` and every earlier cell after the set-up that may have bound or changed what they read."""
        need = set(cells)
        todo = sorted(cells)
        while todo:
            i = todo.pop()
            for j in self.needs(i):
                if j not in need:
                    need.add(j)
                    todo.append(j)
        return need

    def _writers(self, before: int, names: set[str], examiner: bool) -> set[int]:
        """Cells before `before` (after the set-up) that may have bound or changed `names` on one side."""
        found, open_ = set(), set(names)
        for j in range(before - 1, self.setup_count - 1, -1):
            if not open_:
                break
            if self.writes(j, examiner) & open_:
                found.add(j)
                open_ -= self.effects[j].kills
        return found

    def writes(self, i: int, examiner: bool) -> set[str]:
        """The names of one side (the kernel's, or the examiner's) that cell `i` may bind or change."""
        e = self.effects[i]
        if self.kinds[i] == "test":  # its own names; the kernel's objects only through handles
            return e.binds | (self.examiner_reads(i) - self.shared) if examiner else self.touches[i] - self.shared
        return set() if examiner else e.binds | (self.touches[i] - self.shared)

    def needs(self, i: int) -> set[int]:
        """The earlier cells after the set-up that cell `i` needs: they may bind or change what it reads."""
        return self._writers(i, self.kernel_reads(i), examiner=False) | \
            self._writers(i, self.examiner_reads(i), examiner=True)

    def schedule(self, run: set[int], changed: int) -> list[int]:
        """`run` in an order with each test as early as what it needs allows: a cell runs after every cell it
        needs, after every cell whose reads it would clobber, and in its notebook order against a cell writing
        a name it writes that a later cell reads. A wrong answer that a test catches then stops
        (Limits.stop_at_first_failure) before paying for cells only later tests need. Tests after `changed`
        keep their order."""
        cells = sorted(run)
        later = {side: _suffix_unions(cells, self.examiner_reads if side else self.kernel_reads) for side in (0, 1)}
        before: dict[int, set[int]] = {c: set() for c in cells}
        for position, b in enumerate(cells):
            needs = self.needs(b)
            for a in cells[:position]:
                if a in needs or self._clobbers(a, b, later):
                    before[b].add(a)
        order: list[int] = []
        done: set[int] = set()

        def emit(cell: int) -> None:
            for earlier in sorted(before[cell] - done):
                emit(earlier)
            if cell not in done:
                done.add(cell)
                order.append(cell)

        for cell in [c for c in cells if self.kinds[c] == "test" and c > changed] + cells:
            emit(cell)  # the tests the change can affect first; an earlier test only runs for what it binds
        return order

    def _clobbers(self, a: int, b: int, later: dict) -> bool:
        """Whether the later cell `b` writes what `a` reads, or a name `a` writes that a cell after `a` reads."""
        for side in (0, 1):
            reads = self.examiner_reads if side else self.kernel_reads
            if self.writes(b, bool(side)) & (reads(a) | (self.writes(a, bool(side)) & later[side][a])):
                return True
        return False


def _merged(cell: dict) -> Effects:
    """A cell's effects under both its submitted source and the instructor's (the union: either may have run)."""
    one = effects(cell["source"])
    if cell.get("reference", cell["source"]) == cell["source"]:
        return one
    two = effects(cell["reference"])
    return Effects(reads=one.reads | two.reads, binds=one.binds | two.binds, kills=one.kills & two.kills,
                   imports=one.imports | two.imports, others=one.others | two.others,
                   functions=(one.functions | two.functions) - (one.binds - one.functions) - (two.binds - two.functions),
                   stored_on=one.stored_on | two.stored_on, dynamic=one.dynamic or two.dynamic)


def _suffix_unions(cells: list[int], reads) -> dict[int, set[str]]:
    """cell -> the union of `reads` of the cells after it in `cells`."""
    out, acc = {}, set()
    for cell in reversed(cells):
        out[cell] = set(acc)
        acc |= reads(cell)
    return out


def _closure(names: set[str], held: dict[str, set[str]]) -> set[str]:
    out, todo = set(names), list(names)
    while todo:
        for other in held.get(todo.pop(), ()):
            if other not in out:
                out.add(other)
                todo.append(other)
    return out


@dataclass(frozen=True)
class CrossCharge:
    """A test that a change of another exercise's answer cell can reach: one mistake, charged twice."""
    answer: str  # grade_id of the answer cell
    test: str    # grade_id of a test cell outside that answer's exercise


def _own_tests(kinds: list[str], answer: int) -> set[int]:
    """The tests of `answer`'s exercise: the first run of test cells after it, up to the next answer cell after
    them (an exercise may have several answer cells before its tests)."""
    own: set[int] = set()
    for i in range(answer + 1, len(kinds)):
        if kinds[i] == "answer" and own:
            break
        if kinds[i] == "test":
            own.add(i)
    return own


def cross_charges(cells: list[dict], setup_count: int) -> list[CrossCharge] | None:
    """Every (answer cell, test of another exercise) pair where the test may run differently once the answer
    does: the test calls the answer, reads what it built, or needs a cell that does. `cells` as for `reach`,
    each with its "grade_id". A course keeps this list empty, or documents each pair where the notebook says
    that one exercise builds on another. None: the analysis cannot tell (dynamic names)."""
    flow = _Flow(cells, setup_count)
    if flow.dynamic():
        return None
    out = []
    for i in range(setup_count, len(cells)):
        if flow.kinds[i] == "answer":
            own = _own_tests(flow.kinds, i)
            out += [CrossCharge(cells[i]["grade_id"], cells[t]["grade_id"]) for t in sorted(flow.forward(i))
                    if flow.kinds[t] == "test" and t not in own]
    return out


def reach(cells: list[dict], setup_count: int, changed: int) -> set[int] | None:
    """The positions of the cells that must run when only cell `changed` differs from the instructor's solution.

    `cells`: the code cells in order, each {"kind", "source", "reference"} (reference: the instructor's
    version); the first `setup_count` are the set-up, which always runs and is not listed. The answer: the
    tests whose run may differ (they read what the changed cell changed, directly or through other cells, on
    either side), the changed cell, and every earlier cell those need. Every other test would run exactly as in
    the solution's own run, so it keeps that run's outcome; a cell no such test needs cannot change a verdict.
    None: the analysis cannot tell (a cell reaches names dynamically): run them all.
    """
    flow = _Flow(cells, setup_count)
    if flow.dynamic() or changed < setup_count:
        return None
    return flow.graded(changed)


def schedule(cells: list[dict], setup_count: int, changed: int) -> list[int] | None:
    """`reach`'s cells in the order to run them (see _Flow.schedule); None: run every cell in order."""
    flow = _Flow(cells, setup_count)
    if flow.dynamic() or changed < setup_count:
        return None
    return flow.schedule(flow.graded(changed), changed)
