"""Operator mutants (autograder.operators): each operator makes the change it names, and only valid code."""
import ast

from autograder.operators import mutations

SOURCE = '''
import numpy as np
import torch
import torch.nn.functional as F


def unit_rows(X, k):
    X = np.asarray(X, dtype=np.float64)
    U = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    return U[:, :k] if k > 0 else U


def loss(scores, mask):
    return -(F.logsigmoid(scores) * mask).mean()


def train(model, batches, lr):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for batch in batches:
        optimizer.step()
    return model
'''


def by_operator(operator):
    return [m for m in mutations("cell", SOURCE) if m.operator == operator]


def test_every_mutant_is_valid_code_that_differs_from_the_solution():
    found = mutations("cell", SOURCE)
    assert len(found) >= 15 and len({m.name for m in found}) == len(found)
    for m in found:
        assert ast.unparse(ast.parse(m.source)) != ast.unparse(ast.parse(SOURCE)), m.name
        assert m.cell == "cell" and m.function in {"unit_rows", "loss", "train", "<cell>"}


def test_keywords_constants_axes_comparisons_and_slices():
    names = {m.label for m in mutations("cell", SOURCE)}
    assert "asarray(): dtype= left out" in names
    assert "norm(): axis=1 -> 0" in names and "norm(): keepdims= left out" in names
    assert "1e-12 -> 1e-11" in names and "1e-12 -> 1e-13" in names
    assert "0 -> 1" in names
    assert any(label.startswith("k > 0: Gt -> GtE") for label in names)
    assert any("upper bound + 1" in label for label in names)


def test_normalisation_mask_stability_and_loop():
    normalise = {m.label for m in by_operator("normalise")}
    assert any("not divided by the norm" in label for label in normalise)
    assert any("the mask left out" in label for label in normalise)
    naive = by_operator("naive")
    assert len(naive) == 1 and "torch.log(torch.sigmoid(scores))" in naive[0].source
    loop = by_operator("loop")
    assert len(loop) == 1 and loop[0].function == "train"
    body = ast.parse(loop[0].source).body[-1].body
    assert isinstance(body[0], ast.For) and isinstance(body[0].body[0], ast.Assign)  # the optimiser, made per batch


def test_unparsable_cells_give_nothing():
    assert mutations("cell", "def f(:\n    pass\n") == []
