"""The grader's CUDA path: the zygote (and so the examiner) runs the set-up on the CPU, each student kernel
runs it again on the GPU, and tensors a test passes land on the kernel's GPU.

The cuda case runs only where torch sees a GPU (it never runs in CI); the cpu case runs the same
notebook everywhere, so the test itself stays checked.
"""
import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook

from autograder.executor import Limits, run_notebook
from autograder.reconstruct import reconstruct
from autograder.sandbox import KernelLauncher
from autograder.worker import setup_of

pytestmark = pytest.mark.slow

SETUP = """import numpy as np
import torch
import embedkit as ek
from embedkit.checks import assert_close
DEVICE = ek.setup(seed=0)
torch.set_num_threads(1)
W = torch.randn(4, 3, generator=torch.Generator().manual_seed(0)).to(DEVICE)
layer = torch.nn.Linear(3, 2).to(DEVICE)"""

ANSWER = '''def project(x):
    """x: a float32 tensor (n, 4) -> (n, 3), x @ W, on W's device."""
    return layer(x.to(W.device) @ W)


def where():
    """The device the set-up's objects live on, as text."""
    return f"{W.device.type} {next(layer.parameters()).device.type}"'''

SHOW = 'print("kernel device:", where(), torch.cuda.is_initialized())'

TEST_PROJECT = """x = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
assert_close(project(x), layer(x @ W).detach(), "project(x)", rtol=1e-4, atol=1e-5)"""

TEST_WHERE = """got = where()
assert got == "{0} {0}", f"the kernel's set-up objects live on {{got!r}}, expected {0!r}"
assert not torch.cuda.is_initialized(), "the examiner touched CUDA: it must stay on the CPU"
"""


def _notebook(expected: str):
    def meta(grade_id, **kw):
        return {"nbgrader": {"grade_id": grade_id, "schema_version": 3, "task": False, "grade": kw.get("grade", False),
                             "solution": kw.get("solution", False), "locked": kw.get("locked", False),
                             **({"points": 1} if kw.get("grade") else {})}}
    cells = [new_code_cell(SETUP, metadata=meta("setup", locked=True)),
             new_code_cell(ANSWER, metadata=meta("answer", solution=True)),
             new_code_cell(SHOW, metadata=meta("show", locked=True)),
             new_code_cell(TEST_PROJECT, metadata=meta("test_project", grade=True, locked=True)),
             new_code_cell(TEST_WHERE.format(expected), metadata=meta("test_where", grade=True, locked=True))]
    for cell in cells:
        cell["id"] = cell.metadata["nbgrader"]["grade_id"]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.from_dict(nb)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"))])
def test_set_up_objects_and_test_tensors_live_on_the_kernels_device(device):
    nb = _notebook(device)
    rec = reconstruct(nb, nb, nb)
    shared, examiner = setup_of(rec.plan)
    launcher = KernelLauncher(False, shared, {"DEVICE": device}, examiner_cells=examiner)
    try:
        run = run_notebook(rec.plan, launcher, Limits(cell_timeout=120, notebook_timeout=300, threads=1))
    finally:
        launcher.close()
    assert not run.failure, run.failure
    printed = "".join(o.get("text", "") for c in run.cells for o in c.outputs if o.get("output_type") == "stream")
    assert f"kernel device: {device} {device} {device == 'cuda'}" in printed, printed
    tests = [(c.grade_id, c.status, c.evalue) for c in run.cells if c.kind == "test"]
    assert tests == [("test_project", "ok", ""), ("test_where", "ok", "")], tests
