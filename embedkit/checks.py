"""Assertions for the notebooks' tests: tolerant of every correct answer, strict about types.

Every check converts the student's value to a real numeric array first, so a
list, a numpy array of any float dtype or a torch tensor is accepted, while an
object that only pretends to be equal (an `__eq__` that always returns True)
fails the conversion instead of passing the comparison.

Hidden tests pass `reveal=False` to `assert_close` and `assert_sequence_equal`: the
message then keeps what teaches (shape, NaN, types, the number of items, how many
entries differ, the hint) and leaves out the expected values, the values that came
back and the failing positions, so that feedback never hands a student the hidden
inputs and answers to hard-code (solutions/AUTHORING.md, "What a hidden test's
message may say"). `as_array` and `assert_scalar` never show values.
"""
import numbers
from typing import NamedTuple

import numpy as np


def as_array(value, name: str = "result", shape: tuple | None = None) -> np.ndarray:
    """`value` as a float64 numpy array, with an optional expected shape (None entries match any size)."""
    if hasattr(value, "detach"):  # a torch tensor, possibly on a GPU or requiring grad
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
        if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise TypeError(f"dtype {array.dtype}")
        array = array.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise AssertionError(
            f"{name}: expected numbers (a list, numpy array or torch tensor), got {type(value).__name__} ({error})"
        ) from None
    if shape is not None:
        ok = array.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, array.shape))
        if not ok:
            wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
            raise AssertionError(f"{name}: expected shape {wanted}, got {array.shape}")
    return array


def assert_close(actual, expected, name: str = "result", rtol: float = 1e-5, atol: float = 1e-6, hint: str = "",
                 reveal: bool = True):
    """Assert `actual` matches `expected` (same shape, no NaN, within tolerances).

    `reveal=False` (hidden tests): a mismatch is reported without values or positions, only how many entries differ.
    """
    expected = np.asarray(expected, dtype=np.float64)
    actual = as_array(actual, name, shape=expected.shape)
    if np.isnan(actual).any() and not np.isnan(expected).any():
        raise AssertionError(f"{name}: contains NaN{_hint(hint or 'a division by zero?')}")
    if not np.allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True):
        if not reveal:
            wrong = int(np.size(actual) - np.isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True).sum())
            where = f" in {wrong} of {actual.size} entries" if actual.size > 1 else ""
            raise AssertionError(f"{name}: values differ from the expected ones{where}{_hint(hint)}")
        diff = np.abs(actual - expected)
        where = np.unravel_index(np.nanargmax(diff), diff.shape) if diff.ndim else ()
        raise AssertionError(
            f"{name}: values differ; largest difference {np.nanmax(diff):.3g} at index {tuple(int(i) for i in where)}: "
            f"expected {float(expected[where]):.6g}, got {float(actual[where]):.6g}{_hint(hint)}"
        )


