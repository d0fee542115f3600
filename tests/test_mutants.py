"""Mutation testing in the suite: every assignment's catalogue graded through the real grader, in one batch.

Each entry of solutions/<assignment>/mutants.py replaces one answer cell of the perfect submission.
The hidden and visible tests must take points from at least 95% of the wrong answers (mutants) and
leave every correct alternative at full marks. Every entry runs (no sampling), in one batch with the
set-up forked per submission. An entry runs only the tests its changed answer cell can reach and the
cells they need (autograder.dataflow); its other tests take the outcome of the solution's own full run in the same batch,
and a mutant's run stops at its first failed test. A fixed stratified sample (per exercise, its first
mutant and first alternative) is also graded in full, and must get the same verdicts and points.
Beside the catalogue, copycat mutants generated from what each release shows outside answer cells
(autograder.copycats) must all lose points: nothing the student sees computes a graded answer.
"""
import pytest

from autograder.course import Course
from autograder.mutants import catalogue, differences, graded, primary, report, setup_changes, stratified

pytestmark = pytest.mark.slow

COURSE = Course()
ASSIGNMENTS = [a for a in COURSE.assignments() if catalogue(COURSE, a)]


@pytest.fixture(scope="module")
def outcomes():
    """About 700 pruned entries, the four solutions and 74 sample entries in full: one batch, about 45 minutes
    on two cores, most of the suite (the correct alternatives must run every cell they reach)."""
    return graded(COURSE, ASSIGNMENTS, jobs=2, log=lambda *_: None, compare=stratified)


def test_every_assignment_has_a_catalogue():
    assert ASSIGNMENTS == COURSE.assignments()
    for assignment in ASSIGNMENTS:
        entries = catalogue(COURSE, assignment)
        mutants = sum(not e.correct for e in entries)
        alternatives = sum(e.correct for e in entries)
        assert mutants >= 40 and alternatives >= 10, f"{assignment}: {mutants} mutants, {alternatives} alternatives"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_tests_catch_mutants_and_pass_alternatives(outcomes, assignment):
    lines = []
    summary = report(outcomes[assignment], assignment, log=lines.append)
    missed = [o for o in outcomes[assignment] if not o.ok and o.pruned and not o.entry.copycat]
    detail = "\n".join(f"{'alternative' if o.entry.correct else 'mutant'} {o.entry.cell}/{o.entry.name}: "
                       f"-{o.lost:g} {o.error[-300:] if o.error else ''}" for o in missed)
    assert summary["mutation_score"] >= 0.95, f"{assignment}: mutation score {summary['mutation_score']:.1%}\n{detail}"
    assert summary["alternatives_ok"] == summary["alternatives"], f"{assignment}: alternatives lost points\n{detail}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_pruning_changes_no_verdict(outcomes, assignment):
    sample = stratified(catalogue(COURSE, assignment, copycats=True))
    full = [o for o in outcomes[assignment] if not o.pruned]
    assert len(full) == len(sample) and {o.entry.cell for o in full} == {e.cell for e in sample}
    assert not any(o.error for o in full), [o.error[-300:] for o in full if o.error]
    assert differences(outcomes[assignment]) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_copycat_loses_points(outcomes, assignment):
    """An answer that copies or calls a function, method or object the release shows never keeps full marks."""
    copied = [o for o in primary(outcomes[assignment]) if o.entry.copycat]
    assert copied, f"{assignment}: no copycat was generated"
    kept = [f"{o.entry.cell}: {o.entry.name} {o.error[-200:] if o.error else 'full marks'}" for o in copied if not o.ok]
    assert not kept, f"{assignment}: {len(kept)} of {len(copied)} copycats keep full marks:\n" + "\n".join(kept)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solution_changes_no_set_up_object(assignment):
    """The one assumption of the pruned runs: the solution's cells and tests leave the set-up's objects as they were."""
    assert setup_changes(COURSE, assignment) == []
