"""The examiner's protocol, one test per rule of autograder/PROTOCOL.md, against a hostile kernel.

The student's side is played by a thread that speaks the wire format directly and sends whatever a
student who rewrote the agent could send. Fast tier: no kernel, no sandbox.
"""
import socket
import threading
import time

import numpy as np
import pytest

from autograder import wire
from autograder.agent import Agent
from autograder.dataflow import student_names
from autograder.examiner import Examiner, Remote, StudentError

SETUP = {"np": np}


class Hostile:
    """An examiner whose peer answers every request with `reply(request)` (a tree, or None to go silent)."""

    def __init__(self, reply, setup: dict | None = None):
        import IPython.core.interactiveshell as ish

        self.a, self.b = socket.socketpair()
        self.reply = reply
        self.requests: list = []
        self.setup = dict(SETUP, **(setup or {}))
        self.remote = Remote(self.a, self.setup)
        self.shell = ish.InteractiveShell.instance()
        self.shell.user_ns.update(self.setup)
        self.examiner = Examiner(self.shell, self.remote)

    def _serve(self):
        while True:
            try:
                tree, _ = wire.recv(self.b)
            except (EOFError, OSError, wire.WireError):
                return
            self.requests.append(tree)
            if tree.get("op") == "done":
                return
            answer = self.reply(tree)
            if answer is None:
                return
            self.b.sendall(wire.pack(answer, []))

    def test(self, source: str, names: list[str], timeout: float = 10) -> dict:
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        try:
            return self.examiner.run(source, names, timeout=timeout)
        finally:
            thread.join(5)


def handle_for(names):
    """A first reply that hands the test a callable handle for each name, then `then` for the calls."""
    return {"values": {n: {"$h": 1, "type": "function", "callable": True} for n in names}}


@pytest.mark.parametrize("forged", [
    {"$global": ["__main__", "expected"]},          # the examiner's own namespace
    {"$global": ["os", "system"]},                  # a library function of the examiner's
    {"$module": "shutil"},
    {"$ref": "model"},                              # a set-up object by name
    {"$cb": "0" * 32},                              # a callback token the examiner never issued
    {"$missing": True, "$h": "x"},
    {"$nd": 0, "dtype": "object", "shape": [1]},
])
def test_nothing_the_kernel_sends_is_resolved_as_a_name(forged):
    """Rule 1: replies hold plain data, handles (new proxies) and generator states; any other reference fails."""
    model = object()
    examiner = Hostile(lambda req: handle_for(["f"]) if req["op"] == "get" else {"value": forged},
                       setup={"model": model, "expected": 42})
    examiner.shell.user_ns.pop("got", None)  # the shell is IPython's one instance, shared by the tests
    result = examiner.test("got = f(1)\n", ["f"])
    assert result["status"] == "error" and result["ename"] in ("WireError", "StudentError"), result
    assert "got" not in examiner.shell.user_ns


def test_a_handle_is_a_new_proxy_never_an_examiner_object():
    examiner = Hostile(lambda req: handle_for(["f"]) if req["op"] == "get" else
                       {"value": {"$h": id(SETUP["np"]), "type": "module", "callable": False}})
    result = examiner.test("got = f(1)\nassert got is not np and type(got).__name__ == 'Handle'\n", ["f"])
    assert result["status"] == "ok", result


def test_requests_name_only_what_the_student_bound():
    """Rule 2: a hidden test's own names (expected, *_reference) never reach the kernel."""
    cells = [{"kind": "locked", "source": "import numpy as np\ndef f_reference(x):\n    return x"},
             {"kind": "answer", "source": "def f(x):\n    return x"},
             {"kind": "test", "source": "expected = f_reference(3)\n_hidden_input = 3\nassert f(_hidden_input) == expected"}]
    assert student_names(cells, setup_count=1) == {2: ["f"]}
    examiner = Hostile(lambda req: handle_for(["f"]) if req["op"] == "get" else {"value": 3})
    examiner.test(cells[2]["source"], student_names(cells, 1)[2])
    sent = repr(examiner.requests)
    assert "expected" not in sent and "_reference" not in sent and "_hidden_input" not in sent


