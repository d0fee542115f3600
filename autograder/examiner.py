"""The examiner: the trusted process that runs every test cell. Student code never runs in it.

It is forked from the same set-up state as the student's kernel (the notebook's
leading locked cells, run once per worker). For each test cell the worker tells it
which names the test takes from the student (those the notebook last binds in a
non-test cell after the set-up); it fetches them from the student's kernel through
the agent (autograder.agent) as plain data or as handles, runs the test's source in
its own namespace, and decides pass or fail by its own exceptions. Only plain data
ever arrives from the student's side (autograder.wire).
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import io
import select
import socket
import time
import types

from . import wire
from .agent import setup_index, shared_reference


# -- which names a test takes from the student ---------------------------------------------------------------

def python_source(source: str) -> str:
    """A cell's source as plain Python (IPython magics and shell escapes transformed)."""
    from IPython.core.inputtransformer2 import TransformerManager
    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - unparsable: treated as binding nothing
        return source


def bound_names(source: str) -> set[str]:
    """Names a cell binds at module level (assignments, defs, classes, imports, loop and with targets, globals)."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
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
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def student_names(cells: list[dict], setup_count: int) -> dict[int, list[str]]:
    """For each test cell (by position in `cells`): the names it must take from the student's kernel.

    `cells`: code cells in notebook order, each {"kind", "source"}; the first `setup_count` are the set-up.
    A name comes from the student when the last cell before the test that binds it is a non-test cell
    after the set-up; set-up and test bindings stay the examiner's own.
    """
    last: dict[str, str] = {}     # name -> "examiner" | "student"
    out: dict[int, list[str]] = {}
    for i, cell in enumerate(cells):
        if cell["kind"] == "test":
            wanted = used_names(cell["source"])
            out[i] = sorted(n for n in wanted if last.get(n) == "student"
                            or (n not in last and not hasattr(builtins, n)))
            owner = "examiner"
        else:
            owner = "examiner" if i < setup_count else "student"
        for name in bound_names(cell["source"]):
            last[name] = owner
    return out


# -- proxies for the student's objects ------------------------------------------------------------------------

class StudentError(Exception):
    """An exception raised by student code, as a type name and a message."""


_ERROR_TYPES: dict[str, type] = {}


def _error_type(name: str, builtin: bool) -> type:
    """StudentError, also an instance of the builtin exception of the same name (so `except ValueError` works)."""
    base = getattr(builtins, name, None) if builtin else None
    if not (isinstance(base, type) and issubclass(base, Exception)) or issubclass(base, (StopIteration, StopAsyncIteration)):
        base = None
    key = name if base else ""
    if key not in _ERROR_TYPES:
        bases = (StudentError, base) if base and base is not Exception else (StudentError,)
        _ERROR_TYPES[key] = type(name if base else "StudentError", bases, {})
    return _ERROR_TYPES[key]


class Remote:
    """The examiner's connection to the agent in the student's kernel."""

    def __init__(self, sock: socket.socket, setup: dict, cancel: socket.socket | None = None):
        self.sock = sock
        self.cancel = cancel
        self.setup_ids = setup_index(setup)
        self.setup = setup
        self.deadline = None
        self.calls = 0
        self.callbacks: dict[int, object] = {}

    def request(self, tree: dict, buffers: list | None = None):
        self.calls += 1
        wire.send(self.sock, tree, buffers or [])
        while True:
            reply, buffers = self._receive()
            if "callback" not in reply:
                break
            self._run_callback(reply, buffers)  # student code calls a function the test gave it: run it here
        if "raised" in reply:
            kind = wire.clip(reply.get("raised"), 80)
            if not kind.isidentifier():
                kind = "Exception"
            builtin = bool(reply.get("builtin"))
            text = wire.clip(reply.get("message", ""), 2000)
            cls = _error_type(kind, builtin)
            raise cls(text if cls.__name__ == kind else f"{kind}: {text}".rstrip(": "))
        return reply, buffers

    def _receive(self) -> tuple[dict, list]:
        while True:
            wait = None if self.deadline is None else max(0.0, self.deadline - time.monotonic())
            watch = [self.sock] + ([self.cancel] if self.cancel is not None else [])
            ready, _, _ = select.select(watch, [], [], wait)
            if self.sock in ready:
                break
            if ready:  # the worker says stop (the student's kernel died or time is up)
                try:
                    wire.recv(self.cancel)
                except (EOFError, OSError, wire.WireError):
                    pass
                raise StudentError("the student's kernel stopped answering")
            raise StudentError("the student's code ran out of time")
        try:
            reply, buffers = wire.recv(self.sock)
        except (EOFError, OSError) as error:
            raise StudentError(f"the student's kernel went away ({type(error).__name__})") from None
        if not isinstance(reply, dict):
            raise StudentError("malformed reply from the student's kernel")
        return reply, buffers

    def _run_callback(self, request: dict, buffers: list) -> None:
        out: list = []
        try:
            function = self.callbacks[request["callback"]]
            args = self.decode(request.get("args", []), buffers)
            kwargs = self.decode(request.get("kwargs", {"$dict": []}), buffers)
            if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
                raise wire.WireError("bad callback arguments")
            body = {"value": self.encode(function(*args, **kwargs), out)}
        except Exception as error:  # noqa: BLE001 - the student's code sees the callback fail, nothing more
            out, body = [], {"raised": type(error).__name__, "message": wire.clip(str(error), 500)}
        wire.send(self.sock, body, out)

    def decode(self, tree, buffers):
        return wire.decode(tree, buffers, self._tagged, deadline=self.deadline)

    def _tagged(self, node):
        if "$h" in node:
            if not isinstance(node["$h"], int):
                raise wire.WireError("bad handle")
            return Handle(self, node["$h"], wire.clip(node.get("type", "object"), 100), bool(node.get("callable")))
        if "$ref" in node:
            name = node["$ref"]
            if not isinstance(name, str) or name not in self.setup:
                raise wire.WireError("unknown set-up reference")
            return self.setup[name]
        if "$module" in node or "$global" in node:
            return _library_object(node)
        if "$rng" in node:
            from .agent import _generator
            try:
                return _generator(node)
            except Exception:  # noqa: BLE001
                raise wire.WireError("bad generator state") from None
        raise wire.WireError("unexpected tagged value")

    def encode(self, value, buffers: list):
        return wire.encode(value, buffers, self._tag)

    def _tag(self, value):
        if isinstance(value, Handle):
            if value._remote is not self:
                raise wire.Unsendable("a handle from another kernel")
            return {"$h": value._id}
        shared = shared_reference(value, self.setup, self.setup_ids)
        if shared is not None:
            return shared
        if isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType, functools.partial)):
            self.callbacks[id(value)] = value  # runs here, on plain data, when student code calls it
            return {"$cb": id(value)}
        raise wire.Unsendable(f"a test cannot pass a {type(value).__name__} to student code (only plain data and "
                              "set-up objects cross)")

    def fetch(self, names: list[str]) -> dict:
        reply, buffers = self.request({"op": "get", "names": list(names)})
        values = reply.get("values")
        if not isinstance(values, dict):
            raise StudentError("malformed reply from the student's kernel")
        out = {}
        for name in names:
            node = values.get(name, {"$missing": True})
            if isinstance(node, dict) and node.get("$missing") is True:
                continue
            out[name] = self.decode(node, buffers)
        return out

    def call(self, target: int, op: str, args=(), kwargs=None, **extra):
        buffers: list = []
        tree = {"op": op, "target": {"$h": target}, "args": self.encode(list(args), buffers),
                "kwargs": self.encode(dict(kwargs or {}), buffers), **extra}
        reply, rbuf = self.request(tree, buffers)
        value = self.decode(reply.get("value"), rbuf)
        if op == "call":
            self._copy_back(args, reply.get("args", {}), rbuf, by_index=True)
            self._copy_back(kwargs or {}, reply.get("kwargs", {}), rbuf, by_index=False)
        return value

    def _copy_back(self, originals, changed, buffers, by_index: bool) -> None:
        """Mutable arguments take the state the student's call left them in (as in a straight run)."""
        import numpy as np
        if not isinstance(changed, dict):
            return
        for key, node in changed.items():
            try:
                original = originals[int(key)] if by_index else originals[key]
                if id(original) in self.setup_ids:  # went by reference: the student changed its own copy only
                    continue
                new = self.decode(node, buffers)
                if isinstance(original, np.ndarray) and isinstance(new, np.ndarray) and original.shape == new.shape:
                    if original.flags.writeable:
                        np.copyto(original, new, casting="unsafe")
                elif isinstance(original, list) and isinstance(new, list):
                    original[:] = new
                elif isinstance(original, dict) and isinstance(new, dict):
                    original.clear()
                    original.update(new)
                elif isinstance(original, np.random.Generator) and isinstance(new, np.random.Generator):
                    original.bit_generator.state = new.bit_generator.state
                elif type(original).__name__ == "Generator" and type(new).__name__ == "Generator":
                    original.set_state(new.get_state())
                elif wire._is_tensor(original) and wire._is_tensor(new) and original.shape == new.shape:
                    import torch
                    with torch.no_grad():
                        original.copy_(new.to(original.device, original.dtype))
            except (KeyError, IndexError, ValueError, TypeError, RuntimeError, wire.WireError):
                continue

    def value_and_grad(self, target: int, args, kwargs, wrt):
        buffers: list = []
        tree = {"op": "grad", "target": {"$h": target}, "args": self.encode(list(args), buffers),
                "kwargs": self.encode(dict(kwargs or {}), buffers), "wrt": None if wrt is None else [int(i) for i in wrt]}
        reply, rbuf = self.request(tree, buffers)
        value = self.decode(reply.get("value"), rbuf)
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], list)):
            raise StudentError("malformed gradient reply")
        return value

    def seed(self, n: int) -> None:
        self.request({"op": "seed", "seed": int(n)})

    def done(self) -> None:
        try:
            wire.send(self.sock, {"op": "done"})
        except OSError:
            pass


