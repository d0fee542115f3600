"""Mutation catalogue of 01_types: plausible wrong answers (MUTANTS) and correct alternatives (ALTERNATIVES).

Each entry replaces one answer cell (by grade_id) of the solution; see autograder/mutants.py.
Run: nice -n 10 .venv/bin/python -m autograder.mutants 01_types --jobs 1 [--only <cell-or-name>]
"""
import runpy
from pathlib import Path

from autograder.mutants import alternative, mutant

# Bob's classic mistake (autograder/sample_answers/01_types.py): cosine without the zero-vector guard.
BOB = runpy.run_path(str(Path(__file__).resolve().parents[2] / "autograder" / "sample_answers" / "01_types.py"))["SOURCE"]

_ONE_HOT_ROW = "out[np.arange(len(ids)), ids] = 1.0"
_LOOKUP = "return np.asarray(E)[np.asarray(ids, dtype=np.int64).reshape(-1)]"
_NN_SORT = 'best = np.argsort(-scores, kind="stable")[:k]'
_AN_SCORES = "scores = unit @ (unit[ib] - unit[ia] + unit[ic])"
_ACC = "return sum(analogy(a, b, c, words, vectors) == d for a, b, c, d in rows) / len(rows)"
# A student's shortcut: one gensim KeyedVectors of the Setup's GloVe (the notebook shows no such call), built once.
_GLOBAL_KV = ("from gensim.models import KeyedVectors\n\n_glove_kv = KeyedVectors(vector_size=vectors.shape[1])\n"
              "_glove_kv.add_vectors(words, vectors)\n\n\n")
_CTX_ENC = 'encoded = tokenizer(sentence, return_offsets_mapping=True, return_tensors="pt")'
_CTX_MATCH = 'match = re.search(rf"\\b{re.escape(word)}\\b", sentence, flags=re.IGNORECASE)'
_LOO_PRED = "correct += classes[int(np.argmax(cosine_matrix(X[i][None, :], centroids)[0]))] == labels[i]"
_POOL = "pooled = mean_pool(model(**batch).last_hidden_state, batch[\"attention_mask\"])"
_NORMALISE = "out.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())"
_RIDGE_PEN = "lam * np.eye(X.shape[1])"
_I2T = "best = np.argmax(cosine_matrix(image_vectors, text_vectors), axis=1)"
_T2I = 'top = np.argsort(-cosine_matrix(text_vectors, image_vectors), axis=1, kind="stable")[:, :k]'
_THETA = "theta = base ** (-np.arange(0, d, 2) / d)"
_ANGLES = "angles = np.asarray(positions, dtype=np.float64)[..., None] * theta"
_EVEN_OUT = "out[..., 0::2] = even * cos - odd * sin"
_ODD_OUT = "out[..., 1::2] = even * sin + odd * cos"

