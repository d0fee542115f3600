"""Mutation catalogue of 03_advanced: plausible wrong answers (MUTANTS) and correct alternatives (ALTERNATIVES).

Run: nice -n 10 .venv/bin/python -m autograder.mutants 03_advanced --jobs 1 [--only <cell-or-name>]
"""
import runpy
from pathlib import Path

from autograder.mutants import alternative, mutant

_BOB = runpy.run_path(str(Path(__file__).resolve().parents[2] / "autograder" / "sample_answers" / "03_advanced.py"))

MUTANTS = [
    # -- 1. training pairs and hard negatives ---------------------------------------------------------------
    mutant("pairs", "pairs from every split",
           replace=[('train = queries[queries.split == "train"]', "train = queries")]),
    mutant("pairs", "article matched by row position, not by pid",
           replace=[("return [(q, text[p]) for q, p in zip(train.text, train.pid)]",
                     'return list(zip(train.text, passages[passages.split == "train"].text.repeat(3)))')]),
    mutant("pairs", "positive not masked",
           replace=[("    scores[np.arange(len(scores)), np.asarray(positive, dtype=np.int64)] = -np.inf\n", "")]),
    mutant("pairs", "skips the top hit instead of the positive",
           replace=[("    scores[np.arange(len(scores)), np.asarray(positive, dtype=np.int64)] = -np.inf\n", ""),
                    ('kind="stable")[:, :k]', 'kind="stable")[:, 1:k + 1]')]),
    mutant("pairs", "positive masked with 0, not -inf",
           replace=[("np.asarray(positive, dtype=np.int64)] = -np.inf", "np.asarray(positive, dtype=np.int64)] = 0.0")]),
    mutant("pairs", "every question's positive masked in every row",
           replace=[("scores[np.arange(len(scores)), np.asarray(positive, dtype=np.int64)] = -np.inf",
                     "scores[:, np.asarray(positive, dtype=np.int64)] = -np.inf")]),
    mutant("pairs", "easiest negatives (ascending order)",
           replace=[("np.argsort(-scores, axis=1, kind=\"stable\")[:, :k]",
                     "np.argsort(np.where(np.isinf(scores), np.inf, scores), axis=1, kind=\"stable\")[:, :k]")]),
    mutant("pairs", "argpartition: top k unsorted",
           replace=[('return np.argsort(-scores, axis=1, kind="stable")[:, :k]',
                     "return np.argpartition(-scores, k - 1, axis=1)[:, :k][:, ::-1]")]),
    mutant("pairs", "k ignored (always 1)",
           replace=[('kind="stable")[:, :k]', 'kind="stable")[:, :1]')]),
    # -- 2. evaluator and fine-tuning ------------------------------------------------------------------------
    mutant("finetune", "evaluator corpus: the split's articles only",
           replace=[("corpus=dict(zip(passages.pid, passages.text))",
                     "corpus=dict(zip(passages.pid[passages.split == split], passages.text[passages.split == split]))")]),
    mutant("finetune", "evaluator always on the test split",
           replace=[("q = queries[queries.split == split]", 'q = queries[queries.split == "test"]')]),
    mutant("finetune", "no no_duplicates batch sampler",
           replace=[('batch_sampler="no_duplicates", ', "")]),
    mutant("finetune", "seed ignored",
           replace=[("seed=seed, data_seed=seed,", "seed=42, data_seed=42,")]),
    mutant("finetune", "batch_size ignored",
           replace=[("per_device_train_batch_size=batch_size", "per_device_train_batch_size=32")]),
    mutant("finetune", "learning_rate ignored",
           replace=[("learning_rate=learning_rate, ", "learning_rate=1e-4, ")]),
    mutant("finetune", "two epochs",
           replace=[("num_train_epochs=1", "num_train_epochs=2")]),
    mutant("finetune", "hard negatives not used",
           replace=[(',\n                                 "negative": [t[2] for t in triplets]})', "})")]),
    mutant("finetune", "positive and negative swapped",
           replace=[('"positive": [t[1] for t in triplets]', '"positive": [t[2] for t in triplets]'),
                    ('"negative": [t[2] for t in triplets]', '"negative": [t[1] for t in triplets]')]),
    mutant("finetune", "saves before training",
           replace=[("    trainer.train()\n    model.save(output_dir)", "    model.save(output_dir)\n    trainer.train()")]),
    mutant("finetune", "never saves the model",
           replace=[("    model.save(output_dir)\n", "")]),
    # -- 3. truncation and quantisation ------------------------------------------------------------------------
    mutant("compress", "truncate without renormalising",
           replace=[("return np.divide(T, norms, out=np.zeros_like(T), where=norms > 0)", "return T")]),
    mutant("compress", "truncate keeps the last d columns",
           replace=[("np.asarray(X, dtype=np.float64)[:, :d]", "np.asarray(X, dtype=np.float64)[:, -d:]")]),
    mutant("compress", "truncate normalises before cutting",
           replace=[("T = np.asarray(X, dtype=np.float64)[:, :d]",
                     "T = np.asarray(X, dtype=np.float64); T = (T / np.linalg.norm(T, axis=1, keepdims=True))[:, :d]"),
                    ("return np.divide(T, norms, out=np.zeros_like(T), where=norms > 0)", "return T")]),
    mutant("compress", "truncate: zero rows become NaN",
           replace=[("return np.divide(T, norms, out=np.zeros_like(T), where=norms > 0)", "return T / norms")]),
    mutant("compress", "one global calibration range",
           replace=[("return X.min(axis=0), X.max(axis=0)", "return np.full(X.shape[1], X.min()), np.full(X.shape[1], X.max())")]),
    mutant("compress", "quantize without clipping",
           replace=[("X = np.clip(np.asarray(X, dtype=np.float64), lo, hi)", "X = np.asarray(X, dtype=np.float64)")]),
    mutant("compress", "quantize floors instead of rounding",
           replace=[("(np.round((X - lo) / (hi - lo) * 255) - 128)", "(np.floor((X - lo) / (hi - lo) * 255) - 128)")]),
    mutant("compress", "dequantize in int8 arithmetic",
           replace=[("(np.asarray(codes, dtype=np.float64) + 128) / 255", "(np.asarray(codes) + 128) / 255")]),
    mutant("compress", "binarize: x >= 0 gives a 1",
           replace=[("np.packbits(np.asarray(X) > 0, axis=1)", "np.packbits(np.asarray(X) >= 0, axis=1)")]),
    mutant("compress", "hamming counts differing bytes",
           replace=[("return np.unpackbits(xor, axis=2).sum(axis=2).astype(np.int64)",
                     "return (A[:, None, :] != B[None, :, :]).sum(axis=2)")]),
    mutant("compress", "hamming counts in uint8 (overflows past 255)",
           replace=[("return np.unpackbits(xor, axis=2).sum(axis=2).astype(np.int64)",
                     "return np.unpackbits(xor, axis=2).sum(axis=2, dtype=np.uint8)")]),
    # -- 4. Matryoshka loss --------------------------------------------------------------------------------------
    mutant("matryoshka", "normalises before cutting",
           replace=[("a, c = F.normalize(anchors[:, :d], dim=1), F.normalize(candidates[:, :d], dim=1)",
                     "a, c = F.normalize(anchors, dim=1)[:, :d], F.normalize(candidates, dim=1)[:, :d]")]),
    mutant("matryoshka", "no renormalisation (dot products)",
           replace=[("a, c = F.normalize(anchors[:, :d], dim=1), F.normalize(candidates[:, :d], dim=1)",
                     "a, c = anchors[:, :d], candidates[:, :d]")]),
    mutant("matryoshka", "candidates not renormalised",
           replace=[("a, c = F.normalize(anchors[:, :d], dim=1), F.normalize(candidates[:, :d], dim=1)",
                     "a, c = F.normalize(anchors[:, :d], dim=1), candidates[:, :d]")]),
    mutant("matryoshka", "last d coordinates",
           replace=[("a, c = F.normalize(anchors[:, :d], dim=1), F.normalize(candidates[:, :d], dim=1)",
                     "a, c = F.normalize(anchors[:, -d:], dim=1), F.normalize(candidates[:, -d:], dim=1)")]),
    mutant("matryoshka", "mean over dims, not sum",
           replace=[("total = total + w * F.cross_entropy(scale * a @ c.T, labels)",
                     "total = total + w * F.cross_entropy(scale * a @ c.T, labels) / len(dims)")]),
    mutant("matryoshka", "weights ignored",
           replace=[("total = total + w * F.cross_entropy", "total = total + F.cross_entropy")]),
    mutant("matryoshka", "dims sorted, weights not",
           replace=[("for d, w in zip(dims, weights):", "for d, w in zip(sorted(dims, reverse=True), weights):")]),
    mutant("matryoshka", "scale ignored",
           replace=[("F.cross_entropy(scale * a @ c.T, labels)", "F.cross_entropy(20.0 * a @ c.T, labels)")]),
    mutant("matryoshka", "hard negatives ignored",
           replace=[("candidates = positives if negatives is None else torch.cat([positives, negatives])", "candidates = positives")]),
    mutant("matryoshka", "sum over anchors, not mean",
           replace=[("F.cross_entropy(scale * a @ c.T, labels)", "F.cross_entropy(scale * a @ c.T, labels, reduction=\"sum\")")]),
    mutant("matryoshka", "only the full length, whatever dims says",
           replace=[("for d, w in zip(dims, weights):", "for d, w in zip([anchors.shape[1]] * len(dims), weights):")]),
    mutant("matryoshka", "only the first entry of dims",
           replace=[("for d, w in zip(dims, weights):", "for d, w in zip(dims[:1], weights):")]),
    mutant("matryoshka", "every anchor labelled 0",
           replace=[("labels = torch.arange(len(anchors), device=anchors.device)",
                     "labels = torch.zeros(len(anchors), dtype=torch.long, device=anchors.device)")]),
    mutant("matryoshka", "numpy, no gradient", source='''\
import torch.nn.functional as F


def matryoshka_mnrl(anchors, positives, negatives, dims, weights=None, scale=20.0):
    A, C = np.asarray(anchors.detach(), dtype=np.float64), np.asarray(positives.detach(), dtype=np.float64)
    if negatives is not None:
        C = np.vstack([C, np.asarray(negatives.detach(), dtype=np.float64)])
    total = 0.0
    for d, w in zip(dims, weights or [1.0] * len(dims)):
        a = A[:, :d] / np.linalg.norm(A[:, :d], axis=1, keepdims=True)
        c = C[:, :d] / np.linalg.norm(C[:, :d], axis=1, keepdims=True)
        logits = scale * a @ c.T
        logits -= logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        total += w * -np.mean(logp[np.arange(len(a)), np.arange(len(a))])
    return torch.tensor(total)
'''),
    # -- 5. choosing a model ----------------------------------------------------------------------------------
    mutant("models", "no normalisation (dot products)",
           replace=[("        return X / np.linalg.norm(X, axis=1, keepdims=True)\n", "        return X\n")]),
    mutant("models", "Pearson instead of Spearman",
           replace=[("from scipy.stats import spearmanr", "from scipy.stats import pearsonr"),
                    ("float(spearmanr(cosines, scores)[0])", "float(pearsonr(cosines, scores)[0])")]),
    mutant("models", "similarity by dot products",
           replace=[("cosines = np.sum(unit(s1) * unit(s2), axis=1)",
                     "cosines = np.sum(np.asarray(encode(list(s1))) * np.asarray(encode(list(s2))), axis=1)")]),
    mutant("models", "16 clusters, whatever the labels",
           replace=[("KMeans(n_clusters=len(set(labels))", "KMeans(n_clusters=16")]),
    mutant("models", "clusters: one per text over the group size guessed",
           replace=[("KMeans(n_clusters=len(set(labels))", "KMeans(n_clusters=max(2, len(labels) // 6)")]),
    mutant("models", "k-means on raw vectors",
           replace=[("fit_predict(Q)", "fit_predict(np.asarray(encode(list(questions))))")]),
    mutant("models", "gold ignored (question i -> article i)",
           replace=[("mrr_at_10(Q @ P.T, np.asarray(gold))", "mrr_at_10(Q @ P.T, np.arange(len(questions)) % len(corpus))")]),
    mutant("models", "seconds per text",
           replace=[('"texts_per_second": len(corpus) / seconds', '"texts_per_second": seconds / len(corpus)')]),
    mutant("models", "times every encode, counts the corpus",
           replace=[("    Q = unit(questions)\n    start = time.perf_counter()\n    P = unit(corpus)\n    seconds = time.perf_counter() - start\n",
                     "    start = time.perf_counter()\n    Q = unit(questions)\n    P = unit(corpus)\n"),
                    ("    predicted = KMeans(", "    seconds = time.perf_counter() - start\n    predicted = KMeans(")]),
    mutant("models", "bytes = dims",
           replace=[('"bytes_per_vector": 4 * int(P.shape[1])', '"bytes_per_vector": int(P.shape[1])')]),
    mutant("models", "bytes of a float64 vector",
           replace=[('"bytes_per_vector": 4 * int(P.shape[1])', '"bytes_per_vector": 8 * int(P.shape[1])')]),
    mutant("models", "dims = number of rows",
           replace=[('"dims": int(P.shape[1])', '"dims": int(P.shape[0])')]),
    mutant("models", "the course's tasks, not the argument",
           replace=[('tasks["retrieval"]', 'course_tasks["retrieval"]'), ('tasks["similarity"]', 'course_tasks["similarity"]'),
                    ('tasks["clustering"]', 'course_tasks["clustering"]')]),
    mutant("models", "encodes every text one call at a time",
           replace=[("        X = np.asarray(encode(list(texts)), dtype=np.float64)",
                     "        X = np.vstack([np.asarray(encode([t]), dtype=np.float64) for t in texts])")]),
    # -- 6. PCA ---------------------------------------------------------------------------------------------
    mutant("pca", "scikit-learn's PCA at its defaults (a randomized SVD on large inputs)",
           replace=[("    X = np.asarray(X, dtype=np.float64)\n    Xc = X - X.mean(axis=0)\n"
                     "    U, S, Vt = np.linalg.svd(Xc, full_matrices=False)\n"
                     "    return Xc @ Vt[:k].T, Vt[:k], S[:k] ** 2 / np.sum(S ** 2)",
                     "    from sklearn.decomposition import PCA\n\n    p = PCA(k).fit(X)\n"
                     "    return p.transform(X), p.components_, p.explained_variance_ratio_")]),
    mutant("pca", "no centring",
           replace=[("Xc = X - X.mean(axis=0)", "Xc = X")]),
    mutant("pca", "ratio over the k kept values only",
           replace=[("S[:k] ** 2 / np.sum(S ** 2)", "S[:k] ** 2 / np.sum(S[:k] ** 2)")]),
    mutant("pca", "ratio from singular values, not their squares",
           replace=[("S[:k] ** 2 / np.sum(S ** 2)", "S[:k] / np.sum(S)")]),
    mutant("pca", "projection of the uncentred data",
           replace=[("return Xc @ Vt[:k].T,", "return X @ Vt[:k].T,")]),
    mutant("pca", "components from the columns of Vt",
           replace=[("return Xc @ Vt[:k].T, Vt[:k],", "return Xc @ Vt[:, :k], Vt[:, :k].T,")]),
    mutant("pca", "eigh of the covariance, ascending order", source='''\
def pca(X, k):
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0)
    w, V = np.linalg.eigh(Xc.T @ Xc)
    C = V[:, -k:].T  # eigh sorts ascending: these are the k largest, smallest first
    return Xc @ C.T, C, w[-k:] / w.sum()
'''),
    # -- 7. neighbourhood preservation and projections -------------------------------------------------------
    mutant("projection", "bob: a point is its own neighbour", source=_BOB["SOURCE"]),
    mutant("projection", "overlap not divided by k",
           replace=[("len(set(h) & set(l)) / k for h, l", "len(set(h) & set(l)) for h, l")]),
    mutant("projection", "Jaccard instead of overlap / k",
           replace=[("len(set(h) & set(l)) / k for h, l", "len(set(h) & set(l)) / len(set(h) | set(l)) for h, l")]),
    mutant("projection", "cosine neighbours instead of Euclidean",
           replace=[("        sq = (X ** 2).sum(axis=1)\n        D = sq[:, None] + sq[None, :] - 2 * X @ X.T",
                     "        U = X / np.linalg.norm(X, axis=1, keepdims=True)\n        D = -U @ U.T")]),
    mutant("projection", "k+1 neighbours, the point included",
           replace=[("        np.fill_diagonal(D, np.inf)\n", ""), ("np.argsort(D, axis=1)[:, :k]", "np.argsort(D, axis=1)[:, :k + 1]")]),
    mutant("projection", "the first column of the sorted distances skipped (a repeated point keeps itself)",
           replace=[("        np.fill_diagonal(D, np.inf)\n        return np.argsort(D, axis=1)[:, :k]",
                     "        D = np.maximum(D, 0.0)\n        return np.argsort(D, axis=1, kind=\"stable\")[:, 1:k + 1]")]),
    mutant("projection", "UMAP seed fixed",
           replace=[("umap.UMAP(n_components=2, random_state=seed,", "umap.UMAP(n_components=2, random_state=42,")]),
    mutant("projection", "whitened PCA",
           replace=[("return PCA(n_components=2).fit_transform(X)", "return PCA(n_components=2, whiten=True).fit_transform(X)")]),
    mutant("projection", "unknown method returns None",
           replace=[('    raise ValueError(f"unknown method {method!r}")', "    return None")]),
    # -- 8. WEAT and neutralise -----------------------------------------------------------------------------
    mutant("weat", "std over X only",
           replace=[("np.concatenate([sx, sy]).std(ddof=1)", "sx.std(ddof=1)")]),
    mutant("weat", "targets not normalised (dot products)",
           replace=[("s = lambda W: (unit(W) @ A.T).mean(axis=1) - (unit(W) @ B.T).mean(axis=1)",
                     "s = lambda W: (np.asarray(W, dtype=np.float64) @ A.T).mean(axis=1) - (np.asarray(W, dtype=np.float64) @ B.T).mean(axis=1)")]),
    mutant("weat", "sums over attributes instead of means",
           replace=[("s = lambda W: (unit(W) @ A.T).mean(axis=1) - (unit(W) @ B.T).mean(axis=1)",
                     "s = lambda W: (unit(W) @ A.T).sum(axis=1) - (unit(W) @ B.T).sum(axis=1)")]),
    mutant("weat", "neutralise with the raw direction",
           replace=[("    g = g / np.linalg.norm(g)\n", "")]),
    mutant("weat", "neutralise without renormalising",
           replace=[("return W / np.linalg.norm(W, axis=1, keepdims=True)", "return W")]),
    mutant("weat", "neutralise normalises first, then removes",
           replace=[("    W = W - np.outer(W @ g, g)\n    return W / np.linalg.norm(W, axis=1, keepdims=True)",
                     "    W = W / np.linalg.norm(W, axis=1, keepdims=True)\n    return W - np.outer(W @ g, g)")]),
    # -- red team (rt-03): classes not yet covered above --------------------------------------------------------
    mutant("pairs", "rt: top k in increasing order of score",
           replace=[('return np.argsort(-scores, axis=1, kind="stable")[:, :k]', "return np.argsort(scores, axis=1)[:, -k:]")]),
    mutant("pairs", "rt: pairs as (article, question)",
           replace=[("return [(q, text[p]) for q, p in zip(train.text, train.pid)]",
                     "return [(text[p], q) for q, p in zip(train.text, train.pid)]")]),
    mutant("pairs", "rt: train and dev questions (only test excluded)",
           replace=[('train = queries[queries.split == "train"]', 'train = queries[queries.split != "test"]')]),
    mutant("pairs", "rt: pairs read off the Setup's train_triplets",
           replace=[("return [(q, text[p]) for q, p in zip(train.text, train.pid)]", "return [(a, p) for a, p, _ in train_triplets]")]),
    mutant("finetune", "rt: evaluator name always 'test'",
           replace=[("name=split,", 'name="test",')]),
    mutant("finetune", "rt: relevant_docs maps a qid to the pid string, not a set",
           replace=[("relevant_docs={qid: {pid} for qid, pid", "relevant_docs={qid: pid for qid, pid")]),
    mutant("finetune", "rt: seed passed as data_seed only",
           replace=[("seed=seed, data_seed=seed,", "data_seed=seed,")]),
    mutant("finetune", "rt: MNRL with scale 1",
           replace=[("loss=MultipleNegativesRankingLoss(model))", "loss=MultipleNegativesRankingLoss(model, scale=1.0))")]),
    mutant("finetune", "rt: triplets shuffled with the unseeded global RNG",
           replace=[("    dataset = Dataset.from_dict(",
                     "    import random\n    triplets = random.sample(list(triplets), len(triplets))\n    dataset = Dataset.from_dict(")]),
    mutant("compress", "rt: truncate divides in place (a view of the caller's array)",
           replace=[("T = np.asarray(X, dtype=np.float64)[:, :d]", "T = np.asarray(X)[:, :d]"),
                    ("return np.divide(T, norms, out=np.zeros_like(T), where=norms > 0)",
                     "np.divide(T, norms, out=T, where=norms > 0)\n    return T")]),
    mutant("compress", "rt: truncate with the Setup's unit_rows (zero rows -> NaN)",
           replace=[("    norms = np.linalg.norm(T, axis=1, keepdims=True)\n"
                     "    return np.divide(T, norms, out=np.zeros_like(T), where=norms > 0)", "    return unit_rows(T)")]),
    mutant("compress", "rt: quantize clips the caller's array in place",
           replace=[("X = np.clip(np.asarray(X, dtype=np.float64), lo, hi)", "X = np.asarray(X)\n    np.clip(X, lo, hi, out=X)")]),
    mutant("compress", "rt: quantize scales by 256 and caps at 127",
           replace=[("(np.round((X - lo) / (hi - lo) * 255) - 128)", "np.minimum(np.round((X - lo) / (hi - lo) * 256) - 128, 127)")]),
    mutant("compress", "rt: calibration range per row",
           replace=[("return X.min(axis=0), X.max(axis=0)", "return X.min(axis=1), X.max(axis=1)")]),
    mutant("compress", "rt: hamming counts agreeing bits",
           replace=[("xor = np.bitwise_xor(", "xor = ~np.bitwise_xor(")]),
    mutant("matryoshka", "rt: candidates negatives first",
           replace=[("torch.cat([positives, negatives])", "torch.cat([negatives, positives])")]),
    mutant("matryoshka", "rt: each term through .item() (no gradient)",
           replace=[("total = total + w * F.cross_entropy(scale * a @ c.T, labels)",
                     "total = total + w * F.cross_entropy(scale * a @ c.T, labels).item()")]),
    mutant("matryoshka", "rt: symmetric loss (positives also pick their anchor)",
           replace=[("total = total + w * F.cross_entropy(scale * a @ c.T, labels)",
                     "total = total + w * (F.cross_entropy(scale * a @ c.T, labels) + F.cross_entropy(scale * c[:len(a)] @ a.T, labels)) / 2")]),
    mutant("models", "rt: timer also runs over the questions",
           replace=[("    Q = unit(questions)\n    start = time.perf_counter()\n", "    start = time.perf_counter()\n    Q = unit(questions)\n")]),
    mutant("models", "rt: both sentence lists in one encode call",
           replace=[("cosines = np.sum(unit(s1) * unit(s2), axis=1)",
                     "both = unit(list(s1) + list(s2))\n    cosines = np.sum(both[:len(s1)] * both[len(s1):], axis=1)")]),
    mutant("models", "rt: speed counts the questions",
           replace=[('"texts_per_second": len(corpus) / seconds', '"texts_per_second": len(questions) / seconds')]),
    mutant("pca", "rt: centres the caller's array in place",
           replace=[("Xc = X - X.mean(axis=0)", "X -= X.mean(axis=0)\n    Xc = X")]),
    mutant("pca", "rt: projection = U (whitened)",
           replace=[("return Xc @ Vt[:k].T,", "return U[:, :k],")]),
    # (t-SNE with a fixed seed is no mutant: with init="pca" its result does not depend on random_state.)
    # t-SNE's arguments: the hidden test compares with reference runs on float32 and float64 input (their layouts
    # differ), made in the test itself (no OpenMP in a set-up that examiners fork from).
    mutant("projection", "rt: t-SNE random init",
           replace=[('TSNE(n_components=2, init="pca",', 'TSNE(n_components=2, init="random",')]),
    mutant("projection", "rt: t-SNE perplexity 5",
           replace=[("perplexity=30", "perplexity=5")]),
    mutant("projection", "rt: UMAP with the cosine metric",
           replace=[("n_neighbors=15, n_jobs=1)", "n_neighbors=15, n_jobs=1, metric=\"cosine\")")]),
    mutant("projection", "rt: k ignored (always 10 neighbours)",
           replace=[("return np.argsort(D, axis=1)[:, :k]", "return np.argsort(D, axis=1)[:, :10]")]),
    mutant("projection", "rt: neighbour lists compared position by position",
           replace=[("return float(np.mean([len(set(h) & set(l)) / k for h, l in zip(high, low)]))",
                     "return float(np.mean(high == low))")]),
    mutant("weat", "rt: cosine to the mean attribute vector",
           replace=[("s = lambda W: (unit(W) @ A.T).mean(axis=1) - (unit(W) @ B.T).mean(axis=1)",
                     "s = lambda W: unit(W) @ unit(A.mean(axis=0, keepdims=True))[0] - unit(W) @ unit(B.mean(axis=0, keepdims=True))[0]")]),
    mutant("weat", "rt: mean of the two sets' standard deviations",
           replace=[("np.concatenate([sx, sy]).std(ddof=1)", "((sx.std(ddof=1) + sy.std(ddof=1)) / 2)")]),
    mutant("weat", "rt: attribute vectors not normalised",
           replace=[("A, B = unit(A), unit(B)", "A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)")]),
    mutant("weat", "rt: neutralise edits the caller's array in place",
           replace=[("    W = W - np.outer(W @ g, g)\n    return W / np.linalg.norm(W, axis=1, keepdims=True)",
                     "    W -= np.outer(W @ g, g)\n    W /= np.linalg.norm(W, axis=1, keepdims=True)\n    return W")]),
    mutant("weat", "rt: neutralise divides by the matrix norm",
           replace=[("return W / np.linalg.norm(W, axis=1, keepdims=True)", "return W / np.linalg.norm(W)")]),
]

