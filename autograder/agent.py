"""The student kernel's side of the examiner's calls (runs inside the sandboxed kernel).

While a test cell runs, the grader has the kernel evaluate `agent()`: it answers the
examiner's requests over a socket until told the test is over. Requests name student
objects (by notebook name or by handle) and carry plain data; replies are plain data,
handles for everything else, and a type name and message when student code raises.
Nothing here is trusted by the examiner: a student who replaces or breaks this agent
only makes their own tests fail.
"""
from __future__ import annotations

import socket
import sys

from . import wire

_MISSING = object()


class Agent:
    def __init__(self, sock: socket.socket, namespace: dict, setup: dict):
        import os
        if os.environ.get("DEVICE", "").startswith("cuda"):
            wire.TENSOR_DEVICE = os.environ["DEVICE"]
        self.sock = sock
        self.ns = namespace                  # the kernel's user namespace (live)
        self.setup = dict(setup)             # the set-up's objects, as they were at the fork
        self.setup_ids = setup_index(self.setup)
        self.handles: dict[int, object] = {}

    def rebase(self) -> None:
        """The set-up ran in this kernel itself (CUDA): share its objects, as they are now, by name."""
        self.setup = {k: self.ns[k] for k in self.setup if k in self.ns}
        self.setup_ids = setup_index(self.setup)

    def __call__(self) -> None:
        """Serve the examiner until it says the test is over (or goes away)."""
        while True:
            try:
                tree, buffers = wire.recv(self.sock)
            except (EOFError, OSError, wire.WireError):
                return
            if not isinstance(tree, dict) or tree.get("op") == "done":
                return
            try:
                reply = self.handle(tree, buffers)
            except BaseException as error:  # noqa: BLE001 - every student failure goes back as data
                if isinstance(error, KeyboardInterrupt):
                    reply = {"raised": "KeyboardInterrupt", "message": "interrupted (time limit)"}
                else:
                    reply = {"raised": type(error).__name__, "message": wire.clip(str(error), 2000),
                             "builtin": type(error).__module__ == "builtins"}
                out = []
                self._send(reply, out)
                continue
            out = []
            try:
                body = {"value": wire.encode(reply, out, self._tag)} if not isinstance(reply, _Reply) else reply.tree(self, out)
            except BaseException as error:  # noqa: BLE001
                out = []
                body = {"raised": type(error).__name__, "message": wire.clip(f"the result could not be sent: {error}"),
                        "builtin": False}
            self._send(body, out)

    def _send(self, body, out) -> None:
        try:
            wire.send(self.sock, body, out)
        except wire.Unsendable as error:
            wire.send(self.sock, {"raised": "TypeError", "message": wire.clip(str(error)), "builtin": True}, [])

    # -- requests --------------------------------------------------------------------------------------------
    def handle(self, tree, buffers):
        op = tree.get("op")
        if op == "get":
            values = {}
            for name in tree.get("names", []):
                values[name] = self.ns.get(name, _MISSING)
            return _Reply({"values": values})
        if op == "seed":
            from embedkit import seed_everything
            seed_everything(int(tree["seed"]))
            return None
        target = self._resolve(tree.get("target"))
        args = wire.decode(tree.get("args", []), buffers, self._untag)
        kwargs = wire.decode(tree.get("kwargs", {"$dict": []}), buffers, self._untag)
        if op == "call":
            # Only the copies the examiner sent: its set-up objects and handles are this kernel's own (digesting
            # GloVe on every call cost seconds per submission).
            own = self.setup_ids.keys() | self.handles.keys()  # the index the agent already keeps
            before = _fingerprints(args, kwargs, own)
            result = target(*args, **kwargs)
            return _Reply({"value": result, "changed": _changed(before, args, kwargs)})
        if op == "grad":
            from embedkit.checks import value_and_grad
            value, grads = value_and_grad(target, *args, wrt=tree.get("wrt"), **kwargs)
            return _Reply({"value": (value, grads)})
        if op == "getattr":
            return getattr(target, str(tree["name"]))
        if op == "getitem":
            return target[args[0]]
        if op == "len":
            return len(target)
        if op == "iter":
            items = []
            for i, item in enumerate(target):
                if i >= 100_000:
                    raise OverflowError("more than 100000 items")
                items.append(item)
            return items
        if op == "contains":
            return args[0] in target
        if op == "repr":
            return wire.clip(repr(target), 5000)
        if op == "bool":
            return bool(target)
        raise ValueError(f"unknown request {op!r}")

    def _resolve(self, node):
        if not isinstance(node, dict) or not isinstance(node.get("$h"), int) or node["$h"] not in self.handles:
            raise LookupError("unknown handle")
        return self.handles[node["$h"]]

    # -- what crosses ----------------------------------------------------------------------------------------
    def _tag(self, value):
        """Non-plain values: random generators by state, everything else (a set-up or library object too) a handle.

        Never a name the examiner would resolve: the examiner takes nothing from this side but data and handles.
        """
        state = _generator_state(value)
        if state is not None:
            return state
        self.handles[id(value)] = value
        return {"$h": id(value), "type": wire.clip(type(value).__name__, 100), "callable": callable(value)}

    def _untag(self, node):
        if "$h" in node:
            return self._resolve(node)
        if "$ref" in node:
            name = node["$ref"]
            if name not in self.setup:
                raise LookupError(f"no set-up object {name!r}")
            return self.setup[name]
        if "$rng" in node:
            return new_generator(node)
        if "$module" in node or "$global" in node:
            return _library_object(node)
        if "$cb" in node and isinstance(node["$cb"], str):
            return Callback(self, node["$cb"])
        if "$missing" in node:
            raise LookupError("missing")
        raise LookupError("unexpected tagged value")


