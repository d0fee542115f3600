"""The similarity report (autograder.similarity) on generated classes (tests/similarity_class.py): renamed and
reordered copies are flagged, independent answers, the release's stub and the class's obvious code are not."""
import csv
import random
import time

from similarity_class import answer, build, copy_of, render, scores, stub

from autograder.course import Course
from autograder.similarity import Options, compare, fingerprints, kgrams, normalise, report


def test_normalise_keeps_structure_not_names_comments_or_strings():
    one = normalise("def f(xs):\n    # add\n    total = sum(xs)  # why\n    return np.sqrt(total) + len('abc')\n")
    two = normalise('def g(values):\n    s = sum(values)\n    return np.sqrt(s) + len("a long string")\n')
    assert [t.text for t in one] == [t.text for t in two]
    assert [t.text for t in one] == ["def", "V", "(", "V", ")", ":", "V", "=", "sum", "(", "V", ")",
                                     "return", "V", ".", "sqrt", "(", "V", ")", "+", "len", "(", ")"]
    assert normalise("def broken(:\n    x = (1,\n")  # a cell that does not tokenize keeps what came before


def test_renamed_and_reordered_copy_is_flagged_independent_answers_are_not():
    rng = random.Random(7)
    specs = {f"s{i:03d}": answer(rng, "first", blocks=6) for i in range(40)}
    sources = {s: render(rng, spec) for s, spec in specs.items()}
    spec, rename = copy_of(rng, specs["s003"])
    sources["s031"] = render(rng, spec, rename)
    assert sources["s031"] != sources["s003"]
    flagged = {(m.a.student, m.b.student) for m in compare(sources, stub("first")) if m.flagged}
    assert flagged == {("s003", "s031")}


def test_release_stub_and_class_wide_obvious_solution_do_not_count():
    release = stub("first")
    assert fingerprints(release, Options(), frozenset(kgrams(normalise(release), Options().k))) == {}
    # Everyone writes the same long obvious solution (their own names), two leave the stub untouched.
    obvious = ("    {a} = np.asarray(data, dtype=float)\n    {b} = np.linalg.norm({a}, axis=1, keepdims=True)\n"
               "    {c} = {a} / np.maximum({b}, eps)\n    for {d} in range({c}.shape[0]):\n"
               "        {c}[{d}] = np.clip({c}[{d}], -1.0, 1.0)\n    return {c}.mean(axis=0).tolist()\n")
    rng = random.Random(3)
    head = "\n".join(release.splitlines()[:6]) + "\n"
    sources = {f"s{i:03d}": head + obvious.format(**dict(zip("abcd", rng.sample(["x", "y", "z", "m", "n", "k", "t"], 4), strict=True)))
               for i in range(30)}
    sources["s100"] = sources["s101"] = release
    assert not [m for m in compare(sources, release) if m.flagged]
    # Without the class-wide exclusion every pair of the 30 shares all its code: the exclusion is what clears them.
    matches = compare(sources, release, Options(share=1.0, common=10_000))
    assert len(matches) == 30 * 29 // 2 and all(m.fraction == 1.0 for m in matches)


def test_generated_class_precision_recall_report_and_pages(tmp_path, capsys):
    plants = build(tmp_path, students=100, planted=6, seed=3, stub_only=3)
    course = Course(tmp_path)
    evil = course.submitted / "s0000" / "01_a" / "nb.ipynb"
    evil.write_text(evil.read_text().replace("def first(data, eps):", "def first(data, eps):  # </pre><script>x()</script>"))
    (course.submitted / "s0001" / "02_b" / "nb.ipynb").unlink()
    (course.submitted / "s0001" / "02_b" / "nb.ipynb").symlink_to(course.submitted / "s0002" / "02_b" / "nb.ipynb")
    started = time.perf_counter()
    pairs = report(course)
    seconds = time.perf_counter() - started
    precision, recall = scores(pairs, plants)
    with capsys.disabled():
        print(f"\n100 students x 4 notebooks x 3 cells, {len(plants)} planted copies: precision {precision:.2f}, "
              f"recall {recall:.2f}, report {seconds:.1f} s")
    assert precision == 1.0 and recall >= 0.8
    assert not any("s0001" in (p.student_a, p.student_b) and p.assignment == "02_b" for p in pairs)  # symlink unread
    with open(tmp_path / "grading" / "similarity.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["assignment", "notebook", "cell", "student_a", "student_b", "shared", "fraction", "score",
                             "flagged", "page"]
    flagged = [row for row in rows if row["flagged"] == "1"]
    assert len(flagged) == sum(p.flagged for p in pairs) and all(row["page"] for row in flagged)
    for row in flagged:
        page = (tmp_path / "grading" / row["page"]).read_text()
        assert "<script>" not in page and "changes no grade" in page and row["student_a"] in page


def test_a_copy_with_a_script_in_it_is_escaped(tmp_path):
    plants = build(tmp_path, students=12, planted=1, seed=5, assignments=["01_a"])
    (_, cell, a, b), = plants
    course = Course(tmp_path)
    for student in (a, b):
        path = course.submitted / student / "01_a" / "nb.ipynb"
        path.write_text(path.read_text().replace("    \\\"\\\"\\\"\\n", "    \\\"\\\"\\\"\\n    # <script>alert(1)</script>\\n", 1))
    pairs = [p for p in report(course) if p.flagged]
    assert [(p.student_a, p.student_b) for p in pairs] == [(a, b)]
    page = (course.work / pairs[0].page).read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page
