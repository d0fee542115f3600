"""The wire's decoder against hostile input: only WireError comes out, and the cost follows the bytes received.

The examiner decodes whatever a student's kernel sends. Every decode here is measured: its peak memory
(tracemalloc, which numpy reports its arrays to) must stay under C bytes for each byte received plus a fixed
slack, and its time under a fixed allowance plus a little per byte. First the red team's inputs and the
others found reading the code (each exact), then properties over generated trees and bytes (hypothesis,
derandomized: the same examples on every run).
"""
import contextlib
import json
import math
import socket
import struct
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder import wire

# Python's own JSON trees cost up to ~45 bytes for each byte of JSON (`[[[[]]]]`: a list of one item is 88
# bytes, for 2), and decoding makes another of each list: the worst we know is ~88 (test_the_costliest_json).
C = 96                     # bytes of examiner memory for each byte received (JSON and buffers)
COLUMN = 2 << 10           # plus, per frame column a message may have (wire.MAX_COLUMNS), what pandas spends
                           # beyond 64 bytes a byte (1 kB at most, measured), and 4 bytes per character of
                           # string padding it may have (wire.STRING_SLACK),
SLACK = 512 << 10          # and 512 KiB (caches, the measuring itself)
SECONDS = 2.0              # each decode, plus
SECONDS_PER_BYTE = 10e-6   # (under tracemalloc, which makes allocation two to three times slower)
# The fuzz's inputs are small, so its allowances are too: with the real ones (10,000 frame columns, 4M padded
# characters: 36 MiB), no small input could show an amplification.
FUZZ_COLUMNS = 32
FUZZ_STRING_SLACK = 1 << 12


def allowed(received: int) -> int:
    """The most memory that decoding `received` bytes may take, under the wire's allowances now."""
    return C * received + COLUMN * wire.MAX_COLUMNS + 4 * wire.STRING_SLACK + SLACK


# -- measuring ---------------------------------------------------------------------------------------------

def measured(function):
    """(value, WireError or None, peak bytes allocated, seconds) of `function()`; any other error escapes."""
    tracemalloc.start()
    try:
        started = time.perf_counter()
        try:
            value, error = function(), None
        except wire.WireError as caught:
            value, error = None, caught
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return value, error, peak, seconds


def message(tree, buffers=()) -> tuple[bytes, int]:
    """(body, json_len) as `recv` hands them to unpack; bare nan and inf allowed, as a hostile peer may."""
    head = json.dumps(tree, separators=(",", ":")).encode()
    return head + b"".join(struct.pack("!Q", len(b)) + b for b in buffers), len(head)


def resolver(node):
    """Tagged nodes as the examiner resolves them: a `$h` handle becomes an object, anything else a WireError."""
    if isinstance(node.get("$h"), int) and not isinstance(node.get("$h"), bool):
        return Handle(node["$h"])
    raise wire.WireError("unexpected tagged value")


class Handle:
    def __init__(self, ident):
        self.ident = ident


def received(body: bytes, json_len: int, tagged=resolver, deadline=None):
    """Unpack and decode `body`, as the examiner does with a reply, and check what that cost."""
    def run():
        tree, buffers = wire.unpack(body, json_len)
        return wire.decode(tree, buffers, tagged, deadline=deadline)
    value, error, peak, seconds = measured(run)
    assert peak <= allowed(len(body)), f"{peak:,} bytes for {len(body):,} received"
    assert seconds <= SECONDS + SECONDS_PER_BYTE * len(body), f"{seconds:.2f} s for {len(body):,} bytes"
    return value, error


def decoded(tree, buffers=(), **kwargs):
    return received(*message(tree, list(buffers)), **kwargs)


@contextlib.contextmanager
def fuzz_allowances():
    saved = wire.MAX_COLUMNS, wire.STRING_SLACK
    wire.MAX_COLUMNS, wire.STRING_SLACK = FUZZ_COLUMNS, FUZZ_STRING_SLACK
    try:
        yield
    finally:
        wire.MAX_COLUMNS, wire.STRING_SLACK = saved


