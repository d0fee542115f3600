"""Mutation catalogue of 04_applications: plausible wrong answers (MUTANTS) and correct alternatives written
differently (ALTERNATIVES), one answer cell each. Run:
    nice -n 10 .venv/bin/python -m autograder.mutants 04_applications --jobs 1 [--only <cell-or-name>]
"""
from autograder.mutants import alternative, mutant

MUTANTS = [
    # ---- chunk_words -------------------------------------------------------------------------------------
    mutant("chunk", "first sentence end instead of the last",
           replace=[("range(limit, start + overlap, -1)", "range(start + overlap + 1, limit + 1)")]),
    mutant("chunk", "hard cuts only, sentence ends ignored",
           replace=[("end = next((e for e in range(limit, start + overlap, -1) if e in ends), limit)", "end = limit")]),
    mutant("chunk", "overlap ignored (next chunk starts at the end)",
           replace=[("start = end - overlap", "start = end")]),
    mutant("chunk", "overlap off by one", replace=[("start = end - overlap", "start = end - overlap + 1")]),
    mutant("chunk", "only full stops end sentences",
           replace=[('w.endswith((".", "!", "?"))', 'w.endswith(".")')]),
    mutant("chunk", "sentence end counted before the word (off by one)",
           replace=[("ends = {i + 1 for i", "ends = {i for i")]),
    mutant("chunk", "last chunk still cut at a sentence end when the rest fits (> instead of >=)",
           replace=[("if limit >= n:", "if limit > n:")]),
    mutant("chunk", "no last-chunk rule: always prefer a sentence end",
           replace=[("if limit >= n:\n            end = n\n        else:\n            end = next((e for e in range(limit, start + overlap, -1) if e in ends), limit)",
                     "limit = min(limit, n)\n        end = next((e for e in range(limit, start + overlap, -1) if e in ends), limit)")]),
    mutant("chunk", "split on single spaces (newlines kept inside words)",
           replace=[("words = text.split()", 'words = [w for w in text.split(" ") if w]')]),
    mutant("chunk", "empty text gives one empty chunk",
           replace=[("chunks, start = [], 0\n    while start < n:", "chunks, start = [], 0\n    if n == 0:\n        return ['']\n    while start < n:")]),
    mutant("chunk", "no argument check", replace=[("    if not 0 <= overlap < max_words:\n        raise ValueError(f\"need 0 <= overlap < max_words, got overlap={overlap}, max_words={max_words}\")\n", "")]),
    mutant("chunk", "overlap == max_words allowed", replace=[("if not 0 <= overlap < max_words:", "if not 0 <= overlap <= max_words:")]),
    mutant("chunk", "sentence end allowed at s + overlap + 1 only after the budget (window s+o..s+B exclusive)",
           replace=[("range(limit, start + overlap, -1)", "range(limit - 1, start + overlap, -1)")]),
    # ---- VectorIndex -------------------------------------------------------------------------------------
    mutant("index", "stored vectors not normalised (dot product)",
           replace=[("V = np.divide(V, norms, out=np.zeros_like(V), where=norms > 0)", "pass")]),
    mutant("index", "query not normalised (scores are dot products)",
           replace=[("Q = np.divide(Q, norms, out=np.zeros_like(Q), where=norms > 0)", "pass")]),
    mutant("index", "zero vector gives NaN", replace=[("V = np.divide(V, norms, out=np.zeros_like(V), where=norms > 0)", "V = V / norms")]),
    mutant("index", "zero query gives NaN", replace=[("Q = np.divide(Q, norms, out=np.zeros_like(Q), where=norms > 0)", "Q = Q / norms")]),
    mutant("index", "argpartition without sorting the top k",
           replace=[("top, top_scores = np.take_along_axis(top, order, axis=1), np.take_along_axis(top_scores, order, axis=1)", "pass")]),
    mutant("index", "sorted ascending (worst first)", replace=[("order = np.argsort(-top_scores, axis=1, kind=\"stable\")", "order = np.argsort(top_scores, axis=1, kind=\"stable\")")]),
    mutant("index", "add replaces instead of appending",
           replace=[("self.vectors = np.vstack([self.vectors, V])\n        self.ids.extend(ids)", "self.vectors = V\n        self.ids = ids")]),
    mutant("index", "exclude ignored", replace=[("if exclude is not None:", "if False:")]),
    mutant("index", "excluded item masked with 0 instead of -inf", replace=[("S[row, position[id_]] = -np.inf", "S[row, position[id_]] = 0.0")]),
    mutant("index", "exclude skipped for a falsy id (0)", replace=[("if id_ is not None and id_ in position:", "if id_ and id_ in position:")]),
    mutant("index", "exclude filters the top k afterwards (k - 1 results)",
           replace=[("S[row, position[id_]] = -np.inf", "pass"),
                    ("ids = [[self.ids[j] for j in row] for row in top]",
                     "ex = [exclude] if single else (list(exclude) if exclude is not None else [None] * len(top))\n"
                     "        ids = [[self.ids[j] for j in row if self.ids[j] != e] for row, e in zip(top, ex)]")]),
    mutant("index", "no ValueError on a length mismatch", replace=[('            raise ValueError(f"{len(V)} vectors but {len(ids)} ids")\n', "            ids = (ids + [None] * len(V))[:len(V)]\n")]),
    mutant("index", "one query returned as a batch of one", replace=[("return (ids[0], top_scores[0]) if single else (ids, top_scores)", "return ids, top_scores")]),
    mutant("index", "ids saved as str (ints come back as str)",
           replace=[("json.dump([i.item() if hasattr(i, \"item\") else i for i in self.ids], fh)", "json.dump([str(i) for i in self.ids], fh)")]),
    mutant("index", "save into an existing directory only (no makedirs)", replace=[("os.makedirs(path, exist_ok=True)", "os.mkdir(path) if os.path.isdir(os.path.dirname(path)) else None")]),
    mutant("index", "vectors saved as float16", replace=[('np.save(os.path.join(path, "vectors.npy"), self.vectors)', 'np.save(os.path.join(path, "vectors.npy"), self.vectors.astype(np.float16))')]),
    mutant("index", "ids not saved (load numbers the items 0..n-1)",
           replace=[("ids = json.load(fh)", "ids = list(range(len(json.load(fh))))")]),
    # ---- metrics -----------------------------------------------------------------------------------------
    mutant("metrics", "recall divides by k", replace=[("return sum(1 for d in list(ranked)[:k] if d in rel) / len(rel)", "return sum(1 for d in list(ranked)[:k] if d in rel) / k")]),
    mutant("metrics", "recall divides by min(k, |R|)", replace=[("return sum(1 for d in list(ranked)[:k] if d in rel) / len(rel)", "return sum(1 for d in list(ranked)[:k] if d in rel) / min(k, len(rel))")]),
    mutant("metrics", "recall counts grade-0 items as relevant", replace=[("return sum(1 for d in list(ranked)[:k] if d in rel) / len(rel)", "return sum(1 for d in list(ranked)[:k] if d in rel) / len(relevant)")]),
    mutant("metrics", "MRR ranks from 0", replace=[("for rank, d in enumerate(list(ranked)[:k], start=1):\n        if d in rel:\n            return 1.0 / rank",
                                                     "for rank, d in enumerate(list(ranked)[:k]):\n        if d in rel:\n            return 1.0 / max(rank, 1)")]),
    mutant("metrics", "MRR ignores k", replace=[("for rank, d in enumerate(list(ranked)[:k], start=1):\n        if d in rel:\n            return 1.0 / rank",
                                                  "for rank, d in enumerate(list(ranked), start=1):\n        if d in rel:\n            return 1.0 / rank")]),
    mutant("metrics", "MRR cuts at k - 1", replace=[("for rank, d in enumerate(list(ranked)[:k], start=1):\n        if d in rel:\n            return 1.0 / rank",
                                                      "for rank, d in enumerate(list(ranked)[:k - 1], start=1):\n        if d in rel:\n            return 1.0 / rank")]),
    mutant("metrics", "nDCG discount log2(rank + 2)", replace=[("dcg = sum(rel.get(d, 0.0) / np.log2(i + 1) for i, d in enumerate(list(ranked)[:k], start=1))",
                                                                "dcg = sum(rel.get(d, 0.0) / np.log2(i + 2) for i, d in enumerate(list(ranked)[:k], start=1))")]),
    mutant("metrics", "IDCG from the retrieved relevant items only",
           replace=[("ideal = sorted(rel.values(), reverse=True)[:k]", "ideal = sorted((rel[d] for d in list(ranked)[:k] if d in rel), reverse=True)")]),
    mutant("metrics", "IDCG not cut at k", replace=[("ideal = sorted(rel.values(), reverse=True)[:k]", "ideal = sorted(rel.values(), reverse=True)")]),
    mutant("metrics", "IDCG with the grades unsorted", replace=[("ideal = sorted(rel.values(), reverse=True)[:k]", "ideal = list(rel.values())[:k]")]),
    mutant("metrics", "nDCG with binary gains for graded relevance", replace=[("dcg = sum(rel.get(d, 0.0) / np.log2(i + 1)", "dcg = sum(float(d in rel) / np.log2(i + 1)"),
                                                                              ("idcg = sum(g / np.log2(i + 1)", "idcg = sum(1.0 / np.log2(i + 1)")]),
    mutant("metrics", "nDCG with exponential gains 2**g - 1", replace=[("dcg = sum(rel.get(d, 0.0) / np.log2(i + 1)", "dcg = sum((2 ** rel.get(d, 0.0) - 1) / np.log2(i + 1)"),
                                                                        ("idcg = sum(g / np.log2(i + 1)", "idcg = sum((2 ** g - 1) / np.log2(i + 1)")]),
    mutant("metrics", "evaluate_run keeps queries without relevant items", replace=[("qids = [q for q, rel in qrels.items() if relevance_grades(rel)]", "qids = list(qrels)")]),
    mutant("metrics", "evaluate_run micro-averages recall (pooled over queries)",
           replace=[('f"recall@{k}": float(np.mean([recall_at_k(run[q], qrels[q], k) for q in qids])),',
                     'f"recall@{k}": float(sum(recall_at_k(run[q], qrels[q], k) * len(relevance_grades(qrels[q])) for q in qids) / sum(len(relevance_grades(qrels[q])) for q in qids)),')]),
    mutant("metrics", "evaluate_run ignores k (always 10)", replace=[('f"recall@{k}": float(np.mean([recall_at_k(run[q], qrels[q], k)', 'f"recall@{k}": float(np.mean([recall_at_k(run[q], qrels[q], 10)')]),
    # ---- bm25 --------------------------------------------------------------------------------------------
    mutant("bm25", "stop words kept", replace=[('retriever.index(bm25s.tokenize(list(corpus), stopwords="en", show_progress=False), show_progress=False)', 'retriever.index(bm25s.tokenize(list(corpus), stopwords=None, show_progress=False), show_progress=False)'),
                                                ('tokens = bm25s.tokenize(list(queries), stopwords="en", show_progress=False)', 'tokens = bm25s.tokenize(list(queries), stopwords=None, show_progress=False)')]),
    mutant("bm25", "indices and scores swapped", replace=[("return np.asarray(indices), np.asarray(scores)", "return np.asarray(scores), np.asarray(indices)")]),
    mutant("bm25", "k ignored (always 10)", replace=[("indices, scores = retriever.retrieve(tokens, k=k, show_progress=False)", "indices, scores = retriever.retrieve(tokens, k=min(10, len(corpus)), show_progress=False)")]),
    mutant("bm25", "other BM25 parameters (k1=1.2, b=0.5)", replace=[("retriever = bm25s.BM25()", "retriever = bm25s.BM25(k1=1.2, b=0.5)")]),
    mutant("bm25", "Robertson IDF variant", replace=[("retriever = bm25s.BM25()", 'retriever = bm25s.BM25(method="robertson")')]),
    mutant("bm25", "worst first", replace=[("return np.asarray(indices), np.asarray(scores)", "return np.asarray(indices)[:, ::-1], np.asarray(scores)[:, ::-1]")]),
    # ---- rrf ---------------------------------------------------------------------------------------------
    mutant("rrf", "ranks from 0", replace=[("enumerate(ranking, start=1)", "enumerate(ranking)")]),
    mutant("rrf", "k ignored (always 60)", replace=[("fused[d] = fused.get(d, 0.0) + 1.0 / (k + rank)", "fused[d] = fused.get(d, 0.0) + 1.0 / (60 + rank)")]),
    mutant("rrf", "sorted worst first", replace=[("ids = sorted(fused, key=lambda d: -fused[d])", "ids = sorted(fused, key=lambda d: fused[d])")]),
    mutant("rrf", "max over rankings instead of the sum", replace=[("fused[d] = fused.get(d, 0.0) + 1.0 / (k + rank)", "fused[d] = max(fused.get(d, 0.0), 1.0 / (k + rank))")]),
    mutant("rrf", "only ids present in every ranking",
           replace=[("    ids = sorted(fused, key=lambda d: -fused[d])", "    common = set.intersection(*(set(r) for r in rankings)) if rankings else set()\n    ids = sorted((d for d in fused if d in common), key=lambda d: -fused[d])")]),
    mutant("rrf", "scores left in first-seen order", replace=[("return ids, np.array([fused[d] for d in ids])", "return ids, np.array(list(fused.values()))")]),
    mutant("rrf", "sum of 1 / rank, then 1 / (k + ...)", replace=[("fused[d] = fused.get(d, 0.0) + 1.0 / (k + rank)", "fused[d] = fused.get(d, 0.0) + 1.0 / (k * rank)")]),
    # ---- ann ---------------------------------------------------------------------------------------------
    mutant("ann", "stored vectors not normalised", replace=[("X = np.ascontiguousarray(X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12))", "X = np.ascontiguousarray(X)")]),
    mutant("ann", "queries not normalised", replace=[("Q = np.ascontiguousarray(Q / np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-12))", "Q = np.ascontiguousarray(Q)")]),
    mutant("ann", "L2 metric (faiss default)", replace=[("index = faiss.IndexHNSWFlat(X.shape[1], M, faiss.METRIC_INNER_PRODUCT)", "index = faiss.IndexHNSWFlat(X.shape[1], M)")]),
    mutant("ann", "efSearch never set", replace=[("    index.hnsw.efSearch = int(ef_search)\n", "")]),
    mutant("ann", "efConstruction never set", replace=[("    index.hnsw.efConstruction = ef_construction\n", "")]),
    mutant("ann", "M ignored (always 32)", replace=[("faiss.IndexHNSWFlat(X.shape[1], M, faiss.METRIC_INNER_PRODUCT)", "faiss.IndexHNSWFlat(X.shape[1], 32, faiss.METRIC_INNER_PRODUCT)")]),
    mutant("ann", "faiss.normalize_L2 on the caller's array", replace=[("    X = np.asarray(vectors, dtype=np.float32)\n    X = np.ascontiguousarray(X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12))",
                                                                         "    X = np.asarray(vectors, dtype=np.float32)\n    faiss.normalize_L2(X)")]),
    mutant("ann", "recall counts position-wise matches", replace=[("return float(np.mean([len(set(a.tolist()) & set(e.tolist())) / k for a, e in zip(approx, exact)]))", "return float(np.mean(approx == exact))")]),
    mutant("ann", "recall divides by the union", replace=[("return float(np.mean([len(set(a.tolist()) & set(e.tolist())) / k for a, e in zip(approx, exact)]))",
                                                             "return float(np.mean([len(set(a.tolist()) & set(e.tolist())) / len(set(a.tolist()) | set(e.tolist())) for a, e in zip(approx, exact)]))")]),
    mutant("ann", "recall pooled over all queries with a fixed k of 10", replace=[("k = exact.shape[1]", "k = 10")]),
    mutant("ann", "recall divides by the distinct ids found (padded rows)", replace=[("return float(np.mean([len(set(a.tolist()) & set(e.tolist())) / k for a, e in zip(approx, exact)]))",
                                                                                     "return float(np.mean([len(set(a.tolist()) & set(e.tolist())) / len(set(a.tolist())) for a, e in zip(approx, exact)]))")]),
    mutant("ann", "recall divides by the results found, -1 left out", replace=[("return float(np.mean([len(set(a.tolist()) & set(e.tolist())) / k for a, e in zip(approx, exact)]))",
                                                                               "return float(np.mean([len(set(a.tolist()) & set(e.tolist())) / max(int((a >= 0).sum()), 1) for a, e in zip(approx, exact)]))")]),
    mutant("ann", "search returns (scores, indices) like faiss", replace=[("    return indices, scores\n", "    return scores, indices\n")]),
    # ---- ivf ---------------------------------------------------------------------------------------------
    mutant("ivf", "cells by the nearest centroid (Euclidean), not the best inner product",
           replace=[("cell = np.argmax(X @ C.T, axis=1)", "cell = np.argmin(((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2), axis=1)")]),
    mutant("ivf", "cells by cosine to normalised centroids",
           replace=[("cell = np.argmax(X @ C.T, axis=1)", "cell = np.argmax(X @ (C / np.linalg.norm(C, axis=1, keepdims=True)).T, axis=1)")]),
    mutant("ivf", "lists in cell order of the sorted assignment, not ascending rows",
           replace=[("return [np.flatnonzero(cell == c) for c in range(len(C))]",
                     "order = np.argsort(-(X @ C.T).max(axis=1))\n    return [order[cell[order] == c] for c in range(len(C))]")]),
    mutant("ivf", "empty cells dropped from the lists",
           replace=[("return [np.flatnonzero(cell == c) for c in range(len(C))]",
                     "return [np.flatnonzero(cell == c) for c in range(len(C)) if np.any(cell == c)]")]),
    mutant("ivf", "nprobe ignored (one cell)", replace=[("[:, :nprobe]", "[:, :1]")]),
    mutant("ivf", "nprobe + 1 cells probed", replace=[("[:, :nprobe]", "[:, :nprobe + 1]")]),
    mutant("ivf", "probes the worst cells", replace=[("probes = np.argsort(-(Q @ C.T), axis=1, kind=\"stable\")", "probes = np.argsort(Q @ C.T, axis=1, kind=\"stable\")")]),
    mutant("ivf", "probes by Euclidean distance to the centroids",
           replace=[("probes = np.argsort(-(Q @ C.T), axis=1, kind=\"stable\")",
                     "probes = np.argsort(((Q[:, None, :] - C[None, :, :]) ** 2).sum(axis=2), axis=1, kind=\"stable\")")]),
    mutant("ivf", "candidates ranked worst first", replace=[("best = np.argsort(-s, kind=\"stable\")[:k]", "best = np.argsort(s, kind=\"stable\")[:k]")]),
    mutant("ivf", "returns positions within the candidates, not rows", replace=[("candidates[best], s[best]", "best, s[best]")]),
    mutant("ivf", "padding with 0 and score 0", replace=[("indices = np.full((len(Q), k), -1, dtype=np.int64)", "indices = np.zeros((len(Q), k), dtype=np.int64)"),
                                                         ("scores = np.full((len(Q), k), -np.inf, dtype=np.float32)", "scores = np.zeros((len(Q), k), dtype=np.float32)")]),
    mutant("ivf", "queries normalised (cosine, not inner product)",
           replace=[("Q = np.asarray(queries, dtype=np.float32).reshape(-1, X.shape[1])",
                     "Q = np.asarray(queries, dtype=np.float32).reshape(-1, X.shape[1])\n    Q = Q / np.linalg.norm(Q, axis=1, keepdims=True)")]),
    mutant("ivf", "exact search over every row (the cells ignored)",
           replace=[("candidates = np.concatenate([np.asarray(lists[c], dtype=np.int64) for c in cells])", "candidates = np.arange(len(X))")]),
    mutant("ivf", "returns (scores, indices)", replace=[("    return indices, scores", "    return scores, indices")]),
    # ---- cluster -----------------------------------------------------------------------------------------
    mutant("cluster", "picks the lowest silhouette", replace=[("best = max(scores, key=scores.get)", "best = min(scores, key=scores.get)")]),
    mutant("cluster", "cosine silhouette", replace=[("float(silhouette_score(X, labels))", "float(silhouette_score(X, labels, metric=\"cosine\"))")]),
    mutant("cluster", "seed ignored", replace=[("KMeans(n_clusters=int(k), n_init=10, random_state=seed)", "KMeans(n_clusters=int(k), n_init=10, random_state=0)")]),
    mutant("cluster", "a single k-means start", replace=[("KMeans(n_clusters=int(k), n_init=10, random_state=seed)", "KMeans(n_clusters=int(k), n_init=1, random_state=seed)")]),
    mutant("cluster", "labels of the last k, not the best", replace=[("return best, fits[best], scores", "return best, labels, scores")]),
    mutant("cluster", "rows normalised before k-means (spherical)", replace=[("    X = np.asarray(X, dtype=np.float64)\n    scores, fits = {}, {}", "    X = np.asarray(X, dtype=np.float64)\n    X = X / np.linalg.norm(X, axis=1, keepdims=True)\n    scores, fits = {}, {}")]),
    mutant("cluster", "silhouette on a sample of 100 points", replace=[("float(silhouette_score(X, labels))", "float(silhouette_score(X, labels, sample_size=min(100, len(X)), random_state=0))")]),
    mutant("cluster", "c-TF-IDF keeps stop words", replace=[('vectorizer = CountVectorizer(stop_words="english")', "vectorizer = CountVectorizer()")]),
    mutant("cluster", "c-TF-IDF idf log(A / f) without the 1 +", replace=[("weights = tf * np.log(1 + A / np.maximum(counts.sum(axis=0), 1))", "weights = tf * np.log(A / np.maximum(counts.sum(axis=0), 1))")]),
    mutant("cluster", "c-TF-IDF with A the total word count", replace=[("A = counts.sum() / len(classes)", "A = counts.sum()")]),
    mutant("cluster", "c-TF-IDF with f_t the number of clusters containing t", replace=[("weights = tf * np.log(1 + A / np.maximum(counts.sum(axis=0), 1))", "weights = tf * np.log(1 + A / np.maximum((counts > 0).sum(axis=0), 1))")]),
    mutant("cluster", "keywords lowest weight first", replace=[("np.argsort(-weights[i], kind=\"stable\")[:n_words]", "np.argsort(weights[i], kind=\"stable\")[:n_words]")]),
    mutant("cluster", "labels in first-seen order, documents in sorted order",
           replace=[("return {c: [str(vocab[j])", "return {c: [str(vocab[j])"), ("for i, c in enumerate(classes)}", "for i, c in enumerate(dict.fromkeys(labels))}")]),
    mutant("cluster", "n_words ignored (always 5)", replace=[("np.argsort(-weights[i], kind=\"stable\")[:n_words]", "np.argsort(-weights[i], kind=\"stable\")[:5]")]),
    mutant("cluster", "tf not divided by the cluster size, idf by document frequency", replace=[("tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)", "tf = counts"),
                                                                                                 ("weights = tf * np.log(1 + A / np.maximum(counts.sum(axis=0), 1))", "weights = tf * np.log(1 + len(classes) / np.maximum((counts > 0).sum(axis=0), 1))")]),
    # ---- rag ---------------------------------------------------------------------------------------------
    mutant("rag", "passages numbered from 0", replace=[('lines += [f"[{n}] {text}" for n, (_, text) in enumerate(hits, start=1)]', 'lines += [f"[{n}] {text}" for n, (_, text) in enumerate(hits)]')]),
    mutant("rag", "prompt without the question", replace=[('lines += ["", f"Question: {question}", "Answer:"]', 'lines += ["", "Answer:"]')]),
    mutant("rag", "prompt without the abstention instruction", replace=[(""" If the passages do not contain the answer, say \\"I don't know\\".""", "")]),
    mutant("rag", "prompt lists passages in reverse", replace=[('for n, (_, text) in enumerate(hits, start=1)]', 'for n, (_, text) in reversed(list(enumerate(hits, start=1)))]')]),
    mutant("rag", "citation counted from 0", replace=[("candidates = [(n, pid, s) for n, (pid, text) in enumerate(hits, start=1)", "candidates = [(n, pid, s) for n, (pid, text) in enumerate(hits)")]),
    mutant("rag", "abstains at a score equal to the threshold", replace=[("    if score < threshold:\n        return {\"answer\": None", "    if score <= threshold:\n        return {\"answer\": None")]),
    mutant("rag", "score None when abstaining", replace=[('return {"answer": None, "citation": None, "passage_id": None, "score": score}', 'return {"answer": None, "citation": None, "passage_id": None, "score": None}')]),
    mutant("rag", "best passage first, then its best sentence",
           replace=[("    sims = embed([s for _, _, s in candidates]) @ embed([question])[0]\n    best = int(np.argmax(sims))",
                     "    best_n = int(np.argmax(embed([t for _, t in hits]) @ embed([question])[0])) + 1\n"
                     "    sims = embed([s for _, _, s in candidates]) @ embed([question])[0]\n"
                     "    sims = np.where([n == best_n for n, _, _ in candidates], sims, -np.inf)\n"
                     "    best = int(np.argmax(sims))")]),
    mutant("rag", "only the first hit's sentences", replace=[("for n, (pid, text) in enumerate(hits, start=1) for s in split_sentences(text)]", "for n, (pid, text) in enumerate(hits[:1], start=1) for s in split_sentences(text)]")]),
    mutant("rag", "crashes without hits", replace=[('    if not candidates:\n        return {"answer": None, "citation": None, "passage_id": None, "score": float("-inf")}\n', "")]),
    mutant("rag", "threshold: answering means score > tau", replace=[("accuracy = [np.mean((scores >= t) == answerable) for t in candidates]", "accuracy = [np.mean((scores > t) == answerable) for t in candidates]")]),
    mutant("rag", "threshold never tries +inf", replace=[("candidates = np.append(np.unique(scores), np.inf)", "candidates = np.unique(scores)")]),
    mutant("rag", "threshold maximises recall of the answerable", replace=[("accuracy = [np.mean((scores >= t) == answerable) for t in candidates]", "accuracy = [np.mean((scores >= t)[answerable]) for t in candidates]")]),
    mutant("rag", "accuracy over all questions", replace=[('acc = np.mean([r["answer"] is not None and q["answer"].lower() in r["answer"].lower() for r, q in answerable]) if answerable else 0.0',
                                                           'acc = np.mean([q["answerable"] and r["answer"] is not None and q["answer"].lower() in r["answer"].lower() for r, q in zip(results, questions)])')]),
    mutant("rag", "case-sensitive answer match", replace=[('q["answer"].lower() in r["answer"].lower()', 'q["answer"] in r["answer"]')]),
    mutant("rag", "abstention precision and recall swapped", replace=[('"abstain_precision": float(precision), "abstain_recall": float(recall)', '"abstain_precision": float(recall), "abstain_recall": float(precision)')]),
    mutant("rag", "hit rate over all questions", replace=[('hit = np.mean([bool(set(q["support"]) & set(r["retrieved"])) for r, q in answerable]) if answerable else 0.0',
                                                         'hit = np.mean([bool(set(q["support"]) & set(r["retrieved"])) for r, q in zip(results, questions)])')]),
    mutant("rag", "hit when any answerable question's support is retrieved", replace=[('hit = np.mean([bool(set(q["support"]) & set(r["retrieved"])) for r, q in answerable]) if answerable else 0.0',
                                                                                    'pool = {p for _, q in answerable for p in q["support"]}\n'
                                                                                    '    hit = np.mean([bool(pool & set(r["retrieved"])) for r, q in answerable]) if answerable else 0.0')]),
    mutant("rag", "hit only when the support is retrieved first", replace=[('hit = np.mean([bool(set(q["support"]) & set(r["retrieved"])) for r, q in answerable]) if answerable else 0.0',
                                                                         'hit = np.mean([bool(set(q["support"]) & set(r["retrieved"][:1])) for r, q in answerable]) if answerable else 0.0')]),
    # ---- rerank (part 8) ---------------------------------------------------------------------------------
    mutant("rerank", "bob: sorted ascending (lowest score first)",
           replace=[('order = np.argsort(-scores, kind="stable")', 'order = np.argsort(scores, kind="stable")')]),
    mutant("rerank", "candidates beyond k dropped", replace=[("return [head[i][0] for i in order] + [pid for pid, _ in tail]",
                                                             "return [head[i][0] for i in order]")]),
    mutant("rerank", "k ignored: every candidate rescored",
           replace=[("k = len(candidates) if k is None else min(int(k), len(candidates))", "k = len(candidates)")]),
    mutant("rerank", "all candidates scored, then only the first k sorted",
           replace=[("scores = np.asarray(scorer(query, [text for _, text in head]), dtype=np.float64).reshape(-1)",
                     "scores = np.asarray(scorer(query, [text for _, text in candidates]), dtype=np.float64).reshape(-1)[:k]")]),
    mutant("rerank", "ties reversed (argsort ascending, then reversed)",
           replace=[('order = np.argsort(-scores, kind="stable")', 'order = np.argsort(scores, kind="stable")[::-1]')]),
    mutant("rerank", "unstable sort (quicksort on many ties)",
           replace=[('order = np.argsort(-scores, kind="stable")', 'order = np.argsort(-scores, kind="heapsort")')]),
    mutant("rerank", "k off by one (k + 1 rescored)",
           replace=[("min(int(k), len(candidates))", "min(int(k) + 1, len(candidates))")]),
    mutant("rerank", "k off by one (k - 1 rescored)",
           replace=[("min(int(k), len(candidates))", "max(min(int(k) - 1, len(candidates)), 0)")]),
    mutant("rerank", "k=None rescores nothing",
           replace=[("k = len(candidates) if k is None else min(int(k), len(candidates))",
                     "k = 0 if k is None else min(int(k), len(candidates))")]),
    mutant("rerank", "scorer called with an empty list when nothing is rescored",
           replace=[("    if not head:\n        return [pid for pid, _ in tail]\n", "")]),
    mutant("rerank", "scorer called once per candidate",
           replace=[("scores = np.asarray(scorer(query, [text for _, text in head]), dtype=np.float64).reshape(-1)",
                     "scores = np.array([float(np.asarray(scorer(query, [text])).reshape(-1)[0]) for _, text in head])")]),
    mutant("rerank", "returns (id, text) pairs", replace=[("return [head[i][0] for i in order] + [pid for pid, _ in tail]",
                                                          "return [head[i] for i in order] + tail")]),
    mutant("rerank", "the passage ids passed to the scorer instead of the texts",
           replace=[("scorer(query, [text for _, text in head])", "scorer(query, [pid for pid, _ in head])")]),
    mutant("rerank", "reranked candidates appended after the rest",
           replace=[("return [head[i][0] for i in order] + [pid for pid, _ in tail]",
                     "return [pid for pid, _ in tail] + [head[i][0] for i in order]")]),
    mutant("rerank", "scores added to the first-stage rank position",
           replace=[('order = np.argsort(-scores, kind="stable")', 'order = np.argsort(-(scores - 0.3 * np.arange(len(scores))), kind="stable")')]),
    # ---- PassageDB (part 9) ------------------------------------------------------------------------------
    mutant("vdb", "post-filtering: the k nearest first, other topics dropped afterwards",
           replace=[('        for column, value in (("topic", topic), ("doc_id", doc_id)):\n            if value is not None:\n                sql += f" AND {column} = ?"\n                params.append(value)\n', ""),
                                 ('rows = self.db.execute(sql + " ORDER BY distance", params).fetchall()',
                                  'rows = [r for r in self.db.execute("SELECT passage_id, distance, topic, doc_id FROM passages WHERE embedding MATCH ? AND k = ? ORDER BY distance", params).fetchall()\n'
                                  '                if (topic is None or r[2] == topic) and (doc_id is None or r[3] == doc_id)]\n'
                                  '        rows = [(r[0], r[1]) for r in rows]')]),
    mutant("vdb", "topic filter ignored", replace=[('(("topic", topic), ("doc_id", doc_id))', '(("doc_id", doc_id),)')]),
    mutant("vdb", "doc_id filter ignored", replace=[('(("topic", topic), ("doc_id", doc_id))', '(("topic", topic),)')]),
    mutant("vdb", "filters joined with OR", replace=[('sql += f" AND {column} = ?"', 'sql += (" AND (" if len(params) == 2 else " OR ") + f"{column} = ?"'),
                                                    ('rows = self.db.execute(sql + " ORDER BY distance", params)',
                                                     'rows = self.db.execute(sql + (")" if len(params) > 2 else "") + " ORDER BY distance", params)')]),
    mutant("vdb", "distance returned as the score", replace=[("np.array([1.0 - d for _, d in rows]", "np.array([d for _, d in rows]")]),
    mutant("vdb", "worst first (rows reversed)", replace=[('sql + " ORDER BY distance", params).fetchall()', 'sql + " ORDER BY distance", params).fetchall()[::-1]')]),
    mutant("vdb", "vectors stored as float64 bytes", replace=[("V = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)",
                                                              "V = np.asarray(vectors).reshape(-1, self.dim)")]),
    mutant("vdb", "query sent as float64 bytes", replace=[("np.asarray(query, dtype=np.float32).reshape(-1).tobytes()",
                                                          "np.asarray(query).reshape(-1).tobytes()")]),
    mutant("vdb", "insert replaces the passages stored before",
           replace=[('        with self.db:\n', '        with self.db:\n            self.db.execute("DELETE FROM passages")\n')]),
    mutant("vdb", "topic and doc_id swapped", replace=[("(v.tobytes(), m[\"topic\"], m[\"doc_id\"], pid)", "(v.tobytes(), m[\"doc_id\"], m[\"topic\"], pid)")]),
    mutant("vdb", "k + 1 results", replace=[("params = [np.asarray(query, dtype=np.float32).reshape(-1).tobytes(), int(k)]",
                                            "params = [np.asarray(query, dtype=np.float32).reshape(-1).tobytes(), int(k) + 1]")]),
    mutant("vdb", "ids misaligned with their vectors (ids in sorted order)",
           replace=[("for pid, v, m in zip(ids, V, metadata)", "for pid, v, m in zip(sorted(ids), V, metadata)")]),
    mutant("vdb", "k ignored (always 10)", replace=[("np.asarray(query, dtype=np.float32).reshape(-1).tobytes(), int(k)]",
                                                    "np.asarray(query, dtype=np.float32).reshape(-1).tobytes(), 10]")]),
    mutant("vdb", "score from an L2 formula, 1 - d / 2", replace=[("np.array([1.0 - d for _, d in rows]", "np.array([1.0 - d / 2 for _, d in rows]")]),
    # ---- red-team rt-04 (unseen mistakes; one line each says the class) ----------------------------------
    mutant("chunk", "words by re.split on white space, not stripped (empty first/last word)",
           replace=[("words = text.split()", 'words = re.split(r"\\s+", text)')]),
    mutant("index", "add normalises the caller's float32 array in place",
           replace=[("V = np.divide(V, norms, out=np.zeros_like(V), where=norms > 0)",
                     "V = np.divide(V, np.where(norms > 0, norms, 1.0), out=V)")]),
    mutant("index", "search normalises the caller's float32 queries in place",
           replace=[("Q = np.divide(Q, norms, out=np.zeros_like(Q), where=norms > 0)",
                     "Q = np.divide(Q, np.where(norms > 0, norms, 1.0), out=Q)")]),
    mutant("index", "a batch of one query answered in the single-query form",
           replace=[("return (ids[0], top_scores[0]) if single else (ids, top_scores)",
                     "return (ids[0], top_scores[0]) if len(ids) == 1 else (ids, top_scores)")]),
    mutant("index", "ids saved with np.save (a mix of str and int ids all come back as str)",
           replace=[('with open(os.path.join(path, "ids.json"), "w", encoding="utf-8") as fh:\n'
                     '            json.dump([i.item() if hasattr(i, "item") else i for i in self.ids], fh)',
                     'np.save(os.path.join(path, "ids.npy"), np.array(self.ids))'),
                    ('with open(os.path.join(path, "ids.json"), encoding="utf-8") as fh:\n            ids = json.load(fh)',
                     'ids = np.load(os.path.join(path, "ids.npy")).tolist()')]),
    mutant("rrf", "an id missing from a ranking counted at rank len(ranking) + 1",
           replace=[("    ids = sorted(fused, key=lambda d: -fused[d])",
                     "    for ranking in rankings:\n        for d in set(fused) - set(ranking):\n"
                     "            fused[d] += 1.0 / (k + len(ranking) + 1)\n    ids = sorted(fused, key=lambda d: -fused[d])")]),
    mutant("ann", "efConstruction set after the vectors are added (the graph is built with the default)",
           replace=[("    index.hnsw.efConstruction = ef_construction\n    index.add(X)",
                     "    index.add(X)\n    index.hnsw.efConstruction = ef_construction")]),
    mutant("ann", "faiss.normalize_L2 on the caller's queries",
           replace=[("    Q = np.ascontiguousarray(Q / np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-12))",
                     "    faiss.normalize_L2(Q)")]),
    mutant("ivf", "the lists ignored: each row's cell recomputed at search time",
           replace=[("candidates = np.concatenate([np.asarray(lists[c], dtype=np.int64) for c in cells])",
                     "candidates = np.flatnonzero(np.isin(np.argmax(X @ C.T, axis=1), cells))")]),
    mutant("ivf", "search through faiss's IndexIVFFlat on the Setup's ivf_quantiser (the lists ignored)",
           replace=[("    Q = np.asarray(queries, dtype=np.float32).reshape(-1, X.shape[1])\n"
                     "    indices = np.full((len(Q), k), -1, dtype=np.int64)",
                     "    Q = np.ascontiguousarray(np.asarray(queries, dtype=np.float32).reshape(-1, X.shape[1]))\n"
                     "    index = faiss.IndexIVFFlat(ivf_quantiser(C), X.shape[1], len(C), faiss.METRIC_INNER_PRODUCT)\n"
                     "    index.add(np.ascontiguousarray(X))\n    index.nprobe = nprobe\n"
                     "    scores, indices = index.search(Q, k)\n    return indices, np.where(indices < 0, -np.inf, scores)\n"
                     "    indices = np.full((len(Q), k), -1, dtype=np.int64)")]),
    mutant("cluster", "of equal silhouettes the last candidate wins",
           replace=[("best = max(scores, key=scores.get)", "best = max(reversed(list(scores)), key=scores.get)")]),
    mutant("cluster", "c-TF-IDF with A the average words per text, not per cluster",
           replace=[("A = counts.sum() / len(classes)", "A = counts.sum() / len(texts)")]),
    mutant("rag", "reader embeds with the Setup's model, not the embed it is given",
           replace=[("sims = embed([s for _, _, s in candidates]) @ embed([question])[0]",
                     "sims = (model.encode([s for _, _, s in candidates], normalize_embeddings=True)\n"
                     "            @ model.encode([question], normalize_embeddings=True)[0])")]),
    mutant("rag", "reader: a tie goes to the last sentence",
           replace=[("best = int(np.argmax(sims))", "best = len(sims) - 1 - int(np.argmax(sims[::-1]))")]),
    mutant("rag", "reader splits sentences on '. '",
           replace=[("for s in split_sentences(text)]", 'for s in text.split(". ") if s]')]),
    mutant("rag", "reader re-retrieves with the Setup's retrieve (the hits it is given ignored)",
           replace=[("candidates = [(n, pid, s) for n, (pid, text) in enumerate(hits, start=1)",
                     "hits = retrieve(question, k=3)\n    candidates = [(n, pid, s) for n, (pid, text) in enumerate(hits, start=1)")]),
    mutant("rag", "threshold maximises balanced accuracy",
           replace=[("accuracy = [np.mean((scores >= t) == answerable) for t in candidates]",
                     "accuracy = [(np.mean(scores[answerable] >= t) if answerable.any() else 0.0)\n"
                     "                + (np.mean(scores[~answerable] < t) if (~answerable).any() else 0.0) for t in candidates]")]),
    mutant("rag", "accuracy over the answered answerable questions only",
           replace=[('acc = np.mean([r["answer"] is not None and q["answer"].lower() in r["answer"].lower() for r, q in answerable]) if answerable else 0.0',
                     'answered = [(r, q) for r, q in answerable if r["answer"] is not None]\n'
                     '    acc = np.mean([q["answer"].lower() in r["answer"].lower() for r, q in answered]) if answered else 0.0')]),
    mutant("rerank", "k=0 rescores every candidate (k or len)",
           replace=[("k = len(candidates) if k is None else min(int(k), len(candidates))",
                     "k = min(int(k or len(candidates)), len(candidates))")]),
    mutant("rerank", "the Setup's ce_score used instead of the scorer it is given",
           replace=[("scores = np.asarray(scorer(query,", "scores = np.asarray(ce_score(query,")]),
    mutant("vdb", "post-filtering after fetching 3k nearest",
           replace=[('rows = self.db.execute(sql + " ORDER BY distance", params).fetchall()',
                     'rows = self.db.execute("SELECT passage_id, distance, topic, doc_id FROM passages WHERE embedding MATCH ? AND k = ? "\n'
                     '                               "ORDER BY distance", [params[0], 3 * int(k)]).fetchall()\n'
                     '        rows = [(p, d) for p, d, t, di in rows if (topic is None or t == topic) and (doc_id is None or di == doc_id)][:k]')]),
    mutant("metrics", "evaluate_run through the Setup's InformationRetrievalEvaluator (grades ignored)",
           replace=[('''    qids = [q for q, rel in qrels.items() if relevance_grades(rel)]
    return {''', '''    rel = {q: set(r) for q, r in qrels.items() if len(r)}
    ev = InformationRetrievalEvaluator(queries={q: q for q in rel}, corpus={d: d for r in run.values() for d in r},
                                       relevant_docs=rel, mrr_at_k=[k], ndcg_at_k=[k], accuracy_at_k=[k],
                                       precision_recall_at_k=[k], map_at_k=[k], write_csv=False)
    res = ev.compute_metrics([[{"corpus_id": d, "score": float(len(run[q]) - i)} for i, d in enumerate(run[q])]
                              for q in ev.queries_ids])
    return {f"recall@{k}": float(res["recall@k"][k]), f"mrr@{k}": float(res["mrr@k"][k]), f"ndcg@{k}": float(res["ndcg@k"][k])}
    qids = [q for q, rel in qrels.items() if relevance_grades(rel)]
    return {''')]),
]