def assert_scalar(value, name: str = "result") -> float:
    """Assert `value` is one real number (a Python or numpy scalar, or a 0-d array/tensor) and return it."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    array = as_array(value, name)
    if array.size != 1:
        raise AssertionError(f"{name}: expected a single number, got shape {array.shape}")
    return float(array.reshape(()))


def assert_returns(value, promise: str, name: str = "result"):
    """Assert `value` is what a docstring promises and return it. `promise`: a container, "list", "ndarray" or
    "tensor", after an optional kind of element: "float", "int", "str" or an exact dtype ("float32", "int64",
    "int8", "uint8"), as in "float32 ndarray", "int tensor", "str list". The message names the promise and what
    came back, never a value.
    """
    *kind, container = promise.split()
    kind = kind[0] if kind else ""
    if container == "list":
        ok = isinstance(value, list) and all(_is_kind(x, kind) for x in value)
    elif container == "ndarray":
        ok = isinstance(value, np.ndarray) and _dtype_is(value.dtype, kind)
    elif container == "tensor":
        ok = type(value).__module__.split(".")[0] == "torch" and hasattr(value, "is_floating_point") and \
            _tensor_is(value, kind)
    else:
        raise ValueError(f"unknown container {container!r} in {promise!r}")
    if not ok:
        what = {"list": "list", "ndarray": "numpy array", "tensor": "torch tensor"}[container]
        raise AssertionError(f"{name} should return a {what}{' of ' + kind if kind else ''} (the docstring says so); "
                             f"got {_described(value)}")
    return value


def _dtype_is(dtype: np.dtype, kind: str) -> bool:
    if kind in ("float", "int"):
        return np.issubdtype(dtype, np.floating if kind == "float" else np.integer)
    return kind == "" or dtype == np.dtype(kind)


def _tensor_is(tensor, kind: str) -> bool:
    if kind == "float":
        return tensor.is_floating_point()
    if kind == "int":
        return not (tensor.is_floating_point() or tensor.is_complex()) and str(tensor.dtype) != "torch.bool"
    return kind == "" or str(tensor.dtype) == f"torch.{kind}"


def _is_kind(item, kind: str) -> bool:
    if kind == "str":
        return isinstance(item, str)
    if kind in ("int", "float"):
        return isinstance(item, numbers.Integral if kind == "int" else numbers.Real) and not isinstance(item, bool)
    return kind == ""


def _described(value) -> str:
    kind = type(value).__name__
    if hasattr(value, "dtype"):
        return f"{kind} of dtype {value.dtype}"
    if isinstance(value, list) and value:
        return f"a list of {', '.join(sorted({type(x).__name__ for x in value}))}"
    return kind


def assert_sequence_equal(actual, expected, name: str = "result", hint: str = "", reveal: bool = True):
    """Assert two sequences of plain values (strings, ints) are equal element by element.

    `reveal=False` (hidden tests): no items and no positions in the message, only counts (and whether the right
    items came back in another order).
    """
    if isinstance(actual, (str, bytes)) or not hasattr(actual, "__len__"):
        raise AssertionError(f"{name}: expected a list, got {type(actual).__name__}")
    actual, expected = list(actual), list(expected)
    if len(actual) != len(expected):
        shown = f": {actual!r}" if reveal else ""
        raise AssertionError(f"{name}: expected {len(expected)} items, got {len(actual)}{shown}{_hint(hint)}")
    for i, (a, e) in enumerate(zip(actual, expected)):
        if not (isinstance(a, type(e)) or isinstance(a, numbers.Integral) and isinstance(e, numbers.Integral)):
            where = f"[{i}]" if reveal else ""
            raise AssertionError(f"{name}{where}: expected a {type(e).__name__}, got {type(a).__name__}")
        # Compare with the expected type's own __eq__, so a subclass cannot override it.
        same = int(a) == int(e) if isinstance(e, numbers.Integral) else type(e).__eq__(e, a) is True
        if not same:
            if reveal:
                raise AssertionError(f"{name}[{i}]: expected {e!r}, got {a!r}{_hint(hint)}")
            try:
                how = _how_items_differ(actual, expected)
            except Exception:  # noqa: BLE001 - an item that cannot be compared further: say less, never fail otherwise
                how = "the items differ from the expected ones"
            raise AssertionError(f"{name}: {how}{_hint(hint)}")


def _how_items_differ(actual: list, expected: list) -> str:
    """What is wrong with a list of the right length, without naming an item or a position."""
    def same(a, e):
        return int(a) == int(e) if isinstance(e, numbers.Integral) else type(e).__eq__(e, a) is True

    wrong = sum(not (isinstance(a, type(e)) or isinstance(a, numbers.Integral) and isinstance(e, numbers.Integral))
                or not same(a, e) for a, e in zip(actual, expected))
    unmatched = list(expected)
    for a in actual:  # the right items in another order? (by the expected items' own __eq__, as above)
        j = next((j for j, e in enumerate(unmatched)
                  if (isinstance(a, type(e)) or isinstance(a, numbers.Integral) and isinstance(e, numbers.Integral))
                  and same(a, e)), None)
        if j is None:
            break
        unmatched.pop(j)
    if not unmatched:
        return f"the right items in the wrong order ({wrong} of {len(expected)} in the wrong place)"
    return f"{wrong} of {len(expected)} items differ from the expected ones"


def _hint(hint: str) -> str:
    return f". Hint: {hint}" if hint else ""


def value_and_grad(fn, *args, wrt=None, **kwargs):
    """(fn(*args) detached, [gradient of it with respect to each argument in `wrt`]) by torch autograd.

    The arguments in `wrt` (default: all positional ones) become float tensors that require grad, so a
    function that leaves torch (numpy, .item(), .detach()) is caught: its result has no gradient. Works the
    same on a function of this kernel and, when grading, on a student's function in another process.
    """
    remote = getattr(type(fn), "_value_and_grad", None)
    if remote is not None:
        return remote(fn, args, kwargs, wrt)
    import torch

    args = list(args)
    wrt = list(range(len(args))) if wrt is None else list(wrt)
    leaves = []
    for i in wrt:
        leaf = torch.as_tensor(np.asarray(args[i], dtype=np.float64) if not hasattr(args[i], "detach") else args[i])
        leaf = leaf.detach().clone().to(torch.get_default_dtype() if not leaf.is_floating_point() else leaf.dtype)
        args[i] = leaf.requires_grad_(True)
        leaves.append(args[i])
    out = fn(*args, **kwargs)
    if not (hasattr(out, "backward") and getattr(out, "requires_grad", False)):
        raise AssertionError("the result does not depend on the inputs through torch operations (no gradient): "
                             "keep the computation in torch, without .item(), .detach() or numpy")
    out.sum().backward()
    return out.detach(), [leaf.grad if leaf.grad is not None else torch.zeros_like(leaf) for leaf in leaves]


class Call(NamedTuple):
    """What `call_tracking` saw: the function's value, and the arguments it changed in place."""
    value: object
    changed: dict  # argument ("0", "1", ... by position, or its keyword) -> its state after the call


