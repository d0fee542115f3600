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