ALTERNATIVES = [
    alternative("pairs", "pandas merge; torch.topk in float32", source='''\
import torch


def training_pairs(queries, passages):
    train = queries.loc[queries.split == "train", ["text", "pid"]]
    merged = train.merge(passages[["pid", "text"]].rename(columns={"text": "article"}), on="pid", how="left")
    return list(merged[["text", "article"]].itertuples(index=False, name=None))


def mine_hard_negatives(query_emb, passage_emb, positive, k=1):
    scores = torch.as_tensor(np.asarray(query_emb), dtype=torch.float32) @ torch.as_tensor(np.asarray(passage_emb), dtype=torch.float32).T
    scores[torch.arange(len(scores)), torch.as_tensor(list(positive))] = float("-inf")
    return torch.topk(scores, k, dim=1).indices.numpy()
'''),
    alternative("pairs", "loops, sorted() with the higher index first on ties", source='''\
def training_pairs(queries, passages):
    article = {}
    for _, row in passages.iterrows():
        article[row["pid"]] = row["text"]
    pairs = []
    for _, row in queries.iterrows():
        if row["split"] == "train":
            pairs.append((row["text"], article[row["pid"]]))
    return pairs


def mine_hard_negatives(query_emb, passage_emb, positive, k=1):
    Q, P = np.asarray(query_emb), np.asarray(passage_emb)
    out = []
    for i, q in enumerate(Q):
        ranked = sorted((j for j in range(len(P)) if j != positive[i]), key=lambda j: (float(q @ P[j]), j), reverse=True)
        out.append(ranked[:k])
    return np.array(out, dtype=int).reshape(len(Q), k)
'''),
    alternative("pairs", "Euclidean distance on unit rows, ascending",
                replace=[("    scores = np.asarray(query_emb, dtype=np.float64) @ np.asarray(passage_emb, dtype=np.float64).T\n"
                          "    scores[np.arange(len(scores)), np.asarray(positive, dtype=np.int64)] = -np.inf\n"
                          '    return np.argsort(-scores, axis=1, kind="stable")[:, :k]',
                          "    Q, P = np.asarray(query_emb, dtype=np.float64), np.asarray(passage_emb, dtype=np.float64)\n"
                          "    dist = np.linalg.norm(Q[:, None, :] - P[None, :, :], axis=-1)\n"
                          "    dist[np.arange(len(dist)), list(positive)] = np.inf\n"
                          "    return np.argsort(dist, axis=1)[:, :k]")]),
    alternative("finetune", "BatchSamplers enum, warmup_ratio, Dataset.from_list, list-built evaluator", source='''\
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.evaluation import InformationRetrievalEvaluator
from sentence_transformers.losses import MultipleNegativesRankingLoss
from sentence_transformers.training_args import BatchSamplers


def make_evaluator(queries, passages, split):
    questions, relevant = {}, {}
    for row in queries[queries["split"] == split].itertuples():
        questions[row.qid] = row.text
        relevant[row.qid] = {row.pid}
    corpus = {row.pid: row.text for row in passages.itertuples()}
    return InformationRetrievalEvaluator(questions, corpus, relevant, name=split, mrr_at_k=[10],
                                         precision_recall_at_k=[10], show_progress_bar=False)


def fine_tune(model, triplets, output_dir, seed=0, batch_size=32, learning_rate=1e-4):
    data = Dataset.from_list([{"anchor": a, "positive": p, "negative": n} for a, p, n in triplets])
    args = SentenceTransformerTrainingArguments(
        output_dir=output_dir, num_train_epochs=1, per_device_train_batch_size=batch_size, learning_rate=learning_rate,
        warmup_ratio=0.1, seed=seed, batch_sampler=BatchSamplers.NO_DUPLICATES, report_to="none", save_strategy="no",
        disable_tqdm=True)
    SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=MultipleNegativesRankingLoss(model)).train()
    model.save(output_dir)
    return model
'''),
    alternative("compress", "torch float32 throughout", source='''\
import torch


def truncate(X, d):
    return torch.nn.functional.normalize(torch.as_tensor(np.asarray(X), dtype=torch.float32)[:, :d], dim=1).numpy()


def calibrate_int8(X):
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    return X.min(dim=0).values.numpy(), X.max(dim=0).values.numpy()


def quantize_int8(X, lo, hi):
    X = torch.as_tensor(np.asarray(X), dtype=torch.float64)
    lo, hi = torch.as_tensor(np.asarray(lo), dtype=torch.float64), torch.as_tensor(np.asarray(hi), dtype=torch.float64)
    return (torch.round((torch.clamp(X, lo, hi) - lo) / (hi - lo) * 255) - 128).to(torch.int8).numpy()


def dequantize_int8(codes, lo, hi):
    c = torch.as_tensor(np.asarray(codes)).to(torch.float32)
    return ((c + 128) / 255 * torch.as_tensor(np.asarray(hi - lo), dtype=torch.float32) + torch.as_tensor(np.asarray(lo), dtype=torch.float32)).numpy()


def binarize(X):
    return np.packbits(np.asarray(X) > 0, axis=-1)


def hamming_distances(A, B):
    return np.bitwise_count(np.bitwise_xor(np.asarray(A)[:, None, :], np.asarray(B)[None, :, :])).sum(axis=2)
'''),
    alternative("compress", "half-up rounding, loops, popcount table", source='''\
def truncate(X, d):
    out = []
    for row in np.asarray(X, dtype=np.float64):
        part = row[:d]
        n = np.sqrt(np.sum(part ** 2))
        out.append(part / n if n > 0 else part * 0)
    return np.array(out)


def calibrate_int8(X):
    X = np.asarray(X)
    return np.array([X[:, j].min() for j in range(X.shape[1])]), np.array([X[:, j].max() for j in range(X.shape[1])])


def quantize_int8(X, lo, hi):
    X = np.minimum(np.maximum(np.asarray(X, dtype=np.float64), lo), hi)
    return (np.floor((X - lo) / (hi - lo) * 255 + 0.5) - 128).astype(np.int8)


def dequantize_int8(codes, lo, hi):
    return (np.asarray(codes).astype(np.int16) + 128) / 255.0 * (hi - lo) + lo


def binarize(X):
    X = np.asarray(X)
    bits = (X > 0).reshape(X.shape[0], -1, 8).astype(np.uint8)
    return (bits * (1 << np.arange(7, -1, -1))).sum(axis=2).astype(np.uint8)


_POP = np.array([bin(i).count("1") for i in range(256)])


def hamming_distances(A, B):
    A, B = np.asarray(A), np.asarray(B)
    return np.array([[int(_POP[a ^ b].sum()) for b in B] for a in A])
'''),
    alternative("matryoshka", "sentence-transformers' cos_sim, log-softmax, sorted pairs", source='''\
import torch.nn.functional as F
from sentence_transformers.util import cos_sim


def matryoshka_mnrl(anchors, positives, negatives, dims, weights=None, scale=20.0):
    pairs = sorted(zip(dims, weights if weights is not None else [1] * len(dims)), reverse=True)
    loss = 0
    for d, w in pairs:
        cand = positives[:, :d] if negatives is None else torch.vstack([positives[:, :d], negatives[:, :d]])
        logp = torch.log_softmax(cos_sim(anchors[:, :d], cand) * scale, dim=1)
        loss = loss + w * -logp.diagonal()[: len(anchors)].mean()
    return loss
'''),
    alternative("matryoshka", "float64, explicit norms, a stacked sum", source='''\
def matryoshka_mnrl(anchors, positives, negatives, dims, weights=None, scale=20.0):
    weights = torch.ones(len(dims), dtype=torch.float64) if weights is None else torch.as_tensor(weights, dtype=torch.float64)
    cands = positives if negatives is None else torch.cat([positives, negatives], dim=0)
    losses = []
    for d in dims:
        a = anchors[:, :d].double()
        c = cands[:, :d].double()
        a = a / a.norm(dim=1, keepdim=True)
        c = c / c.norm(dim=1, keepdim=True)
        losses.append(torch.nn.functional.cross_entropy(scale * a @ c.T, torch.arange(len(a))))
    return (torch.stack(losses) * weights).sum()
'''),
    alternative("models", "sklearn normalize, Spearman as Pearson of ranks, loops, time.time", source='''\
import time
from scipy.stats import rankdata
from sklearn.cluster import KMeans
from sklearn.metrics import v_measure_score
from sklearn.preprocessing import normalize


def evaluate_model(encode, tasks):
    questions, corpus, gold = tasks["retrieval"]
    Q = normalize(np.asarray(encode(questions)))
    t0 = time.time()
    P = encode(corpus)
    elapsed = time.time() - t0
    P = normalize(np.asarray(P))
    a, b, scores = tasks["similarity"]
    A, B = normalize(np.asarray(encode(a))), normalize(np.asarray(encode(b)))
    cos = [float(A[i] @ B[i]) for i in range(len(A))]
    ra, rb = rankdata(cos), rankdata(scores)
    rho = np.corrcoef(ra, rb)[0, 1]
    labels = tasks["clustering"]
    km = KMeans(n_clusters=len(np.unique(np.asarray(labels))), n_init=10, random_state=0)
    predicted = km.fit(Q).labels_
    d = P.shape[1]
    return dict(retrieval=mrr_at_10(Q @ P.T, list(gold)), similarity=rho, clustering=v_measure_score(labels, predicted),
                dims=d, bytes_per_vector=d * np.dtype(np.float32).itemsize, texts_per_second=len(corpus) / elapsed)
'''),
    alternative("pca", "eigh of the covariance, sorted descending", source='''\
def pca(X, k):
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0)
    w, V = np.linalg.eigh(np.cov(Xc, rowvar=False))
    order = np.argsort(w)[::-1]
    w, V = np.clip(w[order], 0, None), V[:, order]
    C = V[:, :k].T
    return Xc @ C.T, C, w[:k] / w.sum()
'''),
    alternative("pca", "torch SVD in float32", source='''\
import torch


def pca(X, k):
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    Xc = X - X.mean(dim=0)
    U, S, Vh = torch.linalg.svd(Xc, full_matrices=False)
    return (U[:, :k] * S[:k]).numpy(), Vh[:k].numpy(), (S[:k] ** 2 / (S ** 2).sum()).numpy()
'''),
    alternative("projection", "cdist, the diagonal at infinity; dict dispatch, float64", source='''\
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from scipy.spatial.distance import cdist
import umap


def neighbourhood_preservation(X_high, X_low, k=10):
    def knn(X):
        D = cdist(np.asarray(X, dtype=np.float64), np.asarray(X, dtype=np.float64))
        np.fill_diagonal(D, np.inf)
        return np.argsort(D, axis=1, kind="stable")[:, :k]
    high, low = knn(X_high), knn(X_low)
    return float(np.mean([np.intersect1d(h, l).size for h, l in zip(high, low)]) / k)


def project_2d(X, method, seed=0):
    makers = {"pca": lambda: PCA(n_components=2),
              "tsne": lambda: TSNE(n_components=2, init="pca", random_state=seed),
              "umap": lambda: umap.UMAP(random_state=seed)}
    if method not in makers:
        raise ValueError(method)
    return makers[method]().fit_transform(np.asarray(X, dtype=np.float64))
'''),
    alternative("projection", "sklearn NearestNeighbors", replace=[(
        "    def knn(X):\n        X = np.asarray(X, dtype=np.float64)\n        sq = (X ** 2).sum(axis=1)\n"
        "        D = sq[:, None] + sq[None, :] - 2 * X @ X.T\n        np.fill_diagonal(D, np.inf)\n"
        "        return np.argsort(D, axis=1)[:, :k]",
        "    from sklearn.neighbors import NearestNeighbors\n\n    def knn(X):\n"
        "        return NearestNeighbors(n_neighbors=k).fit(X).kneighbors(return_distance=False)")]),
    alternative("weat", "population std, loops", source='''\
def weat_effect_size(X, Y, A, B):
    def cos(u, v):
        return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))

    def s(w):
        return np.mean([cos(w, a) for a in A]) - np.mean([cos(w, b) for b in B])

    sx = [s(x) for x in np.asarray(X)]
    sy = [s(y) for y in np.asarray(Y)]
    return (np.mean(sx) - np.mean(sy)) / np.std(sx + sy)


def neutralise(W, direction):
    W = np.asarray(W, dtype=np.float64)
    g = np.asarray(direction, dtype=np.float64)
    out = []
    for w in W:
        v = w - (w @ g) / (g @ g) * g
        out.append(v / np.linalg.norm(v))
    return np.array(out)
'''),
    alternative("weat", "torch float32, projection matrix", source='''\
import torch


def weat_effect_size(X, Y, A, B):
    f = lambda M: torch.nn.functional.normalize(torch.as_tensor(np.asarray(M), dtype=torch.float32), dim=1)  # noqa: E731
    X, Y, A, B = f(X), f(Y), f(A), f(B)
    s = torch.cat([(X @ A.T).mean(1) - (X @ B.T).mean(1), (Y @ A.T).mean(1) - (Y @ B.T).mean(1)])
    return float((s[:len(X)].mean() - s[len(X):].mean()) / s.std())


def neutralise(W, direction):
    g = torch.as_tensor(np.asarray(direction), dtype=torch.float32)
    g = g / g.norm()
    P = torch.eye(len(g)) - torch.outer(g, g)
    return torch.nn.functional.normalize(torch.as_tensor(np.asarray(W), dtype=torch.float32) @ P, dim=1).numpy()
'''),
    # -- red team (rt-03) ------------------------------------------------------------------------------------------
    alternative("pairs", "rt: top k+1, then drop the positive", replace=[(
        "    scores = np.asarray(query_emb, dtype=np.float64) @ np.asarray(passage_emb, dtype=np.float64).T\n"
        "    scores[np.arange(len(scores)), np.asarray(positive, dtype=np.int64)] = -np.inf\n"
        '    return np.argsort(-scores, axis=1, kind="stable")[:, :k]',
        "    S = np.asarray(query_emb) @ np.asarray(passage_emb).T\n"
        "    top = np.argsort(-S, axis=1)[:, :k + 1]\n"
        "    return np.array([[j for j in row if j != p][:k] for row, p in zip(top, positive)])")]),
    alternative("pairs", "rt: the library's semantic_search, top k+1", replace=[(
        "    scores = np.asarray(query_emb, dtype=np.float64) @ np.asarray(passage_emb, dtype=np.float64).T\n"
        "    scores[np.arange(len(scores)), np.asarray(positive, dtype=np.int64)] = -np.inf\n"
        '    return np.argsort(-scores, axis=1, kind="stable")[:, :k]',
        "    from sentence_transformers.util import semantic_search  # the Setup no longer imports it\n"
        "    hits = semantic_search(torch.as_tensor(np.asarray(query_emb, dtype=np.float32)),\n"
        "                           torch.as_tensor(np.asarray(passage_emb, dtype=np.float32)), top_k=k + 1)\n"
        '    return np.array([[h["corpus_id"] for h in hit if h["corpus_id"] != p][:k] for hit, p in zip(hits, positive)])')]),
    alternative("finetune", "rt: evaluator with the library's default cut-offs; own column names, no warmup", replace=[
        ("mrr_at_k=[10], ndcg_at_k=[10], accuracy_at_k=[1, 10], precision_recall_at_k=[10], map_at_k=[10],\n        ", ""),
        ('{"anchor": [t[0] for t in triplets], "positive": [t[1] for t in triplets],', '{"q": [t[0] for t in triplets], "pos": [t[1] for t in triplets],'),
        ('"negative": [t[2] for t in triplets]', '"neg": [t[2] for t in triplets]'),
        ("warmup_steps=0.1, ", "")]),
    alternative("compress", "rt: max(norm, eps), percentiles, packbits of the flat array, bit matrix products", replace=[
        ("return np.divide(T, norms, out=np.zeros_like(T), where=norms > 0)", "return T / np.maximum(norms, 1e-12)"),
        ("return X.min(axis=0), X.max(axis=0)", "lo, hi = np.percentile(X, [0, 100], axis=0)\n    return lo, hi"),
        ("return np.packbits(np.asarray(X) > 0, axis=1)", "X = np.asarray(X)\n    return np.packbits((X > 0).ravel()).reshape(len(X), -1)"),
        ("    A, B = np.asarray(A, dtype=np.uint8), np.asarray(B, dtype=np.uint8)\n"
         "    xor = np.bitwise_xor(A[:, None, :], B[None, :, :])\n"
         "    return np.unpackbits(xor, axis=2).sum(axis=2).astype(np.int64)",
         "    a = np.unpackbits(np.asarray(A, dtype=np.uint8), axis=1).astype(np.int64)\n"
         "    b = np.unpackbits(np.asarray(B, dtype=np.uint8), axis=1).astype(np.int64)\n"
         "    return a @ (1 - b).T + (1 - a) @ b.T")]),
    alternative("matryoshka", "rt: interleaved candidates, logsumexp by hand", source='''\
def matryoshka_mnrl(anchors, positives, negatives, dims, weights=None, scale=20.0):
    B = len(anchors)
    if negatives is None:
        cands, target = positives, torch.arange(B)
    else:  # p_0, n_0, p_1, n_1, ...: the positive of anchor i is column 2i
        cands, target = torch.stack([positives, negatives], dim=1).reshape(2 * B, -1), 2 * torch.arange(B)
    total = 0.0
    for k, d in enumerate(dims):
        w = 1.0 if weights is None else weights[k]
        a = anchors[:, :d] / anchors[:, :d].norm(dim=1, keepdim=True)
        c = cands[:, :d] / cands[:, :d].norm(dim=1, keepdim=True)
        logits = scale * a @ c.T
        total = total + w * (torch.logsumexp(logits, dim=1) - logits[torch.arange(B), target]).mean()
    return total
'''),
    alternative("models", "rt: v_measure with its arguments swapped (symmetric), cosines from the diagonal", replace=[
        ("float(v_measure_score(labels, predicted))", "float(v_measure_score(predicted, labels))"),
        ("cosines = np.sum(unit(s1) * unit(s2), axis=1)", "cosines = np.diag(unit(s1) @ unit(s2).T)")]),
    alternative("pca", "rt: full_matrices=True, ratio from the variances of Z", replace=[
        ("full_matrices=False", "full_matrices=True"),
        ("return Xc @ Vt[:k].T, Vt[:k], S[:k] ** 2 / np.sum(S ** 2)",
         "Z = Xc @ Vt[:k].T\n    return Z, Vt[:k], Z.var(axis=0) / Xc.var(axis=0).sum()")]),
    alternative("projection", "rt: project_2d's PCA by the pca of part 6",
                replace=[("return PCA(n_components=2).fit_transform(X)", "return pca(X, 2)[0]")]),
    alternative("weat", "rt: scipy cdist cosines; neutralise with the Setup's unit_rows", source='''\
from scipy.spatial.distance import cdist


def weat_effect_size(X, Y, A, B):
    s = lambda W: (1 - cdist(W, A, "cosine")).mean(axis=1) - (1 - cdist(W, B, "cosine")).mean(axis=1)  # noqa: E731
    sx, sy = s(np.asarray(X, dtype=np.float64)), s(np.asarray(Y, dtype=np.float64))
    return float((sx.mean() - sy.mean()) / np.std(np.r_[sx, sy], ddof=1))


def neutralise(W, direction):
    W, g = np.asarray(W, dtype=np.float64), np.asarray(direction, dtype=np.float64)
    g = g / np.linalg.norm(g)
    return unit_rows(W - (W @ g)[:, None] * g)
'''),
]

# -- library parameters the docstring prescribes (issue 25: a default KMeans once kept full marks) ----------------
MUTANTS += [
    mutant("models", "KMeans with the default n_init",
           replace=[("KMeans(n_clusters=len(set(labels)), n_init=10, random_state=0)", "KMeans(n_clusters=len(set(labels)), random_state=0)")]),
    mutant("models", "KMeans with another seed",
           replace=[("KMeans(n_clusters=len(set(labels)), n_init=10, random_state=0)", "KMeans(n_clusters=len(set(labels)), n_init=10, random_state=1)")]),
]

# One mistake, one charge: the tests a mistake in another exercise's answer cell can reach (autograder.dataflow
# cross_charges, checked by tests/test_dataflow.py), each with why it is there.
BUILDS_ON = {
    ("pca", "test_projections"): "none in fact: the demo after pca hands it X_vis.copy(), which the name analysis cannot "
                                 "tell from X_vis (a pca that changed its input would otherwise change part 7's)",
}
