"""The student-facing tree: everything students need, nothing that gives answers away."""

import nbformat
import pytest

from autograder.course import Course
from autograder.publish import colab_url, publish

REPO = "https://github.com/acme/embeddings-student"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    return publish(Course(), tmp_path_factory.mktemp("student-repo"), course_repo=REPO)


def test_contains_what_students_need(published):
    course = Course()
    for assignment in course.assignments():
        for notebook in course.notebooks(assignment):
            assert (published / "notebooks" / assignment / f"{notebook}.ipynb").is_file()
    assert (published / "embedkit" / "__init__.py").is_file()
    assert (published / "data" / "README.md").is_file()
    assert "autograder" not in (published / "pyproject.toml").read_text().split("[tool.setuptools.packages.find]")[1]


def test_contains_no_solutions_hidden_tests_or_grading(published, secrets):
    course = Course()
    names = {p.relative_to(published).as_posix() for p in published.rglob("*") if p.is_file()}
    assert not [n for n in names if n.startswith(("solutions/", "autograder/", "grading/", "tests/"))], names
    source_texts = {p.read_bytes() for p in course.source.rglob("*") if p.is_file()}
    copied = [n for n in names if (published / n).read_bytes() in source_texts]
    assert not copied, f"files from solutions/ in the published tree: {copied}"
    notebooks = [nbformat.read(path, as_version=4) for path in course.source.rglob("*.ipynb")]
    public = "\n".join(secrets.public(cell.source) for nb in notebooks for cell in nb.cells)
    # a line the instructor shows openly in one notebook (a set-up helper, say) is no leak from another
    hidden = [line for nb in notebooks for line in secrets.lines(nb) if line not in public]
    for name in names:
        if name.endswith((".ipynb", ".py", ".md", ".toml")):
            text = (published / name).read_text()
            for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"):
                assert marker not in text, f"{marker} in {name}"
            leaked = [line for line in hidden if line in text]
            assert not leaked, f"solution or hidden-test lines in {name}: {leaked[:3]}"


def test_notebooks_start_with_the_stamped_colab_setup_cell(published):
    for path in (published / "notebooks").rglob("*.ipynb"):
        first = nbformat.read(path, as_version=4).cells[0]
        assert first.id == "colab-setup" and f'COURSE_REPO = "{REPO}"' in first.source, path


def test_readme_links_every_notebook_to_colab(published):
    readme = (published / "README.md").read_text()
    for path in (published / "notebooks").rglob("*.ipynb"):
        assert colab_url(REPO, path.relative_to(published).as_posix()) in readme


def test_colab_url():
    assert colab_url("https://github.com/a/b.git", "notebooks/x.ipynb") == \
        "https://colab.research.google.com/github/a/b/blob/main/notebooks/x.ipynb"


def test_refuses_to_publish_inside_the_course(tmp_path):
    with pytest.raises(ValueError):
        publish(Course(), Course().root / "public")