LIBRARIES = {"numpy", "torch", "pandas", "sklearn", "scipy", "math", "os", "tempfile", "json", "re", "collections",
             "itertools", "functools", "random", "time", "pathlib", "statistics", "string", "heapq", "bisect",
             "sentence_transformers", "transformers", "faiss", "bm25s", "umap", "plotly", "embedkit", "tqdm"}


def _library_object(node):
    """The examiner's own module, class or function of that name (only libraries it trusts)."""
    import importlib
    import sys
    name, qualname = (node["$module"], "") if "$module" in node else tuple(node["$global"])
    if not isinstance(name, str) or not isinstance(qualname, str) or not all(p.isidentifier() for p in name.split(".")):
        raise wire.WireError("bad library name")
    if name not in sys.modules and name.split(".")[0] not in LIBRARIES:
        raise wire.WireError(f"module {wire.clip(name, 80)} is not one the examiner imports")
    try:
        value = sys.modules.get(name) or importlib.import_module(name)
        for part in filter(None, qualname.split(".")):
            if not part.isidentifier() or part.startswith("__"):
                raise AttributeError(part)
            value = getattr(value, part)
    except (ImportError, AttributeError):
        raise wire.WireError(f"no {wire.clip(name, 80)}.{wire.clip(qualname, 80)} in the examiner") from None
    return value


