"""The only thing that crosses between a student's kernel and the examiner: plain data.

A message is JSON plus raw buffers, framed over a stream socket. Decoding builds
nothing but None, bool, int, float, str, bytes, list, tuple, dict, set, numpy arrays
and scalars of numeric dtypes and torch tensors (from those arrays), plus opaque
tagged references the caller resolves (`$h` handles, `$ref` set-up objects, random
generators' states). No pickle, no code, no attribute lookup driven by the data,
and bounded in size, so a hostile peer can make a test fail but never run code here.
"""
from __future__ import annotations

import json
import socket
import struct
import time
from collections import Counter

import numpy as np

MAX_MESSAGE = 256 << 20          # bytes in one message
MAX_STRING = 1 << 20             # characters of one string in an error message or repr
# Decoding costs what the peer sent, never more: a set or dict whose keys share one hash value costs n**2 / 2
# comparisons to build (ints k * (2**61 - 1) all hash alike: 200k of them, 7 MB of JSON, are minutes of the
# examiner's time, outside any deadline), and a range or an empty string array would otherwise expand to
# gigabytes in the examiner (which has no memory limit) from a few bytes.
MAX_SAME_HASH = 64               # keys of one set, dict or frame that may share a hash value
MAX_ELEMENTS = MAX_MESSAGE // 8  # elements a range may expand to: what an array in one message could hold
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
        pass
    elif isinstance(value, range):
        return {"$range": [value.start, value.stop, value.step]}
    elif type(value).__name__ in ("dict_keys", "dict_values", "dict_items"):
        return [encode(v, buffers, other, depth + 1) for v in value]
    elif _is_pandas(value):
        return _frame(value, buffers, other, depth)
    elif isinstance(value, (np.ndarray, np.generic)):
        return _array(np.asarray(value), buffers, scalar=isinstance(value, np.generic))
    elif isinstance(value, (bytes, bytearray, memoryview)):
        buffers.append(bytes(value))
        return {"$bytes": len(buffers) - 1}
    elif _is_tensor(value):
        array = value.detach().to("cpu").resolve_conj().resolve_neg().numpy()
        out = _array(array, buffers)
        out["torch"] = True
        return out
    elif isinstance(value, complex):
        return {"$complex": [value.real, value.imag]}
    if isinstance(value, list):
        return [encode(v, buffers, other, depth + 1) for v in value]
    if isinstance(value, tuple) and type(value) is tuple:
        return {"$tuple": [encode(v, buffers, other, depth + 1) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode(v, buffers, other, depth + 1) for v in value]}
    if isinstance(value, dict) and type(value) is dict:
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
    head = json.dumps(tree, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()
    parts = [head] + [struct.pack("!Q", len(b)) + b for b in buffers]
    body = b"".join(parts)
    if len(body) > MAX_MESSAGE:
        raise Unsendable(f"message of {len(body) >> 20} MiB is over the {MAX_MESSAGE >> 20} MiB limit")
    return _HEADER.pack(len(body), len(head)) + body


# -- decoding ----------------------------------------------------------------------------------------------

def unpack(data: bytes, json_len: int) -> tuple:
    try:
        tree = json.loads(data[:json_len].decode())
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


def decode(tree, buffers: list, tagged=None, depth: int = 0, deadline: float | None = None):
    """Rebuild plain data from `tree`; `tagged(node)` resolves handles and references (else WireError).

    Past `deadline` (time.monotonic()) it stops with a WireError: 100 million numbers in one message take
    minutes to rebuild, and the examiner must still answer within the test's time.
    """
    if depth > 100:
        raise WireError("data nested too deep")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if isinstance(tree, list):
        if deadline is None or len(tree) <= 64:
            return [decode(v, buffers, tagged, depth + 1, deadline) for v in tree]
        out = []
        for start in range(0, len(tree), 4096):  # a look at the clock every 4096 items (at most ~0.3 s apart)
            if time.monotonic() > deadline:
                raise WireError("the data took too long to decode (out of time)")
            out += [decode(v, buffers, tagged, depth + 1, deadline) for v in tree[start:start + 4096]]
        return out
    if not isinstance(tree, dict):
        raise WireError("unexpected node")
    if "$nd" in tree:
        return _decode_array(tree, buffers)
    if "$tuple" in tree:
        return tuple(decode(_list(tree["$tuple"]), buffers, tagged, depth, deadline))
    if "$set" in tree:
        items = _keys(decode(_list(tree["$set"]), buffers, tagged, depth, deadline))
        return set(items)
    if "$dict" in tree:
        pairs = _list(tree["$dict"])
        if not all(isinstance(pair, list) and len(pair) == 2 for pair in pairs):
            raise WireError("bad dict item")
        keys = _keys(decode([k for k, _ in pairs], buffers, tagged, depth, deadline))
        return dict(zip(keys, decode([v for _, v in pairs], buffers, tagged, depth, deadline)))
    if "$bytes" in tree:
        return bytes(_buffer(tree["$bytes"], buffers))
    if "$bigint" in tree:
        text = tree["$bigint"]
        if not isinstance(text, str) or len(text) > 4000:
            raise WireError("bad integer")
        return int(text)
    if "$float" in tree:
        if tree["$float"] not in ("nan", "inf", "-inf"):
            raise WireError("bad float")
        return float(tree["$float"])
    if "$complex" in tree:
        re_, im = _list(tree["$complex"])
        return complex(float(re_), float(im))
    if "$range" in tree:
        try:
            start, stop, step = (int(v) for v in _list(tree["$range"]))
            value = range(start, stop, step)
            if len(value) > MAX_ELEMENTS:  # np.asarray of it would fill gigabytes, uninterruptibly
                raise OverflowError
        except (ValueError, TypeError, OverflowError):
            raise WireError(f"bad range or one of more than {MAX_ELEMENTS} elements") from None
        return value
    if "$frame" in tree:
        import pandas as pd
        names = decode(tree.get("names", []), buffers, tagged, depth + 1, deadline)
        columns = decode(_list(tree["$frame"]), buffers, tagged, depth, deadline)
        index = decode(tree.get("index", []), buffers, tagged, depth + 1, deadline)
        if not isinstance(names, list) or len(names) != len(columns) or len(names) > 10_000:
            raise WireError("bad frame")
        _keys(names, hashable=False)
        _keys(index if isinstance(index, list) else [], hashable=False)
        try:
            frame = pd.DataFrame({n: c for n, c in zip(names, columns)}, index=index or None)
            frame.columns = names
        except (ValueError, TypeError):
            raise WireError("bad frame") from None
        return frame[names[0]] if tree.get("series") and names else frame
    if "$strarray" in tree:
        items = tree["$strarray"]
        shape = tuple(int(s) for s in _list(tree.get("shape", [])))
        if items == [] and 0 not in shape:  # np.zeros(shape) would be as large as the peer says
            raise WireError("bad string array")
        array = np.array(items, dtype=str) if items != [] else np.zeros(shape, dtype=str)
        if array.shape != shape:
            raise WireError("bad string array")
        return array
    if tagged is not None:
        return tagged(tree)
    raise WireError("unexpected tagged node")


def _keys(keys: list, hashable: bool = True) -> list:
    """`keys` for a set, dict or frame, refused when more than MAX_SAME_HASH of them share one hash value."""
    if len(keys) <= MAX_SAME_HASH:
        return keys
    try:
        hashes = list(map(hash, keys))
    except TypeError:
        if hashable:
            raise WireError("unhashable set item or dict key") from None
        hashes = [hash(k) for k in keys if getattr(type(k), "__hash__", None) is not None]
    # Hash values are ints that hash to themselves: counting them is linear, whatever the keys.
    if len(hashes) > MAX_SAME_HASH and max(Counter(hashes).values()) > MAX_SAME_HASH:
        raise WireError(f"more than {MAX_SAME_HASH} set items or dict keys share one hash value")
    return keys


def _list(value) -> list:
    if not isinstance(value, list):
        raise WireError("expected a list")
    return value


def _buffer(index, buffers):
    if not isinstance(index, int) or not 0 <= index < len(buffers):
        raise WireError("bad buffer index")
    return buffers[index]


def _decode_array(tree, buffers):
    dtype = tree.get("dtype")
    if dtype not in DTYPES:
        raise WireError(f"dtype {dtype!r} not allowed")
    shape = tuple(_list(tree.get("shape")))
    if not all(isinstance(s, int) and s >= 0 for s in shape) or len(shape) > 32:
        raise WireError("bad shape")
    data = _buffer(tree["$nd"], buffers)
    dt = np.dtype(dtype)
    if int(np.prod(shape, dtype=np.int64)) * dt.itemsize != len(data):
        raise WireError("array size does not match its shape")
    array = np.frombuffer(data, dtype=dt).reshape(shape).copy()
    if tree.get("torch"):
        import torch
        tensor = torch.from_numpy(array)
        return tensor.to(TENSOR_DEVICE) if TENSOR_DEVICE else tensor
    if tree.get("scalar") and array.ndim == 0:
        return array[()]
    return array


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
