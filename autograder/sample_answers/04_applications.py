"""Bob's mistake in 04_applications: a reranker that sorts the rescored candidates ascending, lowest score first.

np.argsort sorts ascending; the minus sign (or reverse=True) that puts the most relevant candidate first is
forgotten. The visible test of part 8 names the mistake ("HIGHEST first"), and the cell's points are lost.
"""
CELL = "rerank"
LOSES = 3  # test_rerank
SOURCE = '''\
def rerank(query, candidates, scorer, k=None):
    candidates = list(candidates)
    k = len(candidates) if k is None else min(int(k), len(candidates))
    head, tail = candidates[:k], candidates[k:]
    if not head:
        return [pid for pid, _ in tail]
    scores = np.asarray(scorer(query, [text for _, text in head]), dtype=np.float64).reshape(-1)
    order = np.argsort(scores, kind="stable")
    return [head[i][0] for i in order] + [pid for pid, _ in tail]
'''
