"""The only thing that crosses between a student's kernel and the examiner: plain data.

A message is JSON plus raw buffers, framed over a stream socket. Decoding builds
nothing but None, bool, int, float, str, bytes, list, tuple, dict, set, numpy arrays
and scalars of numeric dtypes and torch tensors (from those arrays), pandas frames and
series of those (no handles in them), plus opaque tagged references the caller resolves
(`$h` handles, `$ref` set-up objects, random generators' states). No pickle, no code,
no attribute lookup driven by the data, so a hostile peer can make a test fail but never
run code here.

Nor can it make the examiner pay more than it sent. Whatever the bytes, `unpack` and
`decode` raise nothing but WireError (`recv` also EOFError and OSError from the socket;
`decode` also whatever the caller's `tagged` raises), and a message of n bytes (JSON and
buffers, at most MAX_MESSAGE) costs the examiner at most 96 n bytes of memory (json's
own tree of lists in lists is 44 n, the decoded lists as much again) plus two allowances
per message: 4 bytes for each character of string padding (STRING_SLACK, 16 MiB) and
2 KiB for each frame column (MAX_COLUMNS, 20 MiB); and time linear in n, the deadline
read every 4096 nodes. tests/test_wire_fuzz.py measures both (with tracemalloc, which
sees numpy's arrays but not torch's tensor headers).
"""
from __future__ import annotations

import json
import math
import socket
import struct
import sys
import time
from collections import Counter

import numpy as np

MAX_MESSAGE = 256 << 20          # bytes in one message
MAX_STRING = 1 << 20             # characters of one string in an error message or repr
# Decoding costs what the peer sent, never more: a set or dict whose keys share one hash value costs n**2 / 2
# comparisons to build (ints k * (2**61 - 1) all hash alike: 200k of them, 7 MB of JSON, are minutes of the
# examiner's time, outside any deadline), and a range or an empty string array would otherwise expand to
# gigabytes in the examiner (which has no memory limit) from a few bytes.
MAX_SAME_HASH = 64               # distinct keys of one set, dict or frame that may share a hash value
MAX_ELEMENTS = MAX_MESSAGE // 8  # elements a range may expand to: what an array in one message could hold
MAX_COLUMNS = 10_000             # columns of all the frames in one message (a frame of none counts one)
STRING_PADDING = 8               # a string array's padded characters per character sent (and one per string)
STRING_SLACK = 1 << 22           # padded characters (16 MiB) beyond that, for all the string arrays of a message
MAX_DIGITS = 4300                # digits of a JSON integer (Python's own default limit)
DTYPES = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
          "float64", "complex64", "complex128"}
_HEADER = struct.Struct("!QI")   # total length, json length
# Where decoded tensors go. The examiner keeps them on the CPU; a student's kernel on CUDA puts the tests'
# tensors on its GPU, as a straight run of the notebook with DEVICE=cuda would have made them.
TENSOR_DEVICE: str | None = None


class WireError(Exception):
    """A malformed or oversized message: the peer broke the protocol."""


class Unsendable(TypeError):
    """A value that is not plain data and has no reference on the other side."""


# -- encoding ----------------------------------------------------------------------------------------------

def encode(value, buffers: list, other=None, depth: int = 0):
    """A JSON-able tree for `value`; arrays go to `buffers`. `other(value)` tags anything else (or raises)."""
    if depth > 100:
        raise Unsendable("data nested deeper than 100 levels")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if -(1 << 63) <= value < (1 << 63) else {"$bigint": str(value)}
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else {"$float": repr(value)}
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return _container(value, buffers, other, depth)
    if isinstance(value, range):
        return {"$range": [value.start, value.stop, value.step]}
    if type(value).__name__ in ("dict_keys", "dict_values", "dict_items"):
        return [encode(v, buffers, other, depth + 1) for v in value]
    if _is_pandas(value):
        return _frame(value, buffers, other, depth)
    if isinstance(value, (np.ndarray, np.generic)):
        return _array(np.asarray(value), buffers, scalar=isinstance(value, np.generic))
    if isinstance(value, (bytes, bytearray, memoryview)):
        buffers.append(bytes(value))
        return {"$bytes": len(buffers) - 1}
    if _is_tensor(value):
        array = value.detach().to("cpu").resolve_conj().resolve_neg().numpy()
        out = _array(array, buffers)
        out["torch"] = True
        return out
    if isinstance(value, complex):  # parts as floats are: a number, or {"$float": "nan"} (JSON has no nan)
        return {"$complex": [encode(value.real, buffers), encode(value.imag, buffers)]}
    if other is None:
        raise Unsendable(f"cannot send a {type(value).__name__}")
    return other(value)