def test_arguments_go_as_copies_and_changes_are_reported_never_copied_back():
    """Rule 3: a student function that zeroes its input changes its own copy; the test sees the change reported."""
    def zero(x):
        x[:] = 0
        return x.sum()

    a, b = socket.socketpair()
    agent = Agent(b, {"zero": zero}, SETUP)
    import IPython.core.interactiveshell as ish
    shell = ish.InteractiveShell.instance()
    shell.user_ns.update(SETUP)
    examiner = Examiner(shell, Remote(a, SETUP))
    thread = threading.Thread(target=agent)
    thread.start()
    result = examiner.run("from embedkit.checks import call_tracking\nX = np.ones(3)\nzero(X)\n"
                          "assert (X == 1).all(), 'copied back'\n"
                          "call = call_tracking(zero, X)\nassert list(call.changed) == ['0'] and (call.changed['0'] == 0).all()\n"
                          "assert (X == 1).all()\n", ["zero"], timeout=30)
    thread.join(10)
    assert result["status"] == "ok", result


def test_callback_tokens_are_random_and_last_one_test():
    """Rule 4: a callback token is the examiner's own, unguessable, and expires with its test."""
    seen = {}

    def reply(req):
        if req["op"] == "get":
            return handle_for(["f"])
        tokens = [v["$cb"] for v in req["args"] if isinstance(v, dict) and "$cb" in v]
        if tokens:
            seen.setdefault("token", tokens[0])
        return {"value": 1}

    examiner = Hostile(reply)
    assert examiner.test("f(lambda x: x)\n", ["f"])["status"] == "ok"
    token = seen["token"]
    assert isinstance(token, str) and len(token) >= 32 and not examiner.remote.callbacks

    def replay(req):  # the next test: call the old callback
        if req.get("op") == "get":
            return handle_for(["f"])
        if req.get("op") == "call":
            return {"callback": token, "args": [], "kwargs": {"$dict": []}}
        return {"value": 0}  # the examiner's answer to the callback came: end the call

    examiner.reply = replay
    examiner.requests.clear()
    result = examiner.test("f(0)\n", ["f"])
    failed = [r for r in examiner.requests if "raised" in r]
    assert failed and "unknown callback" in failed[0]["message"], (result, examiner.requests)


@pytest.mark.parametrize("name", ["SystemExit", "KeyboardInterrupt", "GeneratorExit", "StopIteration", "print",
                                  "Warning", "__class__", "x" * 500])
def test_an_error_name_is_data(name):
    """Rule 5: a student's exception becomes a StudentError; its name is looked up in a fixed table only."""
    examiner = Hostile(lambda req: handle_for(["f"]) if req["op"] == "get" else
                       {"raised": name, "message": "\x1b[31m\ud800", "builtin": True})
    result = examiner.test("try:\n    f(1)\nexcept BaseException as error:\n    caught = error\n", ["f"])
    assert result["status"] == "ok", result
    caught = examiner.shell.user_ns["caught"]
    assert isinstance(caught, StudentError) and isinstance(caught, Exception)
    assert not isinstance(caught, (SystemExit, KeyboardInterrupt, GeneratorExit, StopIteration, Warning))
    assert "\x1b" not in str(caught) and len(str(caught)) < 700


def test_a_kernel_that_stops_reading_fails_the_test_in_time():
    """Rule 6: every write has the test's deadline; a kernel that stops reading never blocks the examiner."""
    a, b = socket.socketpair()
    import IPython.core.interactiveshell as ish
    shell = ish.InteractiveShell.instance()
    shell.user_ns.update(SETUP)
    examiner = Examiner(shell, Remote(a, SETUP))

    def stop_reading():
        wire.recv(b)
        b.sendall(wire.pack(handle_for(["f"]), []))
        time.sleep(3600)  # alive, but never reads again (and ignores interrupts)

    threading.Thread(target=stop_reading, daemon=True).start()
    started = time.monotonic()
    result = examiner.run("f(np.zeros(4_000_000))\n", ["f"], timeout=3)
    assert result["status"] == "error" and "stopped reading" in result["evalue"], result
    assert time.monotonic() - started < 15
    result = examiner.run("f(1)\n", ["f"], timeout=3)  # the next test fails at once, with the same reason
    assert result["status"] == "error" and "stopped reading" in result["evalue"], result


def test_a_reply_that_stops_half_way_fails_the_test_in_time():
    a, b = socket.socketpair()
    import IPython.core.interactiveshell as ish
    shell = ish.InteractiveShell.instance()
    examiner = Examiner(shell, Remote(a, SETUP))

    def half():
        wire.recv(b)
        b.sendall(wire.pack(handle_for(["f"]), [])[:20])
        time.sleep(3600)

    threading.Thread(target=half, daemon=True).start()
    started = time.monotonic()
    result = examiner.run("f(1)\n", ["f"], timeout=2)
    assert result["status"] == "error" and "half-way" in result["evalue"], result
    assert time.monotonic() - started < 12
