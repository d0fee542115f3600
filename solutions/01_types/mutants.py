"""Mutation catalogue of 01_types: plausible wrong answers (MUTANTS) and correct alternatives."""
from autograder.mutants import alternative, mutant

MUTANTS = [
    mutant("cosine", "no zero guard", source='''\
def cosine(u, v):
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def cosine_matrix(A, B):
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    A = A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)
    B = B / np.maximum(np.linalg.norm(B, axis=1, keepdims=True), 1e-12)
    return A @ B.T
'''),
]
ALTERNATIVES = []
