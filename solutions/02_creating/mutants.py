"""Mutation catalogue of 02_creating: plausible wrong answers (MUTANTS) and correct alternatives.

Each entry replaces one answer cell of the solution. `swap(cell, function, code)` builds a whole cell from
the solution with one function rewritten, so an entry stays short and follows the notebook.
"""
import json
import re
import runpy
from pathlib import Path

from autograder.mutants import alternative, mutant

_NB = json.loads((Path(__file__).with_name("creating_embeddings.ipynb")).read_text())
_MARK = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def _solution(cell: str) -> str:
    for c in _NB["cells"]:
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == cell:
            src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            return "\n".join(line for line in src.splitlines() if not _MARK.match(line))
    raise KeyError(cell)


def swap(cell: str, function: str, code: str) -> str:
    """The solution of `cell` with the top-level function `function` replaced by `code`."""
    src = _solution(cell)
    start = src.index(f"def {function}(")
    nxt = re.search(r"^(def|class) ", src[start + 1:], flags=re.M)
    end = start + 1 + nxt.start() if nxt else len(src)
    return src[:start] + code.strip("\n") + "\n\n\n" + src[end:].lstrip("\n")


BOB = Path(__file__).resolve().parents[2] / "autograder" / "sample_answers" / "02_creating.py"