ALTERNATIVES = [
    alternative("chunk", "span arithmetic with a backwards while loop", source='''\
def chunk_words(text, max_words, overlap=0):
    if overlap < 0 or overlap >= max_words:
        raise ValueError("overlap must be in [0, max_words)")
    words = text.split()
    out = []
    s = 0
    while True:
        if not words:
            return out
        if s + max_words >= len(words):
            out.append(" ".join(words[s:]))
            return out
        e = s + max_words
        while e > s + overlap and not words[e - 1][-1] in ".!?":
            e -= 1
        if e == s + overlap:
            e = s + max_words
        out.append(" ".join(words[s:e]))
        s = e - overlap
'''),
    alternative("chunk", "regex sentence ends, numpy", source='''\
def chunk_words(text, max_words, overlap=0):
    if not (isinstance(overlap, int) and 0 <= overlap < max_words):
        raise ValueError("bad overlap")
    words = re.findall(r"\\S+", text)
    n = len(words)
    is_end = np.array([bool(re.search(r"[.!?]$", w)) for w in words] or [False])
    chunks, s = [], 0
    while s < n:
        if n - s <= max_words:
            chunks.append(" ".join(words[s:]))
            break
        window = np.flatnonzero(is_end[s + overlap:s + max_words]) + s + overlap + 1  # candidate ends in (s+o, s+B]
        e = int(window[-1]) if len(window) else s + max_words
        chunks.append(" ".join(words[s:e]))
        s = e - overlap
    return chunks
'''),
    alternative("index", "torch float64, full argsort, pickled ids", source='''\
import pickle

import torch


class VectorIndex:
    def __init__(self, dim):
        self.dim = dim
        self._rows = torch.zeros((0, dim), dtype=torch.float64)
        self._ids = []

    def __len__(self):
        return len(self._ids)

    def add(self, vectors, ids):
        t = torch.as_tensor(np.asarray(vectors, dtype=np.float64)).reshape(-1, self.dim)
        ids = list(ids)
        if t.shape[0] != len(ids):
            raise ValueError("ids and vectors differ in number")
        t = torch.nn.functional.normalize(t, dim=1)  # a zero row stays zero
        self._rows = torch.cat([self._rows, t])
        self._ids += ids

    def search(self, queries, k=10, exclude=None):
        q = torch.as_tensor(np.asarray(queries, dtype=np.float64))
        one = q.dim() == 1
        q = torch.nn.functional.normalize(q.reshape(-1, self.dim), dim=1)
        s = q @ self._rows.T
        excl = [exclude] if one else (list(exclude) if exclude is not None else [None] * len(q))
        for r, e in enumerate(excl):
            for j, i in enumerate(self._ids):
                if e is not None and i == e and type(i) is type(e):
                    s[r, j] = float("-inf")
        vals, pos = torch.sort(s, dim=1, descending=True, stable=True)
        vals, pos = vals[:, :k], pos[:, :k]
        ids = [[self._ids[j] for j in row.tolist()] for row in pos]
        if one:
            return ids[0], vals[0].numpy()
        return ids, vals.numpy()

    def save(self, path):
        os.makedirs(path, exist_ok=True)
        torch.save(self._rows, os.path.join(path, "rows.pt"))
        with open(os.path.join(path, "ids.pkl"), "wb") as fh:
            pickle.dump(self._ids, fh)

    @classmethod
    def load(cls, path):
        rows = torch.load(os.path.join(path, "rows.pt"))
        with open(os.path.join(path, "ids.pkl"), "rb") as fh:
            ids = pickle.load(fh)
        out = cls(rows.shape[1])
        out._rows, out._ids = rows, ids
        return out
'''),
    alternative("index", "loops with heapq, npz file", source='''\
import heapq


class VectorIndex:
    def __init__(self, dim):
        self.dim = dim
        self.rows = []
        self.ids = []

    def __len__(self):
        return len(self.rows)

    def add(self, vectors, ids):
        vectors = [np.asarray(v, dtype=np.float32) for v in np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)]
        ids = list(ids)
        if len(vectors) != len(ids):
            raise ValueError("mismatch")
        for v, i in zip(vectors, ids):
            n = float(np.sqrt(np.dot(v, v)))
            self.rows.append(v / n if n > 0 else v)
            self.ids.append(i)

    def _one(self, q, k, ex):
        n = float(np.linalg.norm(q))
        q = q / n if n > 0 else q
        cands = [(float(np.dot(q, v)), -j) for j, v in enumerate(self.rows) if ex is None or self.ids[j] != ex]
        best = heapq.nlargest(k, cands)
        return [self.ids[-j] for _, j in best], np.array([s for s, _ in best])

    def search(self, queries, k=10, exclude=None):
        Q = np.asarray(queries, dtype=np.float64)
        if Q.ndim == 1:
            return self._one(Q, k, exclude)
        ex = list(exclude) if exclude is not None else [None] * len(Q)
        res = [self._one(q, k, e) for q, e in zip(Q, ex)]
        return [r[0] for r in res], np.stack([r[1] for r in res])

    def save(self, path):
        os.makedirs(path, exist_ok=True)
        kinds = ["i" if isinstance(i, (int, np.integer)) else "s" for i in self.ids]
        np.savez(os.path.join(path, "index.npz"), rows=np.array(self.rows, dtype=np.float32).reshape(-1, self.dim),
                 ids=np.array([str(i) for i in self.ids]), kinds=np.array(kinds), dim=self.dim)

    @classmethod
    def load(cls, path):
        z = np.load(os.path.join(path, "index.npz"))
        out = cls(int(z["dim"]))
        out.rows = list(z["rows"])
        out.ids = [int(i) if kind == "i" else str(i) for i, kind in zip(z["ids"], z["kinds"])]
        return out
'''),
    alternative("metrics", "set arithmetic and numpy", source='''\
def relevance_grades(relevant):
    """Relevance as a dict id -> grade > 0 (a set or list of ids means grade 1 each). Given, not graded."""
    if isinstance(relevant, dict):
        return {d: float(g) for d, g in relevant.items() if g > 0}
    return {d: 1.0 for d in relevant}


def recall_at_k(ranked, relevant, k):
    rel = set(relevance_grades(relevant))
    return len(rel.intersection(list(ranked)[:k])) / len(rel) if rel else 0.0


def mrr_at_k(ranked, relevant, k):
    rel = relevance_grades(relevant)
    hits = [i for i, d in enumerate(list(ranked)[:k]) if d in rel]
    return 1.0 / (hits[0] + 1) if hits else 0.0


def ndcg_at_k(ranked, relevant, k):
    rel = relevance_grades(relevant)
    if not rel:
        return 0.0
    top = list(ranked)[:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    gains = np.array([rel.get(d, 0.0) for d in top])
    ideal = np.sort(np.array(list(rel.values())))[::-1][:k]
    return float(gains @ discounts[:len(gains)] / (ideal @ discounts[:len(ideal)]))


def evaluate_run(run, qrels, k=10):
    rows = np.array([[recall_at_k(run[q], r, k), mrr_at_k(run[q], r, k), ndcg_at_k(run[q], r, k)]
                     for q, r in qrels.items() if len(relevance_grades(r))])
    means = rows.mean(axis=0)
    return {f"recall@{k}": float(means[0]), f"mrr@{k}": float(means[1]), f"ndcg@{k}": float(means[2])}
'''),
    alternative("bm25", "bm25s with explicit defaults, full scores and argsort", source='''\
def bm25_search(corpus, queries, k=10):
    import bm25s

    model = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    model.index(bm25s.tokenize(corpus, stopwords="en", stemmer=None, show_progress=False), show_progress=False)
    q_ids, vocab = bm25s.tokenize(queries, stopwords="en", return_ids=True, show_progress=False)
    inverse = {i: w for w, i in vocab.items()}
    idx_rows, score_rows = [], []
    for ids in q_ids:
        words = [inverse[i] for i in ids]
        s = np.asarray(model.get_scores(words), dtype=np.float64)
        order = np.argsort(-s, kind="stable")[:k]
        idx_rows.append(order)
        score_rows.append(s[order])
    return np.array(idx_rows, dtype=np.int64).reshape(len(queries), k), np.array(score_rows).reshape(len(queries), k)
'''),
    alternative("rrf", "defaultdict, sorted pairs", source='''\
from collections import defaultdict


def rrf(rankings, k=60):
    fused = defaultdict(float)
    for ranking in rankings:
        for i in range(len(ranking)):
            fused[ranking[i]] += 1 / (k + i + 1)
    pairs = sorted(fused.items(), key=lambda p: p[1], reverse=True)
    return [d for d, _ in pairs], np.array([s for _, s in pairs])
'''),
    alternative("rrf", "pandas groupby", source='''\
def rrf(rankings, k=60):
    rows = [(d, 1.0 / (k + r)) for ranking in rankings for r, d in enumerate(ranking, 1)]
    if not rows:
        return [], np.zeros(0)
    s = pd.DataFrame(rows, columns=["id", "score"]).groupby("id", sort=False)["score"].sum()
    s = s.sort_values(ascending=False, kind="stable")
    return list(s.index), s.to_numpy()
'''),
    alternative("ann", "faiss.normalize_L2 on copies, recall with numpy", source='''\
def build_hnsw(vectors, M=16, ef_construction=64):
    import faiss

    X = np.array(vectors, dtype=np.float32, order="C", copy=True)
    faiss.normalize_L2(X)
    index = faiss.IndexHNSWFlat(X.shape[1], M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(X)
    return index


def hnsw_search(index, queries, k, ef_search):
    import faiss

    Q = np.array(queries, dtype=np.float32, order="C", copy=True).reshape(-1, index.d)
    faiss.normalize_L2(Q)
    index.hnsw.efSearch = ef_search
    D, I = index.search(Q, k)
    return I.astype(np.int64), D.astype(np.float64)


def recall_vs_exact(approx, exact):
    a, e = np.asarray(approx), np.asarray(exact)
    hits = (a[:, :, None] == e[:, None, :]).any(axis=2).sum(axis=1)
    return float(hits.mean() / e.shape[1])
'''),
    alternative("ann", "torch normalisation, SearchParameters for efSearch", source='''\
import torch


def build_hnsw(vectors, M=16, ef_construction=64):
    import faiss

    X = torch.nn.functional.normalize(torch.as_tensor(np.asarray(vectors), dtype=torch.float32), dim=1).numpy()
    index = faiss.IndexHNSWFlat(X.shape[1], M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(np.ascontiguousarray(X))
    return index


def hnsw_search(index, queries, k, ef_search):
    Q = torch.nn.functional.normalize(torch.as_tensor(np.asarray(queries), dtype=torch.float32).reshape(-1, index.d), dim=1)
    index.hnsw.efSearch = ef_search
    scores, ids = index.search(np.ascontiguousarray(Q.numpy()), k)
    return ids, scores


def recall_vs_exact(approx, exact):
    total = 0.0
    for a, e in zip(np.asarray(approx).tolist(), np.asarray(exact).tolist()):
        total += sum(1 for x in a if x in e) / len(e)
    return total / len(np.asarray(exact))
'''),
    alternative("ivf", "a dict of lists built in one pass, torch top-k per query", source='''\
import torch


def ivf_lists(vectors, centroids):
    X, C = np.asarray(vectors, dtype=np.float64), np.asarray(centroids, dtype=np.float64)
    cells = {c: [] for c in range(len(C))}
    for i, c in enumerate((X @ C.T).argmax(axis=1).tolist()):
        cells[c].append(i)
    return [np.array(cells[c], dtype=int) for c in range(len(C))]


def ivf_search(vectors, centroids, lists, queries, k, nprobe):
    X = torch.as_tensor(np.asarray(vectors), dtype=torch.float64)
    C = torch.as_tensor(np.asarray(centroids), dtype=torch.float64)
    Q = torch.as_tensor(np.asarray(queries), dtype=torch.float64).reshape(-1, X.shape[1])
    out_i, out_s = [], []
    for q in Q:
        cells = torch.topk(C @ q, nprobe).indices.tolist()
        cand = torch.as_tensor(np.concatenate([np.asarray(lists[c], dtype=np.int64) for c in cells]), dtype=torch.long)
        s = X[cand] @ q
        top = torch.topk(s, min(k, len(cand)))
        idx = cand[top.indices].tolist() + [-1] * (k - len(top.indices))
        sc = top.values.tolist() + [float("-inf")] * (k - len(top.indices))
        out_i.append(idx)
        out_s.append(sc)
    return np.array(out_i), np.array(out_s)
'''),
    alternative("ivf", "all queries at once with a mask, argpartition", source='''\
def ivf_lists(vectors, centroids):
    cell = np.asarray(vectors) @ np.asarray(centroids).T
    cell = cell.argmax(axis=1)
    order = np.argsort(cell, kind="stable")
    bounds = np.searchsorted(cell[order], np.arange(len(np.asarray(centroids)) + 1))
    return [order[bounds[c]:bounds[c + 1]] for c in range(len(bounds) - 1)]


def ivf_search(vectors, centroids, lists, queries, k, nprobe):
    X, C = np.asarray(vectors, dtype=np.float32), np.asarray(centroids, dtype=np.float32)
    Q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
    cell_of = np.empty(len(X), dtype=int)
    for c, rows in enumerate(lists):
        cell_of[np.asarray(rows, dtype=int)] = c
    probe = np.argpartition(-(Q @ C.T), nprobe - 1, axis=1)[:, :nprobe]
    S = Q @ X.T
    allowed = (cell_of[None, :, None] == probe[:, None, :]).any(axis=2)
    S = np.where(allowed, S, -np.inf)
    order = np.argsort(-S, axis=1, kind="stable")[:, :k]
    scores = np.take_along_axis(S, order, axis=1)
    if order.shape[1] < k:
        pad = k - order.shape[1]
        order = np.hstack([order, np.zeros((len(Q), pad), dtype=int)])
        scores = np.hstack([scores, np.full((len(Q), pad), -np.inf)])
    return np.where(np.isneginf(scores), -1, order), scores
'''),
    alternative("cluster", "float32 data, sklearn pipeline pieces, scipy sparse c-TF-IDF", source='''\
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score


def choose_k(X, candidates, seed=0):
    X = np.asarray(X)
    best_k, best_s, best_labels, scores = None, -np.inf, None, {}
    for k in candidates:
        km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(X)
        s = silhouette_score(X, km.labels_, metric="euclidean")
        scores[k] = float(s)
        if s > best_s:
            best_k, best_s, best_labels = k, s, km.labels_
    return best_k, best_labels, scores


def ctfidf_keywords(texts, labels, n_words=5):
    import scipy.sparse as sp

    labels = np.asarray(labels)
    classes = sorted(set(labels.tolist()))
    joined = [" ".join(np.asarray(texts, dtype=object)[labels == c]) for c in classes]
    cv = CountVectorizer(stop_words="english")
    C = sp.csr_matrix(cv.fit_transform(joined), dtype=np.float64)
    tf = sp.diags(1.0 / np.asarray(C.sum(axis=1)).ravel()) @ C
    f = np.asarray(C.sum(axis=0)).ravel()
    A = C.sum() / C.shape[0]
    W = tf.toarray() * np.log1p(A / f)
    words = np.array(cv.get_feature_names_out())
    out = {}
    for i, c in enumerate(classes):
        order = sorted(range(len(words)), key=lambda j: (-W[i, j], words[j]))
        out[c] = [str(words[j]) for j in order[:n_words]]
    return out
'''),
    alternative("rag", "loops, midpoint thresholds, pandas figures", source='''\
def build_prompt(question, hits):
    parts = ["Use only the numbered passages to answer. Cite each passage you rely on as [n]. "
             "If they do not contain the answer, reply: I don't know."]
    for i in range(len(hits)):
        parts.append("[" + str(i + 1) + "] " + hits[i][1])
    parts.append("Question: " + question)
    return "\\n\\n".join(parts)


def extractive_answer(question, hits, threshold, embed):
    best = None
    qv = np.asarray(embed([question]), dtype=np.float64)[0]
    for n, (pid, text) in enumerate(hits, start=1):
        sentences = split_sentences(text)
        if not sentences:
            continue
        sims = np.asarray(embed(sentences), dtype=np.float64) @ qv
        j = int(np.argmax(sims))
        if best is None or sims[j] > best[0]:
            best = (float(sims[j]), n, pid, sentences[j])
    if best is None:
        return {"answer": None, "citation": None, "passage_id": None, "score": -np.inf}
    if best[0] >= threshold:
        return {"answer": best[3], "citation": best[1], "passage_id": best[2], "score": best[0]}
    return {"answer": None, "citation": None, "passage_id": None, "score": best[0]}


def choose_threshold(scores, answerable):
    s = np.sort(np.unique(np.asarray(scores, dtype=float)))
    cands = np.concatenate([[s[0] - 1.0], (s[1:] + s[:-1]) / 2, [s[-1] + 1.0]])
    acc = [np.mean((np.asarray(scores) >= t) == np.asarray(answerable)) for t in cands]
    return float(cands[int(np.argmax(acc))])


def evaluate_rag(results, questions):
    df = pd.DataFrame({"answerable": [bool(q["answerable"]) for q in questions],
                       "abstained": [r["answer"] is None for r in results],
                       "hit": [len(set(q["support"]).intersection(r["retrieved"])) > 0 for r, q in zip(results, questions)],
                       "right": [r["answer"] is not None and bool(q["answer"]) and q["answer"].casefold() in r["answer"].casefold()
                                 for r, q in zip(results, questions)]})
    ans, abst, un = df[df.answerable], df[df.abstained], df[~df.answerable]
    return {"hit_rate": float(ans.hit.mean()) if len(ans) else 0.0,
            "accuracy": float(ans.right.mean()) if len(ans) else 0.0,
            "abstain_precision": float((~abst.answerable).mean()) if len(abst) else 0.0,
            "abstain_recall": float(un.abstained.mean()) if len(un) else 0.0}
'''),
    alternative("rerank", "plain Python: sorted(..., reverse=True) is stable too", source='''\
def rerank(query, candidates, scorer, k=None):
    candidates = list(candidates)
    n = len(candidates) if k is None else max(0, min(k, len(candidates)))
    if n == 0:
        return [c[0] for c in candidates]
    scores = list(scorer(query, [c[1] for c in candidates[:n]]))
    head = sorted(range(n), key=lambda i: scores[i], reverse=True)
    return [candidates[i][0] for i in head] + [c[0] for c in candidates[n:]]
'''),
    alternative("rerank", "torch stable sort, ids and texts unzipped", source='''\
def rerank(query, candidates, scorer, k=None):
    ids = [pid for pid, _ in candidates]
    texts = [t for _, t in candidates]
    m = len(ids) if k is None or k > len(ids) else k
    if m <= 0:
        return ids
    s = torch.as_tensor(np.asarray(scorer(query, texts[:m]), dtype=np.float64))
    order = torch.sort(s, descending=True, stable=True).indices.tolist()
    return [ids[i] for i in order] + ids[m:]
'''),
    alternative("vdb", "JSON vectors row by row, conditions joined, cursor iterated", source='''\
class PassageDB:
    def __init__(self, path, dim):
        self.dim = int(dim)
        self.db = connect_vector_db(path)
        self.db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS passages USING vec0(embedding float[{self.dim}] "
                        "distance_metric=cosine, topic text, doc_id text, +passage_id text)")

    def insert(self, ids, vectors, metadata):
        with self.db:
            for pid, v, m in zip(ids, vectors, metadata):
                self.db.execute("INSERT INTO passages(embedding, topic, doc_id, passage_id) VALUES (vec_f32(?), ?, ?, ?)",
                                (json.dumps([float(x) for x in v]), m["topic"], m["doc_id"], pid))

    def search(self, query, k=10, topic=None, doc_id=None):
        where = ["embedding MATCH vec_f32(?)", "k = ?"]
        params = [json.dumps([float(x) for x in query]), k]
        if topic is not None:
            where.append("topic = ?")
            params.append(topic)
        if doc_id is not None:
            where.append("doc_id = ?")
            params.append(doc_id)
        ids, scores = [], []
        for pid, dist in self.db.execute("SELECT passage_id, distance FROM passages WHERE " + " AND ".join(where)
                                         + " ORDER BY distance", params):
            ids.append(pid)
            scores.append(1 - dist)
        return ids, np.array(scores)
'''),
    alternative("vdb", "sqlite_vec.serialize_float32, named parameters, cosine recomputed with vec_distance_cosine", source='''\
class PassageDB:
    def __init__(self, path, dim):
        self.dim = int(dim)
        self.db = connect_vector_db(path)
        self.db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS passages USING vec0(embedding float[{self.dim}] "
                        "distance_metric=cosine, topic text, doc_id text, +passage_id text)")

    def insert(self, ids, vectors, metadata):
        rows = [{"e": sqlite_vec.serialize_float32([float(x) for x in v]), "t": m["topic"], "d": m["doc_id"], "p": p}
                for p, v, m in zip(ids, np.asarray(vectors, dtype=np.float64), metadata)]
        with self.db:
            self.db.executemany("INSERT INTO passages(embedding, topic, doc_id, passage_id) VALUES (:e, :t, :d, :p)", rows)

    def search(self, query, k=10, topic=None, doc_id=None):
        params = {"q": sqlite_vec.serialize_float32([float(x) for x in np.ravel(query)]), "k": int(k)}
        filters = {name: value for name, value in (("topic", topic), ("doc_id", doc_id)) if value is not None}
        params.update(filters)
        sql = ("SELECT passage_id, vec_distance_cosine(embedding, :q) AS d FROM passages WHERE embedding MATCH :q AND k = :k"
               + "".join(f" AND {name} = :{name}" for name in filters) + " ORDER BY distance")
        rows = self.db.execute(sql, params).fetchall()
        return [r[0] for r in rows], np.array([1.0 - r[1] for r in rows], dtype=np.float32)
'''),
    # ---- red-team rt-04 ----------------------------------------------------------------------------------
    alternative("chunk", "sentence ends from the Setup's split_sentences (word counts)", source='''\
def chunk_words(text, max_words, overlap=0):
    if overlap < 0 or overlap >= max_words:
        raise ValueError("need 0 <= overlap < max_words")
    words = text.split()
    ends, count = set(), 0
    for sentence in split_sentences(text):
        count += len(sentence.split())
        ends.add(count)
    chunks, s = [], 0
    while s < len(words):
        if s + max_words >= len(words):
            chunks.append(" ".join(words[s:]))
            break
        inside = [e for e in ends if s + overlap < e <= s + max_words]
        e = max(inside) if inside else s + max_words
        chunks.append(" ".join(words[s:e]))
        s = e - overlap
    return chunks
'''),
    alternative("index", "float64 rows in a Python list, epsilon guard, full stable sort", source='''\
class VectorIndex:
    def __init__(self, dim):
        self.dim = int(dim)
        self.rows = []
        self.ids = []

    def __len__(self):
        return len(self.ids)

    @staticmethod
    def _unit(M):
        return M / (np.linalg.norm(M, axis=1, keepdims=True) + 1e-30)

    def add(self, vectors, ids):
        M = np.array(vectors, dtype=np.float64).reshape(-1, self.dim)
        ids = list(ids)
        if len(ids) != M.shape[0]:
            raise ValueError("one id per vector")
        self.rows.extend(self._unit(M))
        self.ids += ids

    def search(self, queries, k=10, exclude=None):
        one = np.ndim(queries) == 1
        Q = self._unit(np.array(queries, dtype=np.float64).reshape(-1, self.dim))
        S = Q @ np.array(self.rows).reshape(-1, self.dim).T
        excl = [exclude] if one else (list(exclude) if exclude is not None else [None] * len(Q))
        all_ids, all_scores = [], []
        for r in range(len(Q)):
            order = [j for j in np.argsort(-S[r], kind="stable") if excl[r] is None or self.ids[j] != excl[r]][:k]
            all_ids.append([self.ids[j] for j in order])
            all_scores.append(S[r, order])
        if one:
            return all_ids[0], np.array(all_scores[0])
        return all_ids, np.array(all_scores)

    def save(self, path):
        os.makedirs(path, exist_ok=True)
        np.save(os.path.join(path, "rows.npy"), np.array(self.rows).reshape(-1, self.dim))
        with open(os.path.join(path, "ids.json"), "w") as fh:
            json.dump([int(i) if isinstance(i, np.integer) else i for i in self.ids], fh)

    @classmethod
    def load(cls, path):
        rows = np.load(os.path.join(path, "rows.npy"))
        index = cls(rows.shape[1])
        index.rows = list(rows)
        with open(os.path.join(path, "ids.json")) as fh:
            index.ids = json.load(fh)
        return index
'''),
    alternative("cluster", "loop with a strict >, c-TF-IDF from raw counts on the texts, log10", source='''\
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import silhouette_score


def choose_k(X, candidates, seed=0):
    X = np.asarray(X)
    best_k, best_labels, best_s, scores = None, None, -np.inf, {}
    for k in candidates:
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(X).labels_
        s = silhouette_score(X, labels)
        scores[k] = s
        if s > best_s:
            best_k, best_labels, best_s = k, labels, s
    return best_k, best_labels, scores


def ctfidf_keywords(texts, labels, n_words=5):
    labels = np.asarray(labels)
    cv = CountVectorizer(stop_words="english")
    per_text = cv.fit_transform(list(texts))                     # (n texts, vocabulary), sparse
    classes = sorted(set(labels.tolist()))
    counts = np.vstack([np.asarray(per_text[labels == c].sum(axis=0)).ravel() for c in classes]).astype(float)
    A = counts.sum() / len(classes)
    # dividing by a cluster's total is the same factor for every word of that cluster: the order is unchanged
    W = counts * np.log10(1 + A / counts.sum(axis=0))
    vocab = cv.get_feature_names_out()
    out = {}
    for i, c in enumerate(classes):
        order = sorted(range(len(vocab)), key=lambda j: (-W[i, j], vocab[j]))
        out[c] = [str(vocab[j]) for j in order[:n_words]]
    return out
'''),
    alternative("ivf", "lists from faiss's quantiser, search with one torch top-k over masked scores", source='''\
import torch


def ivf_lists(vectors, centroids):
    X = np.ascontiguousarray(vectors, dtype=np.float32)
    _, cell = ivf_quantiser(np.asarray(centroids, dtype=np.float32)).search(X, 1)
    return [np.flatnonzero(cell[:, 0] == c) for c in range(len(centroids))]


def ivf_search(vectors, centroids, lists, queries, k, nprobe):
    X = torch.as_tensor(np.asarray(vectors, dtype=np.float64))
    C = torch.as_tensor(np.asarray(centroids, dtype=np.float64))
    Q = torch.as_tensor(np.asarray(queries, dtype=np.float64)).reshape(-1, X.shape[1])
    cell_of = torch.full((X.shape[0],), -1, dtype=torch.long)
    for c, rows in enumerate(lists):
        cell_of[torch.as_tensor(np.asarray(rows, dtype=np.int64))] = c
    probes = torch.topk(Q @ C.T, nprobe, dim=1).indices             # (m, nprobe)
    allowed = (cell_of[None, :, None] == probes[:, None, :]).any(dim=2)  # (m, n)
    S = torch.where(allowed, Q @ X.T, torch.tensor(-np.inf, dtype=torch.float64))
    top = torch.topk(S, min(k, X.shape[0]), dim=1)
    idx, sc = top.indices.numpy(), top.values.numpy()
    idx = np.where(np.isneginf(sc), -1, idx)
    pad = k - idx.shape[1]
    if pad > 0:
        idx = np.hstack([idx, np.full((len(idx), pad), -1)])
        sc = np.hstack([sc, np.full((len(sc), pad), -np.inf)])
    return idx, sc
'''),
    alternative("rag", "one embed call per question, counters, sweep over sorted scores", source='''\
def build_prompt(question, hits):
    numbered = "\\n".join("[%d] %s" % (i + 1, text) for i, (_, text) in enumerate(hits))
    return ("You answer from the passages below and nothing else; cite the number of each passage you use, e.g. [1]. "
            "When the passages do not contain the answer, say I don't know.\\n\\n" + numbered + "\\n\\nQuestion: " + question)


def extractive_answer(question, hits, threshold, embed):
    cands = []
    for n, (pid, text) in enumerate(hits):
        for s in split_sentences(text):
            cands.append((n + 1, pid, s))
    if len(cands) == 0:
        return {"answer": None, "citation": None, "passage_id": None, "score": float("-inf")}
    E = np.asarray(embed([s for _, _, s in cands] + [question]), dtype=np.float32)
    sims = E[:-1] @ E[-1]
    b = int(torch.argmax(torch.as_tensor(sims)))
    if sims[b] >= threshold:
        n, pid, s = cands[b]
        return {"answer": s, "citation": n, "passage_id": pid, "score": float(sims[b])}
    return {"answer": None, "citation": None, "passage_id": None, "score": float(sims[b])}


def choose_threshold(scores, answerable):
    pairs = sorted(zip([float(s) for s in scores], [bool(a) for a in answerable]))
    best_t, best_right = float("inf"), sum(not a for _, a in pairs)  # never answer
    for i, (s, _) in enumerate(pairs):
        if i and pairs[i - 1][0] == s:
            continue  # tau = s answers every score >= s
        right = sum(a for _, a in pairs[i:]) + sum(not a for _, a in pairs[:i])
        if right > best_right:
            best_t, best_right = s, right
    return best_t


def evaluate_rag(results, questions):
    n_ans = n_hit = n_right = n_abst = n_abst_ok = n_unans = 0
    for r, q in zip(results, questions):
        abstained = r["answer"] is None
        n_abst += abstained
        if q["answerable"]:
            n_ans += 1
            n_hit += any(p in r["retrieved"] for p in q["support"])
            n_right += (not abstained) and q["answer"].lower() in r["answer"].lower()
        else:
            n_unans += 1
            n_abst_ok += abstained
    frac = lambda a, b: a / b if b else 0.0  # noqa: E731
    return {"hit_rate": frac(n_hit, n_ans), "accuracy": frac(n_right, n_ans),
            "abstain_precision": frac(n_abst_ok, n_abst), "abstain_recall": frac(n_abst_ok, n_unans)}
'''),
]