@pytest.fixture(scope="module", autouse=True)
def warm():
    """Every kind decoded once, so lazy imports and first-use caches (pandas, torch) are not measured."""
    buffers = []
    values = [pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.5, 1.5]}, index=[3, 4]), pd.Series([1.0], name="s"),
              torch.ones(2), np.zeros((2, 2), np.float16), np.array([["ab", "c"]]), {1: {2}}, (1,), 2**80, complex(1, 2),
              range(3), b"x", float("nan")]
    tree = wire.encode(values, buffers)
    wire.decode(tree, buffers)
    for bad in ({"$frame": [1], "names": ["a"], "index": [1, 2]}, {"$frame": [[1]], "names": [(1,)], "index": [[]]}):
        with contextlib.suppress(wire.WireError):
            wire.decode(bad, [])


# -- the red team's inputs, and the others found reading the code (each failed before, as noted) -------------

def test_a_skewed_string_array_is_refused_before_numpy_pads_it():
    """1,000,000 strings, one of 500 characters: 3 MB became 1.8 GB (numpy pads each to the longest)."""
    for longest in (500, 4000):  # 4000: 16 GB asked
        value, error = decoded({"$strarray": ["x" * longest] + ["x"] * 999_999, "shape": [1_000_000]})
        assert error is not None and "unequal" in str(error)


def test_the_padding_allowance_is_one_per_message():
    """2000 strings, one of 2000 characters: 16 MB from 10 kB, within the allowance; 100 of them were 1.6 GB."""
    array = {"$strarray": ["x"] * 1999 + ["y" * 2000], "shape": [2000]}
    value, error = decoded(array)
    assert error is None and value.shape == (2000,)
    value, error = decoded([array] * 100)
    assert error is not None and "unequal" in str(error)


def test_string_arrays_of_unequal_lengths_within_the_allowance_still_decode():
    documents = ["word " * (k % 400) for k in range(1000)]  # 1000 strings of 0 to 2000 characters
    value, error = decoded({"$strarray": documents, "shape": [1000]})
    assert error is None and value.shape == (1000,) and value[399] == documents[399]
    words = [["a" * (1 + k % 12) for k in range(50)] for _ in range(2000)]  # 100,000 words, 1 to 12 long
    value, error = decoded({"$strarray": words, "shape": [2000, 50]})
    assert error is None and value.dtype == np.dtype("<U12") and value[7, 11] == "a" * 12


@pytest.mark.parametrize("tree", [
    {"$strarray": ["a"], "shape": [None]},             # TypeError escaped (int(None))
    {"$strarray": ["a"], "shape": ["x"]},              # ValueError escaped (int("x"))
    {"$strarray": ["a", "b"], "shape": [2.5]},         # was int(2.5): 2
    {"$strarray": [["a"], ["b", "c"]], "shape": [2, 1]},  # ragged: numpy's ValueError escaped
    {"$strarray": [["a"], "b"], "shape": [2, 1]},
    {"$strarray": [1, None], "shape": [2]},            # became the strings "1" and "None"
    {"$strarray": "a", "shape": [1]},
    {"$strarray": [], "shape": [3_000_000_000]},       # an "empty" array of 3e9 strings
    {"$strarray": [], "shape": [0, 2**62, 2**62]},     # empty, but too big for numpy
    {"$strarray": ["a"], "shape": [1] * 33},
])
def test_bad_string_arrays(tree):
    assert decoded(tree)[1] is not None


@pytest.mark.parametrize("tree, buffers", [
    ({"$nd": 0, "dtype": "uint8", "shape": [2**62, 4]}, [b""]),        # np.prod wrapped to 0: reshape's ValueError
    ({"$nd": 0, "dtype": "uint8", "shape": [2**32, 2**32]}, [b""]),
    ({"$nd": 0, "dtype": "uint8", "shape": [0, 2**62, 2**62]}, [b""]),  # ValueError: array is too big
    ({"$nd": 0, "dtype": "uint8", "shape": [True]}, [b"\0"]),           # TypeError escaped
    ({"$nd": 0, "dtype": [], "shape": [1]}, [b"\0"]),                   # TypeError escaped (unhashable dtype)
    ({"$nd": 0, "dtype": "object", "shape": [1]}, [b"\0" * 8]),
    ({"$nd": 0, "dtype": "float64", "shape": [3]}, [b"\0" * 8]),
    ({"$nd": 1, "dtype": "uint8", "shape": [1]}, [b"\0"]),
    ({"$nd": True, "dtype": "uint8", "shape": [1]}, [b"\0", b"\0"]),
    ({"$nd": 0, "dtype": "uint8", "shape": 1}, [b"\0"]),
    ({"$bytes": -1}, [b"x"]),
    ({"$bytes": "0"}, [b"x"]),
])
def test_bad_arrays_and_buffer_indices(tree, buffers):
    assert decoded(tree, buffers)[1] is not None


