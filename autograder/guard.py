"""Integrity guard that lives inside the graded kernel (standard library only).

The grader installs it before any student code runs and calls it, through the
Jupyter protocol's `user_expressions` (evaluated by the kernel *without* the input
transformers a student could have installed), right before and right after every
test cell:

* before a test cell it compares the kernel with the snapshot it took while the
  kernel was pristine and RESTORES what changed: IPython input/AST transformers,
  event callbacks, custom exception handlers, methods of the shell, kernel and
  session (showtraceback, run_cell, send, ...), callables of numpy, torch,
  builtins, math and embedkit, torch.Tensor methods, the trace/profile hooks, and
  the names the locked cells bound in the notebook's namespace (np, assert_close,
  ...). Each change is reported, so the submission is flagged with the reason;
* after a test cell that passed it checks again: anything changed *while the test
  ran* (a student function patching assert_close through its caller's frame, a
  background thread re-patching numpy) makes the grader withhold that test's points.

Every answer carries an HMAC of a per-kernel secret and a counter, so a student
who replaces the guard cannot forge its "all clean" reply without first digging
the secret out of memory. In-process checks can never be airtight against code
running in the same interpreter; they close the known tricks and make the rest
visible. Sandboxing (autograder.sandbox) keeps the tests and solutions off disk.
"""
import builtins
import hashlib
import hmac
import json
import sys
import types

WATCHED_MODULES = (
    "builtins", "math", "operator", "functools", "numpy", "numpy.linalg", "numpy.random", "numpy.testing",
    "torch", "torch.nn.functional", "torch.linalg", "embedkit", "embedkit.checks",
)
# Names IPython itself adds to or removes from builtins around each cell.
_VOLATILE_BUILTINS = {"exit", "quit", "get_ipython", "display", "_", "__", "___", "__IPYTHON__", "help", "input"}
# Instance attributes ipykernel itself sets around every request (saved input/getpass hooks).
_VOLATILE_PREFIXES = ("_save_", "_sys_")
_TRUSTED_CLASS_PREFIXES = ("IPython.", "ipykernel.", "jupyter_client.")


def _callables(namespace: dict) -> dict:
    return {k: v for k, v in namespace.items()
            if callable(v) or isinstance(v, (types.ModuleType, staticmethod, classmethod, property))}


