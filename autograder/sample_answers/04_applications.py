"""Bob's mistake in 04_applications: reciprocal rank fusion with ranks counted from 0.

The fused order of the visible example does not change, but its fused scores do: since issue 17 the visible test
checks them (1 / (k + rank), rank starting at 1) and names the mistake, and the cell's points are lost.
"""
CELL = "rrf"
LOSES = 2  # test_rrf
SOURCE = '''\
def rrf(rankings, k=60):
    fused = {}
    for ranking in rankings:
        for rank, d in enumerate(ranking):
            fused[d] = fused.get(d, 0.0) + 1.0 / (k + rank)
    ids = sorted(fused, key=lambda d: -fused[d])
    return ids, np.array([fused[d] for d in ids])
'''