MUTANTS = [
    # (np.argpartition(-scores, k)[:k] without a sort is not listed: numpy returns the k best already sorted
    #  for every k < V - 1 on this data, so it behaves as a correct answer.)
    # -- 1. lookup ---------------------------------------------------------------------------------------------
    mutant("one_hot", "one_hot transposed (V, n)",
           replace=[("out = np.zeros((len(ids), vocab_size), dtype=np.float32)\n    " + _ONE_HOT_ROW,
                     "out = np.zeros((vocab_size, len(ids)), dtype=np.float32)\n    out[ids, np.arange(len(ids))] = 1.0")]),
    mutant("one_hot", "one_hot off by one (column ids - 1)", replace=[(_ONE_HOT_ROW, "out[np.arange(len(ids)), ids - 1] = 1.0")]),
    mutant("one_hot", "one_hot width max(ids)+1, vocab_size ignored",
           replace=[("np.zeros((len(ids), vocab_size)", "np.zeros((len(ids), int(ids.max()) + 1)")]),
    mutant("one_hot", "one_hot marks every id in every row", replace=[(_ONE_HOT_ROW, "out[:, ids] = 1.0")]),
    mutant("one_hot", "one_hot of the unique ids (repeats dropped)",
           replace=[("ids = np.asarray(ids, dtype=np.int64).reshape(-1)", "ids = np.unique(np.asarray(ids, dtype=np.int64))")]),
    mutant("one_hot", "one_hot stacks rows, crashes on empty ids",
           replace=[("ids = np.asarray(ids, dtype=np.int64).reshape(-1)\n    out = np.zeros((len(ids), vocab_size), dtype=np.float32)\n    "
                     + _ONE_HOT_ROW + "\n    return out", "return np.stack([np.eye(vocab_size)[i] for i in ids])")]),
    mutant("one_hot", "embed_lookup squeezes one id to (d,)", replace=[(_LOOKUP, "return np.squeeze(np.asarray(E)[np.asarray(ids, dtype=np.int64).reshape(-1)])")]),
    mutant("one_hot", "embed_lookup sorts the ids", replace=[(_LOOKUP, "return np.asarray(E)[np.sort(np.asarray(ids, dtype=np.int64))]")]),
    mutant("one_hot", "embed_lookup of the unique ids", replace=[(_LOOKUP, "return np.asarray(E)[np.unique(ids)]")]),
    mutant("one_hot", "embed_lookup picks columns", replace=[(_LOOKUP, "return np.asarray(E)[:, np.asarray(ids, dtype=np.int64)].T")]),
    # -- 2. cosine ---------------------------------------------------------------------------------------------
    mutant("cosine", "no zero guard", source=BOB),
    mutant("cosine", "zero guard checks u only", replace=[("if norm > 0 else 0.0", "if np.linalg.norm(u) > 0 else 0.0")]),
    mutant("cosine", "cosine: dot product, not normalised", replace=[("return float(u @ v / norm)", "return float(u @ v)")]),
    mutant("cosine", "cosine divides by |u|^2", replace=[("norm = np.linalg.norm(u) * np.linalg.norm(v)", "norm = np.linalg.norm(u) ** 2")]),
    mutant("cosine", "cosine of a zero vector is 1", replace=[("if norm > 0 else 0.0", "if norm > 0 else 1.0")]),
    mutant("cosine", "cosine returns the distance 1 - cos", replace=[("return float(u @ v / norm)", "return float(1 - u @ v / norm)")]),
    mutant("cosine", "cosine: epsilon added to the norms",
           replace=[("norm = np.linalg.norm(u) * np.linalg.norm(v)\n    return float(u @ v / norm) if norm > 0 else 0.0",
                     "return float(u @ v / ((np.linalg.norm(u) + 1e-8) * (np.linalg.norm(v) + 1e-8)))")]),
    mutant("cosine", "cosine: absolute value", replace=[("return float(u @ v / norm)", "return float(abs(u @ v) / norm)")]),
    mutant("cosine", "cosine_matrix normalises columns (axis=0)",
           replace=[("norms = np.linalg.norm(X, axis=1, keepdims=True)", "norms = np.linalg.norm(X, axis=0, keepdims=True)")]),
    mutant("cosine", "cosine_matrix without a zero guard",
           replace=[("return np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)", "return X / norms")]),
    mutant("cosine", "cosine_matrix zero guard on A only",
           replace=[("return unit(A) @ unit(B).T", "return unit(A) @ (B / np.linalg.norm(B, axis=1, keepdims=True)).T")]),
    mutant("cosine", "cosine_matrix transposed (m, n)", replace=[("return unit(A) @ unit(B).T", "return unit(B) @ unit(A).T")]),
    mutant("cosine", "cosine_matrix: epsilon added to the norms",
           replace=[("return np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)", "return X / (norms + 1e-6)")]),
    mutant("cosine", "cosine_matrix: dot products", replace=[("return unit(A) @ unit(B).T", "return A @ B.T")]),
    mutant("cosine", "cosine_matrix normalises A only", replace=[("return unit(A) @ unit(B).T", "return unit(A) @ B.T")]),
    # -- 3. GloVe ----------------------------------------------------------------------------------------------
    mutant("glove_neighbors", "query word not excluded", replace=[("    scores[index] = -np.inf\n", "")]),
    mutant("glove_neighbors", "drops the top hit instead of the query",
           replace=[("scores[index] = -np.inf\n    " + _NN_SORT, 'best = np.argsort(-scores, kind="stable")[1:k + 1]')]),
    mutant("glove_neighbors", "excludes every word with cosine 1",
           replace=[("scores[index] = -np.inf", "scores[scores > 1 - 1e-9] = -np.inf")]),
    mutant("glove_neighbors", "neighbours least similar first", replace=[(_NN_SORT, _NN_SORT + "[::-1]")]),
    mutant("glove_neighbors", "neighbours by dot product",
           replace=[("scores = cosine_matrix(vectors[index][None, :], vectors)[0]", "scores = np.asarray(vectors, dtype=np.float64) @ vectors[index]")]),
    mutant("glove_neighbors", "neighbours by Euclidean distance",
           replace=[("scores = cosine_matrix(vectors[index][None, :], vectors)[0]",
                     "scores = -np.linalg.norm(np.asarray(vectors, dtype=np.float64) - vectors[index], axis=1)")]),
    mutant("glove_neighbors", "neighbours: k - 1 words", replace=[(_NN_SORT, 'best = np.argsort(-scores, kind="stable")[:k - 1]')]),
    mutant("glove_neighbors", "neighbours: k ignored (always 5)", replace=[(_NN_SORT, 'best = np.argsort(-scores, kind="stable")[:5]')]),
    mutant("glove_neighbors", "top-k returned in vocabulary order", replace=[(_NN_SORT, 'best = np.sort(np.argsort(-scores, kind="stable")[:k])')]),
    mutant("glove_neighbors", "query at index 0 not excluded (if index:)",
           replace=[("    scores[index] = -np.inf", "    if index:\n        scores[index] = -np.inf")]),
    mutant("glove_neighbors", "neighbours normalise vectors in place",
           replace=[("index = words.index(word)\n", "index = words.index(word)\n    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)\n")]),
    mutant("glove_neighbors", "analogy excludes only a and b", replace=[("scores[[ia, ib, ic]] = -np.inf", "scores[[ia, ib]] = -np.inf")]),
    mutant("glove_neighbors", "analogy excludes nothing", replace=[("    scores[[ia, ib, ic]] = -np.inf\n", "")]),
    mutant("glove_neighbors", "analogy on raw vectors",
           replace=[("unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)", "unit = np.asarray(vectors, dtype=np.float64)")]),
    mutant("glove_neighbors", "analogy: raw inputs, unit candidates",
           replace=[(_AN_SCORES, "scores = unit @ (vectors[ib] - vectors[ia] + vectors[ic])")]),
    mutant("glove_neighbors", "analogy: unit inputs, raw candidates",
           replace=[(_AN_SCORES, "scores = np.asarray(vectors, dtype=np.float64) @ (unit[ib] - unit[ia] + unit[ic])")]),
    mutant("glove_neighbors", "analogy: a - b + c", replace=[(_AN_SCORES, "scores = unit @ (unit[ia] - unit[ib] + unit[ic])")]),
    mutant("glove_neighbors", "analogy excludes with 0, not -inf", replace=[("scores[[ia, ib, ic]] = -np.inf", "scores[[ia, ib, ic]] = 0.0")]),
    mutant("glove_neighbors", "analogy normalises in place",
           replace=[("unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)",
                     "unit = vectors\n    unit /= np.linalg.norm(unit, axis=1, keepdims=True)")]),
    mutant("glove_neighbors", "analogy_accuracy swaps a and b",
           replace=[(_ACC, "return sum(analogy(b, a, c, words, vectors) == d for a, b, c, d in rows) / len(rows)")]),
    mutant("glove_neighbors", "analogy_accuracy in percent",
           replace=[(_ACC, "return 100 * sum(analogy(a, b, c, words, vectors) == d for a, b, c, d in rows) / len(rows)")]),
    mutant("glove_neighbors", "analogy_accuracy counts, no division",
           replace=[(_ACC, "return sum(analogy(a, b, c, words, vectors) == d for a, b, c, d in rows)")]),
    mutant("glove_neighbors", "analogy_accuracy skips the first row",
           replace=[(_ACC, "return sum(analogy(a, b, c, words, vectors) == d for a, b, c, d in rows[1:]) / len(rows)")]),
    # -- 4. tokens ---------------------------------------------------------------------------------------------
    mutant("tokens", "wordpiece with [CLS]/[SEP]",
           replace=[("return tokenizer.tokenize(text)", 'return tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])')]),
    mutant("tokens", "wordpiece = whitespace split", replace=[("return tokenizer.tokenize(text)", "return text.lower().split()")]),
    mutant("tokens", "wordpiece strips ##", replace=[("return tokenizer.tokenize(text)", 'return [t.replace("##", "") for t in tokenizer.tokenize(text)]')]),
    mutant("tokens", "wordpiece drops [CLS] only",
           replace=[("return tokenizer.tokenize(text)", 'return tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])[1:]')]),
    mutant("tokens", "wordpiece slices [1:-1] of tokenize()", replace=[("return tokenizer.tokenize(text)", "return tokenizer.tokenize(text)[1:-1]")]),
    mutant("tokens", "token_vectors with [CLS]/[SEP] rows",
           replace=[("ids = tokenizer.convert_tokens_to_ids(wordpiece_tokens(text, tokenizer))", 'ids = tokenizer(text)["input_ids"]')]),
    mutant("tokens", "token_vectors ids off by one",
           replace=[("ids = tokenizer.convert_tokens_to_ids(wordpiece_tokens(text, tokenizer))",
                     "ids = [i + 1 for i in tokenizer.convert_tokens_to_ids(wordpiece_tokens(text, tokenizer))]")]),
    mutant("tokens", "token_vectors uses the global token_matrix, not E",
           replace=[("return np.asarray(E)[ids]", "return token_matrix[ids]")]),
    mutant("tokens", "subword_vector uses the global token_matrix",
           replace=[("token_vectors(word, tokenizer, E).mean(axis=0)", "token_vectors(word, tokenizer, token_matrix).mean(axis=0)")]),
    mutant("tokens", "subword_vector sums", replace=[("token_vectors(word, tokenizer, E).mean(axis=0)", "token_vectors(word, tokenizer, E).sum(axis=0)")]),
    mutant("tokens", "subword_vector first piece only", replace=[("token_vectors(word, tokenizer, E).mean(axis=0)", "token_vectors(word, tokenizer, E)[0]")]),
    mutant("tokens", "subword_vector keeps (1, d)", replace=[("token_vectors(word, tokenizer, E).mean(axis=0)", "token_vectors(word, tokenizer, E).mean(axis=0, keepdims=True)")]),
    mutant("tokens", "subword_vector with [CLS]/[SEP]",
           replace=[("token_vectors(word, tokenizer, E).mean(axis=0)", 'np.asarray(E)[tokenizer(word)["input_ids"]].mean(axis=0)')]),
    mutant("tokens", "subword_vector max pooling", replace=[("token_vectors(word, tokenizer, E).mean(axis=0)", "token_vectors(word, tokenizer, E).max(axis=0)")]),
    # -- 5. positions ------------------------------------------------------------------------------------------
    mutant("positional", "sin block then cos block",
           replace=[("pe[:, 0::2] = np.sin(angles)\n    pe[:, 1::2] = np.cos(angles)", "pe[:, :d // 2] = np.sin(angles)\n    pe[:, d // 2:] = np.cos(angles)")]),
    mutant("positional", "exponent i/d instead of 2i/d", replace=[("np.arange(0, d, 2) / d", "np.arange(d // 2) / d")]),
    mutant("positional", "exponent uses the column index j/d",
           replace=[("frequencies = 1.0 / 10000 ** (np.arange(0, d, 2) / d)\n    angles = positions * frequencies[None, :]\n    pe = np.zeros((n_positions, d))\n    pe[:, 0::2] = np.sin(angles)\n    pe[:, 1::2] = np.cos(angles)",
                     "angles = positions / 10000 ** (np.arange(d)[None, :] / d)\n    pe = np.where(np.arange(d) % 2 == 0, np.sin(angles), np.cos(angles))")]),
    mutant("positional", "base 1000", replace=[("1.0 / 10000 **", "1.0 / 1000 **")]),
    mutant("positional", "positions start at 1", replace=[("positions = np.arange(n_positions)[:, None]", "positions = np.arange(1, n_positions + 1)[:, None]")]),
    mutant("positional", "sin and cos swapped", replace=[("pe[:, 0::2] = np.sin(angles)", "pe[:, 0::2] = np.cos(angles)"), ("pe[:, 1::2] = np.cos(angles)", "pe[:, 1::2] = np.sin(angles)")]),
    mutant("positional", "multiplies pos by 10000**(2i/d)", replace=[("1.0 / 10000 **", "10000 **")]),
    mutant("positional", "dot_by_offset P[:-k] (empty for k=0)", replace=[("P[: len(P) - k]", "P[:-k]")]),
    mutant("positional", "dot_by_offset cosine instead of dot",
           replace=[("P = np.asarray(P, dtype=np.float64)", "P = np.asarray(P, dtype=np.float64)\n    P = P / np.linalg.norm(P, axis=1, keepdims=True)")]),
    mutant("positional", "dot_by_offset offset 1, k ignored", replace=[('np.einsum("pd,pd->p", P[: len(P) - k], P[k:])', 'np.einsum("pd,pd->p", P[: len(P) - 1], P[1:])')]),
    mutant("positional", "dot_by_offset wraps around (np.roll)", replace=[('np.einsum("pd,pd->p", P[: len(P) - k], P[k:])', "np.sum(P * np.roll(P, -k, axis=0), axis=1)")]),
    mutant("positional", "dot_by_offset one entry short", replace=[('np.einsum("pd,pd->p", P[: len(P) - k], P[k:])', 'np.einsum("pd,pd->p", P[: len(P) - k - 1], P[k:-1])')]),
    # -- 5b. RoPE ---------------------------------------------------------------------------------------------
    # (Dropping the odd-d check is not listed: numpy's broadcasting then raises a ValueError of its own for every
    #  odd d, which is what the docstring asks for.)
    mutant("rope", "half-split pairs (i, i + d/2), rotate_half",
           replace=[("even, odd = x[..., 0::2], x[..., 1::2]", "even, odd = x[..., : d // 2], x[..., d // 2:]"),
                    (_EVEN_OUT, "out[..., : d // 2] = even * cos - odd * sin"), (_ODD_OUT, "out[..., d // 2:] = even * sin + odd * cos")]),
    mutant("rope", "exponent i/d instead of 2i/d", replace=[(_THETA, "theta = base ** (-np.arange(d // 2) / d)")]),
    mutant("rope", "exponent 2(i+1)/d (pairs counted from 1)", replace=[(_THETA, "theta = base ** (-np.arange(2, d + 2, 2) / d)")]),
    mutant("rope", "integer division in the exponent (theta 1 everywhere)", replace=[(_THETA, "theta = base ** (-(np.arange(0, d, 2) // d))")]),
    mutant("rope", "multiplies by base**(2i/d) (sign of the exponent)", replace=[(_THETA, "theta = base ** (np.arange(0, d, 2) / d)")]),
    mutant("rope", "base ignored (10000)", replace=[(_THETA, "theta = 10000.0 ** (-np.arange(0, d, 2) / d)")]),
    mutant("rope", "clockwise rotation (sign of sin)",
           replace=[(_EVEN_OUT, "out[..., 0::2] = even * cos + odd * sin"), (_ODD_OUT, "out[..., 1::2] = -even * sin + odd * cos")]),
    mutant("rope", "sin and cos swapped",
           replace=[(_EVEN_OUT, "out[..., 0::2] = even * sin - odd * cos"), (_ODD_OUT, "out[..., 1::2] = even * cos + odd * sin")]),
    mutant("rope", "odd output mixes the wrong partner", replace=[(_ODD_OUT, "out[..., 1::2] = odd * sin + even * cos")]),
    mutant("rope", "sinusoids added, not rotated",
           replace=[(_EVEN_OUT, "out[..., 0::2] = even + sin"), (_ODD_OUT, "out[..., 1::2] = odd + cos")]),
    mutant("rope", "positions ignored: row numbers 0..n-1",
           replace=[(_ANGLES, "angles = np.arange(len(np.atleast_2d(x)))[:, None] * theta")]),
    mutant("rope", "positions counted from 1", replace=[(_ANGLES, "angles = (np.asarray(positions, dtype=np.float64)[..., None] + 1) * theta")]),
    mutant("rope", "angles transposed (pairs x positions)", replace=[(_ANGLES, "angles = theta[:, None] * np.asarray(positions, dtype=np.float64)")]),
    mutant("rope", "odd d: last column passed through, no ValueError",
           replace=[('raise ValueError(f"RoPE rotates pairs of dimensions: d must be even, got d={d}")',
                     "return np.concatenate([apply_rope(x[..., :-1], positions, base), x[..., -1:]], axis=-1)")]),
    mutant("rope", "1-D x comes back as (1, d)",
           replace=[("x = np.asarray(x, dtype=np.float64)", "x = np.atleast_2d(np.asarray(x, dtype=np.float64))"),
                    (_ANGLES, "angles = np.atleast_1d(np.asarray(positions, dtype=np.float64))[:, None] * theta")]),
    mutant("rope", "rotates x in place",
           replace=[("out = np.empty_like(x)\n    " + _EVEN_OUT + "\n    " + _ODD_OUT + "\n    return out",
                     "new_even, new_odd = even * cos - odd * sin, even * sin + odd * cos\n"
                     "    x[..., 0::2], x[..., 1::2] = new_even, new_odd\n    return x")]),
    # -- 6. contextual -----------------------------------------------------------------------------------------
    mutant("contextual", "model run without [CLS]/[SEP]",
           replace=[(_CTX_ENC, 'encoded = tokenizer(sentence, return_offsets_mapping=True, add_special_tokens=False, return_tensors="pt")')]),
    mutant("contextual", "first sub-token only", replace=[("return states[keep].mean(dim=0).cpu().numpy()", "return states[keep[0]].cpu().numpy()")]),
    mutant("contextual", "last sub-token only", replace=[("return states[keep].mean(dim=0).cpu().numpy()", "return states[keep[-1]].cpu().numpy()")]),
    mutant("contextual", "sum of the sub-tokens", replace=[("return states[keep].mean(dim=0).cpu().numpy()", "return states[keep].sum(dim=0).cpu().numpy()")]),
    mutant("contextual", "mean over the whole sentence", replace=[("return states[keep].mean(dim=0).cpu().numpy()", "return states.mean(dim=0).cpu().numpy()")]),
    mutant("contextual", "last occurrence of the word",
           replace=[(_CTX_MATCH, 'match = list(re.finditer(rf"\\b{re.escape(word)}\\b", sentence, flags=re.IGNORECASE))[-1]')]),
    mutant("contextual", "case-sensitive match", replace=[("flags=re.IGNORECASE", "flags=0")]),
    mutant("contextual", "substring match, no word boundaries", replace=[(_CTX_MATCH, "match = re.search(re.escape(word), sentence, flags=re.IGNORECASE)")]),
    mutant("contextual", "space-prefixed search misses position 0",
           replace=[(_CTX_MATCH + "\n    start, end = match.span()",
                     'start = sentence.lower().index(" " + word.lower()) + 1\n    end = start + len(word)')]),
    mutant("contextual", "special tokens kept at position 0 (e >= s)", replace=[("if e > s and s >= start", "if e >= s and s >= start")]),
    mutant("contextual", "embedding layer instead of the last layer",
           replace=[("model(**encoded.to(model.device)).last_hidden_state[0]", "model(**encoded.to(model.device), output_hidden_states=True).hidden_states[0][0]")]),
    mutant("contextual", "loo without leaving out", replace=[("others = np.arange(len(X)) != i", "others = np.ones(len(X), dtype=bool)")]),
    mutant("contextual", "loo: Euclidean nearest centroid",
           replace=[(_LOO_PRED, "correct += classes[int(np.argmin(np.linalg.norm(centroids - X[i], axis=1)))] == labels[i]")]),
    mutant("contextual", "loo: dot product with the centroids", replace=[(_LOO_PRED, "correct += classes[int(np.argmax(centroids @ X[i]))] == labels[i]")]),
    mutant("contextual", "loo: rows normalised before averaging",
           replace=[("classes = sorted(set(labels.tolist()))", "classes = sorted(set(labels.tolist()))\n    X = X / np.linalg.norm(X, axis=1, keepdims=True)")]),
    mutant("contextual", "loo: skips row 0", replace=[("for i in range(len(X)):", "for i in range(1, len(X)):")]),
    mutant("contextual", "loo: count, not fraction", replace=[("return correct / len(X)", "return correct")]),
    mutant("contextual", "loo: median centroids", replace=[("X[others & (labels == c)].mean(axis=0)", "np.median(X[others & (labels == c)], axis=0)")]),
    mutant("contextual", "loo: balanced accuracy (mean over classes)",
           replace=[("return correct / len(X)", "return correct / len(X) if False else float(np.mean([np.mean([classes[int(np.argmax(cosine_matrix(X[i][None, :], np.stack([X[(np.arange(len(X)) != i) & (labels == c)].mean(axis=0) for c in classes]))[0]))] == labels[i] for i in np.flatnonzero(labels == c2)]) for c2 in classes]))")]),
    # -- 7. sentence -------------------------------------------------------------------------------------------
    mutant("sentence", "mean_pool ignores the mask",
           replace=[("return (token_states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)", "return token_states.mean(dim=1)")]),
    mutant("sentence", "mean_pool divides by seq_len", replace=[("/ mask.sum(dim=1).clamp(min=1e-9)", "/ token_states.shape[1]")]),
    mutant("sentence", "mean_pool divides by the batch's token count", replace=[("/ mask.sum(dim=1).clamp(min=1e-9)", "/ mask.sum()")]),
    mutant("sentence", "mean_pool takes the first n tokens",
           replace=[("return (token_states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)",
                     "return torch.stack([token_states[b, : int(mask[b].sum())].mean(dim=0) for b in range(len(token_states))])")]),
    mutant("sentence", "mean_pool = [CLS] token", replace=[("return (token_states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)", "return token_states[:, 0]")]),
    mutant("sentence", "encode without L2 normalisation", replace=[(_NORMALISE, "out.append(pooled.cpu().numpy())")]),
    mutant("sentence", "encode with [CLS] pooling", replace=[(_POOL, "pooled = model(**batch).last_hidden_state[:, 0]")]),
    mutant("sentence", "encode averages the padding too", replace=[(_POOL, 'pooled = mean_pool(model(**batch).last_hidden_state, torch.ones_like(batch["attention_mask"]))')]),
    mutant("sentence", "encode truncates at 512 tokens", replace=[("max_length=256,", "max_length=512,")]),
    mutant("sentence", "encode without special tokens", replace=[("truncation=True, max_length=256,", "truncation=True, max_length=256, add_special_tokens=False,")]),
    mutant("sentence", "encode normalises along dim 0", replace=[("normalize(pooled, dim=-1)", "normalize(pooled, dim=0)")]),
    mutant("sentence", "encode drops the last partial batch", replace=[("range(0, len(sentences), batch_size)", "range(0, len(sentences) - batch_size + 1, batch_size)")]),
    mutant("sentence", "encode sorts by length, order lost", replace=[("out = []", "out = []\n    sentences = sorted(sentences, key=len)")]),
    mutant("sentence", "encode slices sentences[i:batch_size]", replace=[("sentences[i:i + batch_size]", "sentences[i:batch_size]")]),
    # -- 8. multimodal -----------------------------------------------------------------------------------------
    mutant("multimodal", "ridge ignores lam", replace=[(" + " + _RIDGE_PEN, "")]),
    mutant("multimodal", "ridge uses lam squared", replace=[(_RIDGE_PEN, "lam ** 2 * np.eye(X.shape[1])")]),
    mutant("multimodal", "ridge scales lam by n", replace=[(_RIDGE_PEN, "lam * len(X) * np.eye(X.shape[1])")]),
    mutant("multimodal", "ridge adds lam to every entry", replace=[(_RIDGE_PEN, "lam")]),
    mutant("multimodal", "ridge leaves the last column unpenalised", replace=[(_RIDGE_PEN, "lam * np.diag(np.r_[np.ones(X.shape[1] - 1), 0.0])")]),
    mutant("multimodal", "ridge returns W transposed", replace=[("X.T @ Y)\n", "X.T @ Y).T\n")]),
    mutant("multimodal", "image_to_text by dot product",
           replace=[(_I2T, "best = np.argmax(np.asarray(image_vectors, dtype=float) @ np.asarray(text_vectors, dtype=float).T, axis=1)")]),
    mutant("multimodal", "image_to_text compares the text index", replace=[("np.asarray(text_labels)[best] == np.asarray(image_labels)", "best == np.asarray(image_labels)")]),
    mutant("multimodal", "image_to_text by Euclidean distance",
           replace=[(_I2T, "best = np.argmin(((np.asarray(image_vectors, dtype=float)[:, None] - np.asarray(text_vectors, dtype=float)[None]) ** 2).sum(-1), axis=1)")]),
    mutant("multimodal", "text_to_image ignores k (5)", replace=[(_T2I, _T2I.replace("[:, :k]", "[:, :5]"))]),
    mutant("multimodal", "text_to_image least similar first", replace=[(_T2I, _T2I.replace("np.argsort(-cosine_matrix", "np.argsort(cosine_matrix"))]),
    mutant("multimodal", "text_to_image skips the top hit", replace=[(_T2I, _T2I.replace("[:, :k]", "[:, 1:k + 1]"))]),
    mutant("multimodal", "text_to_image by dot product",
           replace=[(_T2I, 'top = np.argsort(-(np.asarray(text_vectors, dtype=float) @ np.asarray(image_vectors, dtype=float).T), axis=1, kind="stable")[:, :k]')]),
    mutant("multimodal", "text_to_image recall instead of precision",
           replace=[("return float(np.mean(np.asarray(image_labels)[top] == np.asarray(text_labels)[:, None]))",
                     "hits = (np.asarray(image_labels)[top] == np.asarray(text_labels)[:, None]).sum(axis=1)\n"
                     "    return float(np.mean(hits / (np.asarray(image_labels)[None, :] == np.asarray(text_labels)[:, None]).sum(axis=1)))")]),
    # -- red team rt-01: new classes (Setup shortcuts, globals instead of arguments, value-based exclusion, ...) --
    mutant("one_hot", "embed_lookup indexes with ids as given (a tuple is a multi-index)", replace=[(_LOOKUP, "return np.asarray(E)[ids]")]),
    mutant("cosine", "cosine_matrix clipped to [0, 1]", replace=[("return unit(A) @ unit(B).T", "return np.clip(unit(A) @ unit(B).T, 0, 1)")]),
    mutant("glove_neighbors", "neighbours through a gensim KeyedVectors of the Setup's GloVe (words, vectors ignored)",
           replace=[("def nearest_neighbors(word, words, vectors, k=5):", _GLOBAL_KV + "def nearest_neighbors(word, words, vectors, k=5):"),
                    ("index = words.index(word)\n    scores = cosine_matrix(vectors[index][None, :], vectors)[0]\n    scores[index] = -np.inf\n    "
                     + _NN_SORT + "\n    return [words[i] for i in best]",
                     "return [w for w, _ in _glove_kv.most_similar(word, topn=k)]")]),
    mutant("glove_neighbors", "neighbours: query row deleted from vectors, not from words (indices shift)",
           replace=[("scores = cosine_matrix(vectors[index][None, :], vectors)[0]\n    scores[index] = -np.inf",
                     "scores = cosine_matrix(vectors[index][None, :], np.delete(np.asarray(vectors), index, axis=0))[0]")]),
    mutant("glove_neighbors", "analogy through a gensim KeyedVectors of the Setup's GloVe (words, vectors ignored)",
           replace=[("def nearest_neighbors(word, words, vectors, k=5):", _GLOBAL_KV + "def nearest_neighbors(word, words, vectors, k=5):"),
                    ("return words[int(np.argmax(scores))]", "return _glove_kv.most_similar(positive=[b, c], negative=[a], topn=1)[0][0]")]),
    mutant("glove_neighbors", "analogy_accuracy through a gensim KeyedVectors of the Setup's GloVe, not analogy(words, vectors)",
           replace=[("def nearest_neighbors(word, words, vectors, k=5):", _GLOBAL_KV + "def nearest_neighbors(word, words, vectors, k=5):"),
                    (_ACC, "return sum(_glove_kv.most_similar(positive=[b, c], negative=[a], topn=1)[0][0] == d for a, b, c, d in rows) / len(rows)")]),
    mutant("positional", "exponent linspace(0, 1, d/2) (last pair at 1/10000)",
           replace=[("frequencies = 1.0 / 10000 ** (np.arange(0, d, 2) / d)", "frequencies = 1.0 / 10000 ** np.linspace(0, 1, d // 2)")]),
    mutant("positional", "dot_by_offset sums over positions (axis 0)",
           replace=[('return np.einsum("pd,pd->p", P[: len(P) - k], P[k:])', 'return np.einsum("pd,pd->d", P[: len(P) - k], P[k:])')]),
    mutant("rope", "rotate-every-two with frequencies tiled, not repeated", source='''\
def apply_rope(x, positions, base=10000.0):
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[-1]
    if d % 2:
        raise ValueError("d must be even")
    theta = np.tile(base ** (-np.arange(0, d, 2) / d), 2)  # should be np.repeat(..., 2)
    angles = np.asarray(positions, dtype=np.float64)[..., None] * theta
    rotated = np.empty_like(x)
    rotated[..., 0::2], rotated[..., 1::2] = -x[..., 1::2], x[..., 0::2]
    return x * np.cos(angles) + rotated * np.sin(angles)
'''),
    mutant("rope", "cos/sin read from sinusoidal_encoding (base ignored, negative positions wrap)", source='''\
def apply_rope(x, positions, base=10000.0):
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[-1]
    if d % 2:
        raise ValueError("d must be even")
    pos = np.asarray(positions)
    table = sinusoidal_encoding(int(np.max(pos)) + 1, d)[pos]
    sin, cos = table[..., 0::2], table[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x[..., 0::2] * cos - x[..., 1::2] * sin
    out[..., 1::2] = x[..., 0::2] * sin + x[..., 1::2] * cos
    return out
'''),
    mutant("contextual", "contextual: the Setup's minilm instead of the model argument",
           replace=[("states = model(**encoded.to(model.device)).last_hidden_state[0]", "states = minilm(**encoded.to(minilm.device)).last_hidden_state[0]")]),
    mutant("contextual", "contextual: hidden size hard-coded to 384",
           replace=[("return states[keep].mean(dim=0).cpu().numpy()",
                     "total = np.zeros(384)\n    for i in keep:\n        total += states[i].cpu().numpy()\n    return total / len(keep)")]),
    mutant("contextual", "contextual: first run of the word's token ids (no ## check)", source='''\
def contextual_word_vector(sentence, word, tokenizer, model):
    encoded = tokenizer(sentence, return_tensors="pt").to(model.device)
    ids = encoded["input_ids"][0].tolist()
    target = tokenizer(word, add_special_tokens=False)["input_ids"]
    start = next(i for i in range(len(ids)) if ids[i:i + len(target)] == target)
    with torch.no_grad():
        states = model(**encoded).last_hidden_state[0]
    return states[start:start + len(target)].mean(dim=0).cpu().numpy()


def loo_nearest_centroid_accuracy(X, labels):
    X, labels = np.asarray(X, dtype=np.float64), np.asarray(labels)
    classes = sorted(set(labels.tolist()))
    correct = 0
    for i in range(len(X)):
        others = np.arange(len(X)) != i
        centroids = np.stack([X[others & (labels == c)].mean(axis=0) for c in classes])
        correct += classes[int(np.argmax(cosine_matrix(X[i][None, :], centroids)[0]))] == labels[i]
    return correct / len(X)
'''),
    mutant("contextual", "loo leaves out every row equal to X[i] (by value)",
           replace=[("others = np.arange(len(X)) != i", "others = ~np.all(X == X[i], axis=1)")]),
    mutant("sentence", "mean_pool masks token_states in place",
           replace=[("return (token_states * mask).sum(dim=1)", "token_states.mul_(mask)\n    return token_states.sum(dim=1)")]),
    mutant("sentence", "mean_pool returns a numpy array",
           replace=[("return (token_states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)",
                     "return ((token_states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)).numpy()")]),
    mutant("sentence", "encode calls the Setup's sentence_model (tokenizer, model ignored)",
           replace=[("    out = []\n    for i in range(0, len(sentences), batch_size):",
                     "    return sentence_model.encode(list(sentences), batch_size=batch_size, normalize_embeddings=True)\n    out = []\n    for i in range(0, len(sentences), batch_size):")]),
    mutant("sentence", "encode runs the Setup's minilm, not the model argument", replace=[(_POOL, _POOL.replace("model(**batch)", "minilm(**batch)"))]),
    mutant("sentence", "encode uses BERT's pooler_output", replace=[(_POOL, "pooled = model(**batch).pooler_output")]),
    mutant("multimodal", "ridge in the dual form X^T (X X^T + lam I)^-1 Y (singular at lam = 0)",
           replace=[("return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ Y)", "return X.T @ np.linalg.solve(X @ X.T + lam * np.eye(len(X)), Y)")]),
    mutant("multimodal", "ridge via sklearn Ridge with its default intercept", source='''\
from sklearn.linear_model import Ridge

def fit_ridge(X, Y, lam):
    return Ridge(alpha=lam).fit(np.asarray(X, dtype=float), np.asarray(Y, dtype=float)).coef_.T


def image_to_text_accuracy(image_vectors, image_labels, text_vectors, text_labels):
    best = np.argmax(cosine_matrix(image_vectors, text_vectors), axis=1)
    return float(np.mean(np.asarray(text_labels)[best] == np.asarray(image_labels)))


def text_to_image_precision(text_vectors, text_labels, image_vectors, image_labels, k=5):
    top = np.argsort(-cosine_matrix(text_vectors, image_vectors), axis=1, kind="stable")[:, :k]
    return float(np.mean(np.asarray(image_labels)[top] == np.asarray(text_labels)[:, None]))
'''),
    mutant("multimodal", "text_to_image keeps the first k texts ([:k] on rows)", replace=[(_T2I, _T2I.replace("[:, :k]", "[:k]"))]),
]