class Handle:
    """A student object that stays in the student's kernel: calls, attributes and items go there."""

    __slots__ = ("_remote", "_id", "_type", "_callable")

    def __init__(self, remote: Remote, ident: int, type_name: str, is_callable: bool):
        object.__setattr__(self, "_remote", remote)
        object.__setattr__(self, "_id", ident)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_callable", is_callable)

    def __call__(self, *args, **kwargs):
        return self._remote.call(self._id, "call", args, kwargs)

    def _value_and_grad(self, args, kwargs, wrt):
        """embedkit.checks.value_and_grad on a student function: autograd runs where the function lives."""
        return self._remote.value_and_grad(self._id, args, kwargs, wrt)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._remote.call(self._id, "getattr", name=name)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot set {name} on a student {self._type} from a test")

    def __getitem__(self, key):
        return self._remote.call(self._id, "getitem", (key,))

    def __len__(self):
        n = self._remote.call(self._id, "len")
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise TypeError("len() of a student object did not return a non-negative int")
        return n

    def __iter__(self):
        items = self._remote.call(self._id, "iter")
        if not isinstance(items, list):
            raise TypeError("iterating a student object gave no list")
        return iter(items)

    def __contains__(self, item):
        return self._remote.call(self._id, "contains", (item,)) is True

    def __bool__(self):
        return self._remote.call(self._id, "bool") is True

    def __repr__(self):
        text = self._remote.call(self._id, "repr")
        return wire.clip(text if isinstance(text, str) else f"<student {self._type}>", 2000)

    __str__ = __repr__