MUTANTS = [
    # -- 1. vocabulary and subsampling -----------------------------------------------------------------------
    mutant("vocab", "min_count compared with >", replace=[("if c >= min_count", "if c > min_count")]),
    mutant("vocab", "min_count ignored", replace=[("if c >= min_count", "if c >= 1")]),
    mutant("vocab", "ties not broken (first-seen order)", replace=[("key=lambda w: (-counter[w], w)", "key=lambda w: -counter[w]")]),
    mutant("vocab", "least frequent first", replace=[("key=lambda w: (-counter[w], w)", "key=lambda w: (counter[w], w)")]),
    mutant("vocab", "counts sentences, not occurrences",
           replace=[("for sentence in sentences for token in sentence)", "for sentence in sentences for token in set(sentence))")]),
    mutant("vocab", "keep: no clip at 1", replace=[("np.minimum(1.0, np.sqrt(t / f))", "np.sqrt(t / f)")]),
    mutant("vocab", "keep: raw counts as f", replace=[("    f = counts / counts.sum()\n", "    f = counts\n")]),
    mutant("vocab", "keep: t ignored", replace=[("np.sqrt(t / f)", "np.sqrt(1e-2 / f)")]),
    mutant("vocab", "keep: discard probability", replace=[("np.minimum(1.0, np.sqrt(t / f))", "np.maximum(0.0, 1 - np.sqrt(t / f))")]),
    mutant("vocab", "keep: f relative to the max count", replace=[("    f = counts / counts.sum()\n", "    f = counts / counts.max()\n")]),
    mutant("vocab", "keep: no square root", replace=[("np.sqrt(t / f)", "(t / f)")]),
    # -- 2. pairs, noise, negatives ---------------------------------------------------------------------------
    mutant("pairs", "fixed window (b = W)", replace=[("b = int(rng.integers(1, window + 1))", "b = window")]),
    mutant("pairs", "center paired with itself", replace=[("if j != i:", "if True:")]),
    mutant("pairs", "window stops one short (i + b excluded)", replace=[("min(n, i + b + 1)", "min(n, i + b)")]),
    mutant("pairs", "b drawn from 0..W-1", replace=[("rng.integers(1, window + 1)", "rng.integers(0, window)")]),
    mutant("pairs", "right context only", replace=[("range(max(0, i - b), min(n, i + b + 1))", "range(i + 1, min(n, i + b + 1))")]),
    mutant("pairs", "first word never a center", replace=[("for i in range(n):", "for i in range(1, n):")]),
    mutant("pairs", "global np.random instead of rng", replace=[("int(rng.integers(1, window + 1))", "int(np.random.randint(1, window + 1))")]),
    mutant("pairs", "no pairs gives shape (0,)", replace=[("np.array(pairs, dtype=np.int64).reshape(-1, 2)", "np.array(pairs, dtype=np.int64)")]),
    mutant("pairs", "one window size per sentence", source=swap("pairs", "skipgram_pairs", '''
def skipgram_pairs(corpus_ids, window, rng):
    pairs = []
    for sentence in corpus_ids:
        n = len(sentence)
        b = int(rng.integers(1, window + 1))
        for i in range(n):
            for j in range(max(0, i - b), min(n, i + b + 1)):
                if j != i:
                    pairs.append((sentence[i], sentence[j]))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)
''')),
    mutant("pairs", "pairs cross sentence boundaries", source=swap("pairs", "skipgram_pairs", '''
def skipgram_pairs(corpus_ids, window, rng):
    tokens = np.concatenate([np.asarray(s, dtype=np.int64) for s in corpus_ids] + [np.zeros(0, dtype=np.int64)])
    pairs, n = [], len(tokens)
    for i in range(n):
        b = int(rng.integers(1, window + 1))
        for j in range(max(0, i - b), min(n, i + b + 1)):
            if j != i:
                pairs.append((tokens[i], tokens[j]))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)
''')),
    mutant("pairs", "separate window sizes left and right", source=swap("pairs", "skipgram_pairs", '''
def skipgram_pairs(corpus_ids, window, rng):
    pairs = []
    for sentence in corpus_ids:
        n = len(sentence)
        for i in range(n):
            left, right = int(rng.integers(1, window + 1)), int(rng.integers(1, window + 1))
            for j in range(max(0, i - left), min(n, i + right + 1)):
                if j != i:
                    pairs.append((sentence[i], sentence[j]))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)
''')),
    mutant("pairs", "noise: power ignored", replace=[("dtype=np.float64)) ** power", "dtype=np.float64)) ** 0.75")]),
    mutant("pairs", "noise: not normalised", replace=[("    return p / p.sum()\n", "    return p\n")]),
    mutant("pairs", "noise: normalised before the power", source=swap("pairs", "noise_distribution", '''
def noise_distribution(counts, power=0.75):
    c = torch.as_tensor(np.asarray(counts, dtype=np.float64))
    return (c / c.sum()) ** power
''')),
    mutant("pairs", "bob: positives never redrawn (sample answer)", source=runpy.run_path(str(BOB))["SOURCE"]),
    mutant("pairs", "clashes redrawn once (if, not while)", replace=[("while clash.any():", "if clash.any():")]),
    mutant("pairs", "uniform negatives", replace=[("torch.multinomial(noise, pos.numel()", "torch.multinomial(torch.ones_like(noise), pos.numel()")]),
    mutant("pairs", "negatives from the global RNG", replace=[("replacement=True, generator=generator).view(-1, k)", "replacement=True).view(-1, k)")]),
    mutant("pairs", "generator re-seeded on every call", replace=[("    noise = torch.as_tensor(noise, dtype=torch.float64).cpu()\n",
                                                                  "    generator = torch.Generator().manual_seed(0)\n    noise = torch.as_tensor(noise, dtype=torch.float64).cpu()\n")]),
    mutant("pairs", "clash replaced by the next word", replace=[("out[clash] = torch.multinomial(noise, int(clash.sum()), replacement=True, generator=generator)",
                                                              "out[clash] = (out[clash] + 1) % len(noise)")]),
    mutant("pairs", "negatives shaped (k, n)", replace=[("return out.to(positives.device)", "return out.T.contiguous().to(positives.device)")]),
    # -- 3. SGNS loss -----------------------------------------------------------------------------------------
    mutant("sgns_loss", "log(sigmoid(x)), unstable", source='''
def sgns_loss(v_center, u_context, u_negatives):
    positive = (v_center * u_context).sum(dim=-1)
    negative = torch.einsum("bkd,bd->bk", u_negatives, v_center)
    return -(torch.log(torch.sigmoid(positive)) + torch.log(torch.sigmoid(-negative)).sum(dim=-1)).mean()
'''),
    mutant("sgns_loss", "log(sigmoid(x) + 1e-10)", source='''
def sgns_loss(v_center, u_context, u_negatives):
    positive = (v_center * u_context).sum(dim=-1)
    negative = torch.einsum("bkd,bd->bk", u_negatives, v_center)
    return -(torch.log(torch.sigmoid(positive) + 1e-10) + torch.log(torch.sigmoid(-negative) + 1e-10).sum(dim=-1)).mean()
'''),
    mutant("sgns_loss", "negative term without its minus sign", replace=[("F.logsigmoid(-negative)", "F.logsigmoid(negative)")]),
    mutant("sgns_loss", "sum over the batch", replace=[(".sum(dim=-1)).mean()", ".sum(dim=-1)).sum()")]),
    mutant("sgns_loss", "mean over the K negatives", replace=[("F.logsigmoid(-negative).sum(dim=-1)", "F.logsigmoid(-negative).mean(dim=-1)")]),
    mutant("sgns_loss", "negatives summed before the sigmoid",
           replace=[('negative = torch.einsum("bkd,bd->bk", u_negatives, v_center)', "negative = (u_negatives.sum(1) * v_center).sum(-1, keepdim=True)")]),
    mutant("sgns_loss", "mean over B*K for the negatives",
           replace=[("-(F.logsigmoid(positive) + F.logsigmoid(-negative).sum(dim=-1)).mean()",
                     "-(F.logsigmoid(positive).mean() + F.logsigmoid(-negative).mean())")]),
    mutant("sgns_loss", "negatives scored against every center", replace=[('torch.einsum("bkd,bd->bk"', 'torch.einsum("bkd,cd->bk"')]),
    # -- 4. gradients and the numerical gradient ----------------------------------------------------------------
    mutant("sgns_grads", "grad_u_o with the wrong sign", replace=[("(s_o - 1) * v_c, s_k", "(1 - s_o) * v_c, s_k")]),
    mutant("sgns_grads", "grad_U_neg uses s_k - 1", replace=[("s_k[:, None] * v_c[None, :]", "(s_k[:, None] - 1) * v_c[None, :]")]),
    mutant("sgns_grads", "grad_v_c averages the negatives", replace=[("s_k @ U_neg,", "s_k @ U_neg / len(U_neg),")]),
    mutant("sgns_grads", "s_k = sigmoid(-score)", replace=[("s_o, s_k = sigmoid(score_o), sigmoid(scores_k)", "s_o, s_k = sigmoid(score_o), sigmoid(-scores_k)")]),
    mutant("sgns_grads", "grad_v_c without the positive term", replace=[("(s_o - 1) * u_o + s_k @ U_neg", "s_k @ U_neg")]),
    mutant("sgns_grads", "computed in float32", replace=[("(np.asarray(x, dtype=np.float64) for x in (v_c, u_o, U_neg))",
                                                        "(np.asarray(x, dtype=np.float32) for x in (v_c, u_o, U_neg))")]),
    mutant("sgns_grads", "grad_U_neg squeezed for K = 1", replace=[("s_k[:, None] * v_c[None, :]", "np.squeeze(s_k[:, None] * v_c[None, :])")]),
    mutant("sgns_grads", "numerical: forward difference", replace=[("        x[i] = old - h\n        minus = f(x)\n", "        x[i] = old\n        minus = f(x)\n"),
                                                                   ("(plus - minus) / (2 * h)", "(plus - minus) / h")]),
    mutant("sgns_grads", "numerical: x not restored", replace=[("        x[i] = old\n        grad[i]", "        grad[i]")]),
    mutant("sgns_grads", "numerical: divides by h", replace=[("(plus - minus) / (2 * h)", "(plus - minus) / h")]),
    mutant("sgns_grads", "numerical: h ignored", replace=[("        x[i] = old + h\n", "        h = 1e-5\n        x[i] = old + h\n")]),
    mutant("sgns_grads", "numerical: 1-D loop only", replace=[("for i in np.ndindex(x.shape):", "for i in range(len(x)):")]),
    # -- 5. analogies and SGNS training -------------------------------------------------------------------------
    mutant("train_sgns", "analogy: nothing excluded", replace=[("    scores[a, np.arange(len(a))] = -np.inf\n    scores[b, np.arange(len(a))] = -np.inf\n"
                                                                "    scores[c, np.arange(len(a))] = -np.inf\n", "")]),
    mutant("train_sgns", "analogy: b not excluded", replace=[("    scores[b, np.arange(len(a))] = -np.inf\n", "")]),
    mutant("train_sgns", "analogy: a not excluded", replace=[("    scores[a, np.arange(len(a))] = -np.inf\n", "")]),
    mutant("train_sgns", "analogy: excluded scores set to 0", replace=[("    scores[a, np.arange(len(a))] = -np.inf\n    scores[b, np.arange(len(a))] = -np.inf\n"
                                                                       "    scores[c, np.arange(len(a))] = -np.inf\n",
                                                                       "    for ids in (a, b, c):\n        scores[ids, np.arange(len(a))] = 0.0\n")]),
    mutant("train_sgns", "analogy: rows not normalised", replace=[("    U = unit_rows(E)\n    a, b, c", "    U = np.asarray(E, dtype=np.float64)\n    a, b, c")]),
    mutant("train_sgns", "analogy: raw a, b, c in the target", replace=[("U @ (U[b] - U[a] + U[c]).T", "U @ (E[b] - E[a] + E[c]).T")]),
    mutant("train_sgns", "analogy: argmax over the wrong axis", replace=[("return scores.argmax(axis=0)", "return scores.argmax(axis=1)")]),
    mutant("train_sgns", "shuffled once, not every epoch", source=swap("train_sgns", "train_sgns", '''
def train_sgns(model, pairs, noise, k, epochs, batch_size, lr, generator):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    order = torch.randperm(len(pairs), generator=generator).to(pairs.device)
    for epoch in range(epochs):
        for start in range(0, len(pairs), batch_size):
            batch = pairs[order[start:start + batch_size]]
            negatives = sample_negatives(noise, batch[:, 1], k, generator)
            loss = sgns_loss(model.center(batch[:, 0]), model.context(batch[:, 1]), model.context(negatives))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses
''')),
    mutant("train_sgns", "never shuffled", replace=[("order = torch.randperm(len(pairs), generator=generator).to(pairs.device)",
                                                    "order = torch.arange(len(pairs), device=pairs.device)")]),
    mutant("train_sgns", "last partial batch dropped", replace=[("range(0, len(pairs), batch_size)", "range(0, len(pairs) - batch_size + 1, batch_size)")]),
    mutant("train_sgns", "k ignored (always 5)", replace=[("sample_negatives(noise, batch[:, 1], k, generator)", "sample_negatives(noise, batch[:, 1], 5, generator)")]),
    mutant("train_sgns", "negatives looked up in the center table", replace=[("model.context(negatives)", "model.center(negatives)")]),
    mutant("train_sgns", "noise ignored (uniform negatives)", replace=[("sample_negatives(noise, batch[:, 1], k, generator)",
                                                                      "sample_negatives(torch.ones(len(noise)) / len(noise), batch[:, 1], k, generator)")]),
    mutant("train_sgns", "negatives avoid the center, not the context", replace=[("sample_negatives(noise, batch[:, 1], k, generator)",
                                                                                 "sample_negatives(noise, batch[:, 0], k, generator)")]),
    mutant("train_sgns", "lr ignored", replace=[("torch.optim.Adam(model.parameters(), lr=lr)", "torch.optim.Adam(model.parameters(), lr=0.01)")]),
    mutant("train_sgns", "no zero_grad", replace=[("            optimizer.zero_grad()\n", "")]),
    mutant("train_sgns", "only the center table optimised", replace=[("torch.optim.Adam(model.parameters(), lr=lr)", "torch.optim.Adam(model.center.parameters(), lr=lr)")]),
    mutant("train_sgns", "shuffle from the global RNG", replace=[("torch.randperm(len(pairs), generator=generator)", "torch.randperm(len(pairs))")]),
    mutant("train_sgns", "generator re-seeded on every call", replace=[("    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n",
                                                                       "    generator = torch.Generator().manual_seed(0)\n    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n")]),
    mutant("train_sgns", "SGD instead of Adam", replace=[("torch.optim.Adam(model.parameters()", "torch.optim.SGD(model.parameters()")]),
    mutant("train_sgns", "true contexts from the center table", replace=[("model.context(batch[:, 1])", "model.center(batch[:, 1])")]),
    # -- 6. PPMI and SVD ----------------------------------------------------------------------------------------
    mutant("ppmi", "cooc: one direction only", replace=[("return (C + C.T).astype(np.float64)", "return C.astype(np.float64)")]),
    mutant("ppmi", "cooc: window one short", replace=[("range(1, window + 1)", "range(1, window)")]),
    mutant("ppmi", "cooc: window ignored (2)", replace=[("range(1, window + 1)", "range(1, 3)")]),
    mutant("ppmi", "cooc: self-pairs counted once", replace=[("return (C + C.T).astype(np.float64)", "return (C + C.T - np.diag(np.diag(C))).astype(np.float64)")]),
    mutant("ppmi", "cooc: across sentence boundaries", source=swap("ppmi", "cooccurrence_matrix", '''
def cooccurrence_matrix(corpus_ids, vocab_size, window):
    tokens = np.concatenate([np.asarray(s, dtype=np.int64) for s in corpus_ids] + [np.zeros(0, dtype=np.int64)])
    C = np.zeros((vocab_size, vocab_size))
    for offset in range(1, window + 1):
        np.add.at(C, (tokens[:-offset], tokens[offset:]), 1)
    return C + C.T
''')),
    mutant("ppmi", "ppmi: no clipping (PMI)", replace=[("np.maximum(pmi, 0.0)", "pmi")]),
    mutant("ppmi", "ppmi: row sums for the columns too", replace=[("(rows * cols)", "(rows * rows.T)")]),
    mutant("ppmi", "ppmi: NaN for an empty row", replace=[("return np.where(C > 0, np.maximum(pmi, 0.0), 0.0)", "return np.maximum(pmi, 0.0)")]),
    mutant("ppmi", "ppmi: log2", replace=[("pmi = np.log(", "pmi = np.log2(")]),
    mutant("ppmi", "ppmi: N = number of nonzero cells", replace=[(", C.sum()\n", ", (C > 0).sum()\n")]),
    mutant("ppmi", "svd: U S instead of U sqrt(S)", replace=[("U[:, :dim] * np.sqrt(S[:dim])", "U[:, :dim] * S[:dim]")]),
    mutant("ppmi", "svd: U alone", replace=[("U[:, :dim] * np.sqrt(S[:dim])", "U[:, :dim]")]),
    mutant("ppmi", "svd: right singular vectors", replace=[("U, S, _ = np.linalg.svd(np.asarray(M, dtype=np.float64))\n    return U[:, :dim] * np.sqrt(S[:dim])",
                                                          "_, S, Vt = np.linalg.svd(np.asarray(M, dtype=np.float64))\n    return Vt[:dim].T * np.sqrt(S[:dim])")]),
    mutant("ppmi", "svd: eigendecomposition (eigh)", replace=[("U, S, _ = np.linalg.svd(np.asarray(M, dtype=np.float64))\n    return U[:, :dim] * np.sqrt(S[:dim])",
                                                             "S, U = np.linalg.eigh(np.asarray(M, dtype=np.float64))\n    S, U = np.abs(S[::-1]), U[:, ::-1]\n    return U[:, :dim] * np.sqrt(S[:dim])")]),
    mutant("ppmi", "svd: smallest singular values", replace=[("U[:, :dim] * np.sqrt(S[:dim])", "U[:, -dim:][:, ::-1] * np.sqrt(S[-dim:][::-1])")]),
    # -- 7. InfoNCE and CLIP ------------------------------------------------------------------------------------
    mutant("info_nce", "no normalisation", replace=[("q, k = F.normalize(queries, dim=-1), F.normalize(keys, dim=-1)", "q, k = queries, keys")]),
    mutant("info_nce", "keys not normalised", replace=[("F.normalize(keys, dim=-1)", "keys")]),
    mutant("info_nce", "temperature multiplied", replace=[("logits = q @ k.T / temperature", "logits = q @ k.T * temperature")]),
    mutant("info_nce", "temperature ignored", replace=[("logits = q @ k.T / temperature", "logits = q @ k.T")]),
    mutant("info_nce", "softmax over the columns", replace=[("F.cross_entropy(logits, torch", "F.cross_entropy(logits.T, torch")]),
    mutant("info_nce", "exp then log, unstable", replace=[("return F.cross_entropy(logits, torch.arange(len(q), device=logits.device))",
                                                         "return -(torch.log(torch.exp(logits).diag() / torch.exp(logits).sum(1))).mean()")]),
    mutant("info_nce", "summed over the batch", replace=[("torch.arange(len(q), device=logits.device))", "torch.arange(len(q), device=logits.device), reduction=\"sum\")")]),
    mutant("info_nce", "clip: one direction only", replace=[("return (info_nce(a, b, temperature) + info_nce(b, a, temperature)) / 2", "return info_nce(a, b, temperature)")]),
    mutant("info_nce", "clip: sum of both directions", replace=[("return (info_nce(a, b, temperature) + info_nce(b, a, temperature)) / 2",
                                                               "return info_nce(a, b, temperature) + info_nce(b, a, temperature)")]),
    mutant("info_nce", "clip: temperature lost in one direction", replace=[("return (info_nce(a, b, temperature) + info_nce(b, a, temperature)) / 2", "return (info_nce(a, b, temperature) + info_nce(b, a, 1.0)) / 2")]),
    # -- 8. retrieval accuracy and contrastive training ---------------------------------------------------------
    mutant("contrastive", "retrieval: dot product", replace=[("Q, K = unit_rows(as_array(queries)), unit_rows(as_array(keys))", "Q, K = as_array(queries), as_array(keys)")]),
    mutant("contrastive", "retrieval: queries normalised only", replace=[("unit_rows(as_array(keys))", "as_array(keys)")]),
    mutant("contrastive", "retrieval: argmax over the queries", replace=[("(Q @ K.T).argmax(axis=1)", "(Q @ K.T).argmax(axis=0)")]),
    mutant("contrastive", "retrieval: a count, not a share", replace=[("return float(np.mean((Q @ K.T)", "return float(np.sum((Q @ K.T)")]),
    mutant("contrastive", "retrieval: Euclidean on raw vectors", source=swap("contrastive", "retrieval_accuracy", '''
def retrieval_accuracy(queries, keys):
    Q, K = as_array(queries), as_array(keys)
    d = ((Q[:, None, :] - K[None, :, :]) ** 2).sum(-1)
    return float(np.mean(d.argmin(axis=1) == np.arange(len(Q))))
''')),
    mutant("contrastive", "one-direction InfoNCE in training", replace=[("loss = clip_loss(encoder_a(inputs_a[idx]), encoder_b(inputs_b[idx]), temperature)",
                                                                         "loss = info_nce(encoder_a(inputs_a[idx]), encoder_b(inputs_b[idx]), temperature)")]),
    mutant("contrastive", "parameters given twice to Adam", replace=[("params = list({id(p): p for p in [*encoder_a.parameters(), *encoder_b.parameters()]}.values())",
                                                                     "params = [*encoder_a.parameters(), *encoder_b.parameters()]")]),
    mutant("contrastive", "only encoder_a optimised", replace=[("params = list({id(p): p for p in [*encoder_a.parameters(), *encoder_b.parameters()]}.values())",
                                                               "params = list(encoder_a.parameters())")]),
    mutant("contrastive", "shuffled once", source=swap("contrastive", "train_contrastive", '''
def train_contrastive(encoder_a, encoder_b, inputs_a, inputs_b, epochs, batch_size, temperature, lr, generator):
    params = list({id(p): p for p in [*encoder_a.parameters(), *encoder_b.parameters()]}.values())
    optimizer = torch.optim.Adam(params, lr=lr)
    losses = []
    order = torch.randperm(len(inputs_a), generator=generator).to(inputs_a.device)
    for _ in range(epochs):
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            loss = clip_loss(encoder_a(inputs_a[idx]), encoder_b(inputs_b[idx]), temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses
''')),
    mutant("contrastive", "last partial batch dropped", replace=[("range(0, len(order), batch_size)", "range(0, len(order) - batch_size + 1, batch_size)")]),
    mutant("contrastive", "temperature ignored", replace=[("encoder_b(inputs_b[idx]), temperature)", "encoder_b(inputs_b[idx]), 0.07)")]),
    mutant("contrastive", "lr ignored", replace=[("optimizer = torch.optim.Adam(params, lr=lr)", "optimizer = torch.optim.Adam(params, lr=1e-3)")]),
    mutant("contrastive", "no zero_grad", replace=[("            optimizer.zero_grad()\n", "")]),
    mutant("contrastive", "encoder_a used for both sides", replace=[("encoder_b(inputs_b[idx])", "encoder_a(inputs_b[idx])")]),
    mutant("contrastive", "shuffle from the global RNG", replace=[("torch.randperm(len(inputs_a), generator=generator)", "torch.randperm(len(inputs_a))")]),
    mutant("contrastive", "optimizer re-created every epoch", source=swap("contrastive", "train_contrastive", '''
def train_contrastive(encoder_a, encoder_b, inputs_a, inputs_b, epochs, batch_size, temperature, lr, generator):
    params = list({id(p): p for p in [*encoder_a.parameters(), *encoder_b.parameters()]}.values())
    losses = []
    for _ in range(epochs):
        optimizer = torch.optim.Adam(params, lr=lr)
        order = torch.randperm(len(inputs_a), generator=generator).to(inputs_a.device)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            loss = clip_loss(encoder_a(inputs_a[idx]), encoder_b(inputs_b[idx]), temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses
''')),
    # -- 9. zero-shot classification ----------------------------------------------------------------------------
    mutant("zero_shot", "no normalisation", replace=[("(unit_rows(as_array(image_emb)) @ unit_rows(as_array(class_emb)).T)", "(as_array(image_emb) @ as_array(class_emb).T)")]),
    mutant("zero_shot", "class prompts not normalised", replace=[("unit_rows(as_array(class_emb)).T", "as_array(class_emb).T")]),
    mutant("zero_shot", "argmax over the images", replace=[(".argmax(axis=1)", ".argmax(axis=0)")]),
    mutant("zero_shot", "Euclidean on raw vectors", source='''
def zero_shot_classify(image_emb, class_emb):
    X, C = as_array(image_emb), as_array(class_emb)
    return ((X[:, None, :] - C[None, :, :]) ** 2).sum(-1).argmin(axis=1)
'''),
]