def _container(value, buffers, other, depth):
    """A list, tuple, set or dict; subclasses of tuple and dict (named tuples, defaultdicts) go to `other`."""
    if isinstance(value, list):
        return [encode(v, buffers, other, depth + 1) for v in value]
    if type(value) is tuple:
        return {"$tuple": [encode(v, buffers, other, depth + 1) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode(v, buffers, other, depth + 1) for v in value]}
    if type(value) is dict:
        return {"$dict": [[encode(k, buffers, other, depth + 1), encode(v, buffers, other, depth + 1)]
                          for k, v in value.items()]}
    if other is None:
        raise Unsendable(f"cannot send a {type(value).__name__}")
    return other(value)


def _is_pandas(value) -> bool:
    return type(value).__module__.startswith("pandas") and type(value).__name__ in ("DataFrame", "Series")


def _frame(value, buffers, other, depth) -> dict:
    """A DataFrame or Series as its columns (numeric arrays or lists) and its index."""
    frame = value.to_frame(name=value.name if value.name is not None else 0) if type(value).__name__ == "Series" else value
    if len(frame.columns) > 10_000:
        raise Unsendable("a DataFrame with more than 10000 columns")
    columns = []
    for name in frame.columns:
        column = frame[name]
        data = column.to_numpy()
        columns.append(_array(data, buffers) if data.dtype.name in DTYPES
                       else encode(column.tolist(), buffers, other, depth + 1))
    return {"$frame": columns, "names": encode(list(frame.columns), buffers, other, depth + 1),
            "index": encode(list(frame.index), buffers, other, depth + 1), "series": type(value).__name__ == "Series"}


def _is_tensor(value) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach") and hasattr(value, "numpy")


def _array(array: np.ndarray, buffers: list, scalar: bool = False) -> dict:
    if array.dtype.name not in DTYPES:
        if array.dtype.kind in "UO" and array.ndim <= 2 and array.size <= 1_000_000:
            items = array.tolist()  # strings (or objects that are strings) as nested lists
            if all(isinstance(s, str) for s in np.ravel(np.asarray(items, dtype=object))):
                return {"$strarray": items, "shape": list(array.shape)}
        raise Unsendable(f"cannot send an array of dtype {array.dtype}")
    if array.nbytes + sum(len(b) for b in buffers) > MAX_MESSAGE:  # refuse before copying anything
        raise Unsendable(f"{array.nbytes >> 20} MiB of data is over the {MAX_MESSAGE >> 20} MiB limit of one message")
    buffers.append(np.ascontiguousarray(array).tobytes())
    return {"$nd": len(buffers) - 1, "dtype": array.dtype.name, "shape": list(array.shape), "scalar": scalar}