def call_tracking(fn, *args, **kwargs) -> Call:
    """Call `fn` on copies of the arguments; report which of them it changed in place (and how).

    The caller's own objects never change, here or when grading (where arguments cross to the student's
    kernel as copies anyway), so a test checks "the function leaves its inputs alone" with
    `assert not call_tracking(f, X).changed`, and the same test behaves the same everywhere.
    """
    remote = getattr(type(fn), "_call_tracking", None)
    if remote is not None:
        value, changed = remote(fn, args, kwargs)
        return Call(value, changed)
    import copy

    items = [(str(i), a) for i, a in enumerate(args)] + list(kwargs.items())
    copies = {key: copy.deepcopy(value) if _mutable(value) else value for key, value in items}
    value = fn(*[copies[str(i)] for i in range(len(args))], **{k: copies[k] for k in kwargs})
    changed = {key: copies[key] for key, original in items if _mutable(original) and not _same(original, copies[key])}
    return Call(value, changed)


def _mutable(value) -> bool:
    return isinstance(value, (list, dict, np.ndarray, np.random.Generator)) or hasattr(value, "detach") \
        or type(value).__name__ == "Generator"


def _same(a, b) -> bool:
    """Whether two copies of one argument hold the same contents (arrays bit for bit, NaN equal to NaN)."""
    if hasattr(a, "detach"):
        a, b = a.detach().cpu().numpy(), b.detach().cpu().numpy()
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, np.random.Generator):
        return a.bit_generator.state == b.bit_generator.state
    if type(a).__name__ == "Generator" and hasattr(a, "get_state"):
        return bool((a.get_state() == b.get_state()).all())
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:  # noqa: BLE001 - an object that cannot say: treat as unchanged
        return True