ALTERNATIVES = [
    alternative("vocab", "numpy unique + lexsort, float32 keep", source='''
def build_vocab(sentences, min_count=1):
    tokens = [t for s in sentences for t in s]
    if not tokens:
        return [], np.zeros(0, dtype=np.int64)
    uniq, cnt = np.unique(np.array(tokens), return_counts=True)
    order = np.lexsort((uniq, -cnt))
    order = order[cnt[order] >= min_count]
    return [str(w) for w in uniq[order]], cnt[order]


def keep_probabilities(counts, t=1e-2):
    c = np.asarray(counts, dtype=np.float32)
    return np.clip(np.sqrt(np.float32(t) * c.sum() / c), None, 1.0).astype(np.float32)
'''),
    alternative("vocab", "plain dict and loops, counts as a list", source='''
def build_vocab(sentences, min_count=1):
    counter = {}
    for sentence in sentences:
        for token in sentence:
            counter[token] = counter.get(token, 0) + 1
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = [(w, c) for w, c in items if c >= min_count]
    return [w for w, _ in kept], np.array([c for _, c in kept], dtype=int)


def keep_probabilities(counts, t=1e-2):
    total = float(sum(counts))
    return np.array([min(1.0, (t / (c / total)) ** 0.5) for c in counts])
'''),
    alternative("pairs", "vectorised window per sentence", source=swap("pairs", "skipgram_pairs", '''
def skipgram_pairs(corpus_ids, window, rng):
    out = [np.zeros((0, 2), dtype=np.int64)]
    for sentence in corpus_ids:
        s = np.asarray(sentence, dtype=np.int64)
        n = len(s)
        if n == 0:
            continue
        b = rng.integers(1, window + 1, size=n)
        i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        mask = (np.abs(i - j) <= b[:, None]) & (i != j)
        out.append(np.stack([s[i[mask]], s[j[mask]]], axis=1))
    return np.concatenate(out)
''')),
    alternative("pairs", "negatives from the noise without the positive, row by row", source=swap("pairs", "sample_negatives", '''
def sample_negatives(noise, positives, k, generator):
    noise = torch.as_tensor(noise, dtype=torch.float64).cpu()
    positives = torch.as_tensor(positives)
    weights = noise.repeat(len(positives), 1)
    weights[torch.arange(len(positives)), positives.cpu()] = 0.0
    out = torch.multinomial(weights, k, replacement=True, generator=generator)
    return out.to(positives.device)
''')),
    alternative("pairs", "float32 noise via numpy", source=swap("pairs", "noise_distribution", '''
def noise_distribution(counts, power=0.75):
    p = np.power(np.asarray(counts, dtype=np.float32), np.float32(power))
    return torch.from_numpy(p / p.sum())
''')),
    alternative("sgns_loss", "softplus and bmm", source='''
def sgns_loss(v_center, u_context, u_negatives):
    pos = (v_center * u_context).sum(-1)
    neg = torch.bmm(u_negatives, v_center.unsqueeze(-1)).squeeze(-1)
    return (F.softplus(-pos) + F.softplus(neg).sum(-1)).mean()
'''),
    alternative("sgns_loss", "float64 internally, logaddexp", source='''
def sgns_loss(v_center, u_context, u_negatives):
    v, u, n = v_center.double(), u_context.double(), u_negatives.double()
    zero = torch.zeros((), dtype=torch.float64)
    pos = torch.logaddexp(zero, -(v * u).sum(-1))
    neg = torch.logaddexp(zero, (n @ v.unsqueeze(-1)).squeeze(-1)).sum(-1)
    return (pos + neg).mean().to(v_center.dtype)
'''),
    alternative("sgns_grads", "scipy expit, log_expit and np.outer; numerical gradient on a copy", source='''
from scipy.special import expit, log_expit


def sgns_loss_and_grads(v_c, u_o, U_neg):
    v_c, u_o = np.asarray(v_c, dtype=float), np.asarray(u_o, dtype=float)
    U_neg = np.asarray(U_neg, dtype=float).reshape(-1, len(v_c))
    s_o, s_k = expit(u_o @ v_c), expit(U_neg @ v_c)
    loss = -log_expit(u_o @ v_c) - log_expit(-(U_neg @ v_c)).sum()
    return float(loss), (s_o - 1) * u_o + U_neg.T @ s_k, (s_o - 1) * v_c, np.outer(s_k, v_c)


def numerical_gradient(f, x, h=1e-5):
    work = np.array(x, dtype=np.float64)
    grad = np.zeros_like(work)
    it = np.nditer(work, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        step = np.zeros_like(work)
        step[i] = h
        grad[i] = (f(work + step) - f(work - step)) / (2 * h)
    return grad
'''),
    alternative("train_sgns", "analogy by a loop; training with split batches", source='''
def analogy_predict(E, a, b, c):
    U = np.asarray(E, dtype=np.float64)
    U = U / np.linalg.norm(U, axis=1, keepdims=True).clip(min=1e-12)
    out = []
    for qa, qb, qc in zip(np.atleast_1d(a), np.atleast_1d(b), np.atleast_1d(c)):
        target = U[qb] - U[qa] + U[qc]
        sims = U @ target / np.linalg.norm(target)
        for i in np.argsort(-sims, kind="stable"):
            if i not in (qa, qb, qc):
                out.append(int(i))
                break
    return np.array(out, dtype=int)


def train_sgns(model, pairs, noise, k, epochs, batch_size, lr, generator):
    optimizer = torch.optim.Adam([model.center.weight, model.context.weight], lr=lr)
    losses = []
    for _ in range(epochs):
        order = torch.randperm(pairs.shape[0], generator=generator)
        for idx in order.split(batch_size):
            centers, contexts = pairs[idx, 0], pairs[idx, 1]
            negatives = sample_negatives(noise, contexts, k, generator)
            loss = sgns_loss(model.center(centers), model.context(contexts), model.context(negatives))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss))
    return losses
'''),
    alternative("ppmi", "loops, np.divide with where, torch float32 SVD", source='''
def cooccurrence_matrix(corpus_ids, vocab_size, window):
    C = np.zeros((vocab_size, vocab_size))
    for sentence in corpus_ids:
        s = list(sentence)
        for i, w in enumerate(s):
            for j in range(max(0, i - window), min(len(s), i + window + 1)):
                if j != i:
                    C[w, s[j]] += 1
    return C


def ppmi(C):
    C = np.asarray(C, dtype=float)
    expected = np.outer(C.sum(1), C.sum(0)) / max(C.sum(), 1e-300)
    ratio = np.divide(C, expected, out=np.zeros_like(C), where=C > 0)
    return np.log(ratio, out=np.zeros_like(C), where=ratio > 0).clip(min=0)


def svd_embeddings(M, dim):
    U, S, _ = torch.linalg.svd(torch.as_tensor(M, dtype=torch.float32))
    return (U[:, :dim] * S[:dim].sqrt()).numpy()
'''),
    alternative("ppmi", "scipy svds (sorted)", source=swap("ppmi", "svd_embeddings", '''
def svd_embeddings(M, dim):
    from scipy.sparse.linalg import svds
    M = np.asarray(M, dtype=np.float64)
    if dim >= min(M.shape):
        U, S, _ = np.linalg.svd(M)
    else:
        U, S, _ = svds(M, k=dim, random_state=0)
        order = np.argsort(-S)
        U, S = U[:, order], S[order]
    return U[:, :dim] * np.sqrt(S[:dim])
''')),
    alternative("info_nce", "logsumexp by hand; CLIP from one logit matrix", source='''
def info_nce(queries, keys, temperature):
    q = queries / queries.norm(dim=1, keepdim=True)
    k = keys / keys.norm(dim=1, keepdim=True)
    logits = (q @ k.T) / temperature
    return (torch.logsumexp(logits, dim=1) - logits.diagonal()).mean()


def clip_loss(a, b, temperature):
    a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
    logits = a @ b.T / temperature
    labels = torch.arange(len(a))
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
'''),
    alternative("info_nce", "cosine_similarity broadcast, float64 log_softmax", source='''
def info_nce(queries, keys, temperature):
    sims = F.cosine_similarity(queries.double()[:, None, :], keys.double()[None, :, :], dim=-1)
    return -torch.log_softmax(sims / temperature, dim=1).diagonal().mean().to(queries.dtype)


def clip_loss(a, b, temperature):
    return 0.5 * info_nce(a, b, temperature) + 0.5 * info_nce(b, a, temperature)
'''),
    alternative("contrastive", "torch retrieval; dict.fromkeys params, split batches", source='''
def retrieval_accuracy(queries, keys):
    q = F.normalize(torch.as_tensor(np.asarray(as_array(queries))), dim=1)
    k = F.normalize(torch.as_tensor(np.asarray(as_array(keys))), dim=1)
    return (q @ k.T).argmax(dim=1).eq(torch.arange(len(q))).double().mean().item()


def train_contrastive(encoder_a, encoder_b, inputs_a, inputs_b, epochs, batch_size, temperature, lr, generator):
    params = list(dict.fromkeys([*encoder_a.parameters(), *encoder_b.parameters()]))
    optimizer = torch.optim.Adam(params, lr=lr)
    losses = []
    for _ in range(epochs):
        for idx in torch.randperm(inputs_a.shape[0], generator=generator).split(batch_size):
            idx = idx.to(inputs_a.device)
            loss = clip_loss(encoder_a(inputs_a[idx]), encoder_b(inputs_b[idx]), temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.detach().item())
    return losses
'''),
    alternative("contrastive", "retrieval by Euclidean distance of unit rows", source=swap("contrastive", "retrieval_accuracy", '''
def retrieval_accuracy(queries, keys):
    Q, K = unit_rows(queries), unit_rows(keys)
    d = np.linalg.norm(Q[:, None, :] - K[None, :, :], axis=-1)
    return float((d.argmin(axis=1) == np.arange(len(Q))).mean())
''')),
    alternative("zero_shot", "torch F.normalize, int64 numpy", source='''
def zero_shot_classify(image_emb, class_emb):
    x = F.normalize(torch.as_tensor(as_array(image_emb)), dim=-1)
    c = F.normalize(torch.as_tensor(as_array(class_emb)), dim=-1)
    return torch.argmax(x @ c.T, dim=-1).numpy().astype(np.int64)
'''),
]