def pack(tree, buffers: list) -> bytes:
    try:
        head = json.dumps(tree, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()
    except ValueError as error:  # a bare nan or inf in a tree made by hand, a circular reference
        raise Unsendable(f"not plain data: {error}") from None
    parts = [head] + [struct.pack("!Q", len(b)) + b for b in buffers]
    body = b"".join(parts)
    if len(body) > MAX_MESSAGE:
        raise Unsendable(f"message of {len(body) >> 20} MiB is over the {MAX_MESSAGE >> 20} MiB limit")
    return _HEADER.pack(len(body), len(head)) + body


# -- decoding ----------------------------------------------------------------------------------------------

def unpack(data: bytes, json_len: int) -> tuple:
    if not isinstance(json_len, int) or not 0 <= json_len <= len(data):
        raise WireError("bad message: its JSON length is outside it")
    try:
        tree = json.loads(data[:json_len].decode(), parse_int=_int_parser())
    except (ValueError, RecursionError) as error:
        raise WireError(f"bad message: {type(error).__name__}") from None
    buffers, pos = [], json_len
    while pos < len(data):
        if pos + 8 > len(data):
            raise WireError("truncated buffer header")
        (n,) = struct.unpack_from("!Q", data, pos)
        pos += 8
        if pos + n > len(data):
            raise WireError("truncated buffer")
        buffers.append(data[pos:pos + n])
        pos += n
    return tree, buffers


def _int_parser():
    """None (json's own int) while Python refuses integer strings of more than 4300 digits, as it does unless a
    program lifts that limit: then a bounded parser, since int() of a long string costs its length squared."""
    limit = sys.get_int_max_str_digits()
    return None if 0 < limit <= MAX_DIGITS else _bounded_int


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError("integer of too many digits")
    return int(text)


# Tagged nodes: tag -> decoder(node, state, depth), tried in this order (the first tag a node has decides).
_DECODERS: dict = {}


def _decoder(tag: str):
    def register(function):
        _DECODERS[tag] = function
        return function
    return register


class _State:
    """What the nodes of one decode call share: the buffers (each used at most once), the resolver of tagged
    nodes, the clock, the frame columns built so far and the string padding still allowed."""

    __slots__ = ("buffers", "tagged", "deadline", "used", "nodes", "columns", "padding")

    def __init__(self, buffers: list, tagged, deadline: float | None):
        self.buffers, self.tagged, self.deadline = buffers, tagged, deadline
        self.used: set = set()
        self.nodes = 0
        self.columns = 0
        self.padding = STRING_SLACK

    def spend(self, nodes: int) -> None:
        """Count `nodes` of work; the clock is read every 4096 nodes."""
        before, self.nodes = self.nodes, self.nodes + nodes
        if before >> 12 != self.nodes >> 12:
            self.check_clock()

    def check_clock(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise WireError("the data took too long to decode (out of time)")

    def buffer(self, index) -> bytes:
        """Buffer `index`, once: a second reference would copy it again (1 MB, referenced a million times)."""
        if type(index) is not int or not 0 <= index < len(self.buffers) or index in self.used:
            raise WireError("bad buffer index (or a buffer used twice)")
        self.used.add(index)
        return self.buffers[index]


def decode(tree, buffers: list, tagged=None, depth: int = 0, deadline: float | None = None):
    """Rebuild plain data from `tree`; `tagged(node)` resolves handles and references (else WireError).

    Past `deadline` (time.monotonic()) it stops with a WireError: 100 million numbers in one message take
    minutes to rebuild, and the examiner must still answer within the test's time.
    """
    return _decode(tree, _State(buffers, tagged, deadline), depth)


def _decode(tree, state: _State, depth: int):
    if depth > 100:
        raise WireError("data nested too deep")
    state.nodes += 1  # state.spend(1), without a call for every node
    if not state.nodes & 4095:
        state.check_clock()
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, list):
        return [_decode(v, state, depth + 1) for v in tree]
    if not isinstance(tree, dict):
        raise WireError("unexpected node")
    for tag, decoder in _DECODERS.items():
        if tag in tree:
            return decoder(tree, state, depth)
    if state.tagged is not None:
        return state.tagged(tree)
    raise WireError("unexpected tagged node")


@_decoder("$nd")
def _decode_array(tree, state, depth):
    dtype = tree.get("dtype")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise WireError(f"dtype {clip(dtype, 80) if isinstance(dtype, str) else type(dtype).__name__} not allowed")
    shape = _shape(tree.get("shape"))
    data = state.buffer(tree["$nd"])
    dt = np.dtype(dtype)
    if math.prod(shape) * dt.itemsize != len(data):  # Python ints: np.prod wraps ([2**62, 4] is 0)
        raise WireError("array size does not match its shape")
    try:
        array = np.frombuffer(data, dtype=dt).reshape(shape).copy()
    except ValueError:  # an empty array of dimensions numpy cannot index ([0, 2**62, 2**62])
        raise WireError("bad shape") from None
    if tree.get("torch"):
        return _tensor(array)
    if tree.get("scalar") and array.ndim == 0:
        return array[()]
    return array


def _tensor(array: np.ndarray):
    import torch
    try:
        tensor = torch.from_numpy(array)
        return tensor.to(TENSOR_DEVICE) if TENSOR_DEVICE else tensor
    except (TypeError, RuntimeError, ValueError):
        raise WireError(f"no tensor of dtype {array.dtype} and shape {array.shape}") from None


@_decoder("$tuple")
def _decode_tuple(tree, state, depth):
    return tuple(_decode(_list(tree["$tuple"]), state, depth))


@_decoder("$set")
def _decode_set(tree, state, depth):
    items = _keys(_decode(_list(tree["$set"]), state, depth))
    try:
        return set(items)
    except (TypeError, ValueError):  # unhashable; a numpy scalar equal in hash to a tuple compares as an array
        raise WireError("unhashable or incomparable set item") from None


@_decoder("$dict")
def _decode_dict(tree, state, depth):
    pairs = _list(tree["$dict"])
    if not all(isinstance(pair, list) and len(pair) == 2 for pair in pairs):
        raise WireError("bad dict item")
    keys = _keys(_decode([k for k, _ in pairs], state, depth))
    values = _decode([v for _, v in pairs], state, depth)
    try:
        return dict(zip(keys, values, strict=True))
    except (TypeError, ValueError):  # as for sets
        raise WireError("unhashable or incomparable dict key") from None


@_decoder("$bytes")
def _decode_bytes(tree, state, depth):
    return bytes(state.buffer(tree["$bytes"]))


@_decoder("$bigint")
def _decode_bigint(tree, state, depth):
    text = tree["$bigint"]
    if not isinstance(text, str) or len(text) > 4000:
        raise WireError("bad integer")
    try:
        return int(text)
    except ValueError:
        raise WireError("bad integer") from None


@_decoder("$float")
def _decode_float(tree, state, depth):
    if tree["$float"] not in ("nan", "inf", "-inf"):
        raise WireError("bad float")
    return float(tree["$float"])


@_decoder("$complex")
def _decode_complex(tree, state, depth):
    parts = _list(tree["$complex"])
    if len(parts) != 2:
        raise WireError("bad complex number")
    return complex(*(_real(part) for part in parts))


def _real(part) -> float:
    """A part of a complex number: a JSON number, or a `$float` node (nan, inf)."""
    if isinstance(part, dict) and "$float" in part:
        return _decode_float(part, None, 0)
    if type(part) not in (int, float):
        raise WireError("bad complex number")
    try:
        return float(part)
    except OverflowError:
        raise WireError("bad complex number") from None


@_decoder("$range")
def _decode_range(tree, state, depth):
    bounds = _list(tree["$range"])
    if len(bounds) != 3 or not all(type(v) is int for v in bounds):
        raise WireError("bad range")
    try:
        value = range(*bounds)
        size = len(value)
    except (ValueError, OverflowError):  # a step of 0, more elements than a C long counts
        raise WireError("bad range") from None
    if size > MAX_ELEMENTS:  # np.asarray of it would fill gigabytes, uninterruptibly
        raise WireError(f"a range of more than {MAX_ELEMENTS} elements")
    return value


@_decoder("$frame")
def _decode_frame(tree, state, depth):
    import pandas as pd
    names, columns, index = _frame_parts(tree, state, depth)
    if not isinstance(names, list) or not isinstance(index, list) or not len(names) == len(columns) <= 10_000:
        raise WireError("bad frame")
    state.columns += max(len(names), 1)  # pandas spends 1 to 3 KB and up to 0.1 ms on each, however small
    if state.columns > MAX_COLUMNS:
        raise WireError(f"more than {MAX_COLUMNS} frame columns in one message")
    _check_columns(columns, len(index))
    _check_labels(names)
    _check_labels(index)
    try:
        frame = pd.DataFrame(dict(zip(names, columns, strict=True)), index=index or None)
        frame.columns = names
        return frame[names[0]] if tree.get("series") and names else frame
    except Exception:  # noqa: BLE001 - pandas raises errors of many types (KeyError, InvalidIndexError, ...) on odd labels; their size is checked above
        raise WireError("bad frame") from None


def _frame_parts(tree, state, depth) -> tuple:
    """A frame's names, columns and index, plain data only: pandas looks attributes up on labels (`_typ`), and
    a handle would ask the student's kernel for them, in the middle of decoding."""
    tagged, state.tagged = state.tagged, None
    try:
        return (_decode(tree.get("names", []), state, depth + 1), _decode(_list(tree["$frame"]), state, depth),
                _decode(tree.get("index", []), state, depth + 1))
    finally:
        state.tagged = tagged


def _check_columns(columns: list, rows: int) -> None:
    """Every column a list or a 1-d array, all of one length (the index's, if it has one): a scalar would
    be broadcast over the whole index (10,000 names and a long index cost their product)."""
    lengths = {len(c) if isinstance(c, list) or isinstance(c, np.ndarray) and c.ndim == 1 else -1 for c in columns}
    if -1 in lengths or len(lengths | ({rows} if rows else set())) > 1:
        raise WireError("bad frame: columns must be lists or arrays of the index's length")


def _check_labels(labels: list) -> None:
    """Column names or an index: no flood of one hash value, and tuples (a MultiIndex) all of one length:
    pandas gives every label as many levels as the longest tuple has, so one long tuple costs its length
    times the number of labels."""
    _keys(labels, hashable=False)
    if len({len(x) if type(x) is tuple else -1 for x in labels}) > 1:
        raise WireError("bad frame: labels must be all tuples of one length, or no tuples")


@_decoder("$strarray")
def _decode_strarray(tree, state, depth):
    shape = _shape(tree.get("shape"))
    leaves = _leaves(tree["$strarray"], shape)
    state.spend(len(leaves))
    # numpy pads every string to the longest, at 4 bytes a character: 1,000,000 strings, one of them 4000
    # characters long, are 16 GB made from 4 MB of JSON. Padding is allowed up to a multiple of what came,
    # and beyond that only from the message's one allowance (per array, it would multiply with the arrays).
    padded = math.prod(shape) * max(map(len, leaves), default=1)
    state.padding -= max(padded - STRING_PADDING * (sum(map(len, leaves)) + len(leaves)), 0)
    if state.padding < 0:
        raise WireError("a string array of strings of very unequal lengths (numpy pads each to the longest)")
    try:
        return np.array(leaves, dtype=str).reshape(shape)
    except ValueError:
        raise WireError("bad string array") from None


def _leaves(items, shape: tuple) -> list:
    """The strings of nested lists `items` of exactly `shape`, flat (WireError if ragged or not strings)."""
    level = [items]
    for n in shape:
        if not all(type(x) is list and len(x) == n for x in level):
            raise WireError("bad string array: its lists do not match its shape")
        level = [y for x in level for y in x]
    if not all(type(s) is str for s in level):
        raise WireError("bad string array: an item is not a string")
    return level


def _shape(value) -> tuple:
    shape = tuple(_list(value))
    if len(shape) > 32 or not all(type(s) is int and s >= 0 for s in shape):
        raise WireError("bad shape")
    return shape


def _keys(keys: list, hashable: bool = True) -> list:
    """`keys` for a set, dict or frame, refused when more than MAX_SAME_HASH distinct ones share a hash value
    (equal ones cost nothing more: an index may repeat a label)."""
    if len(keys) <= MAX_SAME_HASH:
        return keys
    try:
        hashes = list(map(hash, keys))
    except TypeError:
        if hashable:
            raise WireError("unhashable set item or dict key") from None
        hashes = list(map(_hash, keys))
    # Hash values are ints that hash to themselves: counting them is linear, whatever the keys.
    crowded = {h for h, n in Counter(hashes).items() if n > MAX_SAME_HASH and h is not None}
    if crowded:
        _few_distinct(keys, hashes, crowded)
    return keys


def _few_distinct(keys: list, hashes: list, crowded: set) -> None:
    """At most MAX_SAME_HASH distinct keys for each crowded hash value (each key compared with that many)."""
    distinct: dict = {h: [] for h in crowded}
    for key, h in zip(keys, hashes, strict=True):
        seen = distinct.get(h)
        if seen is None or any(_equal(key, other) for other in seen):
            continue
        seen.append(key)
        if len(seen) > MAX_SAME_HASH:
            raise WireError(f"more than {MAX_SAME_HASH} set items or dict keys share one hash value")


def _equal(a, b) -> bool:
    try:
        return a is b or bool(a == b)
    except (TypeError, ValueError):  # numpy compares a scalar with a tuple item by item
        return False


def _hash(key) -> int | None:
    try:
        return hash(key)
    except TypeError:  # a list, or a tuple that holds one
        return None


def _list(value) -> list:
    if not isinstance(value, list):
        raise WireError("expected a list")
    return value


# -- framing -----------------------------------------------------------------------------------------------

def send(sock: socket.socket, tree, buffers: list | None = None) -> None:
    sock.sendall(pack(tree, buffers or []))


def recv(sock: socket.socket) -> tuple:
    """(tree, buffers) of the next message; EOFError when the peer closed."""
    head = _read(sock, _HEADER.size)
    total, json_len = _HEADER.unpack(head)
    if total > MAX_MESSAGE or json_len > total:
        raise WireError(f"message of {total} bytes refused")
    return unpack(_read(sock, total), json_len)


def _read(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the peer closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def clip(text: str, limit: int = 2000) -> str:
    """A bounded, printable version of a peer's string: no control characters, no lone surrogates."""
    text = str(text)[:MAX_STRING]
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    text = "".join(c if c.isprintable() or c in "\n\t" else "\ufffd" for c in text)
    return text if len(text) <= limit else text[:limit] + " ..."
