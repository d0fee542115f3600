"""What a hidden test's message may say (solutions/AUTHORING.md): never its hidden inputs or expected values.

A static check of every hidden block of every instructor source (ast, no notebook is run). It finds the block's
*messages* (an assert's message, `raise AssertionError(...)`, a `name=` / `hint=` / `label` / `what` argument of
the checks or of a notebook helper, a `calling(...)` label) and fails when one of them

* recites a literal of the block's code outside its messages: a number other than a small one (-1 .. 10, 0.5), a
  string (quoted, or a sentence of 12 characters or more), a list or tuple display;
* interpolates a name the block binds and uses as data (an input, a loop variable, a returned value), unless it
  is formatted as a measurement (`{acc:.3f}`) and is not an expected value;
* interpolates an expected value: the expected argument of a check, a name compared with `==` in an assert, a
  name like `expected`, `want`, `ref`; or says "expected" / "should be" followed by a value;
* or calls `assert_close`, `assert_sequence_equal` or a notebook helper that takes `reveal` without `reveal=False`.

`python tests/test_feedback_rule.py FILE.py ...` lists the findings for any instructor source (an old one from
`git show`, for instance).
"""
import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(ROOT.glob("solutions/*/*.py"))
SOURCES = [p for p in SOURCES if p.name != "mutants.py"]
HIDDEN = re.compile(r"^### BEGIN HIDDEN TESTS\n(.*?)^### END HIDDEN TESTS", flags=re.S | re.M)

# Words a hidden message may use although the block's code uses them as literals: the famous example that the prose
# of assignment 01 names and works through (king - man + woman = queen), the names of the splits and relations the
# course's data documents, the methods a docstring lists. Nothing else: lists of expected neighbours, test sentences,
# toy vocabularies stay hidden.
PUBLIC_WORDS = {"king", "queen", "man", "woman", "train", "dev", "test", "gender", "plural", "pca", "tsne", "umap"}
# Numbers of the formulas, models and experiments that the prose and the Setup state: the base 10000 of sinusoidal
# encodings and RoPE, MiniLM's 384 dimensions and 256-token limit, the hidden size 32 of 01's tiny_encoder, 03's
# int8 formula (255 steps, codes -128 .. 127) and the truncations its text compares (96 d, 64 d, 32 d).
PUBLIC_NUMBERS = {10000.0, 384.0, 256.0, 32.0}
PUBLIC_BY_ASSIGNMENT = {"03_advanced": {64.0, 96.0, 127.0, 128.0, 255.0}}
SMALL = {-1.0, 0.5} | {float(i) for i in range(11)}
MESSAGE_PARAMS = {"name", "hint", "label", "what"}
CHECKS = ast.parse((ROOT / "embedkit" / "checks.py").read_text())  # their signatures, read without importing torch
EXPECTED_NAME = re.compile(r"^_?(exp|expected|want|ref)(_|$|[A-Z0-9]|ected)")
SAYS_EXPECTED = re.compile(r"\b(expected|should be)\s+(about\s+|around\s+)?(\{\}|'|\"|-?\d*\.\d|-?\d{2,})")
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?(?![\w])")
MEASURED = re.compile(r"^[^a-zA-Z]*[efg%]$")  # a format spec of a number: .3f, .2e, .0%, g


def _params(node: ast.AST) -> list[str]:
    a = node.args
    return [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs]


