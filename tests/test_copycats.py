"""Copycat mutants are generated from what the release shows, never from examiner-only cells."""
import ast

import nbformat

from autograder.copycats import generate

from adversarial import tiny_course as tc


def _leaky_source():
    """The tiny course with its reference moved back into the shared set-up, where students see it."""
    nb = tc.source_notebook()
    setup = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    setup.source += "\ndef double_reference(x):\n    return np.asarray(x, dtype=float) * 2\n"
    return nb


def test_a_visible_reference_gets_copycats_that_copy_and_call_it():
    source = _leaky_source()
    entries = generate(source, tc.student_version(source))
    copied = [e for e in entries if e.cell == "double" and "double_reference" in e.name]
    assert {e.name.rsplit("(", 1)[1] for e in copied} == {"as is)", "np.asarray)"}  # the docstring promises an ndarray
    for entry in copied:
        tree = ast.parse(entry.source)
        assert {n.name for n in tree.body if isinstance(n, ast.FunctionDef)} == {"double_reference", "double"}
        assert "double_reference(x)" in entry.source and entry.copycat and not entry.correct


def test_examiner_only_references_get_no_copycat():
    source = tc.source_notebook()
    assert not [e for e in generate(source, tc.student_version(source)) if "double_reference" in e.name]


def test_an_allowed_delegation_is_not_generated():
    source = _leaky_source()
    entries = generate(source, tc.student_version(source), allowed={("double", "double_reference")})
    assert not [e for e in entries if "double_reference" in e.name]


def test_a_method_the_release_calls_is_a_copycat_when_its_name_fits():
    source = tc.source_notebook()
    release = tc.student_version(source)
    release.cells.insert(2, nbformat.v4.new_code_cell("helper = Doubler()\nhelper.double([1])\nhelper.unrelated(2)"))
    names = {e.name for e in generate(source, release)}
    assert "copycat: double -> helper.double (as is)" in names
    assert not [n for n in names if "unrelated" in n]
