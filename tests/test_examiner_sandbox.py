"""The examiner's own sandbox: a test cell (trusted code, run on untrusted data) cannot write the host or reach it.

Graded through the real pipeline on a variant of the tiny course whose hidden test tries, from the
examiner, to write the course checkout, the Python environment, the course and grading folders and
/var/tmp, to read a file in the host's /tmp and to connect to a port this test listens on; the test
cell passes (and the submission scores 2) only when every attempt failed and its own scratch
(/tmp and home) stayed writable.
"""
import os
import socket
import sys
import uuid
from pathlib import Path

import numpy
import pytest

from autograder.executor import Limits
from autograder.gradebook import summaries
from autograder.pipeline import grade
from autograder.sandbox import can_isolate

from adversarial import corpus
from adversarial import tiny_course as tc

pytestmark = [pytest.mark.slow, pytest.mark.root,
              pytest.mark.skipif(not can_isolate(), reason="the examiner's sandbox needs root (namespaces, uids)")]

PROBE = """
import os, socket, tempfile
_escaped = []
for _path in {targets!r}:
    try:
        with open(_path, 'x') as _f:
            _f.write('written by the examiner')
        _escaped.append(_path)
    except OSError:
        pass
try:
    _escaped.append('read the host /tmp: ' + open({host_file!r}).read())
except OSError:
    pass
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=3).close()
    _escaped.append('connected to 127.0.0.1:{port}')
except OSError:
    pass
for _own in (tempfile.gettempdir(), os.path.expanduser('~')):  # its own scratch stays writable
    with open(os.path.join(_own, {name!r}), 'w') as _f:
        _f.write('scratch')
assert not _escaped, f"the examiner escaped its sandbox: {{_escaped}}"
"""


def test_examiner_cannot_write_the_host_or_reach_the_network(tmp_path):
    name = f"ag-examiner-probe-{uuid.uuid4().hex[:8]}"
    root = tmp_path / "course"
    work = root / "grading"
    site = Path(numpy.__file__).resolve().parent.parent
    targets = [tc.REPO / name, Path(sys.prefix) / name, Path(os.path.realpath(sys.prefix)) / name, site / name,
               root / name, work / name, Path("/var/tmp") / name]
    host_file = Path("/tmp") / f"{name}-host"
    host_file.write_text("a host file")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    probe = PROBE.format(targets=[str(t) for t in targets], host_file=str(host_file), port=listener.getsockname()[1],
                         name=name)
    course = tc.make_course(root, source=tc.with_hidden_code(probe))
    tc.submit(course, "probe", corpus.fill(tc.release_notebook(course), square=corpus.SQ_OK, double=corpus.DB_OK))
    try:
        report = grade(course, jobs=1, limits=Limits(cell_timeout=30, notebook_timeout=120, threads=1),
                       progress=False, log=lambda *_: None, preload_models=False)
        assert not report["errors"], report["errors"]
        result = {s["student"]: s for s in summaries(course)}["probe"]
        tests = result["notebooks"][tc.NOTEBOOK]["tests"]
        assert result["score"] == 2, [t["message"] for t in tests]
        assert result["notebooks"][tc.NOTEBOOK]["leftovers"] == []
        written = [str(t) for t in targets + [Path("/tmp") / name] if t.exists()]
        assert not written, f"the examiner wrote {written}"
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
        host_file.unlink()
        for target in targets + [Path("/tmp") / name]:
            if target.exists():
                target.unlink()
