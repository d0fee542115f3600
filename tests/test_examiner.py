"""The examiner's boundary, in one process: what crosses between a student's kernel and the tests.

The agent (student side) runs in a thread over a socket pair, exactly the protocol
of a graded kernel, so these tests are fast and need no sandbox.
"""
import socket
import threading

import numpy as np
import pandas as pd
import pytest
import torch

from autograder import wire
from autograder.agent import Agent
from autograder.dataflow import student_names
from autograder.examiner import Examiner, Handle, Remote, StudentError


def roundtrip(value):
    buffers = []
    tree = wire.encode(value, buffers)
    data = wire.pack(tree, buffers)
    total, json_len = wire._HEADER.unpack_from(data)
    return wire.decode(*wire.unpack(data[wire._HEADER.size:], json_len))


def test_plain_data_round_trips_exactly():
    value = {"a": [1, 2.5, None, True, "é"], 3: (1, 2), "s": {1, 2}, "big": 2**80, "nan": float("nan"),
             "arr": np.arange(6, dtype=np.float32).reshape(2, 3), "i8": np.int8(-3), "b": b"\x00\xff",
             "t": torch.ones(2, dtype=torch.float64), "strs": np.array(["x", "yz"]), "r": range(2, 9, 3)}
    out = roundtrip(value)
    assert out["a"] == [1, 2.5, None, True, "é"] and out[3] == (1, 2) and out["s"] == {1, 2} and out["big"] == 2**80
    assert np.isnan(out["nan"]) and out["b"] == b"\x00\xff" and out["r"] == range(2, 9, 3)
    assert out["arr"].dtype == np.float32 and out["arr"].shape == (2, 3) and out["arr"][1, 2] == 5
    assert isinstance(out["i8"], np.int8) and out["i8"] == -3
    assert isinstance(out["t"], torch.Tensor) and out["t"].dtype == torch.float64
    assert list(out["strs"]) == ["x", "yz"]
    frame = roundtrip(pd.DataFrame({"q": ["a", "b"], "n": [1.5, 2.0]}, index=[10, 20]))
    assert list(frame.columns) == ["q", "n"] and list(frame.index) == [10, 20] and frame.n.dtype == np.float64


def test_decoding_refuses_anything_but_plain_data():
    with pytest.raises(wire.Unsendable):
        wire.encode(np.array([object()], dtype=object), [])
    with pytest.raises(wire.Unsendable):
        wire.encode(object(), [])
    with pytest.raises(wire.WireError):  # a buffer that does not match its shape
        wire.decode({"$nd": 0, "dtype": "float64", "shape": [3], "scalar": False}, [b"\x00" * 8])
    with pytest.raises(wire.WireError):  # no object dtype, no pickle
        wire.decode({"$nd": 0, "dtype": "object", "shape": [1], "scalar": False}, [b"\x00" * 8])
    with pytest.raises(wire.WireError):  # tagged nodes need a resolver the caller trusts
        wire.decode({"$h": 1}, [])


def test_decoding_costs_what_was_sent():
    """Compact data that would cost the examiner minutes or gigabytes is refused, quickly (red team)."""
    import time

    colliding = [k * (2**61 - 1) for k in range(1, 100_001)]  # all hash alike: a set of them is quadratic
    started = time.monotonic()
    for tree in ({"$set": [{"$bigint": str(k)} for k in colliding]},
                 {"$dict": [[{"$bigint": str(k)}, 0] for k in colliding]},
                 {"$range": [0, 10**12, 1]},                      # np.asarray of it: 8 TB
                 {"$strarray": [], "shape": [3_000_000_000]}):   # an "empty" array of 3e9 strings
        with pytest.raises(wire.WireError):
            wire.decode(tree, [])
    with pytest.raises(wire.WireError, match="out of time"):  # 10 million numbers, past the deadline
        wire.decode([0] * 10_000_000, [], deadline=time.monotonic() - 1)
    assert time.monotonic() - started < 5
    assert roundtrip({k: k for k in range(100_000)})[99_999] == 99_999 and roundtrip(set(range(1000))) == set(range(1000))
    assert roundtrip(range(10**6)) == range(10**6) and roundtrip(np.array([], dtype=str).reshape(0, 3)).shape == (0, 3)
    assert wire.decode([[1, 2]] * 1000, [], deadline=time.monotonic() + 60) == [[1, 2]] * 1000