# -- an independent review: answers that leave autograd, call an examiner-only reference, and other classes ----------------
MUTANTS += [
    mutant("sgns_loss", "the examiner-only reference called (never in the kernel), wrapped in a tensor", source='''
def sgns_loss(v_center, u_context, u_negatives):
    return torch.tensor(sgns_loss_reference(v_center, u_context, u_negatives))
'''),
    mutant("sgns_loss", "numpy on detached inputs (no gradient)", source='''
def sgns_loss(v_center, u_context, u_negatives):
    v, u, n = (x.detach().cpu().numpy() for x in (v_center, u_context, u_negatives))
    pos, neg = (v * u).sum(-1), np.einsum("bkd,bd->bk", n, v)
    return torch.as_tensor(np.mean(np.logaddexp(0, -pos) + np.logaddexp(0, neg).sum(-1)), dtype=v_center.dtype)
'''),
    mutant("sgns_loss", "a new leaf from .item() (requires_grad, but no gradient to the inputs)",
           replace=[("    return -(F.logsigmoid(positive) + F.logsigmoid(-negative).sum(dim=-1)).mean()",
                     "    value = -(F.logsigmoid(positive) + F.logsigmoid(-negative).sum(dim=-1)).mean().item()\n"
                     "    return torch.tensor(value, dtype=v_center.dtype, requires_grad=True)")]),
    mutant("sgns_loss", "torch.where guard: finite value, NaN gradient", source='''
def sgns_loss(v_center, u_context, u_negatives):
    def log_sigmoid(x):
        return torch.where(x > -30, torch.log(torch.sigmoid(x)), x)
    positive = (v_center * u_context).sum(dim=-1)
    negative = torch.einsum("bkd,bd->bk", u_negatives, v_center)
    return -(log_sigmoid(positive) + log_sigmoid(-negative).sum(dim=-1)).mean()
'''),
    mutant("sgns_loss", "only the first negative (K ignored)",
           replace=[('negative = torch.einsum("bkd,bd->bk", u_negatives, v_center)',
                     "negative = (u_negatives[:, :1] * v_center[:, None]).sum(-1)")]),
    mutant("info_nce", "the examiner-only reference called (never in the kernel), wrapped in a tensor", source='''
def info_nce(queries, keys, temperature):
    return torch.tensor(info_nce_reference(queries, keys, temperature))


def clip_loss(a, b, temperature):
    return (info_nce(a, b, temperature) + info_nce(b, a, temperature)) / 2
'''),
    mutant("info_nce", "clip: the examiner-only reference called (never in the kernel), wrapped in a tensor", source=swap("info_nce", "clip_loss", '''
def clip_loss(a, b, temperature):
    return torch.tensor((info_nce_reference(a, b, temperature) + info_nce_reference(b, a, temperature)) / 2)
''')),
    mutant("info_nce", "rows normalised under no_grad", replace=[("q, k = F.normalize(queries, dim=-1), F.normalize(keys, dim=-1)",
                                                                 "with torch.no_grad():\n        q, k = F.normalize(queries, dim=-1), F.normalize(keys, dim=-1)")]),
    mutant("info_nce", "keys detached (a MoCo-style stop-gradient)", replace=[("F.normalize(keys, dim=-1)", "F.normalize(keys.detach(), dim=-1)")]),
    mutant("info_nce", "normalised over the batch axis (dim=0)", replace=[("q, k = F.normalize(queries, dim=-1), F.normalize(keys, dim=-1)",
                                                                          "q, k = F.normalize(queries, dim=0), F.normalize(keys, dim=0)")]),
    mutant("info_nce", "clip: .item() of each direction, back to a tensor", replace=[
        ("return (info_nce(a, b, temperature) + info_nce(b, a, temperature)) / 2",
         "return torch.tensor((info_nce(a, b, temperature).item() + info_nce(b, a, temperature).item()) / 2)")]),
    mutant("info_nce", "clip: second direction detached", replace=[
        ("return (info_nce(a, b, temperature) + info_nce(b, a, temperature)) / 2",
         "return (info_nce(a, b, temperature) + info_nce(b, a, temperature).detach()) / 2")]),
    mutant("vocab", "ties in reverse alphabetical order", replace=[("key=lambda w: (-counter[w], w))", "key=lambda w: (counter[w], w), reverse=True)")]),
    mutant("pairs", "left window one short", replace=[("range(max(0, i - b), ", "range(max(0, i - b + 1), ")]),
    mutant("pairs", "b drawn from 1..W-1", replace=[("rng.integers(1, window + 1)", "rng.integers(1, max(window, 2))")]),
    mutant("sgns_grads", "grad_U_neg transposed (d, K)", replace=[("s_k[:, None] * v_c[None, :]", "np.outer(v_c, s_k)")]),
    mutant("sgns_grads", "numerical: half a step each side", replace=[("        x[i] = old + h\n", "        x[i] = old + h / 2\n"),
                                                                     ("        x[i] = old - h\n", "        x[i] = old - h / 2\n"),
                                                                     ("(plus - minus) / (2 * h)", "(plus - minus) / h")]),
    mutant("sgns_grads", "numerical: every entry nudged at once", source=swap("sgns_grads", "numerical_gradient", '''
def numerical_gradient(f, x, h=1e-5):
    x = np.asarray(x, dtype=np.float64)
    slope = (f(x + h) - f(x - h)) / (2 * h)
    return np.full_like(x, slope)
''')),
    mutant("train_sgns", "epochs ignored (one epoch)", replace=[("for epoch in range(epochs):", "for epoch in range(1):")]),
    mutant("train_sgns", "analogy: e_b - e_a - e_c", replace=[("U @ (U[b] - U[a] + U[c]).T", "U @ (U[b] - U[a] - U[c]).T")]),
    mutant("ppmi", "ppmi: N halved (the symmetric matrix 'double counts')", replace=[(", C.sum()\n", ", C.sum() / 2\n")]),
    mutant("ppmi", "svd: dim ignored (32)", replace=[("U[:, :dim] * np.sqrt(S[:dim])", "U[:, :32] * np.sqrt(S[:32])")]),
    mutant("ppmi", "cooc: window one too wide", replace=[("range(1, window + 1)", "range(1, window + 2)")]),
    mutant("contrastive", "epochs ignored (one epoch)", replace=[("for _ in range(epochs):", "for _ in range(1):")]),
    mutant("pairs", "window_pairs called (the vectorised helper the Setup once showed; gone from the release)", source=swap("pairs", "skipgram_pairs", '''
def skipgram_pairs(corpus_ids, window, rng):
    return window_pairs([np.asarray(s, dtype=np.int64) for s in corpus_ids], window, rng)
''')),
    mutant("info_nce", "rows normalised in place", replace=[("q, k = F.normalize(queries, dim=-1), F.normalize(keys, dim=-1)",
                                                            "queries /= queries.norm(dim=-1, keepdim=True)\n    keys /= keys.norm(dim=-1, keepdim=True)\n"
                                                            "    q, k = queries, keys")]),
    mutant("train_sgns", "the Setup's train_noise instead of noise", replace=[("sample_negatives(noise, batch[:, 1], k, generator)",
                                                                              "sample_negatives(train_noise, batch[:, 1], k, generator)")]),
    mutant("contrastive", "zero_grad between backward and step", replace=[("            optimizer.zero_grad()\n            loss.backward()\n",
                                                                           "            loss.backward()\n            optimizer.zero_grad()\n")]),
    mutant("ppmi", "svd: scipy svds, ascending order kept", source=swap("ppmi", "svd_embeddings", '''
def svd_embeddings(M, dim):
    from scipy.sparse.linalg import svds
    U, S, _ = svds(np.asarray(M, dtype=np.float64), k=dim, random_state=0)
    return U * np.sqrt(S)
''')),
    mutant("ppmi", "svd: scipy svds, sorted, fails for dim = V", source=swap("ppmi", "svd_embeddings", '''
def svd_embeddings(M, dim):
    from scipy.sparse.linalg import svds
    U, S, _ = svds(np.asarray(M, dtype=np.float64), k=dim, random_state=0)
    order = np.argsort(-S)
    return U[:, order] * np.sqrt(S[order])
''')),
    mutant("train_sgns", "analogy: a, b and c of every question excluded for all questions", replace=[
        ("    scores[a, np.arange(len(a))] = -np.inf\n    scores[b, np.arange(len(a))] = -np.inf\n    scores[c, np.arange(len(a))] = -np.inf\n",
         "    scores[np.concatenate([a, b, c])] = -np.inf\n")]),
    mutant("sgns_loss", "negatives scored against the context vector", replace=[('torch.einsum("bkd,bd->bk", u_negatives, v_center)',
                                                                                 'torch.einsum("bkd,bd->bk", u_negatives, u_context)')]),
    mutant("zero_shot", "softmax over the images before the argmax", replace=[
        ("return (unit_rows(as_array(image_emb)) @ unit_rows(as_array(class_emb)).T).argmax(axis=1)",
         "S = unit_rows(as_array(image_emb)) @ unit_rows(as_array(class_emb)).T\n"
         "    return (np.exp(S) / np.exp(S).sum(axis=0, keepdims=True)).argmax(axis=1)")]),
]