def helpers(tree: ast.AST) -> dict[str, list[str]]:
    """Functions a notebook defines, with their parameter names (the checks' signatures included)."""
    found = {n.name: _params(n) for n in CHECKS.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            found[node.name] = _params(node)
    return found


def _callee(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else None


def message_nodes(tree: ast.AST, sigs: dict) -> list[ast.AST]:
    """The expressions of `tree` whose text reaches a failing test's message."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.msg is not None:
            out.append(node.msg)
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and _callee(node.exc) == "AssertionError":
            out.extend(node.exc.args)
        elif isinstance(node, ast.Call):
            name = _callee(node)
            params = sigs.get(name, [])
            if name == "calling":
                out.extend(node.args)
            for i, arg in enumerate(node.args):
                if i < len(params) and params[i] in MESSAGE_PARAMS:
                    out.append(arg)
            out.extend(k.value for k in node.keywords if k.arg in MESSAGE_PARAMS)
    return out


def static_text(node: ast.AST) -> str:
    """The literal text of a message expression ({} where a value is interpolated)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp):
        return static_text(node.left) + static_text(node.right)
    if isinstance(node, ast.IfExp):
        return static_text(node.body) + " | " + static_text(node.orelse)
    return ""


def _inside(nodes) -> set[int]:
    return {id(n) for m in nodes for n in ast.walk(m)}


def _not_inputs(tree, used: set[str], texts: list | None = None) -> set[int]:
    """Nodes whose constants are no hidden inputs: docstrings, keys (subscripts, dict keys), tolerances, shapes,
    and literals that a loop binds to a name used only in messages (`for name, got in zip(("grad_v", ...), ...)`):
    those are message text, added to `texts`."""
    roots = []
    displays = {t.id: n.value for n in ast.walk(tree) if isinstance(n, ast.Assign) and isinstance(n.value, (ast.List, ast.Tuple))
                for t in n.targets if isinstance(t, ast.Name)}  # `cases = [...]` then `for args, what in cases:`
    for n in ast.walk(tree):
        if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant):
            roots.append(n.value)
        elif isinstance(n, ast.Subscript):
            roots.append(n.slice)
        elif isinstance(n, ast.Dict):
            roots.extend(k for k in n.keys if k is not None)
        elif isinstance(n, ast.Call):
            roots.extend(k.value for k in n.keywords if k.arg in ("rtol", "atol", "shape", "size"))
            roots.extend(k.value for k in n.keywords if isinstance(k.value, ast.Constant) and isinstance(k.value.value, str))
        elif isinstance(n, ast.Assign) and all(isinstance(t, ast.Name) and t.id not in used for t in n.targets):
            roots.append(n.value)  # `what = "k=0" if k == 0 else ...`: a description for messages
            if texts is not None:
                texts.extend(c for c in ast.walk(n.value) if isinstance(c, ast.Constant) and isinstance(c.value, str))
        elif isinstance(n, ast.Compare) and any(isinstance(x, ast.Attribute) and x.attr == "shape"
                                                 for x in [n.left, *n.comparators]):
            roots.extend([n.left, *n.comparators])
        elif isinstance(n, (ast.For, ast.comprehension)):
            targets = n.target.elts if isinstance(n.target, ast.Tuple) else [n.target]
            iterable = displays.get(n.iter.id, n.iter) if isinstance(n.iter, ast.Name) else n.iter
            if isinstance(n.iter, ast.Call) and _callee(n.iter) == "zip" and len(n.iter.args) == len(targets):
                pairs = list(zip(targets, n.iter.args, strict=True))
            elif isinstance(iterable, (ast.List, ast.Tuple)) and isinstance(n.target, ast.Tuple) \
                    and all(isinstance(e, ast.Tuple) and len(e.elts) == len(targets) for e in iterable.elts):
                pairs = [(t, e.elts[i]) for e in iterable.elts for i, t in enumerate(targets)]
            else:
                pairs = [(n.target, n.iter)] if isinstance(n.target, ast.Name) else []
            told = [value for target, value in pairs if isinstance(target, ast.Name) and target.id not in used]
            roots.extend(told)
            if texts is not None:
                texts.extend(c for v in told for c in ast.walk(v) if isinstance(c, ast.Constant) and isinstance(c.value, str))
    return _inside(roots)


def _fact(node: ast.AST) -> bool:
    """An interpolation that states a fact, not a value: a type's name, a shape, a dtype, a length."""
    if isinstance(node, ast.Attribute) and node.attr in ("shape", "dtype", "ndim", "__name__"):
        return True
    return isinstance(node, ast.Call) and _callee(node) == "len"


def findings(block: str, sigs: dict, public: set = frozenset()) -> list[str]:
    """What the messages of one hidden block give away (empty when they follow the rule); `public`: numbers its
    assignment's prose states."""
    tree = ast.parse(block)
    messages = list({id(m): m for m in message_nodes(tree, sigs)}.values())
    in_message = _inside(messages)
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in in_message}
    told = []
    skip = in_message | _not_inputs(tree, used, told)
    messages += told
    numbers, strings, displays = set(), set(), set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            if isinstance(node.value, (int, float)) and abs(node.value) not in SMALL | PUBLIC_NUMBERS | public:
                numbers.add(float(node.value))
            elif isinstance(node.value, str) and node.value.strip() and node.value.lower() not in PUBLIC_WORDS:
                strings.add(node.value)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and isinstance(node.operand.value, (int, float)) and float(node.operand.value) not in SMALL | PUBLIC_NUMBERS | public:
            numbers.add(-float(node.operand.value))
        elif isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) >= 2 \
                and all(isinstance(e, (ast.Constant, ast.List, ast.Tuple, ast.UnaryOp)) for e in node.elts):
            displays.add(ast.unparse(node))
    # Names the block binds and uses as data (outside its messages); names that hold expected values.
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {a for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Lambda)) for a in _params(n)}
    data = bound & used
    expected = {n for n in bound | used if EXPECTED_NAME.match(n)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _callee(node) in ("assert_close", "assert_sequence_equal", "same_up_to_sign"):
            want = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "expected"), None)
            while isinstance(want, (ast.Subscript, ast.Attribute)):
                want = want.value
            if isinstance(want, ast.Name):
                expected.add(want.id)
        if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
            for op, right in zip(node.test.ops, node.test.comparators, strict=True):
                if isinstance(op, (ast.Eq, ast.NotEq)):
                    calls = {id(c.func) for c in ast.walk(right) if isinstance(c, ast.Call)}
                    expected |= {n.id for n in ast.walk(right) if isinstance(n, ast.Name) and id(n) not in calls}
    found = []

    def report(msg_node, why):
        found.append(f"line {msg_node.lineno}: {why}: {ast.unparse(msg_node)[:140]}")

    for msg in messages:
        text = static_text(msg)
        for number in sorted(numbers):
            if any(float(t) == number for t in NUMBER.findall(text)):
                report(msg, f"recites the hidden number {number:g}")
        for s in sorted(strings):
            quoted = f"'{s}'" in text or f'"{s}"' in text
            sentence = len(s) >= 12 and re.search(r"\s", s) and s in text
            if quoted or sentence:
                report(msg, f"recites the hidden string {s!r}")
        for d in sorted(displays):
            if d in text:
                report(msg, f"recites the hidden literal {d}")
        if SAYS_EXPECTED.search(text):
            report(msg, "states an expected value")
        for value in (v for v in ast.walk(msg) if isinstance(v, ast.FormattedValue)):
            spec = static_text(value.format_spec) if value.format_spec else ""
            if _fact(value.value):
                continue
            names = {n.id for n in ast.walk(value.value) if isinstance(n, ast.Name)}
            if names & expected:
                report(msg, f"interpolates the expected value {sorted(names & expected)}")
            elif names & data and not MEASURED.match(spec):
                report(msg, f"interpolates hidden data {sorted(names & data)}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (_callee(node) in ("assert_close", "assert_sequence_equal")
                                           or "reveal" in sigs.get(_callee(node), [])):
            reveal = next((k.value for k in node.keywords if k.arg == "reveal"), None)
            if not (isinstance(reveal, ast.Constant) and reveal.value is False):
                found.append(f"line {node.lineno}: {_callee(node)} without reveal=False: {ast.unparse(node)[:100]}")
    return found