def test_student_names_follow_the_notebooks_own_order():
    cells = [
        {"kind": "locked", "source": "import numpy as np\nW = np.eye(2)\ndef ref(x):\n    return x"},
        {"kind": "answer", "source": "def f(x):\n    return x\nW = 3"},
        {"kind": "test", "source": "assert f(W) is not None and ref(1) == 1 and len([1]) == 1"},
        {"kind": "test", "source": "got = f(2)"},
        {"kind": "test", "source": "assert got == 2 and np.all(W)"},
    ]
    names = student_names(cells, setup_count=1)
    assert names[2] == ["W", "f"]        # W was rebound by the answer cell: the student's
    assert names[3] == ["f"]
    assert names[4] == ["W"]             # got: bound by a test, the examiner's own


class Pair:
    """An examiner and an agent connected as in grading, the agent serving in a thread."""

    def __init__(self, namespace: dict, setup: dict | None = None):
        import IPython.core.interactiveshell as ish

        self.a, self.b = socket.socketpair()
        self.agent = Agent(self.b, namespace, setup or {})
        self.remote = Remote(self.a, setup or {})
        self.shell = ish.InteractiveShell.instance()
        self.shell.user_ns.update(setup or {})
        self.examiner = Examiner(self.shell, self.remote)

    def test(self, source: str, names: list[str]) -> dict:
        thread = threading.Thread(target=self.agent)
        thread.start()
        try:
            return self.examiner.run(source, names, timeout=30)
        finally:
            thread.join(10)


def test_functions_handles_callbacks_and_errors_cross_as_data():
    class Index:
        def __init__(self):
            self.items = []

        def add(self, x):
            self.items.append(x)
            return len(self.items)

    def student_fn(x, rng=None, out=None):
        if out is not None:
            out[:] = 7
        return np.asarray(x) * 2 + (rng.random() if rng is not None else 0)

    def numerical(f, x):
        return f(x + 1) - f(x)

    def fails(x):
        raise ValueError(f"bad input {x}")

    ns = {"double": student_fn, "Index": Index, "numerical": numerical, "fails": fails,
          "shared": np.arange(3.0)}
    pair = Pair(ns, setup={"np": np, "shared": ns["shared"]})
    result = pair.test(
        "assert (double([1, 2]) == [2, 4]).all()\n"
        "idx = Index()\nassert idx.add('a') == 1 and idx.add('b') == 2 and len(idx.items) == 2\n"
        "from embedkit.checks import call_tracking\n"
        "buf = np.zeros(2)\ncall = call_tracking(double, [0, 0], out=buf)\n"
        "assert (buf == 0).all() and list(call.changed) == ['out'] and (call.changed['out'] == 7).all()\n"
        "double([0, 0], out=buf)\nassert (buf == 0).all()  # arguments go as copies: never written back\n"
        "g = np.random.default_rng(0)\nfirst = double([0], rng=g)[0]\nsecond = double([0], rng=g)[0]\n"
        "assert first == second  # the student's call advanced its own copy of the generator, never the test's\n"
        "moved = call_tracking(double, [0], rng=g).changed['rng']\nassert moved.random() != g.random()\n"
        "assert numerical(lambda v: v * v, 3) == 7  # a callback runs here\n"
        "try:\n    fails(3)\nexcept ValueError as e:\n    assert 'bad input 3' in str(e)\nelse:\n    raise AssertionError\n"
        "assert double(shared)[2] == 4  # a set-up object by reference\n",
        ["double", "Index", "numerical", "fails"])
    assert result["status"] == "ok", result
    assert isinstance(pair.shell.user_ns["idx"], Handle)
    result = pair.test("idx.add('c')\nassert len(idx.items) == 3", [])  # a handle lives on in later tests
    assert result["status"] == "ok", result


