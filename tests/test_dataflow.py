"""The static name analysis behind pruned mutation runs: what a changed answer cell can reach, conservatively."""
from pathlib import Path

import pytest

from autograder.dataflow import cross_charges, effects, reach, schedule, student_names

SETUP = ("import numpy as np\n"
         "data = np.arange(6.0)\n"
         "def helper(x):\n    return x + 1\n")


def notebook(*cells):
    """Code cells as the worker's plan has them: the set-up first, then (kind, source) pairs."""
    out = [{"kind": "locked", "source": SETUP, "reference": SETUP}]
    out += [{"kind": kind, "source": source, "reference": source} for kind, source in cells]
    return out


def changed(cells, position, source):
    cells = [dict(c) for c in cells]
    cells[position]["source"] = source
    return cells


TWO_EXERCISES = notebook(
    ("answer", "def scale(x):\n    return 2 * x\n"),                       # 1
    ("student", "scaled = scale(data)\nprint(scaled)\n"),                  # 2
    ("test", "assert scale(1) == 2\n"),                                    # 3
    ("answer", "def shift(x):\n    return x + 1\n"),                       # 4
    ("student", "fig = shift(data)\nfig\n"),                               # 5
    ("test", "assert shift(1) == 2\n"),                                    # 6
)


def test_a_change_reaches_the_tests_that_read_it_and_nothing_else():
    assert reach(TWO_EXERCISES, 1, 4) == {4, 6}  # cell 5 reads shift, but no test reads what it makes
    assert reach(TWO_EXERCISES, 1, 1) == {1, 3}


def test_a_cell_the_change_reaches_runs_when_a_test_needs_it():
    cells = notebook(
        ("answer", "def scale(x):\n    return 2 * x\n"),     # 1
        ("student", "fig = scale(data)\nfig\n"),               # 2: a picture: no test reads it
        ("student", "scaled = scale(data)\n"),                 # 3
        ("test", "assert scaled.sum() == 30\n"),               # 4: reads what cell 3 made of the change
    )
    assert reach(cells, 1, 1) == {1, 3, 4}


@pytest.mark.parametrize("definition, frozen", [
    ("def sim(x):\n    return x * 2\n", True),
    ("def sim(x, scale=2, axes=(0, -1), dtype=np.float32):\n    return x * scale\n", True),
    ("def sim(x, seen=[]):\n    seen.append(x)\n    return x * len(seen)\n", False),  # state every call changes
    ("@functools.lru_cache\ndef sim(x):\n    return x * 2\n", False),                # a decorator may return anything
    ("def sim(x):\n    return x * 2\nsim.calls = 0\n", False),                      # an attribute set on it
])
def test_reading_a_plain_function_never_changes_it(definition, frozen):
    cells = notebook(
        ("answer", definition),                                   # 1
        ("student", "table = [sim(v) for v in data]\n"),         # 2
        ("student", "table.sort()\nprint(table)\n"),             # 3: may change table in place, and what it holds
        ("answer", "def g(x):\n    return sim(x) + 1\n"),       # 4: the changed cell
        ("test", "assert g(1) == 3\n"),                          # 5
    )
    assert reach(cells, 1, 4) == ({1, 4, 5} if frozen else {1, 2, 3, 4, 5})


def test_cells_that_a_reached_cell_reads_run_too():
    cells = notebook(
        ("answer", "def f(x):\n    return x\n"),                # 1
        ("student", "table = f(data) * 3\n"),                    # 2: binds what the test below reads
        ("answer", "def g(x):\n    return x\n"),                # 3
        ("test", "assert g(table).sum() > 0\n"),                 # 4: reads table, which cell 2 binds
    )
    assert reach(cells, 1, 3) == {1, 2, 3, 4}


