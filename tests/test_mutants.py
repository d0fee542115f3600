"""Mutation testing in the suite: every assignment's catalogue graded through the real grader, in one batch.

Each entry of solutions/<assignment>/mutants.py replaces one answer cell of the perfect submission.
The hidden and visible tests must take points from at least 95% of the wrong answers (mutants) and
leave every correct alternative at full marks. All entries run (no sampling), in one batch of about 550
submissions with the set-up forked per submission; a mutant's run stops at its first failed test.
"""
import pytest

from autograder.course import Course
from autograder.mutants import catalogue, graded, report

pytestmark = pytest.mark.slow

COURSE = Course()
ASSIGNMENTS = [a for a in COURSE.assignments() if catalogue(COURSE, a)]


@pytest.fixture(scope="module")
def outcomes():
    return graded(COURSE, ASSIGNMENTS, jobs=2, log=lambda *_: None)


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
    missed = [o for o in outcomes[assignment] if not o.ok]
    detail = "\n".join(f"{'alternative' if o.entry.correct else 'mutant'} {o.entry.cell}/{o.entry.name}: "
                       f"-{o.lost:g} {o.error[-300:] if o.error else ''}" for o in missed)
    assert summary["mutation_score"] >= 0.95, f"{assignment}: mutation score {summary['mutation_score']:.1%}\n{detail}"
    assert summary["alternatives_ok"] == summary["alternatives"], f"{assignment}: alternatives lost points\n{detail}"