# -- the examiner process -------------------------------------------------------------------------------------

class Examiner:
    """Runs test cells in the set-up namespace of an IPython shell, with student names fetched per test."""

    def __init__(self, shell, remote: Remote):
        self.shell = shell
        self.remote = remote
        # The verdict is the exception itself (run() reads it). IPython's formatted traceback, which inspects
        # every loaded module and cost a failing test about 0.15 s, is never shown to anyone: skip it.
        shell.showtraceback = lambda *args, **kwargs: None
        shell.showsyntaxerror = lambda *args, **kwargs: None
        self._patch_seed()

    def _patch_seed(self) -> None:
        """`ek.seed_everything(n)` in a test seeds the student's kernel too, as it would in a straight run."""
        import embedkit
        import embedkit.seed

        original = embedkit.seed.seed_everything
        remote = self.remote

        def seed_everything(seed: int = 0, *args, **kwargs):
            result = original(seed, *args, **kwargs)
            remote.seed(seed)
            return result

        for module in (embedkit, embedkit.seed):
            module.seed_everything = seed_everything
        for name, value in list(self.shell.user_ns.items()):
            if value is original:
                self.shell.user_ns[name] = seed_everything

    def run(self, source: str, names: list[str], timeout: float) -> dict:
        ns = self.shell.user_ns
        started = time.monotonic()
        self.remote.deadline = started + timeout
        out = {"status": "ok", "ename": "", "evalue": "", "stdout": "", "calls": 0}
        try:
            fetched = self.remote.fetch(names) if names else {}
            for name in names:
                if name in fetched:
                    ns[name] = fetched[name]
                else:
                    ns.pop(name, None)
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
                result = self.shell.run_cell(source, store_history=False, silent=True)
            out["stdout"] = wire.clip(stdout.getvalue(), 20_000)
            error = result.error_before_exec or result.error_in_exec
            if error is not None:
                out.update(status="error", ename=type(error).__name__, evalue=wire.clip(str(error), 2000))
        except BaseException as error:  # noqa: BLE001 - a failure to fetch or decode fails the test
            out.update(status="error", ename=type(error).__name__, evalue=wire.clip(str(error), 2000))
        finally:
            self.remote.deadline = None
            self.remote.done()
        out["calls"] = self.remote.calls
        out["seconds"] = time.monotonic() - started
        return out


def serve(worker: socket.socket, agent: socket.socket, shell, setup: dict) -> None:
    """The examiner's main loop: one worker connection, one test cell per request, until closed."""
    remote = Remote(agent, setup, cancel=worker)
    examiner = Examiner(shell, remote)
    while True:
        try:
            request, _ = wire.recv(worker)
        except (EOFError, OSError, wire.WireError):
            return
        if request.get("op") == "cancel":  # late: the test it meant to stop is already over
            continue
        if request.get("op") != "test":
            return
        remote.calls = 0
        reply = examiner.run(request["source"], list(request.get("names", [])), float(request.get("timeout", 300)))
        wire.send(worker, reply)