def test_an_object_changed_in_place_brings_the_cell_that_changed_it():
    cells = notebook(
        ("student", "rows = [1, 2]\n"),                          # 1
        ("student", "rows.append(3)\n"),                         # 2: binds nothing, changes rows
        ("answer", "def total(x):\n    return sum(x)\n"),       # 3
        ("test", "assert total(rows) == 6\n"),                   # 4
    )
    assert reach(cells, 1, 3) == {1, 2, 3, 4}


def test_a_rebinding_ends_the_dependency():
    cells = notebook(
        ("answer", "def f():\n    return 1\n"),                 # 1
        ("student", "value = f()\n"),                            # 2
        ("student", "value = 5\n"),                              # 3: rebinds value, reads nothing changed
        ("test", "assert value == 5\n"),                         # 4
    )
    assert reach(cells, 1, 1) == {1}  # the test reads value, which cell 3 rebinds to what f cannot change


def test_a_test_that_calls_through_a_handle_may_change_the_kernel_object():
    cells = notebook(
        ("answer", "class Store:\n    def __init__(self):\n        self.items = []\n"
                   "    def add(self, x):\n        self.items.append(x)\n"),          # 1
        ("student", "store = Store()\n"),                                              # 2
        ("test", "store.add(1)\nassert len(store.items) == 1\n"),                      # 3
        ("answer", "def count(s):\n    return len(s.items)\n"),                       # 4
        ("student", "n = count(store)\n"),                                             # 5
        ("test", "assert n == 1\n"),                                                  # 6
    )
    assert reach(cells, 1, 4) == {1, 2, 3, 4, 5, 6}


def test_the_examiners_own_bindings_link_tests():
    cells = notebook(
        ("answer", "def f(x):\n    return x\n"),                                   # 1
        ("test", "expected_h = f(2)\n"),                                            # 2: binds an examiner name
        ("answer", "def g(x):\n    return x\n"),                                   # 3
        ("test", "assert g(expected_h) == 2\n"),                                    # 4: reads it
    )
    assert reach(cells, 1, 3) == {1, 2, 3, 4}  # test 4 needs test 2's expected_h, and test 2 needs f


def test_a_mutant_that_changes_a_set_up_object_reaches_its_readers():
    cells = notebook(
        ("answer", "def normalise():\n    return data / 2\n"),   # 1
        ("student", "total = data.sum()\n"),                        # 2: reads the set-up's data
        ("test", "assert data.sum() == 15\n"),                     # 3: the examiner's own copy
        ("test", "assert total == 15\n"),                          # 4: the kernel's
    )
    assert reach(changed(cells, 1, "def normalise():\n    data /= 2\n    return data\n"), 1, 1) == {1, 2, 4}


@pytest.mark.parametrize("source", [
    "globals()['x'] = 1\n", "exec('x = 1')\n", "%time y = 1\n", "f.__globals__['x'] = 1\n",
    "import sys\nm = sys.modules['__main__']\n", "print(_)\n", "import inspect\n",
])
def test_dynamic_names_make_it_give_up(source):
    cells = notebook(("answer", "def f():\n    return 1\n"), ("student", source), ("test", "assert f() == 1\n"))
    assert reach(cells, 1, 1) is None
    assert reach(changed(cells, 1, source), 1, 1) is None


def test_statement_order_and_scopes():
    e = effects("for k, what in cases:\n    got = f(k)\n    assert got, what\n"
                "with calling('x'):\n    out = g(1)\nassert out\n"
                "def h(x):\n    y = x + w\n    return [z for z in y]\n"
                "total = total + 1\n")
    assert e.reads >= {"cases", "f", "calling", "g", "w", "total"}
    assert not e.reads & {"k", "what", "got", "out", "x", "y", "z"}
    assert e.kills >= {"out", "h", "total"} and "k" not in e.kills  # a loop may not run: its target is no sure rebinding
    assert not effects('if "google.colab" in sys.modules:\n    pass\n').dynamic