ALTERNATIVES += [
    alternative("sgns_loss", "binary cross-entropy with logits", source='''
def sgns_loss(v_center, u_context, u_negatives):
    scores = torch.cat([(v_center * u_context).sum(-1, keepdim=True), (u_negatives @ v_center[:, :, None])[..., 0]], dim=1)
    labels = torch.zeros_like(scores)
    labels[:, 0] = 1.0
    return F.binary_cross_entropy_with_logits(scores, labels, reduction="none").sum(1).mean()
'''),
    alternative("sgns_loss", "a loop over the pairs, torch.stack", source='''
def sgns_loss(v_center, u_context, u_negatives):
    losses = []
    for v, u, n in zip(v_center, u_context, u_negatives):
        losses.append(-F.logsigmoid(v @ u) - F.logsigmoid(-(n @ v)).sum())
    return torch.stack(losses).mean()
'''),
    alternative("info_nce", "max subtracted (detached), logsumexp by hand; clip by log_softmax on both axes", source='''
def info_nce(queries, keys, temperature):
    q = queries / queries.norm(dim=1, keepdim=True)
    k = keys / keys.norm(dim=1, keepdim=True)
    S = q @ k.T / temperature
    m = S.max(dim=1, keepdim=True).values.detach()
    return (m[:, 0] + torch.log(torch.exp(S - m).sum(dim=1)) - S.diagonal()).mean()


def clip_loss(a, b, temperature):
    S = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / temperature
    return -(F.log_softmax(S, dim=1).diagonal().mean() + F.log_softmax(S, dim=0).diagonal().mean()) / 2
'''),
    alternative("pairs", "whole row redrawn while it holds a clash", source=swap("pairs", "sample_negatives", '''
def sample_negatives(noise, positives, k, generator):
    noise = torch.as_tensor(noise, dtype=torch.float64).cpu()
    positives = torch.as_tensor(positives)
    pos = positives.cpu()
    out = torch.multinomial(noise, len(pos) * k, replacement=True, generator=generator).view(-1, k)
    bad = (out == pos[:, None]).any(1)
    while bad.any():
        out[bad] = torch.multinomial(noise, int(bad.sum()) * k, replacement=True, generator=generator).view(-1, k)
        bad = (out == pos[:, None]).any(1)
    return out.to(positives.device)
''')),
    alternative("pairs", "noise from a Python list", source=swap("pairs", "noise_distribution", '''
def noise_distribution(counts, power=0.75):
    weights = [float(c) ** power for c in counts]
    total = sum(weights)
    return torch.tensor([w / total for w in weights])
''')),
    alternative("sgns_grads", "numerical gradient through a flat view", source=swap("sgns_grads", "numerical_gradient", '''
def numerical_gradient(f, x, h=1e-5):
    flat = x.reshape(-1)  # a view: nudging it nudges x
    grad = np.empty(flat.shape)
    for i in range(flat.size):
        keep = flat[i]
        flat[i] = keep + h
        up = f(x)
        flat[i] = keep - h
        down = f(x)
        flat[i] = keep
        grad[i] = (up - down) / (2 * h)
    return grad.reshape(x.shape)
''')),
    alternative("ppmi", "np.add.at counts in both directions", source=swap("ppmi", "cooccurrence_matrix", '''
def cooccurrence_matrix(corpus_ids, vocab_size, window):
    C = np.zeros((vocab_size, vocab_size))
    for s in corpus_ids:
        s = np.asarray(s, dtype=np.int64)
        for d in range(1, window + 1):
            np.add.at(C, (s[:-d], s[d:]), 1)
            np.add.at(C, (s[d:], s[:-d]), 1)
    return C
''')),
    alternative("contrastive", "set union of parameters; backward, step, then zero_grad", source=swap("contrastive", "train_contrastive", '''
def train_contrastive(encoder_a, encoder_b, inputs_a, inputs_b, epochs, batch_size, temperature, lr, generator):
    optimizer = torch.optim.Adam(set(encoder_a.parameters()) | set(encoder_b.parameters()), lr=lr)
    losses = []
    n = len(inputs_a)
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            loss = clip_loss(encoder_a(inputs_a[idx]), encoder_b(inputs_b[idx]), temperature)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(float(loss))
    return losses
''')),
    alternative("ppmi", "svd: eigenvectors of M M^T", source=swap("ppmi", "svd_embeddings", '''
def svd_embeddings(M, dim):
    M = np.asarray(M, dtype=np.float64)
    values, vectors = np.linalg.eigh(M @ M.T)          # ascending; the eigenvalues are S^2
    top = np.argsort(-values)[:dim]
    return vectors[:, top] * np.clip(values[top], 0, None) ** 0.25
''')),
]