def test_a_liar_cannot_pass_and_a_stub_fails_with_its_own_error():
    class Liar:
        def __eq__(self, other):
            return True

    def liar(x):
        return Liar()

    def stub(x):
        raise NotImplementedError()

    pair = Pair({"liar": liar, "stub": stub}, setup={"np": np})
    result = pair.test("from embedkit.checks import assert_close\nassert_close(liar([1]), [2])", ["liar"])
    assert result["status"] == "error" and result["ename"] == "AssertionError"
    result = pair.test("stub(1)", ["stub"])
    assert result["status"] == "error" and result["ename"] == "NotImplementedError"
    # The test sees the student's own exception as data: a StudentError that is also the builtin it names,
    # so a test's `except NotImplementedError` catches it (and nothing of the student's code object crosses).
    result = pair.test("try:\n    stub(1)\nexcept NotImplementedError as error:\n    caught = error\n"
                       "else:\n    raise AssertionError('no error')", ["stub"])
    assert result["status"] == "ok", result
    caught = pair.shell.user_ns["caught"]
    assert isinstance(caught, StudentError) and isinstance(caught, NotImplementedError)
    assert type(caught).__name__ == "NotImplementedError"


def test_value_and_grad_runs_where_the_function_lives():
    def loss(w, x):
        return ((w * x) ** 2).sum()

    def leaves_torch(w, x):
        return torch.tensor(float(np.sum(np.asarray(w.detach()) * 2)))

    pair = Pair({"loss": loss, "leaves_torch": leaves_torch}, setup={"np": np})
    result = pair.test(
        "from embedkit.checks import value_and_grad, assert_close\n"
        "v, (gw, gx) = value_and_grad(loss, np.array([1.0, 2.0]), np.array([3.0, 1.0]))\n"
        "assert_close(v, 9 + 4)\nassert_close(gw, [18.0, 4.0])\n"
        "try:\n    value_and_grad(leaves_torch, np.ones(2), np.ones(2))\nexcept AssertionError:\n    pass\n"
        "else:\n    raise AssertionError('a loss outside torch must be caught')\n", ["loss", "leaves_torch"])
    assert result["status"] == "ok", result


def test_cuda_never_reaches_the_zygote(monkeypatch):
    """On CUDA the set-up runs on the CPU in the zygote (for the examiner) and again in each kernel on the GPU."""
    from autograder.sandbox import KernelLauncher

    monkeypatch.setenv("DB_URL", "postgresql://grader:secret@db/course")
    gpu = KernelLauncher(False, ["x = 1"], {"DEVICE": "cuda"})
    cpu = KernelLauncher(False, ["x = 1"], {"DEVICE": "cpu"})
    assert gpu.rerun_setup and gpu.zygote_env()["DEVICE"] == "cpu"
    assert not cpu.rerun_setup and cpu.zygote_env()["DEVICE"] == "cpu"
    assert "DB_URL" not in gpu.zygote_env()  # secrets never reach a zygote, so never a kernel


def test_set_up_objects_stay_the_examiners_own():
    """A student call that changes a set-up object changes the student's copy; the examiner's stays as set up,
    and what the call returns is the student's (changed) object."""
    fixture = np.arange(4.0)
    student_copy = fixture.copy()

    def corrupt_and_return(values):
        values[:] = 0.0
        return values

    pair = Pair({"corrupt_and_return": corrupt_and_return}, setup={"np": np, "fixture": fixture})
    pair.agent.setup["fixture"] = student_copy  # the student kernel's own copy of the set-up (a fork in grading)
    pair.agent.setup_ids = {id(student_copy): "fixture"}
    result = pair.test("got = corrupt_and_return(fixture)\nassert (np.asarray(got) == 0).all()\n"
                       "assert (fixture == np.arange(4.0)).all(), 'the examiner copy changed'", ["corrupt_and_return"])
    assert result["status"] == "ok", result