ALTERNATIVES = [
    alternative("one_hot", "np.eye rows, float64, np.take", source='''\
def one_hot(ids, vocab_size):
    return np.eye(vocab_size)[np.asarray(ids, dtype=int)]


def embed_lookup(ids, E):
    return np.take(np.asarray(E), np.asarray(ids, dtype=int), axis=0)
'''),
    alternative("one_hot", "loops, and lookup as a one-hot product", source='''\
def one_hot(ids, vocab_size):
    out = np.zeros((len(ids), vocab_size))
    for row, i in enumerate(ids):
        out[row, int(i)] = 1
    return out


def embed_lookup(ids, E):
    return one_hot(list(ids), len(E)) @ np.asarray(E)
'''),
    alternative("cosine", "torch float32", source='''\
def cosine(u, v):
    u = torch.as_tensor(np.asarray(u, dtype=np.float32))
    v = torch.as_tensor(np.asarray(v, dtype=np.float32))
    return float(torch.nn.functional.cosine_similarity(u, v, dim=0))


def cosine_matrix(A, B):
    A = torch.as_tensor(np.asarray(A, dtype=np.float32))
    B = torch.as_tensor(np.asarray(B, dtype=np.float32))
    return (torch.nn.functional.normalize(A, dim=1) @ torch.nn.functional.normalize(B, dim=1).T).numpy()
'''),
    alternative("cosine", "pure Python loops", source='''\
import math

def cosine(u, v):
    dot = sum(float(a) * float(b) for a, b in zip(u, v))
    nu = math.sqrt(sum(float(a) ** 2 for a in u))
    nv = math.sqrt(sum(float(b) ** 2 for b in v))
    if nu == 0 or nv == 0:
        return 0.0
    return dot / (nu * nv)


def cosine_matrix(A, B):
    return np.array([[cosine(a, b) for b in B] for a in A]).reshape(len(A), len(B))
'''),
    alternative("cosine", "sklearn cosine_similarity", source='''\
from sklearn.metrics.pairwise import cosine_similarity

def cosine(u, v):
    return float(cosine_similarity(np.asarray(u, dtype=float)[None], np.asarray(v, dtype=float)[None])[0, 0])


def cosine_matrix(A, B):
    return cosine_similarity(np.asarray(A, dtype=float), np.asarray(B, dtype=float))
'''),
    alternative("glove_neighbors", "sorted() with another tie-break, torch analogy", source='''\
def nearest_neighbors(word, words, vectors, k=5):
    V = np.asarray(vectors, dtype=np.float64)
    q = V[words.index(word)]
    sims = V @ q / np.maximum(np.linalg.norm(V, axis=1) * np.linalg.norm(q), 1e-30)
    order = sorted((i for i in range(len(words)) if words[i] != word), key=lambda i: (-sims[i], -i))
    return [words[i] for i in order[:k]]


def analogy(a, b, c, words, vectors):
    U = torch.nn.functional.normalize(torch.as_tensor(np.array(vectors, dtype=np.float32)), dim=1)
    ia, ib, ic = words.index(a), words.index(b), words.index(c)
    scores = U @ (U[ib] - U[ia] + U[ic])
    scores[[ia, ib, ic]] = float("-inf")
    return words[int(torch.argmax(scores))]


def analogy_accuracy(rows, words, vectors):
    hits = [analogy(a, b, c, words, vectors) == d for (a, b, c, d) in rows]
    return float(np.mean(hits))
'''),
    alternative("glove_neighbors", "argpartition then sort, masked analogy", source='''\
def nearest_neighbors(word, words, vectors, k=5):
    i = words.index(word)
    sims = cosine_matrix(np.asarray(vectors)[i:i + 1], vectors)[0]
    sims[i] = -np.inf
    part = np.argpartition(-sims, k)[:k]
    return [words[j] for j in part[np.argsort(-sims[part])]]


def analogy(a, b, c, words, vectors):
    V = np.asarray(vectors, dtype=np.float64)
    V = V / np.linalg.norm(V, axis=1)[:, None]
    idx = [words.index(w) for w in (a, b, c)]
    target = V[idx[1]] - V[idx[0]] + V[idx[2]]
    sims = V @ target / np.linalg.norm(target)
    mask = np.ones(len(words), dtype=bool)
    mask[idx] = False
    candidates = np.flatnonzero(mask)
    return words[candidates[np.argmax(sims[candidates])]]


def analogy_accuracy(rows, words, vectors):
    correct = 0
    for row in rows:
        correct += analogy(*row[:3], words, vectors) == row[3]
    return correct / len(rows)
'''),
    alternative("tokens", "ids without special tokens, np.average", source='''\
def wordpiece_tokens(text, tokenizer):
    return tokenizer.convert_ids_to_tokens(tokenizer(text, add_special_tokens=False)["input_ids"])


def token_vectors(text, tokenizer, E):
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    return np.asarray(E)[np.asarray(ids, dtype=int)].reshape(len(ids), np.asarray(E).shape[1])


def subword_vector(word, tokenizer, E):
    return np.average(token_vectors(word, tokenizer, E), axis=0)
'''),
    alternative("tokens", "strip [CLS]/[SEP] by slicing, loop over rows", source='''\
def wordpiece_tokens(text, tokenizer):
    return tokenizer.convert_ids_to_tokens(tokenizer(text)["input_ids"])[1:-1]


def token_vectors(text, tokenizer, E):
    rows = [E[tokenizer.convert_tokens_to_ids(t)] for t in wordpiece_tokens(text, tokenizer)]
    return np.array(rows).reshape(len(rows), E.shape[1])


def subword_vector(word, tokenizer, E):
    rows = token_vectors(word, tokenizer, E)
    return rows.sum(axis=0) / len(rows)
'''),
    alternative("positional", "torch float32, np.diag offsets", source='''\
def sinusoidal_encoding(n_positions, d):
    pos = torch.arange(n_positions, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-np.log(10000.0) / d))
    pe = torch.zeros(n_positions, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe.numpy()


def dot_by_offset(P, k):
    P = np.asarray(P)
    return np.diag(P @ P.T, k).copy()
'''),
    alternative("positional", "loops", source='''\
import math

def sinusoidal_encoding(n_positions, d):
    pe = np.empty((n_positions, d))
    for pos in range(n_positions):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            pe[pos, 2 * i] = math.sin(angle)
            pe[pos, 2 * i + 1] = math.cos(angle)
    return pe


def dot_by_offset(P, k):
    return np.array([float(np.dot(P[p], P[p + k])) for p in range(len(P) - k)])
'''),
    alternative("rope", "complex numbers, numpy", source='''\
def apply_rope(x, positions, base=10000.0):
    x = np.asarray(x, dtype=np.float64)
    d = x.shape[-1]
    if d % 2 != 0:
        raise ValueError("d must be even")
    z = x[..., 0::2] + 1j * x[..., 1::2]
    freqs = base ** (-2.0 * np.arange(d // 2) / d)
    z = z * np.exp(1j * np.multiply.outer(np.asarray(positions, dtype=np.float64), freqs))
    return np.stack([z.real, z.imag], axis=-1).reshape(x.shape)
'''),
    alternative("rope", "torch float32, view_as_complex (LLaMA style)", source='''\
def apply_rope(x, positions, base=10000.0):
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    d = x.shape[-1]
    if d % 2 == 1:
        raise ValueError(f"odd dimension {d}")
    freqs = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    pos = torch.as_tensor(np.atleast_1d(positions), dtype=torch.float32)
    rot = torch.polar(torch.ones(len(pos), d // 2), torch.outer(pos, freqs))
    z = torch.view_as_complex(x.reshape(-1, d // 2, 2).contiguous())
    return torch.view_as_real(z * rot).reshape(x.shape).numpy()
'''),
    alternative("rope", "loops with a 2x2 rotation matrix", source='''\
import math

def apply_rope(x, positions, base=10000.0):
    single = np.ndim(x) == 1
    rows = np.array(x, dtype=np.float64, ndmin=2)
    d = rows.shape[1]
    if d % 2:
        raise ValueError("apply_rope needs an even d")
    out = np.zeros_like(rows)
    for r, m in enumerate(np.atleast_1d(positions)):
        for i in range(d // 2):
            a = int(m) * math.pow(base, -2 * i / d)
            R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
            out[r, 2 * i:2 * i + 2] = R @ rows[r, 2 * i:2 * i + 2]
    return out[0] if single else out
'''),
    alternative("contextual", "lookarounds and char_to_token, vectorised loo", source='''\
def contextual_word_vector(sentence, word, tokenizer, model):
    m = next(re.finditer(r"(?<![0-9A-Za-z_])" + re.escape(word.lower()) + r"(?![0-9A-Za-z_])", sentence.lower()))
    enc = tokenizer(sentence, return_tensors="pt")
    tokens = sorted({enc.char_to_token(ch) for ch in range(m.start(), m.end()) if enc.char_to_token(ch) is not None})
    with torch.no_grad():
        out = model(input_ids=enc["input_ids"].to(model.device), attention_mask=enc["attention_mask"].to(model.device))
    return out.last_hidden_state[0, tokens].mean(0).cpu().numpy()


def loo_nearest_centroid_accuracy(X, labels):
    X = np.asarray(X, dtype=np.float32)
    labels = list(labels)
    classes = sorted(set(labels))
    onehot = np.array([[lab == c for c in classes] for lab in labels], dtype=np.float32)
    sums, counts = onehot.T @ X, onehot.sum(axis=0)
    hits = 0
    for i, lab in enumerate(labels):
        s = sums - onehot[i][:, None] * X[i]
        n = counts - onehot[i]
        cents = s / n[:, None]
        sims = cents @ X[i] / (np.linalg.norm(cents, axis=1) * np.linalg.norm(X[i]))
        hits += classes[int(np.argmax(sims))] == lab
    return hits / len(labels)
'''),
    alternative("sentence", "einsum pooling, one sentence at a time", source='''\
def mean_pool(token_states, attention_mask):
    m = attention_mask.to(token_states.dtype)
    return torch.einsum("btd,bt->bd", token_states, m) / m.sum(dim=1, keepdim=True)


def encode(sentences, tokenizer, model, batch_size=32):
    rows = []
    for s in sentences:
        enc = tokenizer(s, truncation=True, max_length=256, return_tensors="pt").to(model.device)
        with torch.no_grad():
            h = model(**enc).last_hidden_state
        v = mean_pool(h, enc["attention_mask"])[0]
        rows.append((v / v.norm()).cpu().numpy())
    return np.stack(rows).astype(np.float32)
'''),
    alternative("sentence", "sorted by length like sentence-transformers, normalised in float64", source='''\
def mean_pool(token_states, attention_mask):
    mask = attention_mask.bool().unsqueeze(-1)
    summed = token_states.masked_fill(~mask, 0).sum(dim=1)
    return summed / mask.sum(dim=1).to(token_states.dtype)


def encode(sentences, tokenizer, model, batch_size=32):
    order = np.argsort([-len(s) for s in sentences], kind="stable")
    out = np.zeros((len(sentences), model.config.hidden_size), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = tokenizer([sentences[i] for i in idx], padding=True, truncation=True, max_length=256, return_tensors="pt")
        batch = {key: value.to(model.device) for key, value in batch.items()}
        with torch.no_grad():
            pooled = mean_pool(model(**batch).last_hidden_state, batch["attention_mask"]).double()
        out[idx] = (pooled / pooled.norm(dim=1, keepdim=True)).cpu().numpy()
    return out
'''),
    alternative("multimodal", "sklearn Ridge, torch topk", source='''\
from sklearn.linear_model import Ridge

def fit_ridge(X, Y, lam):
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if lam == 0:
        return np.linalg.lstsq(X, Y, rcond=None)[0]
    return Ridge(alpha=lam, fit_intercept=False).fit(X, Y).coef_.reshape(Y.shape[1], X.shape[1]).T


def image_to_text_accuracy(image_vectors, image_labels, text_vectors, text_labels):
    S = cosine_matrix(image_vectors, text_vectors)
    return sum(text_labels[int(j)] == y for j, y in zip(S.argmax(axis=1), image_labels)) / len(S)


def text_to_image_precision(text_vectors, text_labels, image_vectors, image_labels, k=5):
    S = torch.as_tensor(cosine_matrix(text_vectors, image_vectors))
    top = torch.topk(S, k, dim=1).indices.numpy()
    labels = np.asarray(image_labels)
    return float(np.mean([np.mean(labels[row] == t) for row, t in zip(top, text_labels)]))
'''),
    alternative("multimodal", "augmented least squares in float32, loops", source='''\
def fit_ridge(X, Y, lam):
    X, Y = np.asarray(X, dtype=np.float32), np.asarray(Y, dtype=np.float32)
    p = X.shape[1]
    Xa = np.vstack([X, np.sqrt(lam) * np.eye(p, dtype=np.float32)])
    Ya = np.vstack([Y, np.zeros((p, Y.shape[1]), dtype=np.float32)])
    return np.linalg.lstsq(Xa.astype(np.float64), Ya.astype(np.float64), rcond=None)[0].astype(np.float32)


def image_to_text_accuracy(image_vectors, image_labels, text_vectors, text_labels):
    text_labels, hits = list(text_labels), 0
    for v, y in zip(image_vectors, image_labels):
        sims = [cosine(v, t) for t in text_vectors]
        hits += text_labels[int(np.argmax(sims))] == y
    return hits / len(image_labels)


def text_to_image_precision(text_vectors, text_labels, image_vectors, image_labels, k=5):
    image_labels, precisions = list(image_labels), []
    for t, y in zip(text_vectors, text_labels):
        sims = np.array([cosine(t, v) for v in image_vectors])
        top = np.argsort(-sims)[:k]
        precisions.append(sum(image_labels[i] == y for i in top) / k)
    return float(np.mean(precisions))
'''),
    # -- red team rt-01 --
    alternative("cosine", "nan_to_num guard, zero norms set to 1", source='''\
def cosine(u, v):
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.nan_to_num(np.dot(u, v) / (np.sqrt(np.dot(u, u)) * np.sqrt(np.dot(v, v)))))


def cosine_matrix(A, B):
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    na, nb = np.linalg.norm(A, axis=1, keepdims=True), np.linalg.norm(B, axis=1, keepdims=True)
    na[na == 0], nb[nb == 0] = 1, 1
    return (A / na) @ (B / nb).T
'''),
    alternative("glove_neighbors", "gensim KeyedVectors built from the arguments", source='''\
from gensim.models import KeyedVectors

def _kv(words, vectors):
    kv = KeyedVectors(vector_size=np.shape(vectors)[1], dtype=np.float64)
    kv.add_vectors(list(words), np.asarray(vectors, dtype=np.float64))
    return kv


def nearest_neighbors(word, words, vectors, k=5):
    return [w for w, _ in _kv(words, vectors).most_similar(word, topn=k)]


def analogy(a, b, c, words, vectors):
    return _kv(words, vectors).most_similar(positive=[b, c], negative=[a], topn=1)[0][0]


def analogy_accuracy(rows, words, vectors):
    return float(np.mean([analogy(a, b, c, words, vectors) == d for a, b, c, d in rows]))
'''),
    alternative("glove_neighbors", "gensim KeyedVectors at its default float32, built from the arguments", source='''\
from gensim.models import KeyedVectors


def nearest_neighbors(word, words, vectors, k=5):
    kv = KeyedVectors(vector_size=np.shape(vectors)[1])
    kv.add_vectors(words, vectors)
    return [w for w, _ in kv.most_similar(word, topn=k)]


def analogy(a, b, c, words, vectors):
    kv = KeyedVectors(vector_size=np.shape(vectors)[1])
    kv.add_vectors(words, vectors)
    return kv.most_similar(positive=[b, c], negative=[a], topn=1)[0][0]


def analogy_accuracy(rows, words, vectors):
    return sum(analogy(a, b, c, words, vectors) == d for a, b, c, d in rows) / len(rows)
'''),
    alternative("positional", "exp-log frequencies (Annotated Transformer), torch", source='''\
import math

def sinusoidal_encoding(n_positions, d):
    position = torch.arange(n_positions, dtype=torch.float32).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * -(math.log(10000.0) / d))
    pe = torch.zeros(n_positions, d)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe.numpy()


def dot_by_offset(P, k):
    P = np.asarray(P, dtype=float)
    return np.sum(P[k:] * P[:len(P) - k], axis=1)
'''),
    alternative("rope", "rotate-every-two with repeated frequencies (GPT-J style)", source='''\
def apply_rope(x, positions, base=10000.0):
    x = np.array(x, dtype=np.float64)
    d = x.shape[-1]
    if d % 2:
        raise ValueError("d must be even")
    theta = np.repeat(base ** (-np.arange(0, d, 2) / d), 2)
    angles = np.asarray(positions, dtype=np.float64)[..., None] * theta
    rotated = np.stack([-x[..., 1::2], x[..., 0::2]], axis=-1).reshape(x.shape)
    return x * np.cos(angles) + rotated * np.sin(angles)
'''),
    alternative("contextual", "token-id search with ## checks, centroids as (sum - x_i) / (n - 1)", source='''\
def contextual_word_vector(sentence, word, tokenizer, model):
    encoded = tokenizer(sentence, return_tensors="pt").to(model.device)
    tokens = tokenizer.convert_ids_to_tokens(encoded["input_ids"][0].tolist())
    target = tokenizer.tokenize(word)
    n = len(target)
    for start in range(len(tokens) - n + 1):
        after = tokens[start + n] if start + n < len(tokens) else ""
        if tokens[start:start + n] == target and not after.startswith("##"):
            break
    with torch.no_grad():
        states = model(**encoded).last_hidden_state[0]
    return states[start:start + n].mean(dim=0).cpu().numpy()


def loo_nearest_centroid_accuracy(X, labels):
    X, labels = np.asarray(X, dtype=np.float64), list(labels)
    sums, counts = {}, {}
    for x, y in zip(X, labels):
        sums[y] = sums.get(y, 0) + x
        counts[y] = counts.get(y, 0) + 1
    correct = 0
    for x, y in zip(X, labels):
        best, best_sim = None, -np.inf
        for c in sums:
            centroid = (sums[c] - x) / (counts[c] - 1) if c == y else sums[c] / counts[c]
            sim = centroid @ x / (np.linalg.norm(centroid) * np.linalg.norm(x))
            if sim > best_sim:
                best, best_sim = c, sim
        correct += best == y
    return correct / len(X)
'''),
    alternative("sentence", "mean_pool through sentence-transformers' Pooling module", source='''\
def mean_pool(token_states, attention_mask):
    pooling = sentence_model[1]  # the model's own mean-pooling module
    return pooling({"token_embeddings": token_states, "attention_mask": attention_mask})["sentence_embedding"]


def encode(sentences, tokenizer, model, batch_size=32):
    out = []
    for i in range(0, len(sentences), batch_size):
        batch = tokenizer(list(sentences[i:i + batch_size]), padding=True, truncation=True, max_length=256,
                          return_tensors="pt").to(model.device)
        with torch.no_grad():
            pooled = mean_pool(model(**batch).last_hidden_state, batch["attention_mask"])
        out.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())
    return np.concatenate(out)
'''),
    alternative("multimodal", "pinv, argpartition (top k unordered)", source='''\
def fit_ridge(X, Y, lam):
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    return np.linalg.pinv(X.T @ X + lam * np.identity(X.shape[1])) @ X.T @ Y


def image_to_text_accuracy(image_vectors, image_labels, text_vectors, text_labels):
    best = cosine_matrix(image_vectors, text_vectors).argmax(axis=1)
    return float(np.mean([list(text_labels)[j] == y for j, y in zip(best, image_labels)]))


def text_to_image_precision(text_vectors, text_labels, image_vectors, image_labels, k=5):
    S = cosine_matrix(text_vectors, image_vectors)
    top = np.argpartition(-S, k - 1, axis=1)[:, :k]
    return float(np.mean(np.asarray(image_labels)[top] == np.asarray(text_labels)[:, None]))
'''),
    alternative("cosine", "sentence-transformers util.cos_sim for the matrix", source='''\
from sentence_transformers import util

def cosine(u, v):
    return float(cosine_matrix([u], [v])[0, 0])


def cosine_matrix(A, B):
    return util.cos_sim(np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)).numpy()
'''),
    alternative("sentence", "tokenize everything once, batches of the padded tensors", source='''\
def mean_pool(token_states, attention_mask):
    mask = attention_mask.float().unsqueeze(-1)
    return (token_states * mask).sum(1) / mask.sum(1)


def encode(sentences, tokenizer, model, batch_size=32):
    enc = tokenizer(list(sentences), padding=True, truncation=True, max_length=256, return_tensors="pt").to(model.device)
    parts = []
    with torch.no_grad():
        for i in range(0, len(sentences), batch_size):
            batch = {key: value[i:i + batch_size] for key, value in enc.items()}
            pooled = mean_pool(model(**batch).last_hidden_state, batch["attention_mask"])
            parts.append(pooled / pooled.norm(dim=1, keepdim=True))
    return torch.cat(parts).cpu().numpy().astype(np.float32)
'''),
    alternative("multimodal", "sklearn NearestNeighbors with the cosine metric", source='''\
from sklearn.neighbors import NearestNeighbors

def fit_ridge(X, Y, lam):
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ Y)


def image_to_text_accuracy(image_vectors, image_labels, text_vectors, text_labels):
    nn = NearestNeighbors(n_neighbors=1, metric="cosine").fit(np.asarray(text_vectors, dtype=float))
    best = nn.kneighbors(np.asarray(image_vectors, dtype=float), return_distance=False)[:, 0]
    return float(np.mean(np.asarray(text_labels)[best] == np.asarray(image_labels)))


def text_to_image_precision(text_vectors, text_labels, image_vectors, image_labels, k=5):
    nn = NearestNeighbors(n_neighbors=k, metric="cosine").fit(np.asarray(image_vectors, dtype=float))
    top = nn.kneighbors(np.asarray(text_vectors, dtype=float), return_distance=False)
    return float(np.mean(np.asarray(image_labels)[top] == np.asarray(text_labels)[:, None]))
'''),
]