def test_a_buffer_is_used_once():
    """One 1 MB buffer referenced 1000 times was 1 GB of copies, from 1 MB."""
    for tree in ([{"$nd": 0, "dtype": "uint8", "shape": [1 << 20]}] * 1000, [{"$bytes": 0}] * 1000,
                 [{"$bytes": 0}, {"$nd": 0, "dtype": "uint8", "shape": [1 << 20]}]):
        assert "used twice" in str(decoded(tree, [b"x" * (1 << 20)])[1])
    value, error = decoded([{"$nd": 0, "dtype": "uint8", "shape": [3]}, {"$bytes": 1}], [b"abc", b"abc"])
    assert error is None and value[0].tobytes() == value[1] == b"abc"


@pytest.mark.parametrize("tree", [
    {"$complex": [1, 2, 3]}, {"$complex": [1]},       # ValueError escaped (tuple unpacking)
    {"$complex": ["1", "2"]}, {"$complex": ["nan", 0]},  # were float("1"), float("nan")
    {"$complex": [{}, 1]}, {"$complex": [None, 1]},   # TypeError escaped
    {"$complex": [10**400, 1]},                       # OverflowError escaped
    {"$complex": [True, 1]}, {"$complex": {"re": 1}}, {"$complex": [{"$float": "x"}, 1]},
    {"$bigint": "abc"}, {"$bigint": "1" * 4001}, {"$bigint": 5},  # ValueError escaped for "abc"
    {"$float": "1.5"}, {"$float": []},
    {"$range": [0, 10**12, 1]}, {"$range": [0, 1, 0]}, {"$range": ["1", "5", "1"]}, {"$range": [0, 1.5, 1]},
    {"$range": [0, 1]}, {"$range": [0, 10**30, 1]},
    {"$set": [[1]]}, {"$set": [{"$dict": []}]},       # TypeError escaped (unhashable)
    {"$dict": [[[1], 2]]}, {"$dict": [[1, 2, 3]]}, {"$dict": [1]},
    {"$tuple": 1}, {"$h": 1.5}, {"$zz": 1}, {"a": 1},
])
def test_bad_tagged_nodes(tree):
    assert decoded(tree)[1] is not None


def test_a_numpy_scalar_that_hashes_like_a_tuple():
    """Its == with the tuple is an array, whose truth raised ValueError out of set() and dict()."""
    scalar = {"$nd": 0, "dtype": "int64", "shape": [], "scalar": True}
    buffers = [struct.pack("<q", hash((0, 1)))]
    for tree in ({"$set": [{"$tuple": [0, 1]}, scalar]}, {"$dict": [[{"$tuple": [0, 1]}, 0], [scalar, 1]]}):
        assert "incomparable" in str(decoded(tree, buffers)[1])


def test_repeated_labels_are_not_colliding_ones():
    """A label repeated 100 times was refused as a hash flood: equal keys cost nothing more; distinct do."""
    value, error = decoded({"$frame": [list(range(100))], "names": ["x"], "index": ["cat"] * 100})
    assert error is None and value.loc["cat"].shape == (100, 1)
    colliding = [{"$bigint": str(k * (2**61 - 1))} for k in range(1, 66)]
    assert len(decoded({"$set": colliding[:1] * 10_000 + colliding[1:64]})[0]) == 64
    assert "share one hash" in str(decoded({"$set": colliding * 100})[1])


def test_unhashable_labels_do_not_escape_the_collision_guard():
    """More than 64 frame names, tuples that hold a list: _keys's fallback hashed them again (TypeError)."""
    names = [{"$tuple": [k, [1]]} for k in range(65)]
    assert decoded({"$frame": [[]] * 65, "names": names, "index": []})[1] is not None


