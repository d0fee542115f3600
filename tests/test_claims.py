"""Every interpretive sentence that a notebook checks with `ek.claim` holds on the solution's own run."""
import re

import nbformat
import pytest

from embedkit.claims import PREFIX

from conftest import Course

pytestmark = pytest.mark.slow

ASSIGNMENTS = Course().assignments()
CALL = re.compile(r"\bek\.claim\(")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_claim_holds_on_the_solution(graded_class, assignment):
    course, _ = graded_class
    for notebook in course.notebooks(assignment):
        source = nbformat.read(course.source / assignment / f"{notebook}.ipynb", as_version=4)
        calls = sum(len(CALL.findall(c.source)) for c in source.cells if c.cell_type == "code")
        graded = nbformat.read(course.autograded / "alice" / assignment / f"{notebook}.ipynb", as_version=4)
        lines = [line for c in graded.cells if c.cell_type == "code" for o in c.outputs
                 if o.output_type == "stream" for line in o.text.splitlines() if line.startswith(PREFIX)]
        assert len(lines) >= calls, f"{notebook}: {calls} claims in the source, {len(lines)} printed"
        broken = [line for line in lines if not line.endswith("holds") and " — holds (" not in line]
        assert not broken, f"{notebook}: claims the solution's numbers contradict: {broken}"
