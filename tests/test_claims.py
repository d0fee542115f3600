"""Every interpretive sentence that a notebook checks with `ek.claim` holds on the solution's own run."""
import re

import nbformat
import pytest

from autograder.course import Course
from embedkit.claims import PREFIX

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


# What a clean notebook never prints: a warning ("DeprecationWarning: ...", "FutureWarning: ..."), a transformers
# load report's MISSING row, a tqdm bar ("Loading weights: 100%|████| 103/103").
NOISE = re.compile(r"\b\w*Warning:|MISSING|\d+%\|")


def noise(nb) -> list[str]:
    """The offending lines of a notebook's outputs, each with its cell's index: everything written to stderr, any
    line of stdout or plain text matching NOISE, and any widget (a notebook progress bar is one)."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                if output.name == "stderr":
                    found += [f"cell {index} (stderr): {line}" for line in output.text.splitlines() if line.strip()]
                    continue
                texts = [output.text]
            else:
                data = output.get("data", {})
                if "application/vnd.jupyter.widget-view+json" in data:
                    found.append(f"cell {index}: a widget: {str(data.get('text/plain', '')).strip()[:100]}")
                    continue
                texts = [data.get("text/plain", "")]
            found += [f"cell {index}: {line}" for text in texts for line in str(text).splitlines() if NOISE.search(line)]
    return found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_solution_prints_no_warnings(graded_class, assignment):
    """The solution's graded run (its set-up cells' recorded outputs included) writes nothing to stderr and prints
    no warning, load report or progress bar."""
    course, _ = graded_class
    for notebook in course.notebooks(assignment):
        graded = nbformat.read(course.autograded / "alice" / assignment / f"{notebook}.ipynb", as_version=4)
        found = noise(graded)
        assert not found, f"{notebook}: " + "\n".join(found)