def test_a_frame_column_is_a_list_of_the_index_length():
    """A scalar column was broadcast over the index: 10,000 names and 10,000 rows, 800 MB from 100 kB."""
    n = 10_000
    for tree in ({"$frame": [1] * n, "names": list(range(n)), "index": list(range(n))},
                 {"$frame": ["x"] * 2, "names": [0, 1], "index": list(range(n))},
                 {"$frame": [[1, 2], [1]], "names": [0, 1], "index": []},
                 {"$frame": [[1, 2]], "names": [0], "index": [1, 2, 3]},
                 {"$frame": [{"$tuple": [1, 2]}], "names": [0], "index": [1, 2]},
                 {"$frame": [[1]], "names": [0], "index": {"$dict": [[1, 2]]}},  # index not a list
                 {"$frame": [[1]], "names": {"$tuple": [0]}, "index": [1]}):
        assert "bad frame" in str(decoded(tree)[1])
    value, error = decoded({"$frame": [[1, 2], {"$nd": 0, "dtype": "float32", "shape": [2]}], "names": ["a", "b"],
                            "index": ["x", "y"]}, [np.ones(2, np.float32).tobytes()])
    assert error is None and list(value.index) == ["x", "y"] and value.b.dtype == np.float32


def test_frame_labels_that_are_tuples_are_all_of_one_length():
    """A 4000-tuple among 10,000 names: a MultiIndex of 4000 levels, 368 MB from 228 kB."""
    names = [{"$tuple": list(range(4000))}] + [{"$tuple": [k]} for k in range(9998)]
    assert "tuples" in str(decoded({"$frame": [[]] * 9999, "names": names, "index": []})[1])
    index = [{"$tuple": list(range(4000))}] + [{"$tuple": [k]} for k in range(9999)]
    assert "tuples" in str(decoded({"$frame": [], "names": [], "index": index})[1])
    value, error = decoded({"$frame": [[1, 2]], "names": [{"$tuple": ["a", "b"]}],
                            "index": [{"$tuple": [1, "x"]}, {"$tuple": [2, "y"]}]})
    assert error is None and list(value.index) == [(1, "x"), (2, "y")] and list(value.columns) == [("a", "b")]


def test_frame_columns_are_bounded_per_message():
    """Each frame column costs pandas 1 to 3 kB: 10,000 empty frames were 14 bytes each, in the JSON."""
    saved = wire.MAX_COLUMNS
    wire.MAX_COLUMNS = 100
    try:
        assert "frame columns" in str(decoded([{"$frame": []}] * 101)[1])
        assert "frame columns" in str(decoded([{"$frame": [[]] * 60, "names": list(range(60))}] * 2)[1])
        assert decoded([{"$frame": []}] * 100)[1] is None
    finally:
        wire.MAX_COLUMNS = saved
    assert len(decoded({"$frame": [[]] * 10_000, "names": list(range(10_000))})[0].columns) == 10_000


def test_pandas_errors_become_wire_errors():
    for tree in ({"$frame": [[1], [2]], "names": ["a", "a"], "index": []},       # duplicate names: length mismatch
                 {"$frame": [[1]], "names": [[1]], "index": []},                  # an unhashable name
                 {"$frame": [[1]], "names": [float("nan")], "index": [], "series": True}):
        value, error = decoded(tree)
        assert error is not None or isinstance(value, (pd.DataFrame, pd.Series))


def test_no_handles_in_frames():
    """pandas reads `_typ` from every label: from a handle, a call into the student's kernel, mid-decode."""
    asked = []

    def tagged(node):
        asked.append(node)
        return Handle(node.get("$h"))

    for tree in ({"$frame": [[1, 2]], "names": ["a"], "index": [{"$h": 1}, {"$h": 2}]},
                 {"$frame": [[1, 2]], "names": [{"$h": 1}], "index": [0, 1], "series": True},
                 {"$frame": [[{"$h": 1}]], "names": ["a"], "index": [0]}):
        assert "unexpected tagged node" in str(decoded(tree, tagged=tagged)[1])
    assert asked == [] and isinstance(decoded([{"$h": 1}], tagged=tagged)[0][0], Handle)


def test_the_costliest_json():
    """Lists in lists, 98 deep: 2 bytes of JSON make a list of 88 bytes in json's tree and one in the decoded."""
    tree = []
    for _ in range(98):
        tree = [tree]
    with fuzz_allowances():  # the small ones: then the bound is C n + 600 kB, n 100 kB
        value, error = decoded([tree] * 500)
    assert error is None and len(value) == 500


