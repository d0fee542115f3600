import os
import re

import pytest

from autograder.course import Course

# Tests never reach the hub: models come from the pip packages that ship them.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def course():
    return Course()


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """The sample class graded through nbgrader in a scratch grading folder (the repo's own is untouched).

    Slow (about 4 minutes) because it is the real thing: four assignments, three students each, real models,
    the full sandbox. Built once per session and shared by the sample-class and claims tests."""
    from autograder.gradebook import grades
    from autograder.pipeline import grade
    from autograder.sample_class import build_sample_class

    scratch = Course(work=tmp_path_factory.mktemp("grading"))
    for assignment in scratch.assignments():
        build_sample_class(scratch, assignment)
    report = grade(scratch, device="cpu", progress=False, log=lambda *_: None)
    assert not report["errors"], report["errors"]
    return scratch, grades(scratch)


class Secrets:
    """What of a source notebook must never reach students: its solutions, hidden tests and examiner-only cells."""

    BLOCK = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", flags=re.S)

    def public(self, source: str) -> str:
        """A cell's source without its solution and hidden-test blocks: what the instructor shows openly."""
        return self.BLOCK.sub("", source)

    def lines(self, source_nb) -> list[str]:
        """The non-trivial lines (over 25 characters) of a source notebook's solutions, hidden tests and
        examiner-only cells:
        none of them may reach students, unless the instructor also shows the same line in the open (a visible
        test repeating a call, an API example in the text)."""
        from autograder.reconstruct import is_examiner

        shown = [cell for cell in source_nb.cells if not is_examiner(cell)]
        public = "\n".join(self.public(cell.source) for cell in shown)
        blocks = [block for cell in shown for _, block in self.BLOCK.findall(cell.source)]
        blocks += [cell.source for cell in source_nb.cells if is_examiner(cell)]  # examiner-only cells, whole
        return [line.strip() for block in blocks for line in block.splitlines()
                if len(line.strip()) > 25 and line.strip() not in public]


@pytest.fixture(scope="session")
def secrets() -> Secrets:
    return Secrets()