class _Guard:
    def __init__(self, secret: str, shell, name: str = ""):
        self.secret = secret.encode()
        self.shell = shell
        self.name = name
        self.wrapped = False
        # The kernel evaluates user expressions as shell.user_expressions -> eval(expr) -> this guard. Any
        # other frame in between is a wrapper a student put around the guard.
        self.ev_code = type(shell).user_expressions.__code__
        self.counter = 0
        self.modules = {}
        self.classes = {}
        self.instances = {}
        self.lists = {}
        self.bound = {}
        self.trace = (sys.gettrace(), sys.getprofile())
        self.user_builtins = shell.user_ns.get("__builtins__")  # what names in the notebook resolve through
        for name in WATCHED_MODULES:
            self._snapshot_module(name)
        objects = self._objects()
        for label, obj in objects.items():
            self.instances[label] = {k: v for k, v in vars(obj).items() if callable(v)} if hasattr(obj, "__dict__") else {}
            for klass in type(obj).__mro__:
                if klass.__module__.startswith(_TRUSTED_CLASS_PREFIXES) or klass.__module__.startswith("traitlets"):
                    self.classes.setdefault(klass, dict(_callables(vars(klass))))
        tensor = sys.modules.get("torch")
        if tensor is not None:
            self.classes[tensor.Tensor] = dict(_callables(vars(tensor.Tensor)))
        for label, seq in self._lists().items():
            self.lists[label] = list(seq)
        self.code = {}  # function -> (code, defaults, kwdefaults): swapping __code__ keeps the function's identity
        for _, snap in self.modules.values():
            self._remember_code(snap.values())
        for snap in self.classes.values():
            self._remember_code(snap.values())

    def _remember_code(self, values) -> None:
        for fn in values:
            if isinstance(fn, types.FunctionType) and fn not in self.code:
                self.code[fn] = (fn.__code__, fn.__defaults__, fn.__kwdefaults__)

    # -- what is watched ---------------------------------------------------------------------------
    def _objects(self) -> dict:
        shell = self.shell
        out = {"shell": shell}
        for attr in ("kernel", "input_transformer_manager", "displayhook", "display_pub", "compile",
                     "prefilter_manager", "events", "history_manager"):
            obj = getattr(shell, attr, None)
            if obj is not None:
                out[f"shell.{attr}"] = obj
        kernel = getattr(shell, "kernel", None)
        if kernel is not None and getattr(kernel, "session", None) is not None:
            out["kernel.session"] = kernel.session
        return out

    def _lists(self) -> dict:
        shell = self.shell
        itm = shell.input_transformer_manager
        out = {
            "input_transformers_cleanup": itm.cleanup_transforms,
            "input_transformers_post": shell.input_transformers_post,
            "input_transformer_manager.line_transforms": itm.line_transforms,
            "input_transformer_manager.token_transformers": itm.token_transformers,
            "ast_transformers": shell.ast_transformers,
        }
        for event, callbacks in shell.events.callbacks.items():
            out[f"events.{event}"] = callbacks
        return out

    def _snapshot_module(self, name: str) -> None:
        module = sys.modules.get(name)
        if module is not None and name not in self.modules:
            self.modules[name] = (module, _callables(vars(module)))

    # -- checks ------------------------------------------------------------------------------------
    def _repair(self) -> list:
        changes = []
        for name in WATCHED_MODULES:  # modules imported since install: snapshot now
            if name not in self.modules and name in sys.modules:
                self._snapshot_module(name)
                self._remember_code(self.modules[name][1].values())
        for name, (module, snap) in self.modules.items():
            if sys.modules.get(name) is not module:
                changes.append(f"sys.modules[{name!r}] replaced")
                sys.modules[name] = module
            current = vars(module)
            for key, original in snap.items():
                if name == "builtins" and key in _VOLATILE_BUILTINS:
                    continue
                if key in current and current[key] is not original:
                    changes.append(f"{name}.{key} was replaced")
                    setattr(module, key, original)
        for klass, snap in self.classes.items():
            current = vars(klass)
            for key, original in snap.items():
                if current.get(key, original) is not original:
                    changes.append(f"{klass.__module__}.{klass.__qualname__}.{key} was replaced")
                    setattr(klass, key, original)
        for label, obj in self._objects().items():
            snap = self.instances.get(label)
            if snap is None or not hasattr(obj, "__dict__"):
                continue
            for key, value in list(vars(obj).items()):
                if not callable(value) or snap.get(key) is value or key.startswith(_VOLATILE_PREFIXES):
                    continue
                changes.append(f"{label}.{key} was overridden")
                if key in snap:
                    setattr(obj, key, snap[key])
                else:
                    delattr(obj, key)
        for fn, (code, defaults, kwdefaults) in self.code.items():
            if fn.__code__ is not code or fn.__defaults__ is not defaults or fn.__kwdefaults__ is not kwdefaults:
                changes.append(f"the code of {getattr(fn, '__module__', '?')}.{fn.__qualname__} was swapped")
                fn.__code__, fn.__defaults__, fn.__kwdefaults__ = code, defaults, kwdefaults
        if getattr(self.shell, "custom_exceptions", ()) != ():
            changes.append("a custom exception handler was set (shell.set_custom_exc)")
            self.shell.custom_exceptions = ()
        current_lists = self._lists()
        for label, seq in current_lists.items():
            original = self.lists.get(label, [])
            if len(seq) != len(original) or any(a is not b for a, b in zip(seq, original)):
                changes.append(f"{label} changed")
                seq[:] = original
        if (sys.gettrace(), sys.getprofile()) != self.trace:
            changes.append("a trace or profile function was set")
            sys.settrace(self.trace[0])
            sys.setprofile(self.trace[1])
        user_ns = self.shell.user_ns
        if user_ns.get("__builtins__") is not self.user_builtins:
            changes.append("the notebook's __builtins__ was replaced")
            user_ns["__builtins__"] = self.user_builtins
        for key, original in self.bound.items():
            if user_ns.get(key) is not original:
                changes.append(f"the name {key!r} set by a locked cell was rebound")
                user_ns[key] = original
        return changes

    def _answer(self, changes: list) -> str:
        self.counter += 1
        body = {"n": self.counter, "changes": changes}
        return json.dumps({**body, "mac": sign(self.secret, body)})

    def _called_directly(self) -> bool:
        """True when the caller is the kernel's own expression evaluation, not a student's wrapper."""
        try:
            return sys._getframe(3).f_code is self.ev_code
        except (ValueError, AttributeError):
            return False

    def __call__(self, op: str = "check") -> str:
        if getattr(builtins, self.name, None) is not self or not self._called_directly():
            setattr(builtins, self.name, self)
            self.wrapped = True
        changes = self._repair_all(op)
        if self.wrapped:
            changes.insert(0, "the integrity guard was replaced or wrapped")
            self.wrapped = False
        return self._answer(changes)

    def _repair_all(self, op: str) -> list:
        changes = self._repair()
        if op == "bind":  # after a locked cell: remember the library names it bound
            for key, value in self.shell.user_ns.items():
                if key.startswith("_") or key in self.bound:
                    continue
                module = getattr(value, "__module__", None) or ""
                if isinstance(value, types.ModuleType) or (callable(value) and module and module != "__main__"):
                    self.bound[key] = value
                    self._remember_code([value])
        return changes


def install(secret: str, name: str, shell=None) -> None:
    """Create the guard for `shell` (default: the running IPython shell) and publish it as builtins.<name>."""
    if shell is None:
        from IPython import get_ipython
        shell = get_ipython()
    guard = _Guard(secret, shell, name)
    setattr(builtins, name, guard)


def sign(secret: bytes, body: dict) -> str:
    """HMAC of an answer's whole content: a wrapper cannot drop findings from a genuine answer."""
    return hmac.new(secret, json.dumps(body, sort_keys=True).encode(), hashlib.sha256).hexdigest()