# -- return types the docstrings promise (issue 25: a value in the wrong container once kept full marks) ---------
MUTANTS += [
    mutant("vocab", "counts as floats", replace=[("np.array([counter[w] for w in words], dtype=np.int64)",
                                                 "np.array([counter[w] for w in words], dtype=np.float64)")]),
    mutant("pairs", "noise_distribution returns numpy, not a tensor",
           replace=[("    p = torch.as_tensor(np.asarray(counts, dtype=np.float64)) ** power",
                     "    p = np.asarray(counts, dtype=np.float64) ** power")]),
    mutant("zero_shot", "class indices as a torch tensor", replace=[
        ("    return (unit_rows(as_array(image_emb)) @ unit_rows(as_array(class_emb)).T).argmax(axis=1)",
         "    return torch.as_tensor((unit_rows(as_array(image_emb)) @ unit_rows(as_array(class_emb)).T).argmax(axis=1))")]),
]

# -- state reset inside a loop (issue 25: a new Adam every epoch once kept full marks) ----------------------------
MUTANTS += [
    mutant("train_sgns", "a new Adam every epoch", replace=[
        ("    optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n    losses = []\n    for epoch in range(epochs):\n",
         "    losses = []\n    for epoch in range(epochs):\n        optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n")]),
]