# -- return types the docstrings promise (issue 25: a value in the wrong container once kept full marks) ---------
MUTANTS += [
    mutant("glove_neighbors", "nearest_neighbors returns a numpy array of str, not a list",
           replace=[("    return [words[i] for i in best]", "    return np.array(words)[np.asarray(best)]")]),
    mutant("one_hot", "one_hot of ints, not floats", replace=[("out = np.zeros((len(ids), vocab_size), dtype=np.float32)",
                                                              "out = np.zeros((len(ids), vocab_size), dtype=np.int64)")]),
    mutant("sentence", "encode returns float64", replace=[("    return np.concatenate(out)",
                                                           "    return np.concatenate(out).astype(np.float64)")]),
]

# One mistake, one charge: the tests a mistake in another exercise's answer cell can reach (autograder.dataflow
# cross_charges, checked by tests/test_dataflow.py), each where the notebook says that this exercise builds on that.
_MAY_USE_COSINE = "the exercise says it may call your cosine_matrix"
BUILDS_ON = {
    ("cosine", "test_glove_neighbors"): "part 3's prose: 'You may use your `cosine_matrix` here'",
    ("cosine", "test_glove_analogy"): "part 3's prose: 'You may use your `cosine_matrix` here'",
    ("cosine", "test_glove_accuracy"): "part 3's prose: analogy_accuracy calls your analogy, which may use cosine_matrix",
    ("cosine", "test_contextual"): "its answer cell also holds loo_nearest_centroid_accuracy (the analysis is per cell), "
                                   "whose docstring says " + _MAY_USE_COSINE,
    ("cosine", "test_loo"): "loo_nearest_centroid_accuracy's docstring: " + _MAY_USE_COSINE,
    ("cosine", "test_ridge"): "its answer cell also holds image_to_text_accuracy (the analysis is per cell), whose "
                              "docstring says " + _MAY_USE_COSINE,
    ("cosine", "test_retrieval"): "image_to_text_accuracy's docstring: " + _MAY_USE_COSINE,
}
