"""Bob's mistake in 01_types: cosine without the zero-vector guard (nan). The visible test of cosine catches it
(the prose warns about it); it costs test_cosine's one point. It is also the catalogue mutant "no zero guard"."""
CELL = "cosine"
LOSES = 1  # test_cosine
SOURCE = '''\
def cosine(u, v):
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def cosine_matrix(A, B):
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    A = A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)
    B = B / np.maximum(np.linalg.norm(B, axis=1, keepdims=True), 1e-12)
    return A @ B.T
'''
