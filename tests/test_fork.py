"""Fork after the set-up: a kernel forked from the set-up's state computes what a straight run computes."""

import nbformat
import pytest

from autograder.executor import Limits, run_notebook
from autograder.reconstruct import reconstruct
from autograder.sandbox import KernelLauncher
from autograder.worker import setup_of

from adversarial import corpus
from adversarial import tiny_course as tc

pytestmark = pytest.mark.slow

SEEDED = "print('draws', np.random.rand(3).round(6).tolist(), torch.rand(2).round(decimals=6).tolist())\n"


def _printed(run, rec) -> list[str]:
    return ["".join(o.get("text", "") for o in c.outputs if o.get("output_type") == "stream") for c in run.cells]


def test_forked_and_straight_runs_print_the_same_numbers_and_scores(tmp_path):
    source = tc.source_notebook()
    source.cells[1].source += "\nimport torch\n" + SEEDED          # the set-up draws from the seeded RNGs...
    source.cells.insert(3, nbformat.v4.new_code_cell(SEEDED))        # ...and so does a cell after it
    release = tc.student_version(source)
    submission = corpus.fill(release, square=corpus.SQ_OK, double=corpus.DB_WRONG)
    rec = reconstruct(source, release, submission)
    shared, examiner = setup_of(rec.plan)
    limits = Limits(cell_timeout=30, notebook_timeout=120, threads=1)
    runs = {}
    for straight in (False, True):
        launcher = KernelLauncher(False, shared, {"DEVICE": "cpu"}, straight=straight, examiner_cells=examiner)
        try:
            runs[straight] = run_notebook(rec.plan, launcher, limits)
        finally:
            launcher.close()
    forked, plain = runs[False], runs[True]
    assert not forked.failure and not plain.failure, (forked.failure, plain.failure)
    assert _printed(forked, rec) == _printed(plain, rec)
    assert any("draws" in text for text in _printed(forked, rec)[1:])  # a cell after the set-up printed numbers
    assert [(c.grade_id, c.status) for c in forked.cells if c.kind == "test"] == \
        [(c.grade_id, c.status) for c in plain.cells if c.kind == "test"] == [("test_square", "ok"), ("test_double", "error")]


PARALLEL = '''
import numba

@numba.njit(parallel=True, cache=False)
def _row_sums(a):
    out = np.empty(a.shape[0])
    for i in numba.prange(a.shape[0]):
        out[i] = a[i].sum()
    return out

print("parallel", _row_sums(np.ones((64, 3))).sum(), numba.threading_layer())
'''


def test_parallel_numba_in_the_set_ups_does_not_kill_the_forks():
    """UMAP without a seed runs numba's parallel code; a kernel or examiner forked after it must still live."""
    source = tc.source_notebook()
    source.cells[1].source += "\n" + PARALLEL      # the shared set-up (the zygote: every kernel forks from it)
    source.cells[2].source += "\n" + PARALLEL      # the examiner-only set-up (every examiner forks from it)
    release = tc.student_version(source)
    rec = reconstruct(source, release, corpus.fill(release, square=corpus.SQ_OK, double=corpus.DB_WRONG))
    shared, examiner = setup_of(rec.plan)
    launcher = KernelLauncher(False, shared, {"DEVICE": "cpu"}, examiner_cells=examiner)
    try:
        run = run_notebook(rec.plan, launcher, Limits(cell_timeout=60, notebook_timeout=180, threads=2))
    finally:
        launcher.close()
    assert not run.failure, run.failure
    assert [(c.grade_id, c.status) for c in run.cells if c.kind == "test"] == [("test_square", "ok"), ("test_double", "error")]
