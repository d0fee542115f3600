"""The examiner: the trusted process that runs every test cell. Student code never runs in it.

It is forked from the same set-up state as the student's kernel (the notebook's
leading locked cells, run once per worker). For each test cell the worker tells it
which names the test takes from the student (autograder.dataflow.student_names:
those the notebook last binds in a non-test cell after the set-up); it fetches them from the student's kernel through
the agent (autograder.agent) as plain data or as handles, runs the test's source in
its own namespace, and decides pass or fail by its own exceptions. Only plain data
ever arrives from the student's side (autograder.wire).
"""
from __future__ import annotations

import contextlib
import functools
import io
import secrets
import select
import socket
import time
import types

from . import wire
from .agent import new_generator, setup_index, shared_reference

# -- proxies for the student's objects ------------------------------------------------------------------------

class StudentError(Exception):
    """An exception raised by student code, as a type name and a message."""


# The builtin exceptions a student's error may also be an instance of (so a test's `except ValueError` works).
# A fixed table: the name the student's side sends is looked up here and nowhere else.
_BUILTIN_ERRORS: dict[str, type] = {cls.__name__: cls for cls in (
    ArithmeticError, AssertionError, AttributeError, EOFError, FileNotFoundError, FloatingPointError, ImportError,
    IndexError, KeyError, LookupError, MemoryError, ModuleNotFoundError, NameError, NotImplementedError, OSError,
    OverflowError, RecursionError, RuntimeError, TypeError, UnicodeError, ValueError, ZeroDivisionError)}
_ERROR_TYPES: dict[str, type] = {}


def _error_type(name: str, builtin: bool) -> type:
    """StudentError, also an instance of the builtin exception of that name when it is one of the table's."""
    base = _BUILTIN_ERRORS.get(name) if builtin else None
    key = name if base else ""
    if key not in _ERROR_TYPES:
        bases = (StudentError, base) if base else (StudentError,)
        _ERROR_TYPES[key] = type(name if base else "StudentError", bases, {})
    return _ERROR_TYPES[key]


def student_error(reply: dict) -> StudentError:
    """The exception a reply's `raised` names, as data: a StudentError (type name clipped, message clipped)."""
    kind = wire.clip(reply.get("raised"), 80)
    if not kind.isidentifier():
        kind = "Exception"
    text = wire.clip(reply.get("message", ""), 2000)
    cls = _error_type(kind, reply.get("builtin") is True)
    return cls(text if cls.__name__ == kind else f"{kind}: {text}".rstrip(": "))