class Callback:
    """A function of the examiner's that a test passed to student code: calling it asks the examiner to run it.

    Only plain data goes out and comes back; while it runs, the examiner may call student code in turn.
    """

    def __init__(self, agent: Agent, ident: str):
        self.agent, self.ident = agent, ident

    def __call__(self, *args, **kwargs):
        agent = self.agent
        out: list = []
        wire.send(agent.sock, {"callback": self.ident, "args": wire.encode(list(args), out, agent._tag),
                               "kwargs": wire.encode(dict(kwargs), out, agent._tag)}, out)
        while True:  # serve the examiner's own calls until the callback's result comes
            tree, buffers = wire.recv(agent.sock)
            if isinstance(tree, dict) and "op" in tree:
                try:
                    reply = agent.handle(tree, buffers)
                    body_out: list = []
                    body = reply.tree(agent, body_out) if isinstance(reply, _Reply) else \
                        {"value": _encode_or_handle(reply, body_out, agent)}
                except BaseException as error:  # noqa: BLE001
                    body_out, body = [], {"raised": type(error).__name__, "message": wire.clip(str(error)),
                                          "builtin": type(error).__module__ == "builtins"}
                agent._send(body, body_out)
                continue
            if isinstance(tree, dict) and "raised" in tree:
                kind = getattr(__import__("builtins"), str(tree.get("raised")), None)
                kind = kind if isinstance(kind, type) and issubclass(kind, Exception) else RuntimeError
                raise kind(wire.clip(tree.get("message", "")))
            return wire.decode(tree.get("value") if isinstance(tree, dict) else None, buffers, agent._untag)


class _Reply:
    """A reply whose values are encoded with handles, and whose mutable arguments are sent back."""

    def __init__(self, fields: dict):
        self.fields = fields

    def tree(self, agent: Agent, out: list) -> dict:
        body = {}
        for key, value in self.fields.items():
            if key == "values":
                body[key] = {name: {"$missing": True} if v is _MISSING else _encode_or_handle(v, out, agent)
                             for name, v in value.items()}
            else:
                body[key] = _encode_or_handle(value, out, agent)
        return body


def _encode_or_handle(value, out, agent):
    mark = len(out)
    try:
        return wire.encode(value, out, agent._tag)
    except wire.Unsendable:
        del out[mark:]
        return agent._tag(value)


def _fingerprints(args: list, kwargs: dict, own: set) -> dict:
    """A digest of each argument a call could change in place (arrays, tensors, lists, dicts, generators) that
    came as a copy (not one of this kernel's own objects, whose ids are in `own`)."""
    items = [(str(i), v) for i, v in enumerate(args)] + [(k, v) for k, v in kwargs.items()]
    return {key: (value, _digest(value)) for key, value in items if id(value) not in own and _is_mutable(value)}


def _changed(before: dict, args: list, kwargs: dict) -> dict:
    """The arguments whose digest differs after the call, with their state now (sent as data)."""
    return {key: value for key, (value, digest) in before.items() if digest is not None and _digest(value) != digest}


def _is_mutable(value) -> bool:
    import numpy as np
    return isinstance(value, (list, dict, np.ndarray)) or _generator_state(value) is not None or wire._is_tensor(value)