def test_student_names_are_the_kernels_last_bindings():
    cells = [{"kind": "locked", "source": "x = 1"}, {"kind": "answer", "source": "def f(): pass"},
             {"kind": "test", "source": "expected = 2\nassert f() is None and x == 1"}]
    assert student_names(cells, setup_count=1) == {2: ["f"]}


def test_a_cell_only_later_cells_need_runs_just_before_them():
    cells = notebook(
        ("student", "slow = helper(data)\n"),                    # 1: needed only by cell 5
        ("answer", "def f(x):\n    return x\n"),               # 2: the changed cell
        ("test", "assert f(1) == 1\n"),                          # 3: a wrong f stops here, before cell 1 runs
        ("student", "other = 1\n"),                              # 4: not reached
        ("student", "both = f(slow)\n"),                         # 5: needs cell 1
        ("test", "assert both.sum() == 21\n"),                  # 6
    )
    assert schedule(cells, 1, 2) == [2, 3, 1, 5, 6]


def test_a_cell_runs_before_one_that_changes_what_it_reads():
    cells = notebook(
        ("student", "slow = helper(data)\n"),                    # 1
        ("answer", "def f(x):\n    return x\n"),               # 2
        ("student", "helper = f\n"),                             # 3: rebinds what cell 1 reads
        ("test", "assert helper(1) == 1\n"),                     # 4: needs cell 3, which must wait for cell 1
        ("student", "both = f(slow)\n"),                         # 5
        ("test", "assert both.sum() == 21\n"),                  # 6
    )
    order = schedule(cells, 1, 2)
    assert sorted(order) == [1, 2, 3, 4, 5, 6] and order.index(1) < order.index(3) < order.index(4)


def test_comprehensions_read_the_names_bound_before_them_in_the_cell():
    assert "x" not in effects("x = 1\ny = [x for _ in range(3)]\n").reads
    assert "x" in effects("x = 1\nf = lambda: x\n").reads              # runs later: whatever x is then
    assert "x" in effects("x = 1\ng = (x for _ in range(3))\n").reads  # a generator runs when consumed
    assert "x" in effects("y = [x for _ in range(3)]\n").reads


def test_unpacking_rebinds_every_name():
    e = effects("a, (b, *c) = f()\nprint(a, b, c)\nd, x[0] = f()\nprint(d, x)\n")
    assert not e.reads & {"a", "b", "c", "d"} and e.kills >= {"a", "b", "c", "d"}
    assert "x" in e.reads and "x" not in e.kills  # an item target changes an object; it rebinds nothing


def test_a_test_reached_from_another_exercise_is_a_cross_charge():
    cells = [{**c, "grade_id": g} for c, g in zip(
        notebook(("answer", "def scale(x):\n    return 2 * x\n"),
                 ("test", "assert scale(1) == 2\n"),
                 ("answer", "def twice_shift(x):\n    return scale(x) + 1\n"),
                 ("answer", "def other(x):\n    return x\n"),
                 ("test", "assert twice_shift(1) == 3 and other(1) == 1\n")),
        ["setup", "scale", "test_scale", "shift", "other", "test_shift"], strict=True)]
    assert [(c.answer, c.test) for c in cross_charges(cells, 1)] == [("scale", "test_shift")]


@pytest.mark.parametrize("assignment", ["01_types", "02_creating", "03_advanced", "04_applications"])
def test_every_cross_charge_of_the_course_is_documented(assignment):
    """One mistake, one charge: a test that another exercise's mistake can reach is listed in the catalogue's
    BUILDS_ON, with where the notebook tells the student that this exercise builds on that one."""
    from autograder.course import Course
    from autograder.mutants import builds_on
    from autograder.mutants import cross_charges as course_charges

    course = Course(Path(__file__).resolve().parents[1])
    found, declared = course_charges(course, assignment), builds_on(course, assignment)
    assert found - set(declared) == set(), f"undocumented: {sorted(found - set(declared))}"
    assert set(declared) - found == set(), f"documented but no longer found: {sorted(set(declared) - found)}"