def source_findings(text: str, assignment: str = "") -> list[str]:
    """Findings of every hidden block of an instructor source (py:percent text), located by its line."""
    sigs = helpers(ast.parse(text))
    out = []
    for match in HIDDEN.finditer(text):
        first = text.count("\n", 0, match.start(1)) + 1
        for f in findings(match.group(1), sigs, PUBLIC_BY_ASSIGNMENT.get(assignment, set())):
            line, rest = f.split(": ", 1)
            out.append(f"line {int(line.split()[1]) + first - 1}: {rest}")
    return out


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_hidden_messages_do_not_give_away_inputs_or_answers(path):
    text = path.read_text()
    assert HIDDEN.search(text), f"{path} has no hidden tests"
    found = source_findings(text, path.parent.name)
    assert not found, f"{path.relative_to(ROOT)}: hidden test messages that give away inputs or expected values " \
                      "(solutions/AUTHORING.md, 'What a hidden test's message may say'):\n" + "\n".join(found)


def _flags(block: str) -> list[str]:
    sigs = helpers(ast.parse("def calling(what): pass\n" + block))
    return findings(block, sigs)


@pytest.mark.parametrize("block", [
    'with calling("one_hot(np.array([3, 3, 49, 0, 17]), 50)"):\n    one_hot(np.array([3, 3, 49, 0, 17]), 50)',
    '_tw = ["a", "b", "y"]\n_got = analogy("a", "b", "y", _tw)\nassert _got == "y", f"expected \'y\', got {_got!r}"',
    'assert_close(f(x), 0.25, "f(x)", reveal=False)\nassert g(x) > 0.9, "expected about 0.906"',
    'for _w in ["embeddingology", "cat"]:\n    assert_close(f(_w), 1.0, f"f({_w!r})", reveal=False)',
    'expected = g(3)\nassert_close(f(3), expected, "f", reveal=False)\nassert f(3) > 0, f"f should be {expected}"',
    'assert_sequence_equal(nn("paris", k=3), ["berlin", "london", "rome"], "nn(paris)")',
    '_s = "We sat on the bank of the river."\nassert_close(v(_s), w, "v of We sat on the bank of the river.", reveal=False)',
])
def test_the_guard_catches_what_old_messages_did(block):
    assert _flags(block)


@pytest.mark.parametrize("block", [
    'with calling("one_hot with repeated ids"):\n    one_hot(np.array([3, 3, 49, 0, 17]), 50)',
    '_tw = ["a", "b", "y"]\nassert analogy("a", "b", "y", _tw) == "y", "every candidate scores below 0: exclude a, b and c with -inf"',
    'acc = measure(train(model))\nassert acc > 0.75, f"held-out accuracy of the trained encoder {acc:.3f} is too low"',
    'for _w, _what in [("cat", "a one-token word")]:\n    assert_close(f(_w), 1.0, f"f of {_what}", hint="mean of ALL rows", reveal=False)',
    'x = as_array(f(np.zeros((5, 3))), "f of a zero matrix", shape=(5, 3))',
])
def test_the_guard_lets_teaching_messages_through(block):
    assert not _flags(block), _flags(block)


if __name__ == "__main__":
    status = 0
    for arg in sys.argv[1:]:
        found = source_findings(Path(arg).read_text(), Path(arg).parent.name)
        print(f"{arg}: {len(found)} finding(s)")
        for f in found:
            print("  " + f)
        status |= bool(found)
    sys.exit(status)