def _digest(value):
    """Bytes that change when `value`'s contents change; None when it cannot be read as data."""
    import hashlib

    import numpy as np

    state = _generator_state(value)
    if state is not None:
        return repr(state).encode()
    if wire._is_tensor(value):
        value = value.detach().to("cpu").numpy()
    if isinstance(value, np.ndarray):  # hashed in place, no copy
        digest = hashlib.blake2b(repr((value.dtype.str, value.shape)).encode(), digest_size=16)
        digest.update(np.ascontiguousarray(value).reshape(-1).view(np.uint8).data)
        return digest.digest()
    buffers: list = []
    try:
        tree = wire.encode(value, buffers, lambda v: {"$id": id(v)})
    except (wire.Unsendable, RecursionError):
        return None
    digest = hashlib.blake2b(repr(tree).encode(), digest_size=16)
    for buffer in buffers:
        digest.update(memoryview(buffer))
    return digest.digest()


def shared_reference(value, setup: dict, setup_ids: dict):
    """How the examiner names, for the student's kernel, a value that kernel has its own copy of, or None.

    A set-up object by its name, a random generator by its state, a library module, class or function by
    its import path. Both processes forked from the same set-up, so the kernel resolves the name to its own
    object. Only the examiner sends these names; nothing the kernel sends back is resolved by name.
    """
    name = setup_ids.get(id(value))
    if name is not None and setup.get(name) is value:
        return {"$ref": name}
    state = _generator_state(value)
    if state is not None:
        return state
    return _library_name(value)


def setup_index(setup: dict) -> dict:
    """id -> name of the set-up objects passed by reference (plain immutable values are simply copied)."""
    return {id(v): k for k, v in setup.items() if _shareable(v)}


def _library_name(value):
    """A module, or a class or function of an installed library, by name: the examiner uses its own copy."""
    if isinstance(value, type(sys)):
        return {"$module": value.__name__}
    module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(qualname, str)) or module in ("__main__", "builtins"):
        return None
    if not (isinstance(value, type) or callable(value) and type(value).__name__ in ("function", "builtin_function_or_method")):
        return None
    if "<" in qualname or module not in sys.modules:
        return None
    return {"$global": [module, qualname]}


def _shareable(value) -> bool:
    """Set-up objects passed by reference: everything but plain immutable data (copied anyway)."""
    return not (value is None or isinstance(value, (bool, int, float, str, bytes, tuple, type(sys))))


def _generator_state(value):
    import numpy as np
    if isinstance(value, np.random.Generator):
        return {"$rng": "numpy", "state": value.bit_generator.state, "bits": type(value.bit_generator).__name__}
    if type(value).__module__.startswith("torch") and type(value).__name__ == "Generator":
        return {"$rng": "torch", "state": value.get_state().numpy().tolist(), "device": str(value.device)}
    return None


def new_generator(node):
    """A new numpy or torch generator with the state `node` carries (data; never an existing object)."""
    import numpy as np
    if node.get("$rng") == "numpy":
        bits = {"PCG64": np.random.PCG64, "PCG64DXSM": np.random.PCG64DXSM, "MT19937": np.random.MT19937,
                "Philox": np.random.Philox, "SFC64": np.random.SFC64}.get(node.get("bits"))
        if bits is None:
            raise LookupError("unknown bit generator")
        bit_generator = bits()
        bit_generator.state = node["state"]
        return np.random.Generator(bit_generator)
    if node.get("$rng") == "torch":
        import torch
        gen = torch.Generator()
        gen.set_state(torch.tensor(node["state"], dtype=torch.uint8))
        return gen
    raise LookupError("unknown generator")


LIBRARIES = {"numpy", "torch", "pandas", "sklearn", "scipy", "math", "os", "tempfile", "json", "re", "collections",
             "itertools", "functools", "random", "time", "pathlib", "statistics", "string", "heapq", "bisect",
             "sentence_transformers", "transformers", "faiss", "bm25s", "umap", "plotly", "embedkit", "tqdm"}


def _library_object(node):
    """The kernel's own module, class or function the examiner named (a library's, never `__main__`'s)."""
    import importlib
    name, qualname = (node["$module"], "") if "$module" in node else tuple(node["$global"])
    if not isinstance(name, str) or not isinstance(qualname, str) or not all(p.isidentifier() for p in name.split(".")):
        raise LookupError("bad library name")
    if name.split(".")[0] not in LIBRARIES and name not in sys.modules or name == "__main__":
        raise LookupError(f"module {wire.clip(name, 80)} is not a library")
    value = sys.modules.get(name) or importlib.import_module(name)
    for part in filter(None, qualname.split(".")):
        if not part.isidentifier() or part.startswith("__"):
            raise AttributeError(part)
        value = getattr(value, part)
    return value
