"""Copycat mutants: answers that copy or delegate to what the student notebook shows outside answer cells.

A release notebook must hold nothing a graded answer can call or copy (AUTHORING.md). For every graded
function (a top-level `def` in an answer cell, or a public method of a class defined there) this generates wrong-by-construction answers built from what
the student sees outside answer cells (the set-up, locked and demo cells, the visible part of tests):

- every function defined there whose name shares a word with the graded function's (`sgns_loss_reference`
  for `sgns_loss`), or that the visible test of the graded function defines, copied into the answer cell and
  called with a compatible signature;
- every library function imported there, and every method the visible code calls on an object, whose name
  shares a word with the graded function's (`sentence_model.encode` for `encode`), called with the graded
  function's arguments.

Each comes as is and, where the docstring promises a container (a tensor, an array, a list, a float),
converted to it, so a copy that returns the right values in the wrong container still counts. Every copycat
must lose points; the catalogue's `DELEGATIONS` lists the calls the course allows, as (graded function,
callee) pairs, and those are not generated.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import nbformat

from .dataflow import python_source
from .layout import visible_part
from .mutants import Entry
from .reconstruct import role
from .sample_class import solution_code

# What the docstring promises -> how a copycat converts the callee's result into it.
ADAPTERS = (
    (re.compile(r"\b(torch\.)?tensor\b", re.I), "torch.as_tensor({})", "torch"),
    (re.compile(r"\b(np\.)?ndarray\b|\barray\b", re.I), "np.asarray({})", "np"),
    (re.compile(r"\blist\b", re.I), "list({})", None),
    (re.compile(r"\bfloat\b", re.I), "float({})", None),
)
_WORD = re.compile(r"[a-z]{4,}")


@dataclass(frozen=True)
class Graded:
    """A graded function: its answer cell, name, positional and keyword-only parameters (a method's without
    `self`), docstring, and the class it is a method of ("" for a function)."""
    cell: str
    name: str
    params: tuple[str, ...]
    kwonly: tuple[str, ...]
    doc: str
    owner: str = ""

    @property
    def label(self) -> str:
        return f"{self.owner}.{self.name}" if self.owner else self.name


@dataclass(frozen=True)
class Shown:
    """A callable the student sees: a function defined in a visible cell (its source), or a name called."""
    call: str                      # what the copycat calls: "cls_encode", "sentence_model.encode"
    source: str = ""               # a visible `def` to copy into the answer cell, else ""
    required: int = 0              # positional parameters it needs (for a copied def)
    accepts: int | None = None     # positional parameters it takes (None: unknown or *args)
    beside: frozenset = frozenset()  # the names a visible test that defines it calls (the functions it checks)


def generate(source_nb, release_nb, allowed: set[tuple[str, str]] = frozenset()) -> list[Entry]:
    """The copycat mutants of one notebook: (source with solutions, release as students see it)."""
    graded = _graded(source_nb)
    shown = _shown(release_nb)
    entries: list[Entry] = []
    seen: set[tuple[str, str]] = set()
    for fn in graded:
        for callee in shown:
            if (fn.name, callee.call) in allowed or callee.call == fn.name or not _fits(fn, callee):
                continue
            for label, wrap in _adapters(fn.doc)[:1 if fn.owner else None]:  # a method's result is its object's
                name = f"copycat: {fn.label} -> {callee.call} ({label})"
                if (fn.cell, name) in seen:
                    continue
                seen.add((fn.cell, name))
                answer = _answer(source_nb, fn, callee, wrap)
                if answer is not None:
                    entries.append(Entry(fn.cell, name, source=answer, copycat=True))
    return entries


def _graded(source_nb) -> list[Graded]:
    """The public functions and methods the answer cells define."""
    out = []
    for cell in source_nb.cells:
        if cell.cell_type != "code" or role(cell) != "answer":
            continue
        tree = _tree(solution_code(cell.source))
        for node in tree.body if tree else []:
            owner, defs = (node.name, node.body) if isinstance(node, ast.ClassDef) else ("", [node])
            for fn in defs:
                if isinstance(fn, ast.FunctionDef) and not fn.name.startswith("_"):
                    params = tuple(a.arg for a in fn.args.posonlyargs + fn.args.args)[1 if owner else 0:]
                    out.append(Graded(cell.metadata["nbgrader"]["grade_id"], fn.name, params,
                                      tuple(a.arg for a in fn.args.kwonlyargs), ast.get_docstring(fn) or "", owner))
    return out


def _shown(release_nb) -> list[Shown]:
    """Everything callable the release shows outside answer cells, once per call text."""
    shown: dict[str, Shown] = {}
    for cell in release_nb.cells:
        if cell.cell_type != "code" or role(cell) == "answer":
            continue
        code = python_source(visible_part(cell.source) if role(cell) == "test" else cell.source)
        tree = _tree(code)
        if tree is None:
            continue
        calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
        called = frozenset(f.id if isinstance(f, ast.Name) else f.attr for f in calls
                           if isinstance(f, (ast.Name, ast.Attribute)))  # `index.search(...)`: the method search
        beside = called if role(cell) == "test" else frozenset()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                args = node.args
                positional = len(args.posonlyargs + args.args)
                shown[node.name] = Shown(node.name, ast.get_source_segment(code, node) or "",
                                         positional - len(args.defaults), None if args.vararg else positional,
                                         beside)
            elif isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    shown.setdefault(alias.asname or alias.name, Shown(alias.asname or alias.name))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name):
                call = f"{node.func.value.id}.{node.func.attr}"
                shown.setdefault(call, Shown(call))
    return list(shown.values())


def _fits(fn: Graded, callee: Shown) -> bool:
    """Names that share a word, or a def beside the graded function's visible test; a def's arity must fit."""
    related = bool(_words(fn.name) & _words(callee.call.rsplit(".", 1)[-1])) or fn.name in callee.beside
    if callee.source:
        return related and callee.required <= len(fn.params) and (callee.accepts is None or callee.accepts >= 1)
    return related


def _words(name: str) -> set[str]:
    """Word stems of an identifier (5 letters), so `tokens` and `tokenize` share one."""
    return {w[:5] for w in _WORD.findall(name.lower())}


def _adapters(doc: str) -> list[tuple[str, str]]:
    out = [("as is", "{}")]
    returns = doc[doc.lower().find("return"):] if "return" in doc.lower() else doc
    for pattern, wrap, _ in ADAPTERS:
        if pattern.search(returns):
            out.append((wrap.split("(")[0], wrap))
            break
    return out


def _answer(source_nb, fn: Graded, callee: Shown, wrap: str) -> str | None:
    """The solution's answer cell with `fn`'s body replaced by a call of `callee` (copied in first, if a def)."""
    cell = next(c for c in source_nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == fn.cell)
    code = solution_code(cell.source)
    scope = _tree(code).body
    if fn.owner:
        scope = next(n.body for n in scope if isinstance(n, ast.ClassDef) and n.name == fn.owner)
    node = next(n for n in scope if isinstance(n, ast.FunctionDef) and n.name == fn.name)
    if not node.body or node.body[0].lineno == node.lineno:  # a one-line def: nothing to cut at a line
        return None
    lines = code.splitlines()
    indent = " " * (node.body[0].col_offset if node.body else node.col_offset + 4)
    take = fn.params if callee.accepts is None else fn.params[:callee.accepts]
    call = f"{callee.call}({', '.join(take)})"
    body = [f"{indent}return {wrap.format(call)}"]
    head = lines[:node.body[0].lineno - 1]
    new = head + body + lines[node.end_lineno:]
    prefix = [callee.source, ""] if callee.source else []
    imports = ["import numpy as np", "import torch", ""]
    return "\n".join(imports + prefix + new)


def _tree(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except SyntaxError:
        return None


def for_notebook(source_path, release_path, allowed=frozenset()) -> list[Entry]:
    return generate(nbformat.read(source_path, as_version=4), nbformat.read(release_path, as_version=4), allowed)