def test_nesting_and_json_extremes():
    assert "too deep" in str(decoded(json.loads("[" * 102 + "]" * 102))[1])
    body = b"[" * 100_000 + b"]" * 100_000                        # json's own recursion limit: RecursionError
    assert received(body, len(body))[1] is not None
    for text in (b"1" * 100_000, b"[" + b"1" * 5000 + b"]", b"-" + b"9" * 4301):  # ints of > 4300 digits
        assert "ValueError" in str(received(text, len(text))[1])
    assert received(b"1" * 4300, 4300)[0] == int("1" * 4300)
    assert received(b"[1e999999,-1e999999,NaN]", 24)[0][0] == math.inf  # numbers json makes infinite: cheap
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # a library in the examiner lifting Python's limit: the bound still holds
    try:
        text = b"7" * 1_000_000
        assert "ValueError" in str(received(text, len(text))[1])
    finally:
        sys.set_int_max_str_digits(limit)


@pytest.mark.parametrize("body, json_len", [
    (b"[1]" + b" " * 8 + b"x", -1),        # struct.error escaped (a buffer header at offset -1)
    (b"[1]", 10),                          # was taken whole, silently
    (b"[1]\0\0\0", 3),                     # truncated buffer header
    (b"[1]" + struct.pack("!Q", 5) + b"ab", 3),
    (b"\xff\xfe", 2), (b"", 0), (b"{", 1), (b'"\\ud800', 7),
])
def test_bad_frames(body, json_len):
    assert received(body, json_len)[1] is not None


def test_the_deadline_is_kept_whatever_the_nesting():
    """64-ary lists of 64 never looked at the clock: 16 million numbers in lists of 64, past the deadline."""
    tree = [[[[0] * 64] * 64] * 64] * 64
    started = time.monotonic()
    with pytest.raises(wire.WireError, match="out of time"):
        wire.decode(tree, [], deadline=time.monotonic() - 1)
    assert time.monotonic() - started < 1
    assert wire.decode([[0] * 60] * 60, [], deadline=time.monotonic() - 1)[59][59] == 0  # < 4096 nodes: no look


def test_recv_refuses_oversized_and_truncated_messages():
    for sent, error in ((struct.pack("!QI", wire.MAX_MESSAGE + 1, 0), wire.WireError),
                        (struct.pack("!QI", 4, 5) + b"[1]\0", wire.WireError),   # JSON longer than the message
                        (struct.pack("!QI", 4, 1) + b"[1]\0", wire.WireError),   # truncated buffer header
                        (struct.pack("!QI", 10, 3) + b"[1]", EOFError),          # the peer closed mid-message
                        (struct.pack("!Q", 10), EOFError)):
        a, b = socket.socketpair()
        with a, b:
            a.sendall(sent)
            a.shutdown(socket.SHUT_WR)
            with pytest.raises(error):
                wire.recv(b)


def test_complex_numbers_with_nan_and_inf_travel():
    """They encoded as bare floats, and pack raised ValueError (JSON has no nan), not Unsendable."""
    buffers = []
    tree = wire.encode([complex(math.nan, -math.inf), 1 + 2j], buffers)
    value = wire.decode(*wire.unpack(*message(tree, buffers)))
    assert math.isnan(value[0].real) and value[0].imag == -math.inf and value[1] == 1 + 2j
    with pytest.raises(wire.Unsendable):
        wire.pack([math.nan], [])


# -- properties --------------------------------------------------------------------------------------------

FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

# Plain data the encoder sends, to be rebuilt exactly.
_NUMERIC = sorted(wire.DTYPES)
_TORCH = [d for d in _NUMERIC if d not in ("uint16", "uint32", "uint64")]
_text = st.text(max_size=12)
_keys = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), _text, st.binary(max_size=8))
_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
_arrays = st.sampled_from(_NUMERIC).flatmap(lambda d: hnp.arrays(np.dtype(d), _shapes))
_scalars = st.sampled_from(_NUMERIC).flatmap(lambda d: hnp.from_dtype(np.dtype(d)))
_tensors = st.sampled_from(_TORCH).flatmap(lambda d: hnp.arrays(np.dtype(d), _shapes)).map(torch.from_numpy)
_strarrays = hnp.arrays(hnp.unicode_string_dtypes(max_len=6), hnp.array_shapes(min_dims=0, max_dims=2, min_side=0,
                                                                                 max_side=5))