# -- numerical stability at extreme inputs (issue 25: the naive log-sigmoid once kept full marks) ----------------
MUTANTS += [
    mutant("sgns_grads", "naive -log(sigmoid(x)) (overflows for large scores)", replace=[
        ("    loss = float(np.logaddexp(0, -score_o) + np.logaddexp(0, scores_k).sum())",
         "    loss = float(-np.log(1 / (1 + np.exp(-score_o))) - np.log(1 / (1 + np.exp(scores_k))).sum())")]),
]

# One mistake, one charge: the tests a mistake in another exercise's answer cell can reach (autograder.dataflow
# cross_charges, checked by tests/test_dataflow.py), each where the notebook says that this exercise builds on that.
_SGNS = "part 4's prose: 'the test of this part also relies on your `sample_negatives` and `sgns_loss`'"
BUILDS_ON = {
    ("pairs", "test_analogy"): _SGNS,
    ("pairs", "test_sgns_training"): _SGNS,
    ("sgns_loss", "test_analogy"): _SGNS,
    ("sgns_loss", "test_sgns_training"): _SGNS,
    ("info_nce", "test_retrieval"): "train_contrastive's prose: 'clip_loss (so the test of this part relies on it)'",
    ("info_nce", "test_sentence_encoder"): "train_contrastive's prose: 'clip_loss (so the test of this part relies on it)'",
    ("info_nce", "test_clip_digits"): "the CLIP digits prose: your train_contrastive (built on your clip_loss) trains both",
    ("contrastive", "test_clip_digits"): "the CLIP digits prose: 'your `train_contrastive` trains both'",
}