class Remote:
    """The examiner's connection to the agent in the student's kernel (the protocol: autograder/PROTOCOL.md).

    What comes back is decoded as plain data. The only references it may hold are handles (`$h`), which become
    new proxies here and never name an object of the examiner's, and generator states (`$rng`), which become new
    generators. Callback tokens are the examiner's own, random, and valid for one test.
    """

    def __init__(self, sock: socket.socket, setup: dict, cancel: socket.socket | None = None):
        self.sock = sock
        self.cancel = cancel
        self.setup_ids = setup_index(setup)
        self.setup = setup
        self.deadline = None
        self.calls = 0
        self.callbacks: dict[str, object] = {}   # token -> a function a test passed to student code (this test)
        self.broken = ""                         # why the connection can no longer be used (a half-sent message)

    def request(self, tree: dict, buffers: list | None = None):
        self.calls += 1
        self._send(tree, buffers or [])
        while True:
            reply, buffers = self._receive()
            if "callback" not in reply:
                break
            self._run_callback(reply, buffers)  # student code calls a function the test gave it: run it here
        if "raised" in reply:
            raise student_error(reply)
        return reply, buffers

    def _send(self, tree, buffers: list) -> None:
        """Send within the test's time: a kernel that stops reading fails the test; it never blocks the examiner."""
        if self.broken:
            raise StudentError(self.broken)
        left = None if self.deadline is None else self.deadline - time.monotonic()
        if left is not None and left <= 0:
            raise StudentError("the student's code ran out of time")
        try:
            self.sock.settimeout(left)
            wire.send(self.sock, tree, buffers)
        except (TimeoutError, OSError) as error:  # socket.timeout is a TimeoutError
            self.broken = ("the student's kernel stopped reading the examiner's requests"
                           if isinstance(error, TimeoutError) else f"the student's kernel went away ({type(error).__name__})")
            raise StudentError(self.broken) from None
        finally:
            self._blocking()

    def _blocking(self) -> None:
        try:
            self.sock.settimeout(None)
        except OSError:
            pass

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
        try:  # a reply that stops half-way must not hold the examiner past the test's time either
            self.sock.settimeout(None if self.deadline is None else max(0.001, self.deadline - time.monotonic()))
            reply, buffers = wire.recv(self.sock)
        except (EOFError, OSError) as error:
            self.broken = ("the student's kernel stopped half-way through a reply" if isinstance(error, TimeoutError)
                           else f"the student's kernel went away ({type(error).__name__})")
            raise StudentError(self.broken) from None
        finally:
            self._blocking()
        if not isinstance(reply, dict):
            raise StudentError("malformed reply from the student's kernel")
        return reply, buffers

    def _run_callback(self, request: dict, buffers: list) -> None:
        out: list = []
        try:
            token = request.get("callback")
            function = self.callbacks.get(token) if isinstance(token, str) else None
            if function is None:
                raise wire.WireError("unknown callback")
            args = self.decode(request.get("args", []), buffers)
            kwargs = self.decode(request.get("kwargs", {"$dict": []}), buffers)
            if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
                raise wire.WireError("bad callback arguments")
            body = {"value": self.encode(function(*args, **kwargs), out)}
        except Exception as error:  # noqa: BLE001 - the student's code sees the callback fail, nothing more
            out, body = [], {"raised": type(error).__name__, "message": wire.clip(str(error), 500)}
        self._send(body, out)

    def decode(self, tree, buffers):
        return wire.decode(tree, buffers, self._tagged, deadline=self.deadline)

    def _tagged(self, node):
        """The references a reply may hold: a handle (a new proxy) or a generator's state (a new generator)."""
        if "$h" in node:
            if not isinstance(node["$h"], int) or isinstance(node["$h"], bool):
                raise wire.WireError("bad handle")
            return Handle(self, node["$h"], wire.clip(node.get("type", "object"), 100), node.get("callable") is True)
        if "$rng" in node:
            try:
                return new_generator(node)
            except Exception:  # noqa: BLE001 - any malformed state is the peer's protocol error
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
            token = secrets.token_hex(16)
            self.callbacks[token] = value  # runs here, on plain data, when student code calls it during this test
            return {"$cb": token}
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
        return self.call_tracking(target, op, args, kwargs, **extra)[0]

    def call_tracking(self, target: int, op: str, args=(), kwargs=None, **extra) -> tuple:
        """(value, {argument: its state after the call} for the arguments the student's code changed in place).

        The arguments went as copies: the test's own objects never change. The states are new objects.
        """
        buffers: list = []
        tree = {"op": op, "target": {"$h": target}, "args": self.encode(list(args), buffers),
                "kwargs": self.encode(dict(kwargs or {}), buffers), **extra}
        reply, rbuf = self.request(tree, buffers)
        value = self.decode(reply.get("value"), rbuf)
        changed = self.decode(reply.get("changed", {"$dict": []}), rbuf) if op == "call" else {}
        if not isinstance(changed, dict) or not all(isinstance(k, str) for k in changed):
            raise StudentError("malformed reply from the student's kernel")
        return value, changed

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
        """The test is over: its callbacks expire, and the agent stops serving."""
        self.callbacks.clear()
        self.deadline = time.monotonic() + 5  # a kernel that no longer reads is the executor's to interrupt
        try:
            self._send({"op": "done"}, [])
        except StudentError:
            pass
        finally:
            self.deadline = None


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

    def _call_tracking(self, args, kwargs) -> tuple:
        """embedkit.checks.call_tracking on a student function: (value, arguments it changed in place)."""
        return self._remote.call_tracking(self._id, "call", args, kwargs)

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