_names = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=6)
_column = {"i": st.integers(-2**63, 2**63 - 1), "f": st.floats(), "s": _names}


@st.composite
def _frames(draw):
    rows = draw(st.integers(0, 4))
    kinds = draw(st.dictionaries(_names, st.sampled_from(sorted(_column)), max_size=4))
    data = {name: draw(st.lists(_column[kind], min_size=rows, max_size=rows)) for name, kind in kinds.items()}
    index = draw(st.lists(st.integers(-5, 5), min_size=rows, max_size=rows))
    frame = pd.DataFrame(data, index=index or None)
    if draw(st.booleans()) and len(frame.columns):
        return frame[frame.columns[0]]
    return frame


_plain = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10**1000, 10**1000), st.floats(), st.text(),
              st.binary(max_size=16), st.complex_numbers(),
              st.builds(range, st.integers(-9, 9), st.integers(-9, 9), st.integers(1, 3) | st.integers(-3, -1)),
              _arrays, _scalars, _tensors, _strarrays, _frames()),
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.lists(children, max_size=5).map(tuple),
        st.sets(_keys, max_size=5), st.frozensets(_keys, max_size=3),
        st.dictionaries(_keys | st.tuples(_keys, _keys), children, max_size=5)),
    max_leaves=25)


def same(a, b) -> bool:
    """Exact equality, down to dtypes, nan and the sign of zero; frames by pandas' own check (an empty frame's
    columns may come back as an empty Index rather than a RangeIndex)."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_column_type=False)
        return True
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)
        return True
    if type(a) is np.float64:  # a subclass of float: it travels as one
        a = a.item()
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and same(a.numpy(), b.numpy())
    if isinstance(a, np.ndarray) and a.dtype.kind == "U":
        return type(b) is np.ndarray and b.dtype.kind == "U" and a.shape == b.shape and a.tolist() == b.tolist()
    if isinstance(a, (np.ndarray, np.generic)):
        return type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return type(b) is float and (a != a and b != b or a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, complex):
        return type(b) is complex and same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (set, frozenset)):
        return type(b) is set and a == b
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    return type(a) is type(b) and a == b


@settings(FUZZ, max_examples=200)
@given(_plain)
def test_plain_data_round_trips_at_a_bounded_cost(value):
    buffers = []
    tree = wire.encode(value, buffers)
    data = wire.pack(tree, buffers)
    total, json_len = wire._HEADER.unpack_from(data)
    with fuzz_allowances():
        out, error = received(data[wire._HEADER.size:], json_len)
    assert error is None, error
    assert same(value, out)


# Hostile trees: tags with junk, shapes and dtypes at the edges, buffer indices off by one or reused, string
# arrays of skewed lengths, frames that broadcast or nest, and any node repeated hundreds of times (so that
# a cost per node above C shows). Junk is one choice in four or so, so that most trees get deep before failing.
_ints = st.one_of(st.integers(-3, 8), st.sampled_from([2**31, 2**32, 2**62, 2**63 - 1, 2**63, -2**63, 2**64, 10**30]))
_leaf = st.one_of(st.none(), st.booleans(), _ints, st.floats(), st.text(max_size=8),
                  st.sampled_from(["nan", "inf", "-inf", "$nd", "1e5", "", " 7 ", "0x10"]))
_junk = st.one_of(_leaf, st.lists(_leaf, max_size=3), st.dictionaries(st.text(max_size=3), _leaf, max_size=2))
_dims = st.lists(st.integers(0, 4) | st.sampled_from([1024, 4096]), max_size=3)
_shape = st.one_of(*[_dims] * 4, st.lists(st.one_of(st.integers(0, 4), _ints), max_size=4),
                   st.lists(st.just(1), min_size=33, max_size=34), _junk)
_dtype = st.one_of(*[st.sampled_from(_NUMERIC)] * 4,
                   st.sampled_from(["object", "<U4", "S4", "V8", "float128", "datetime64", "|b1"]), _junk)


class _Buffer(bytes):
    """A buffer that a node brings along: `placed` gives it an index (each copy of a repeated node its own)."""


class _Shared(bytes):
    """A buffer that every copy of a repeated node refers to, by one index."""


def placed(tree, buffers: list, shared: dict | None = None):
    shared = {} if shared is None else shared
    if isinstance(tree, _Shared):
        if id(tree) not in shared:
            buffers.append(bytes(tree))
            shared[id(tree)] = len(buffers) - 1
        return shared[id(tree)]
    if isinstance(tree, _Buffer):
        buffers.append(bytes(tree))
        return len(buffers) - 1
    if isinstance(tree, list):
        return [placed(v, buffers, shared) for v in tree]
    if isinstance(tree, dict):
        return {k: placed(v, buffers, shared) for k, v in tree.items()}
    return tree


def _index(buffer):
    """Mostly the node's own buffer; else one shared by all its copies, or an index that may be off, reused,
    or not an int."""
    return st.one_of(*[st.just(_Buffer(buffer))] * 3, st.just(_Shared(buffer)), st.integers(-1, 3), _junk)


def _junk_free(shape):
    return shape if isinstance(shape, list) else [None]


@st.composite
def _nd(draw):
    dtype, shape = draw(_dtype), draw(_shape)
    try:
        size = math.prod(shape) * np.dtype(dtype).itemsize if all(type(d) is int for d in _junk_free(shape)) else None
    except (TypeError, ValueError):
        size = None
    size = draw(st.integers(0, 16)) if size is None or size < 0 else size
    size = draw(st.sampled_from([size, size, size + 1, max(size - 1, 0)])) if size <= 1 << 17 else 8
    node = {"$nd": draw(_index(draw(st.binary(min_size=size, max_size=size)))), "dtype": dtype, "shape": shape}
    return {**node, **draw(st.fixed_dictionaries({}, optional={"torch": st.booleans(), "scalar": st.booleans()}))}


_skewed = st.builds(lambda n, longest, two_d: ([["x"] * n, ["x"] * (n - 1) + ["y" * longest]] if two_d else
                                               ["x"] * n + ["y" * longest]),
                    st.integers(1, 300), st.integers(0, 3000), st.booleans())
_strarray = st.one_of(
    _skewed.map(lambda items: {"$strarray": items, "shape": [len(items)] + (
        [len(items[0])] if isinstance(items[0], list) else [])}),
    st.lists(st.text(max_size=6), max_size=6).map(lambda items: {"$strarray": items, "shape": [len(items)]}),
    st.fixed_dictionaries({"$strarray": st.one_of(_skewed, st.lists(st.text(max_size=4) | _junk, max_size=4), _junk),
                           "shape": _shape}))


def _frame(children):
    """Frames that are nearly right (columns of the index's length) and frames that are not."""
    cell = st.one_of(_leaf, _leaf, children)
    labels = st.one_of(st.integers(-3, 3), st.text(max_size=3), st.lists(st.integers(0, 2), max_size=3).map(
        lambda t: {"$tuple": t}))
    nearly = st.tuples(st.integers(0, 3), st.integers(0, 3)).flatmap(lambda shape: st.fixed_dictionaries({
        "$frame": st.lists(st.lists(cell, min_size=shape[0], max_size=shape[0]), min_size=shape[1],
                           max_size=shape[1]),
        "names": st.lists(labels, min_size=shape[1], max_size=shape[1]),
        "index": st.lists(labels, min_size=shape[0], max_size=shape[0]) | st.just([])},
        optional={"series": st.booleans()}))
    anything = st.fixed_dictionaries({
        "$frame": st.lists(st.one_of(st.lists(cell, max_size=3), children), max_size=3) | _junk,
        "names": st.lists(labels, max_size=3) | children, "index": st.lists(labels, max_size=3) | children},
        optional={"series": st.booleans()})
    # A scalar for every column, a long index (broadcast); a long tuple among many names (a MultiIndex).
    wide = st.builds(lambda n, m, scalar: {"$frame": [scalar] * n, "names": list(range(n)), "index": list(range(m))},
                     st.integers(1, 100), st.integers(1, 100), _leaf)
    ragged = st.builds(lambda n, longest: {"$frame": [[]] * (n + 1), "index": [],
                                           "names": [{"$tuple": list(range(longest))}] + list(range(n))},
                       st.integers(1, 300) | st.integers(1, 30), st.integers(2, 2000))
    return st.one_of(nearly, nearly, anything, wide, ragged)


def _tagged(children):
    """Tagged nodes, nearly right four times in five (so that most trees get deep before they fail)."""
    items = st.one_of(*[st.lists(children, max_size=4)] * 4, _junk)
    nearly = [
        _nd(), st.binary(max_size=8).flatmap(lambda b: st.fixed_dictionaries({"$bytes": _index(b)})),
        _strarray, _frame(children),
        st.fixed_dictionaries({"$tuple": items}), st.fixed_dictionaries({"$set": items}),
        st.fixed_dictionaries({"$dict": st.lists(st.lists(children, min_size=2, max_size=2), max_size=4) | items}),
        st.fixed_dictionaries({"$bigint": st.text("0123456789", min_size=1, max_size=60)}),
        st.fixed_dictionaries({"$float": st.sampled_from(["nan", "inf", "-inf"])}),
        st.fixed_dictionaries({"$complex": st.lists(st.floats() | _ints, min_size=2, max_size=2)}),
        st.fixed_dictionaries({"$range": st.lists(_ints, min_size=3, max_size=3)}),
        st.fixed_dictionaries({"$h": st.integers(0, 9)})]
    junk = [
        st.fixed_dictionaries({"$bigint": st.text("0123456789-+_ x", max_size=30) | _junk}),
        st.fixed_dictionaries({"$float": _leaf}),
        st.fixed_dictionaries({"$complex": items}),
        st.fixed_dictionaries({"$range": st.lists(_leaf, max_size=4) | _junk}),
        st.fixed_dictionaries({"$h": _leaf}, optional={"type": _leaf, "$set": st.just([])}),
        st.dictionaries(st.sampled_from(["$zz", "$ref", "$cb", "a", ""]), children, min_size=1, max_size=2)]
    return st.one_of(*nearly * 2, *junk)


_node = st.recursive(_leaf, lambda children: st.lists(children, max_size=4) | _tagged(children), max_leaves=12)
_hostile = st.one_of(_node, st.tuples(_node, st.integers(2, 500)).map(lambda p: [p[0]] * p[1]))  # many times over
_buffers = st.lists(st.one_of(st.binary(max_size=40), st.sampled_from([0, 1, 2, 4, 8, 16, 32, 64, 1 << 16]).map(bytes)),
                    max_size=3)


def hostile_message(tree, extra: list) -> tuple[bytes, int]:
    buffers = []
    tree = placed(tree, buffers)
    return message(tree, buffers + extra)


@settings(FUZZ, max_examples=400)
@given(_hostile, _buffers)
def test_hostile_trees_cost_what_was_sent(tree, extra):
    with fuzz_allowances():
        received(*hostile_message(tree, extra))


# Hostile bytes: noise, messages cut short or corrupted, lengths that lie, and texts json makes odd.
_texts = st.sampled_from([b"1e999999", b"-1e999999", b"NaN", b"Infinity", b"1" * 5000, b"[" * 5000, b'"\\ud800"',
                          b"[1,2", b'{"$nd":0}', b"\xef\xbb\xbf[]", b"[0" + b",0" * 20_000 + b"]", b"{}" * 3])


@st.composite
def _bodies(draw):
    kind = draw(st.integers(0, 2))
    if kind == 0:
        body = draw(st.binary(max_size=200))
        return body, draw(st.integers(-4, len(body) + 4))
    if kind == 1:
        text = draw(_texts)
        return text, len(text)
    body, json_len = hostile_message(draw(_hostile), draw(_buffers))
    cut = draw(st.integers(0, len(body)))
    if draw(st.booleans()) and body:  # one byte changed
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + bytes([draw(st.integers(0, 255))]) + body[at + 1:]
    if draw(st.booleans()):
        body = body[:cut]
    return body, draw(st.sampled_from([json_len, json_len - 1, json_len + 1, cut]))


@settings(FUZZ, max_examples=300)
@given(_bodies())
def test_hostile_bytes_cost_what_was_sent(frame):
    with fuzz_allowances():
        received(*frame)


@settings(FUZZ, max_examples=60)
@given(st.integers(0, 2**64 - 1) | st.integers(0, 64), st.integers(0, 2**32 - 1) | st.integers(0, 64),
       st.binary(max_size=80))
def test_recv_raises_only_wire_errors_or_eof(total, json_len, body):
    a, b = socket.socketpair()
    with a, b:
        a.sendall(struct.pack("!QI", total, json_len) + body)
        a.shutdown(socket.SHUT_WR)
        try:
            wire.recv(b)
        except (wire.WireError, EOFError):
            pass
