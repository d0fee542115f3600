# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Assignment 03 — Advanced techniques
#
# A pretrained embedding model is a starting point, not the end. This assignment covers six things you do with
# one in practice, each on real models:
#
# | part | question | what you build |
# |---|---|---|
# | 1–2 | does adapting the model to our jargon help, and how do we *know*? | training pairs, hard-negative mining, fine-tuning with sentence-transformers, held-out evaluation |
# | 3 | what does an embedding cost, and how small can it get? | Matryoshka-style truncation, int8 and binary quantisation |
# | 4 | can we train the model to be truncated? | the Matryoshka loss, against truncating a plainly fine-tuned model |
# | 5 | which model should we use? | an MTEB-style table: retrieval, similarity, clustering, size and speed |
# | 6–7 | how do we look at 384 dimensions? | PCA from scratch, t-SNE, UMAP, a score for how honest a 2-D picture is |
# | 8 | what social bias does a word embedding carry? | the WEAT effect size, hard-debiasing's neutralise step |
#
# **Learning objectives.** After this assignment you can: build leakage-free training data and mine hard negatives
# for a retrieval model; fine-tune a sentence encoder with sentence-transformers' trainer and judge it on held-out
# questions; trade bytes against retrieval quality with truncation and int8/binary quantisation; write the Matryoshka loss and
# show what it buys over truncation; choose between embedding models on your own tasks, quality against size and
# speed; implement PCA by
# SVD and measure how much of a neighbourhood structure a 2-D projection keeps; compute a WEAT effect size and
# say what it does and does not show.
#
# **Prerequisites.** Assignments 01 and 02 (cosine similarity, sentence embeddings, contrastive losses); numpy
# broadcasting and `argsort`; pandas filtering; the SVD from a linear-algebra course.
# **Expected effort:** 7–9 hours. **Run time:** about a minute on a laptop CPU for the whole notebook (the Setup
# takes about 25 s, fine-tuning 10–15 s).
#
# **The data.** `data/helpdesk_*.csv` is the knowledge base of an (invented) company's engineering help desk:
# 160 short articles about 16 internal systems, and 576 questions people typed into the help channel. The
# articles call each system by its codename (*Kestrel*, *Marlin*, ...); people call them by acronyms
# (*KBS*, *MDP*, ...) and write in slang ("p99 through the roof", "need perms"). A general model understands the
# problem in a question but has never seen the acronyms — that is the gap fine-tuning can close.
# Articles are split into train, dev and test (each question goes with its article), so no test question or test
# article is trained on. That does not make the test questions *new*: the questions are written from three
# templates per kind of problem, shared by all 16 systems, so most test questions are a training question word for
# word with another acronym in it (part 2 counts them). The split `test` is therefore the **seen templates** case.
# A second test split, `test_new`, asks 96 more questions about the same 32 test articles with templates that no
# other question uses: the **new templates** case, the new wording a real user brings. Parts 3–7 use `test`.
#
# **How this works.** Write your code where it says `YOUR CODE HERE` (delete the `raise NotImplementedError()`).
# Each exercise has a visible test you can run; hidden tests check edge cases when the notebook is graded. The
# tests of one exercise never depend on your answer to another: where a part needs an earlier result, it uses
# the Setup's. No function may change the arrays it is given (the notebook reuses them): build new ones, or work on
# a copy. Run the whole notebook top to bottom (*Restart & Run All*) before you submit.

# %% [markdown] nbgrader={"grade": false, "grade_id": "setup-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Setup
#
# The next three cells load everything the exercises use, none of which depends on your answers: the libraries,
# the help-desk data, the pretrained model all-MiniLM-L6-v2 with its embeddings of every article and question,
# the training triplets of part 2 (hard negatives mined by the library's own miner), a tiny model that `fine_tune`'s
# test trains in a blink, GloVe for parts 5 and 8, and the three tasks of part 5.
# They take about 30 seconds. Names you will use later: `passages`, `queries`, `base_model`, `P_all` and `Q_all`
# (unit-length embeddings, row $i$ = row $i$ of `passages` / `queries`), `test_q`, `Q_test` and `gold` (the test
# questions, their embeddings and the row of `P_all` that answers each), `train_triplets` and `train_subset` (the
# 128 that parts 2 and 4 train on), `mrr_at_10`, `reciprocal_ranks`, `paired_interval`, `glove`, `glove_average`,
# `course_tasks`, `mat_dims` and `mat_mrr` (part 4).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import os
import re
import tempfile
import time

import numpy as np
import pandas as pd
import torch
import plotly.express as px

import embedkit as ek
from embedkit.checks import as_array, assert_close, assert_scalar, assert_sequence_equal, call_tracking

DEVICE = ek.setup(seed=0)  # DEVICE=cpu|cuda|auto in the environment picks the device
torch.set_num_threads(1)  # one thread: the grader forks this state (a thread pool would not survive) and runs many at once
print("device:", DEVICE)
# The libraries of the exercises, imported once here: they take a few seconds.
import datasets, sentence_transformers, sklearn.decomposition, sklearn.manifold, umap  # noqa: E401,F401
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import StaticEmbedding

scratch_dir = tempfile.mkdtemp(prefix="advanced-")  # models saved by this notebook go here
passages = pd.read_csv(ek.data_path("helpdesk_passages.csv"))
queries = pd.read_csv(ek.data_path("helpdesk_queries.csv"))
print(passages.groupby("split").size().to_dict(), "articles;", queries.groupby("split").size().to_dict(), "questions")
passages.head(3)

# %% nbgrader={"grade": false, "grade_id": "setup-models", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The pretrained model (kept on the CPU here; part 2 moves its copy to DEVICE) and its embeddings of every
# article and every question, unit length. Parts 3 and 6-7 work on these.
base_model = ek.load_sentence_model(device="cpu")
base_model.max_seq_length = 32  # questions are short and every article starts with "<codename>: <topic>."
P_all = base_model.encode(passages.text.tolist(), normalize_embeddings=True)  # (160, 384), row i = passages row i
Q_all = base_model.encode(queries.text.tolist(), normalize_embeddings=True)   # (576, 384), row i = queries row i
test_q = queries[queries.split == "test"].reset_index(drop=True)
Q_test = Q_all[(queries.split == "test").to_numpy()]
passage_row = {pid: i for i, pid in enumerate(passages.pid)}
gold = np.array([passage_row[p] for p in test_q.pid])  # row of P_all relevant to each test question
X_vis = np.vstack([P_all, Q_test])  # parts 6-7: the 160 articles and the 96 test questions
# UMAP compiles its numba code on first use (about 6 s): do it once here, on a small random set, so that parts 6-7
# do not pay it. One thread (n_jobs=1), like everything before a fork; the result is not needed.
umap.UMAP(n_components=2, random_state=0, n_neighbors=15, n_jobs=1).fit_transform(
    np.random.default_rng(1).normal(size=(100, X_vis.shape[1])).astype(np.float32))
X_warm = np.random.default_rng(0).normal(size=(100, X_vis.shape[1])).astype(np.float32)  # part 7's test projects these


def mrr_at_10(scores, gold):
    """MRR@10 from a (questions x articles) score matrix, higher = better; gold[i] = relevant column of row i."""
    scores = np.asarray(scores)
    rank = (scores > scores[np.arange(len(gold)), gold][:, None]).sum(axis=1) + 1
    return float(np.mean(np.where(rank <= 10, 1.0 / rank, 0.0)))


def reciprocal_ranks(scores, gold):
    """Per question: 1 / rank of its relevant article, 0 beyond rank 10 (the terms mrr_at_10 averages)."""
    scores = np.asarray(scores)
    rank = (scores > scores[np.arange(len(gold)), gold][:, None]).sum(axis=1) + 1
    return np.where(rank <= 10, 1.0 / rank, 0.0)


def paired_interval(diff, n_boot=2000, seed=0):
    """95% bootstrap interval of the mean of per-question differences (questions resampled with replacement)."""
    diff = np.asarray(diff, dtype=np.float64)
    idx = np.random.default_rng(seed).integers(0, len(diff), size=(n_boot, len(diff)))
    return tuple(np.percentile(diff[idx].mean(axis=1), [2.5, 97.5]))


# Part 2 trains on (question, its article, a hard negative) triplets of the train split, mined when this notebook was
# written by the library's own miner (sentence_transformers.util.mine_hard_negatives, with this model), so that its
# grade does not depend on your part 1. One row per train question, in the order of `queries`.
train_passages = passages[passages.split == "train"].reset_index(drop=True)
train_queries = queries[queries.split == "train"].reset_index(drop=True)
article_row = {pid: i for i, pid in enumerate(train_passages.pid)}  # pid -> row of train_passages / P_train
P_train, Q_train = P_all[(passages.split == "train").to_numpy()], Q_all[(queries.split == "train").to_numpy()]
train_triplets = list(pd.read_csv(ek.data_path("helpdesk_triplets.csv")).itertuples(index=False, name=None))


def tiny_model():
    """A tiny trainable SentenceTransformer (16-d static token embeddings) for testing fine_tune in a fraction of a
    second. It logs the token ids of every batch it is trained on in `.batches`; each training run starts afresh
    (the same initial weights, an empty log), so a test cell can be run again."""
    tok = base_model.tokenizer._tokenizer
    weights = 0.1 * torch.randn(tok.get_vocab_size(), 16, generator=torch.Generator().manual_seed(0))
    static = StaticEmbedding(tok, embedding_weights=weights.clone())
    model = SentenceTransformer(modules=[static], device="cpu")
    model.batches = []
    plain_train = static.train

    def train(mode=True):  # called by the trainer: a new training run starts when the model leaves eval mode
        if mode and not static.training:
            model.batches.clear()
            with torch.no_grad():
                static.embedding.weight.copy_(weights)
        return plain_train(mode)

    def log(module, args):
        if module.training:
            ids, starts = args[0]["input_ids"].tolist(), args[0]["offsets"].tolist() + [len(args[0]["input_ids"])]
            model.batches.append([tuple(ids[a:b]) for a, b in zip(starts[:-1], starts[1:])])

    static.train = train
    static.register_forward_pre_hook(log)
    return model.eval()


tiny_a, tiny_b, tiny_c, tiny_d, tiny_untrained = (tiny_model() for _ in range(5))  # tiny_untrained is never trained

# GloVe (memory-mapped) and the word sets of part 8.
glove = ek.load_glove()
career = "executive management professional corporation salary office business career".split()
family = "home parents children family cousins marriage wedding relatives".split()
male = "male man boy brother he him his son".split()
female = "female woman girl sister she her hers daughter".split()
definitional = [("he", "she"), ("man", "woman"), ("his", "her"), ("him", "her"), ("boy", "girl"),
                ("father", "mother"), ("son", "daughter"), ("brother", "sister"), ("male", "female"), ("king", "queen")]
unit_rows = lambda M: M / np.linalg.norm(M, axis=1, keepdims=True)  # noqa: E731
gender = np.mean([unit_rows(glove.matrix([a]))[0] - unit_rows(glove.matrix([b]))[0] for a, b in definitional], axis=0)
X_c, Y_f, A_m, B_f = (glove.matrix(w) for w in (career, family, male, female))

# Part 5 compares embedding models on three small tasks of this course, MTEB-style: retrieval (the test questions
# against the whole knowledge base), similarity (01's 60 graded sentence pairs) and clustering (the test
# questions again, grouped by the system they are about: they name it only by its acronym).
sts = pd.read_csv(ek.data_path("sts_pairs.csv"))
course_tasks = {"retrieval": (test_q.text.tolist(), passages.text.tolist(), gold),
                "similarity": (sts.sentence1.tolist(), sts.sentence2.tolist(), sts.score.to_numpy()),
                "clustering": test_q.pid.map(dict(zip(passages.pid, passages.system))).tolist()}  # system of each question


def glove_average(texts):
    """The mean GloVe vector of each text's lower-case words (those GloVe knows; zeros if none), shape (n, 50)."""
    rows = []
    for text in texts:
        words = [w for w in re.findall(r"[a-z]+", text.lower()) if w in glove]
        rows.append(glove.matrix(words).mean(axis=0) if words else np.zeros(glove.dim, dtype=np.float32))
    return np.stack(rows)


print(f"all-MiniLM-L6-v2: {len(P_all)} articles and {len(Q_all)} questions embedded; {len(train_triplets)} training "
      f"triplets; GloVe: {len(glove):,} words")

# %% nbgrader={"grade": false, "grade_id": "setup-matryoshka", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The 128 triplets that parts 2 and 4 train on, and the prefix lengths of part 4's Matryoshka loss.
import copy

from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss

train_subset = [train_triplets[i] for i in np.random.default_rng(0).permutation(len(train_triplets))[:128]]
mat_dims = [384, 128, 64, 32]
# Part 4: the Matryoshka model's MRR@10 at each length, measured with seed 0 when this notebook was written (the
# grader retrains that model and checks these numbers).
mat_mrr = {16: 0.233, 32: 0.367, 64: 0.414, 128: 0.506, 384: 0.504}
ek.seed_everything(0)

# %% tags=["examiner"] nbgrader={"grade": false, "grade_id": "ref-matryoshka-model", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Examiner only (never in the student's notebook or kernel): part 4's Matryoshka model, trained once per grading
# worker, as part 4's text says: a fresh copy of the base model, part 2's recipe on train_subset (seed 0), with
# MatryoshkaLoss(MultipleNegativesRankingLoss, mat_dims) as the loss. It keeps the Setup's written mat_mrr honest:
# a set-up that fails here stops the batch before any student is graded (the instructor's numbers are wrong).
mat_model = copy.deepcopy(base_model)
ek.seed_everything(0)
sentence_transformers.SentenceTransformerTrainer(
    model=mat_model, train_dataset=datasets.Dataset.from_dict({k: [t[i] for t in train_subset] for i, k in enumerate(["anchor", "positive", "negative"])}),
    loss=MatryoshkaLoss(mat_model, MultipleNegativesRankingLoss(mat_model), matryoshka_dims=mat_dims),
    args=sentence_transformers.SentenceTransformerTrainingArguments(
        output_dir=os.path.join(scratch_dir, "matryoshka"), num_train_epochs=1, per_device_train_batch_size=32,
        learning_rate=1e-4, warmup_steps=0.1, seed=0, data_seed=0, batch_sampler="no_duplicates", report_to="none",
        save_strategy="no", logging_strategy="no", disable_tqdm=True, use_cpu=True)).train()
P_mat = mat_model.encode(passages.text.tolist(), normalize_embeddings=True)  # (160, 384), unit rows
Q_mat = mat_model.encode(test_q.text.tolist(), normalize_embeddings=True)   # (96, 384), the test questions
_cut = lambda M, d: M[:, :d] / np.linalg.norm(M[:, :d], axis=1, keepdims=True)  # noqa: E731
mat_measured = {d: mrr_at_10(_cut(Q_mat, d) @ _cut(P_mat, d).T, gold) for d in mat_mrr}
assert all(abs(mat_measured[d] - mat_mrr[d]) <= 0.01 for d in mat_mrr), (
    f"the Setup's mat_mrr {mat_mrr} is not what this Matryoshka training gives: {mat_measured}")
ek.seed_everything(0)

# %% tags=["examiner"] nbgrader={"grade": false, "grade_id": "ref-evaluate", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Examiner only: the reference implementations and values the hidden tests compare against.
def ref_evaluate(encode, tasks):  # evaluate_model's docstring, without the timing
    from scipy.stats import spearmanr
    from sklearn.cluster import KMeans
    from sklearn.metrics import v_measure_score
    unit = lambda X: X / np.linalg.norm(X, axis=1, keepdims=True)  # noqa: E731
    (q, c, g), (s1, s2, sc), lab = tasks["retrieval"], tasks["similarity"], tasks["clustering"]
    E = {k: unit(np.asarray(encode(v), dtype=np.float64)) for k, v in [("q", q), ("c", c), ("s1", s1), ("s2", s2)]}
    pred = KMeans(n_clusters=len(set(lab)), n_init=10, random_state=0).fit_predict(E["q"])
    return {"retrieval": mrr_at_10(E["q"] @ E["c"].T, np.asarray(g)), "similarity": spearmanr(np.sum(E["s1"] * E["s2"], axis=1), sc)[0],
            "clustering": v_measure_score(lab, pred), "dims": E["c"].shape[1], "bytes_per_vector": 4 * E["c"].shape[1]}


# project_2d(X_warm, "umap", seed=0) as its docstring says: a seed makes UMAP run on one thread and repeat itself.
umap_want = umap.UMAP(n_components=2, random_state=0, n_jobs=1).fit_transform(X_warm)  # n_jobs=1: what the seed forces, unwarned


def ref_matryoshka(a, p, n, dims, weights=None, scale=20.0):  # part 4's formula, in float64
    a, p = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(p, dtype=torch.float64)
    cands = p if n is None else torch.cat([p, torch.as_tensor(n, dtype=torch.float64)])
    unit = lambda M, d: M[:, :d] / M[:, :d].norm(dim=1, keepdim=True)  # noqa: E731
    return sum(w * float(torch.nn.functional.cross_entropy(scale * unit(a, d) @ unit(cands, d).T, torch.arange(len(a))))
               for d, w in zip(dims, weights or [1.0] * len(dims)))


# The base model's MRR@10 and recall@10 on the test questions against all articles (make_evaluator's hidden test).
ref_base_mrr = mrr_at_10(Q_test @ P_all.T, gold)
_S = Q_test @ P_all.T
ref_base_recall = float(np.mean((_S > _S[np.arange(len(gold)), gold][:, None]).sum(axis=1) < 10))
del _S

# %%
queries.merge(passages[["pid", "system", "topic"]], on="pid").head(6)


# %% [markdown] nbgrader={"grade": false, "grade_id": "pairs-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 1. Training pairs and hard negatives (3 points)
#
# Fine-tuning a retrieval model needs examples of what *should* match: **(anchor, positive)** pairs, here
# (question, the article that answers it). They must come from the **train split only**: a test question that
# leaks into training makes the test score a measure of memory, not of generalisation, and you would never
# notice — the number just looks good.
#
# The loss we will use, *multiple negatives ranking* (MNRL, also called InfoNCE), treats every other article in
# the batch as a negative. Random in-batch negatives are mostly easy (an article about quotas is obviously not
# the answer to a question about rollbacks). A **hard negative** is an article the current model ranks high but
# which is *not* relevant — here typically the same problem for a *different* system, exactly the confusion we
# want the model to unlearn. We mine them with the base model: score every article against the question, drop
# the relevant one, and keep the top $k$:
#
# $$\text{neg}_k(q) = \operatorname{top-}k_{\,j \ne \text{pos}(q)} \; \langle e_q, e_{p_j} \rangle$$
#
# Never mine the positive itself as a negative: the loss would then push the question away from its own answer.

# %% nbgrader={"grade": false, "grade_id": "pairs", "locked": false, "schema_version": 3, "solution": true, "task": false}
def training_pairs(queries, passages):
    """(question, article) pairs for fine-tuning, from the train split only.

    queries: DataFrame with columns qid, split, pid, text (pid = the id of the relevant article).
    passages: DataFrame with columns pid, split, text (and others).
    Returns: list of (query_text, passage_text) tuples of str, one per question whose split is "train",
             in the row order of `queries`; passage_text is the text of the question's relevant article.
    """
    ### BEGIN SOLUTION
    text = dict(zip(passages.pid, passages.text))
    train = queries[queries.split == "train"]
    return [(q, text[p]) for q, p in zip(train.text, train.pid)]
    ### END SOLUTION


def mine_hard_negatives(query_emb, passage_emb, positive, k=1):
    """The k highest-scoring articles for each question that are not its relevant article.

    query_emb: array of shape (n, d), unit-length rows (one question per row), float32 or float64.
    passage_emb: array of shape (m, d), unit-length rows (one article per row).
    positive: sequence (list or array) of n ints, positive[i] = row of passage_emb relevant to question i.
    k: int, 1 <= k < m.
    Returns: np.ndarray of ints, shape (n, k); row i holds article rows in decreasing order of the score
             query_emb[i] @ passage_emb[j], never positive[i] (even where positive[i] is not the top hit, and
             even where every other score is negative). Equal scores may come in either order.
    """
    ### BEGIN SOLUTION
    scores = np.asarray(query_emb, dtype=np.float64) @ np.asarray(passage_emb, dtype=np.float64).T
    scores[np.arange(len(scores)), np.asarray(positive, dtype=np.int64)] = -np.inf
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-006", "locked": true, "schema_version": 3, "solution": false, "task": false}
# We mine with the base model over the *train* articles only (a test article must not appear in training even as
# a negative), and compare with the Setup's triplets, mined with the library's own `mine_hard_negatives` (the same rule,
# $k = 1$): on real data they should agree on every question.

# %%
pairs = training_pairs(queries, passages)
negatives = mine_hard_negatives(Q_train, P_train, [article_row[p] for p in train_queries.pid], k=1)
triplets = [(q, p, train_passages.text[j]) for (q, p), j in zip(pairs, np.asarray(negatives)[:, 0])]
same = sum(t == s for t, s in zip(triplets, train_triplets))
print(f"{len(pairs)} training pairs; your triplets equal the Setup's for {same} of {len(train_triplets)} questions")
ek.claim("on real data your mining and the library's agree on every question", same == len(train_triplets),
         f"{same} of {len(train_triplets)}")
for anchor, positive, negative in triplets[:3]:
    print(f"Q: {anchor}\n  +  {positive[:90]}...\n  -  {negative[:90]}...")

# %% nbgrader={"grade": true, "grade_id": "test_pairs", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# training_pairs: one pair per TRAIN question, each with its own article.
got_pairs = training_pairs(queries, passages)
n_train = int((queries.split == "train").sum())
assert len(got_pairs) == n_train, (
    f"training_pairs(queries, passages) gave {len(got_pairs)} pairs, expected {n_train} (one per train question): "
    "use the train split ONLY, or the test score measures memory")
assert tuple(got_pairs[0]) == train_triplets[0][:2], (
    f"the first pair should be (the first train question, its article's text), got {tuple(got_pairs[0])!r}")
# mine_hard_negatives on 2-d toys: question 0's article is its top hit, question 1's article (row 0) is NOT.
toy_q = np.array([[1.0, 0.0], [0.6, 0.8]])
toy_p = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, -0.1]])  # scores: q0 1, .8, 0, -1; q1 .6, .96, .8, -.68
neg = as_array(mine_hard_negatives(toy_q, toy_p, [0, 0], k=2), "mine_hard_negatives(toy_q, toy_p, [0, 0], k=2)", shape=(2, 2))
assert not neg[1].tolist().count(0), (
    f"question 1's own article (row 0, score 0.6) came back as a negative: {neg.tolist()}. Drop the relevant "
    "article itself, not the top hit (the positive is not always ranked first)")
assert_close(neg, [[1, 2], [1, 2]], "mine_hard_negatives(toy_q, toy_p, [0, 0], k=2)",
             hint="drop each question's own positive, then take the k best-scoring of the rest, best first")
### BEGIN HIDDEN TESTS
# Random articles; each question sits near its relevant article, but another article is closer for some of them.
rng = np.random.default_rng(3)
P_h = rng.normal(size=(12, 6)); P_h /= np.linalg.norm(P_h, axis=1, keepdims=True)
pos_h = np.array([4, 0, 11, 7, 7, 2])
Q_h = P_h[pos_h] + 0.05 * rng.normal(size=(6, 6))
Q_h[3] = 0.3 * P_h[7] + P_h[5]  # question 3: article 5 outranks its own article 7
Q_h /= np.linalg.norm(Q_h, axis=1, keepdims=True)
S_h = Q_h @ P_h.T
assert np.argmax(S_h[3]) != 7
for k_h, what_h in ((1, "k=1"), (3, "k=3"), (11, "k = every article but the positive")):
    got = as_array(mine_hard_negatives(Q_h.astype(np.float32), P_h.astype(np.float32), list(pos_h), k=k_h),
                   f"mine_hard_negatives(questions, articles, {what_h})", shape=(6, k_h)).astype(int)
    bad = np.nonzero((got == pos_h[:, None]).any(axis=1))[0]
    assert not len(bad), (f"mine_hard_negatives with {what_h}: a question's own article was mined as its negative. Drop the "
                          "positive itself (not the top hit, and not by setting its score to 0)")
    S_m = S_h.copy(); S_m[np.arange(6), pos_h] = -np.inf
    assert_close(np.take_along_axis(S_h, got, axis=1), -np.sort(-S_m, axis=1)[:, :k_h], f"scores of the mined negatives ({what_h})",
                 rtol=1e-4, atol=1e-5, hint="the k highest-scoring non-relevant articles, in DECREASING order of score", reveal=False)
# Question 0 scores every article below zero: the positive (row 0) must still never come back.
P_n = np.array([[-0.2, 0.98, 0.0], [-0.5, 0.0, 0.87], [-0.9, 0.44, 0.0], [-0.1, -0.99, 0.0]])
P_n /= np.linalg.norm(P_n, axis=1, keepdims=True)
got = as_array(mine_hard_negatives(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), P_n, np.array([0, 2]), k=2),
               "mine_hard_negatives(a question that scores every article below 0)", shape=(2, 2))
assert_close(got, [[3, 1], [0, 1]], "mine_hard_negatives(a question that scores every article below 0, k=2)",
             hint="mask the positive with -inf, not 0: here every other score is negative", reveal=False)
# Pairs: only the train split, in order, each with its own article, whatever order the splits come in.
toy_passages = pd.DataFrame({"pid": ["a", "b", "c"], "split": ["test", "train", "train"], "text": ["A!", "B!", "C!"]})
toy_queries = pd.DataFrame({"qid": ["1", "2", "3", "4", "5"], "split": ["test", "train", "dev", "train", "train"],
                            "pid": ["a", "c", "b", "b", "c"], "text": ["qa", "qc", "qb", "qb2", "qc2"]})
got_pairs = [tuple(p) for p in training_pairs(toy_queries, toy_passages)]
assert got_pairs == [("qc", "C!"), ("qb2", "B!"), ("qc2", "C!")], (
    "training_pairs on toy tables (train, dev and test questions mixed; the passages' splits in another order) is wrong: "
    "only the train questions, in their order, each as (question text, the text of ITS article)")
text_of = dict(zip(passages.pid, passages.text))
full = [tuple(p) for p in training_pairs(queries, passages)]
assert full == [(q, text_of[p]) for q, p in zip(train_queries.text, train_queries.pid)], \
    "training_pairs(queries, passages): each train question, in order, paired with its own article's text"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "finetune-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Fine-tuning, judged on questions it was not trained on (4 points)
#
# We fine-tune all-MiniLM-L6-v2 with the library's own trainer, `SentenceTransformerTrainer`, and
# `MultipleNegativesRankingLoss`. For a batch of $B$ (anchor $a_i$, positive $p_i$, negative $n_i$) triplets the loss
# is a softmax cross-entropy that asks each anchor to pick its own positive out of all $2B$ candidates:
#
# $$\mathcal{L} = -\frac{1}{B}\sum_{i=1}^{B} \log \frac{\exp(s\,\cos(a_i, p_i))}{\sum_{j=1}^{B} \exp(s\,\cos(a_i, p_j)) + \sum_{j=1}^{B} \exp(s\,\cos(a_i, n_j))}$$
#
# with scale $s = 20$. **What it assumes:** every $p_j$ with $j \ne i$ is *not* relevant to $a_i$. Here each article
# has three questions, so two questions about the same article can land in one batch, and the article would be
# counted as a negative for its own question. The trainer's `batch_sampler="no_duplicates"` prevents that: no
# text appears twice in a batch.
#
# **How to tell whether it helped.** The training loss always goes down — that only shows the model fits the
# training pairs. What matters is retrieval on questions the model was not trained on: we rank the *whole*
# knowledge base (all 160 articles, as the help desk's search would) for each **test** question and report
#
# $$\text{MRR@10} = \frac{1}{|Q|}\sum_{q} \frac{1}{\text{rank}_q}\;(0 \text{ if rank}_q > 10), \qquad \text{recall@10} = \frac{1}{|Q|}\sum_q \frac{|\text{relevant}_q \cap \text{top-10}_q|}{|\text{relevant}_q|}$$
#
# with the library's `InformationRetrievalEvaluator`. (Choices such as the learning rate belong on the dev split;
# the test split is looked at once, at the end.) Fine-tuning is worth it when the held-out gain is large
# compared with what cheaper fixes give, and when the domain's vocabulary really is new to the model.
#
# Write `make_evaluator`, and `fine_tune`: one epoch with `SentenceTransformerTrainingArguments` (seeded with `seed`,
# `batch_sampler="no_duplicates"`, no reporting, no checkpoints, no progress bar), then save the model to `output_dir`.
# The API, if you have not met it:
# [training overview](https://sbert.net/docs/sentence_transformer/training_overview.html) (datasets with columns
# *anchor, positive, negative*, the loss, the trainer),
# [`SentenceTransformerTrainingArguments`](https://sbert.net/docs/package_reference/sentence_transformer/training_args.html)
# (`num_train_epochs`, `per_device_train_batch_size`, `learning_rate`, `seed`, `batch_sampler`, `report_to`,
# `save_strategy`, `disable_tqdm`) and
# [`InformationRetrievalEvaluator`](https://sbert.net/docs/package_reference/sentence_transformer/evaluation.html#informationretrievalevaluator).
# The call pattern, for a *different* task (pairs with a similarity score):
#
# ```python
# data = Dataset.from_dict({"sentence1": [...], "sentence2": [...], "score": [...]})
# trainer = SentenceTransformerTrainer(model=model, train_dataset=data, loss=CoSENTLoss(model),
#                                      args=SentenceTransformerTrainingArguments(output_dir=some_dir, ...))
# trainer.train()
# ```
#
# `fine_tune`'s test first runs it on a tiny model that records every batch it is trained on: one epoch, batches of
# `batch_size`, anchors, positives **and** negatives, no text twice in a batch.

# %% nbgrader={"grade": false, "grade_id": "finetune", "locked": false, "schema_version": 3, "solution": true, "task": false}
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss


def make_evaluator(queries, passages, split):
    """sentence-transformers' InformationRetrievalEvaluator for the questions of one split.

    queries, passages: the DataFrames above. split: "train", "dev" or "test".
    Returns: InformationRetrievalEvaluator with name=split; its queries are {qid: text} of the questions of
             `split`; its corpus is {pid: text} of ALL articles (every split); relevant_docs maps each qid to
             the set {its pid}; mrr_at_k=[10] and precision_recall_at_k=[10] (so the results hold
             "<split>_cosine_mrr@10" and "<split>_cosine_recall@10"); no progress bar.
    """
    ### BEGIN SOLUTION
    q = queries[queries.split == split]
    return InformationRetrievalEvaluator(
        queries=dict(zip(q.qid, q.text)), corpus=dict(zip(passages.pid, passages.text)),
        relevant_docs={qid: {pid} for qid, pid in zip(q.qid, q.pid)}, name=split,
        mrr_at_k=[10], ndcg_at_k=[10], accuracy_at_k=[1, 10], precision_recall_at_k=[10], map_at_k=[10],
        show_progress_bar=False)
    ### END SOLUTION


def fine_tune(model, triplets, output_dir, seed=0, batch_size=32, learning_rate=1e-4):
    """Fine-tune `model` in place for one epoch with MultipleNegativesRankingLoss, then save it.

    model: a SentenceTransformer.
    triplets: list of (anchor, positive, negative) tuples of str, used in full (anchor, positive AND negative).
    output_dir: str, a directory for the trainer's files and the saved model.
    seed: int, seeds the trainer (initialisation of the loss and the order of the batches).
    batch_size: int, triplets per training step. learning_rate: float, the trainer's peak learning rate.
    Trains exactly one epoch, batch_sampler="no_duplicates" (no text twice in a batch), no reporting,
    no checkpoints, no progress bar.
    Returns: the fine-tuned model (the same object), after model.save(output_dir).
    """
    ### BEGIN SOLUTION
    dataset = Dataset.from_dict({"anchor": [t[0] for t in triplets], "positive": [t[1] for t in triplets],
                                 "negative": [t[2] for t in triplets]})
    args = SentenceTransformerTrainingArguments(
        output_dir=output_dir, num_train_epochs=1, per_device_train_batch_size=batch_size,
        learning_rate=learning_rate, warmup_steps=0.1, seed=seed, data_seed=seed,
        batch_sampler="no_duplicates", report_to="none", save_strategy="no", logging_strategy="no",
        disable_tqdm=True, use_cpu=model.device.type == "cpu")
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset,
                                         loss=MultipleNegativesRankingLoss(model))
    trainer.train()
    model.save(output_dir)
    return model
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-011", "locked": true, "schema_version": 3, "solution": false, "task": false}
# One epoch over 128 of the Setup's triplets (4 steps of 32) is enough to see the effect and keeps the notebook
# fast. We train a copy of the base model, save it to a scratch directory and reload it from there, as you would
# ship it.

# %%
import copy

test_evaluator = make_evaluator(queries, passages, "test")
before = test_evaluator(base_model)
tuned_dir = os.path.join(scratch_dir, "tuned")
ek.seed_everything(0)  # train_subset (Setup): 128 of the triplets, drawn with seed 0
tuned = fine_tune(copy.deepcopy(base_model).to(DEVICE), train_subset, tuned_dir, seed=0)
tuned_model = SentenceTransformer(tuned_dir, device=str(DEVICE))
after = test_evaluator(tuned_model)
metrics = ["test_cosine_mrr@10", "test_cosine_recall@10", "test_cosine_accuracy@1"]
results = pd.DataFrame({"base": [before[m] for m in metrics], "fine-tuned": [after[m] for m in metrics]},
                       index=[m.split("_")[-1] for m in metrics])
print(results.round(3))
# The same gain per test question (each model's embeddings of the articles and test questions; part 4 reuses the
# fine-tuned model's), with a 95% bootstrap interval: 96 questions are a small sample.
P_tuned = tuned_model.encode(passages.text.tolist(), normalize_embeddings=True)
Q_tuned = tuned_model.encode(test_q.text.tolist(), normalize_embeddings=True)
gain_q = reciprocal_ranks(Q_tuned @ P_tuned.T, gold) - reciprocal_ranks(Q_test @ P_all.T, gold)
gain_ci = paired_interval(gain_q)
print(f"MRR@10 gain per question: {gain_q.mean():+.3f} (95% interval {gain_ci[0]:+.3f} to {gain_ci[1]:+.3f})")
ek.claim("one epoch over 128 triplets lifts MRR@10 on the (seen-template) test questions by more than the noise of 96 questions", gain_ci[0] > 0,
         f"gain {gain_q.mean():+.3f}, 95% interval {gain_ci[0]:+.3f} to {gain_ci[1]:+.3f}")
fig = px.bar(results.reset_index().melt(id_vars="index", var_name="model"), x="index", y="value", color="model",
             barmode="group", title="Test questions (seen templates) against the whole knowledge base", labels={"index": "metric"})
fig.show()

# %% nbgrader={"grade": true, "grade_id": "test_finetune", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# make_evaluator: the test questions against the WHOLE knowledge base.
assert_sequence_equal(sorted(test_evaluator.queries_ids), sorted(test_q.qid), "test evaluator's question ids",
                      hint="only the questions of the split you are given")
assert len(test_evaluator.corpus_ids) == len(passages), (
    f"the test evaluator's corpus has {len(test_evaluator.corpus_ids)} articles, expected all {len(passages)}: the "
    "help desk searches the whole knowledge base, not only the articles of one split")
# fine_tune on a tiny model that logs its training batches: 12 triplets, 4 articles, each the positive of 3 anchors.
toy_triplets = [(f"question {i} about {s}", f"the {s} article", f"a post on {t}") for i, (s, t) in
                enumerate(zip(["kestrel", "marlin", "heron", "sable"] * 3, ["tundra", "pico", "quarry", "cobalt"] * 3))]
def margin(m):  # mean of cos(anchor, positive) - cos(anchor, negative) over the toy triplets
    a, p, n = (np.asarray(m.encode([t[i] for t in toy_triplets], normalize_embeddings=True)) for i in range(3))
    return float(np.mean(np.sum(a * p, axis=1) - np.sum(a * n, axis=1)))


margin_before = margin(tiny_untrained)
tiny_ret = fine_tune(tiny_a, toy_triplets, os.path.join(scratch_dir, "tiny-a"), seed=0, batch_size=4, learning_rate=0.1)
seen = [len(b) for b in tiny_ret.batches]  # rows of every forward pass in training
assert sum(seen) == 3 * len(toy_triplets), (
    f"training encoded {sum(seen)} texts, expected {3 * len(toy_triplets)}: ONE epoch over the anchors, positives AND "
    f"negatives of the 12 triplets (forward passes of {seen} rows)")
assert max(seen) <= 4, f"batches of up to {max(seen)} texts with batch_size=4: pass batch_size to the trainer"
twice = [b for b in tiny_ret.batches if len(set(map(tuple, b))) < len(b)]
assert not twice, (f"{len(twice)} training batches held the same text twice, so an article was used as a negative for "
                   "its own question: use batch_sampler=\"no_duplicates\"")
margin_after = margin(tiny_ret)
assert margin_after > margin_before + 0.05, (
    f"training should pull anchors towards their positives and away from their negatives: the mean cos(a, p) - cos(a, n) "
    f"went {margin_before:.3f} -> {margin_after:.3f}. Columns in the order anchor, positive, negative?")
# On the help desk: held-out gain.
gain = after["test_cosine_mrr@10"] - before["test_cosine_mrr@10"]
print(f"MRR@10 {before['test_cosine_mrr@10']:.3f} -> {after['test_cosine_mrr@10']:.3f} (gain {gain:+.3f})")
assert gain > 0.10, f"fine-tuning should lift test MRR@10 by more than 0.10, got {gain:+.3f}"
### BEGIN HIDDEN TESTS
for qid in test_q.qid[:4]:
    assert test_evaluator.queries[list(test_evaluator.queries_ids).index(qid)] == test_q.text[test_q.qid == qid].item(), \
        "the evaluator's text of a test question is not that question's text: key the queries by qid"
dev_eval = make_evaluator(queries, passages, "dev")
assert sorted(dev_eval.queries_ids) == sorted(queries.qid[queries.split == "dev"]), "make_evaluator must use the split it is given"
assert dev_eval.name == "dev", ("make_evaluator(queries, passages, 'dev') is not named after its split: pass name=split "
                                "(its results are keyed '<name>_cosine_mrr@10')")
assert len(dev_eval.corpus_ids) == len(passages), "the dev evaluator's corpus must be the whole knowledge base too"
assert "test_cosine_recall@10" in after and "test_cosine_mrr@10" in after, "evaluate MRR@10 and recall@10, with name=split"
assert abs(before["test_cosine_mrr@10"] - ref_base_mrr) < 2e-3, (
    f"the evaluator gives the base model MRR@10 {before['test_cosine_mrr@10']:.4f}, not the MRR@10 of the same ranking computed "
    "by hand: check the corpus (all articles), the relevant documents (each qid -> {its pid}) and mrr_at_k=[10]")
assert abs(before["test_cosine_recall@10"] - ref_base_recall) < 0.011, (
    f"the evaluator gives the base model recall@10 {before['test_cosine_recall@10']:.4f}, not the recall@10 computed by hand (the "
    "share of questions whose article is in the top 10): relevant_docs maps each qid to the SET {its pid}, not to the pid string")
assert after["test_cosine_recall@10"] >= before["test_cosine_recall@10"], "recall@10 dropped after fine-tuning"
# The saved model is the tuned one: reloaded embeddings equal the returned model's, and differ from the base.
probe = ["KBS build hung in pending forever", "Kestrel: quotas."]
fresh = tuned_model.encode(probe, normalize_embeddings=True)
assert_close(fresh, tuned.encode(probe, normalize_embeddings=True), "reloaded model vs the fine-tuned model", rtol=1e-3,
             atol=1e-4, hint="train the model you were given in place, return it, and save it to output_dir AFTER training", reveal=False)
assert np.abs(fresh - base_model.encode(probe, normalize_embeddings=True)).max() > 1e-3, \
    "the saved model equals the base model: was it trained before saving?"
# Tiny model: the seed is used (and reproducible), batch_size and learning_rate are honoured.
toy_probe = ["question 0 about kestrel", "the heron article", "a post on pico"]
ref_a = tiny_ret.encode(toy_probe)
ret_b = fine_tune(tiny_b, toy_triplets, os.path.join(scratch_dir, "tiny-b"), seed=0, batch_size=4, learning_rate=0.1)
assert_close(ret_b.encode(toy_probe), ref_a, "the same seed twice", rtol=1e-4, atol=1e-6, hint="seed the trainer with `seed`", reveal=False)
ret_c = fine_tune(tiny_c, toy_triplets, os.path.join(scratch_dir, "tiny-c"), seed=1, batch_size=4, learning_rate=0.1)
assert np.abs(ret_c.encode(toy_probe) - ref_a).max() > 1e-4, "seed=1 trained exactly like seed=0: pass `seed` to the training arguments"
start_d = tiny_untrained.encode(toy_probe)
ret_d = fine_tune(tiny_d, toy_triplets, os.path.join(scratch_dir, "tiny-d"), seed=0, batch_size=3, learning_rate=0.0)
seen_d = [len(b) for b in ret_d.batches]
assert sum(seen_d) == 36 and max(seen_d) <= 3, ("fine_tune(..., batch_size=3): the forward passes must go over every triplet "
                                               "once, in batches of at most batch_size triplets: pass batch_size to the training arguments")
assert_close(ret_d.encode(toy_probe), start_d, "learning_rate=0 must leave the model unchanged", atol=1e-7,
             hint="pass learning_rate to the training arguments", reveal=False)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-new-templates", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### What did fine-tuning learn: the acronyms, or the templates?
#
# The test split above shares its question templates with training: "KBS token expired, what now" is a test
# question because "MDP token expired, what now" is a training one. A model could score well there by learning the
# templates instead of the jargon. So we measure the same fine-tuned model (no new training) on the split
# `test_new`, whose templates no training question uses, and report each model's MRR@10 with a 95% bootstrap
# interval (the Setup's `paired_interval` over the questions) and the gain per question with its interval.
#
# And we compare with a fix that needs no training at all: a **glossary**. The help desk knows which acronym means
# which system (`passages` has both columns), so we can rewrite every acronym in a question as its codename
# ("KBS token expired" -> "Kestrel token expired") and search with the base model as shipped. A fix like this
# (query expansion, a synonym list, BM25 over the expanded words) is the baseline any fine-tuning must beat.

# %%
def expand_acronyms(text, glossary):
    """Replace every acronym of `glossary` (lower-case acronym -> codename) in `text`, in any case, by its codename."""
    return re.sub(r"[A-Za-z]+", lambda m: glossary.get(m.group(0).lower(), m.group(0)), text)


glossary = dict(zip(passages.acronym.str.lower(), passages.system))
copies = set(queries.text[queries.split == "train"].str.lower().map(lambda t: expand_acronyms(t, {a: "<A>" for a in glossary})))
split_rr, split_rows = {}, []
for split, kind_ in [("test", "seen templates"), ("test_new", "new templates")]:
    in_split = (queries.split == split).to_numpy()
    texts, gold_s = queries.text[in_split].tolist(), np.array([passage_row[p] for p in queries.pid[in_split]])
    n_copies = sum(expand_acronyms(t.lower(), {a: "<A>" for a in glossary}) in copies for t in texts)
    print(f"{split} ({kind_}): {n_copies} of {len(texts)} questions are a training question with another acronym")
    expanded = [expand_acronyms(t, glossary) for t in texts]
    split_rr[split] = {
        "base": reciprocal_ranks(Q_all[in_split] @ P_all.T, gold_s),
        "fine-tuned": reciprocal_ranks(tuned_model.encode(texts, normalize_embeddings=True) @ P_tuned.T, gold_s),
        "base + glossary": reciprocal_ranks(base_model.encode(expanded, normalize_embeddings=True) @ P_all.T, gold_s),
        "fine-tuned + glossary": reciprocal_ranks(tuned_model.encode(expanded, normalize_embeddings=True) @ P_tuned.T, gold_s)}
    split_rr[split]["n_copies"] = n_copies
    for model_name in ["base", "fine-tuned", "base + glossary", "fine-tuned + glossary"]:
        rr_ = split_rr[split][model_name]
        ci_lo, ci_hi = paired_interval(rr_)
        split_rows.append({"split": f"{split} ({kind_})", "model": model_name, "MRR@10": rr_.mean(), "95% low": ci_lo, "95% high": ci_hi})
split_table = pd.DataFrame(split_rows)
split_table["MRR@10 [95% interval]"] = [f"{m:.3f} [{a:.3f}, {b:.3f}]" for m, a, b in split_table[["MRR@10", "95% low", "95% high"]].to_numpy()]
print(split_table.pivot(index="model", columns="split", values="MRR@10 [95% interval]").to_string())


def gain_of(split, a, b):
    """Mean per-question MRR@10 difference a - b on `split`, with its 95% bootstrap interval."""
    diff = split_rr[split][a] - split_rr[split][b]
    return diff.mean(), *paired_interval(diff)


def fmt_gain(g):
    return f"{g[0]:+.3f} (95% interval {g[1]:+.3f} to {g[2]:+.3f})"


for split in ["test", "test_new"]:
    print(f"{split:8s} fine-tuned - base {fmt_gain(gain_of(split, 'fine-tuned', 'base'))};  "
          f"base + glossary - fine-tuned {fmt_gain(gain_of(split, 'base + glossary', 'fine-tuned'))};  "
          f"fine-tuned + glossary - base + glossary {fmt_gain(gain_of(split, 'fine-tuned + glossary', 'base + glossary'))}")
# The gain on one split minus the gain on the other: two independent samples of questions, resampled independently.
boot_ = np.random.default_rng(0)
gain_seen_, gain_new_ = (split_rr[s]["fine-tuned"] - split_rr[s]["base"] for s in ("test", "test_new"))
gap_boot_ = [boot_.choice(gain_seen_, len(gain_seen_)).mean() - boot_.choice(gain_new_, len(gain_new_)).mean() for _ in range(2000)]
gap_ci_ = np.percentile(gap_boot_, [2.5, 97.5])
print(f"fine-tuning gain, seen templates minus new templates: {gain_seen_.mean() - gain_new_.mean():+.3f} "
      f"(95% interval {gap_ci_[0]:+.3f} to {gap_ci_[1]:+.3f})")
ek.claim("most seen-template test questions are a training question word for word with another acronym; no new-template one is",
         split_rr["test"]["n_copies"] > len(gain_seen_) / 2 and split_rr["test_new"]["n_copies"] == 0,
         f"{split_rr['test']['n_copies']} of {len(gain_seen_)} and {split_rr['test_new']['n_copies']} of {len(gain_new_)}")
ek.claim("fine-tuning lifts MRR@10 on the new-template questions too, by more than the noise",
         gain_of("test_new", "fine-tuned", "base")[1] > 0, fmt_gain(gain_of("test_new", "fine-tuned", "base")))
ek.claim("the gain does not depend measurably on whether the templates were seen (the interval of the difference of the two gains includes 0)",
         gap_ci_[0] < 0 < gap_ci_[1], f"seen {gain_seen_.mean():+.3f}, new {gain_new_.mean():+.3f}, "
         f"difference 95% interval {gap_ci_[0]:+.3f} to {gap_ci_[1]:+.3f}")
ek.claim("the glossary with the base model, no training, beats the fine-tuned model on both splits, beyond the noise",
         all(gain_of(s_, "base + glossary", "fine-tuned")[1] > 0 for s_ in ("test", "test_new")),
         "; ".join(f"{s_} {fmt_gain(gain_of(s_, 'base + glossary', 'fine-tuned'))}" for s_ in ("test", "test_new")))
ek.claim("on top of the glossary, fine-tuning adds less than half of what it adds to the base model, on both splits",
         all(gain_of(s_, "fine-tuned + glossary", "base + glossary")[0] < 0.5 * gain_of(s_, "fine-tuned", "base")[0]
             for s_ in ("test", "test_new")),
         "; ".join(f"{s_}: {gain_of(s_, 'fine-tuned + glossary', 'base + glossary')[0]:+.3f} on top of the glossary, "
                   f"{gain_of(s_, 'fine-tuned', 'base')[0]:+.3f} alone" for s_ in ("test", "test_new")))


# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-new-templates-read", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Reading the numbers (each sentence is checked above). The `test` split is a weaker test than its name suggests:
# most of its questions are training questions with another acronym in them. On `test_new`, whose wording the
# model was never trained on, fine-tuning still lifts MRR@10 beyond the noise, and its gain there is not measurably
# different from its gain on the seen templates: what 128 triplets taught the model is mostly which acronym goes
# with which codename, not the templates. But a glossary, with no training at all, beats the fine-tuned model on
# both splits by a wide margin, and on top of the glossary fine-tuning adds less than half of what it adds alone.
# So what does fine-tuning buy here? A mapping that someone could have written down. It earns its keep where no
# glossary exists or can be kept up to date (slang, error codes, the many ways people describe a problem), and it
# must always be judged against the cheap fix on questions in new words, with an interval: 96 questions are few.

# %% [markdown] nbgrader={"grade": false, "grade_id": "compress-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 3. What an embedding costs, and how to shrink it (4 points)
#
# A float32 vector of $d = 384$ numbers takes $4d = 1536$ bytes; a billion of them, 1.5 TB. Three ways down:
#
# * **Truncation** (Matryoshka-style): keep the first $d'$ coordinates and **renormalise** to unit length.
#   A truncated unit vector is shorter than 1 by a different amount for every row, so without renormalising the
#   scores are no longer cosines: each article's score is scaled by the length of its kept part. (A question's own
#   length scales all of its scores alike, so it cannot change that question's ranking.) Whether this helps or
#   hurts a ranking is an empirical matter — the table below shows both, with a bootstrap interval for the
#   difference; on this data it is small and goes both ways. Renormalise anyway: thresholds, score fusion and any
#   code downstream assume cosines in $[-1, 1]$. Models trained with a Matryoshka loss pack the most information
#   into the first coordinates; MiniLM was not, so expect it to degrade quickly as $d'$ shrinks.
# * **int8 scalar quantisation:** map each dimension $j$ linearly from a calibration range $[\ell_j, h_j]$ (its
#   minimum and maximum over a calibration set) onto the 256 codes $-128 \dots 127$:
#   $$c_{j} = \operatorname{round}\!\Big(\frac{x_j - \ell_j}{h_j - \ell_j}\cdot 255\Big) - 128, \qquad \hat x_j = \frac{c_j + 128}{255}(h_j - \ell_j) + \ell_j$$
#   (values outside the range are clipped). The range must be **per dimension**: embedding coordinates have very
#   different spreads, and one global range wastes most codes of the narrow dimensions. 4× smaller.
# * **Binary quantisation:** keep only the sign, 1 bit per dimension, packed 8 to a byte (32× smaller);
#   compare codes by the **Hamming distance**, the number of differing bits (XOR, then count the ones).

# %% nbgrader={"grade": false, "grade_id": "compress", "locked": false, "schema_version": 3, "solution": true, "task": false}
def truncate(X, d):
    """Keep the first d coordinates of every row and rescale each row to unit length.

    X: array of shape (n, D), float32 or float64; d: int, 1 <= d <= D. X itself is left unchanged.
    Returns: np.ndarray of shape (n, d), float, rows of unit length (a row whose first d coordinates are all
             zero stays zero: no NaN).
    """
    ### BEGIN SOLUTION
    T = np.asarray(X, dtype=np.float64)[:, :d]
    norms = np.linalg.norm(T, axis=1, keepdims=True)
    return np.divide(T, norms, out=np.zeros_like(T), where=norms > 0)
    ### END SOLUTION


def calibrate_int8(X):
    """Per-dimension calibration range.

    X: array of shape (n, D), the calibration vectors.
    Returns: (lo, hi), two np.ndarrays of shape (D,): the minimum and maximum of each column (dimension).
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    return X.min(axis=0), X.max(axis=0)
    ### END SOLUTION


def quantize_int8(X, lo, hi):
    """int8 codes: round((x - lo) / (hi - lo) * 255) - 128 per dimension, x clipped to [lo, hi] first.

    X: array of shape (n, D), float32 or float64, left unchanged; lo, hi: arrays of shape (D,) with hi > lo.
    round() is round-half-to-even (np.round) or half-up: both are accepted.
    Returns: np.ndarray of dtype np.int8, shape (n, D).
    """
    ### BEGIN SOLUTION
    X = np.clip(np.asarray(X, dtype=np.float64), lo, hi)
    return (np.round((X - lo) / (hi - lo) * 255) - 128).astype(np.int8)
    ### END SOLUTION


def dequantize_int8(codes, lo, hi):
    """Back from codes to floats: (c + 128) / 255 * (hi - lo) + lo.

    codes: integer array of shape (n, D), e.g. the np.int8 codes above (beware: int8 arithmetic overflows);
    lo, hi: arrays of shape (D,).
    Returns: np.ndarray of shape (n, D), float.
    """
    ### BEGIN SOLUTION
    return (np.asarray(codes, dtype=np.float64) + 128) / 255 * (hi - lo) + lo
    ### END SOLUTION


def binarize(X):
    """Sign bits packed 8 per byte: bit j of a row is 1 where X[:, j] > 0, else 0 (zeros included), packed with
    np.packbits along each row.

    X: array of shape (n, D) with D a multiple of 8.
    Returns: np.ndarray of dtype np.uint8, shape (n, D // 8).
    """
    ### BEGIN SOLUTION
    return np.packbits(np.asarray(X) > 0, axis=1)
    ### END SOLUTION


def hamming_distances(A, B):
    """Number of differing bits between every packed code in A and every packed code in B.

    A: uint8 array of shape (n, D // 8); B: uint8 array of shape (m, D // 8).
    Returns: np.ndarray of ints, shape (n, m); entry (i, j) is the number of bit positions where A[i] and B[j]
             differ (at most D).
    """
    ### BEGIN SOLUTION
    A, B = np.asarray(A, dtype=np.uint8), np.asarray(B, dtype=np.uint8)
    xor = np.bitwise_xor(A[:, None, :], B[None, :, :])
    return np.unpackbits(xor, axis=2).sum(axis=2).astype(np.int64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_truncate", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
T = as_array(truncate([[3.0, 4.0, 12.0], [1.0, 0.0, 5.0]], 2), "truncate([[3, 4, 12], [1, 0, 5]], 2)", shape=(2, 2))
assert_close(T, [[0.6, 0.8], [1.0, 0.0]], "truncate([[3, 4, 12], [1, 0, 5]], 2)",
             hint="keep the FIRST d columns, then renormalise each row to length 1")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(4)
X_h = rng.normal(size=(20, 16)); X_h /= np.linalg.norm(X_h, axis=1, keepdims=True)
for d_h, what_h in ((5, "d < D"), (1, "d = 1"), (16, "d = D (nothing cut)")):
    T_h = as_array(truncate(X_h.astype(np.float32), d_h), f"truncate(unit rows, {what_h})", shape=(20, d_h))
    assert_close(np.linalg.norm(T_h, axis=1), np.ones(20), f"row norms after truncation to {what_h}", rtol=1e-4,
                 hint="a truncated unit vector is no longer unit length: renormalise every ROW", reveal=False)
    assert_close(T_h, X_h[:, :d_h] / np.linalg.norm(X_h[:, :d_h], axis=1, keepdims=True), f"truncate(X, {what_h})",
                 rtol=1e-4, atol=1e-5, hint="the first d coordinates of each row, divided by their own length", reveal=False)
assert not call_tracking(truncate, X_h, 5).changed, ("truncate(X, d) changed X itself (its first d columns were rescaled in place): "
                                     "X[:, :d] is a view of X, so divide into a NEW array")
Z_h = as_array(truncate([[0.0, 0.0, 2.0], [0.0, 3.0, 1.0]], 1), "truncate of rows whose kept part is all zeros", shape=(2, 1))
assert_close(Z_h, [[0.0], [0.0]], "truncate of rows whose kept part is all zeros",
             hint="a row that is all zeros after truncation stays zero (no division by zero, no NaN)", reveal=False)
# The text's claim, on the Setup's embeddings: renormalising or not changes MRR@10 little, in both directions.
tr_ = lambda M, d: M[:, :d] / np.linalg.norm(M[:, :d], axis=1, keepdims=True)  # noqa: E731
gap_ = [mrr_at_10(tr_(Q_test, d) @ tr_(P_all, d).T, gold) - mrr_at_10(Q_test[:, :d] @ P_all[:, :d].T, gold) for d in (192, 96, 48, 24)]
assert max(map(abs, gap_)) < 0.03 and min(gap_) < 0 < max(gap_), f"the text's claim about renormalising no longer holds: MRR@10 gaps from {min(gap_):+.3f} to {max(gap_):+.3f}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_int8", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
X_toy = np.array([[0.0, 10.0], [1.0, 30.0], [0.5, 20.0]])  # two dimensions with very different ranges
lo_toy, hi_toy = calibrate_int8(X_toy)
assert_close(lo_toy, [0.0, 10.0], "lo of [[0, 10], [1, 30], [0.5, 20]]", hint="the minimum of each COLUMN (a range per dimension)")
assert_close(hi_toy, [1.0, 30.0], "hi of [[0, 10], [1, 30], [0.5, 20]]", hint="the maximum of each COLUMN (a range per dimension)")
c_toy = quantize_int8(X_toy, lo_toy, hi_toy)
assert np.asarray(c_toy).dtype == np.int8, f"codes should be np.int8 (1 byte each), got {np.asarray(c_toy).dtype}"
assert_close(c_toy, [[-128, -128], [127, 127], [0, 0]], "quantize_int8(X_toy)")
assert_close(quantize_int8(np.array([[2.0, 0.0]]), lo_toy, hi_toy), [[127, -128]], "quantize_int8 of values outside the range",
             hint="clip x to [lo, hi] first")
assert_close(dequantize_int8(c_toy, lo_toy, hi_toy), [[0, 10], [1, 30], [128 / 255, 10 + 20 * 128 / 255]], "dequantize_int8")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(5)
spread = np.array([0.01, 0.1, 1.0, 10.0, 3.0])  # dimensions with very different ranges
X_h = rng.normal(size=(200, 5)) * spread + np.array([0.0, 1.0, -2.0, 5.0, -40.0])
lo_h, hi_h = calibrate_int8(X_h.astype(np.float32))
assert_close(lo_h, X_h.min(axis=0), "calibrate_int8: lo", rtol=1e-6, hint="the range is per dimension (axis=0)", reveal=False)
assert_close(hi_h, X_h.max(axis=0), "calibrate_int8: hi", rtol=1e-6, hint="the range is per dimension (axis=0)", reveal=False)
lo_h, hi_h = X_h.min(axis=0), X_h.max(axis=0)
codes_h = np.asarray(quantize_int8(X_h.astype(np.float32), lo_h, hi_h))
assert codes_h.dtype == np.int8 and codes_h.shape == (200, 5), f"codes: expected int8 (200, 5), got {codes_h.dtype} {codes_h.shape}"
want_h = np.round((np.clip(X_h.astype(np.float32), lo_h, hi_h) - lo_h) / (hi_h - lo_h) * 255) - 128
assert np.abs(codes_h.astype(int) - want_h).max() <= 1, (
    "codes differ from round((x - lo) / (hi - lo) * 255) - 128 by more than 1: "
    "scale each dimension by its own range, then ROUND (not floor) and shift by -128")
err = np.abs(as_array(dequantize_int8(codes_h, lo_h, hi_h), "dequantize_int8(int8 codes)", shape=(200, 5)) - X_h)
step = (hi_h - lo_h) / 255
assert (err <= step / 2 * (1 + 1e-3) + 1e-6).all(), (
    "round-trip error above half a step in some dimension: with a per-dimension range and rounding it is at most "
    "half a step, (hi - lo) / 255 / 2")
X_out = np.array([[-1.0, 0.0, -50.0, 100.0, 1000.0]])
call_q = call_tracking(quantize_int8, X_out, lo_h, hi_h)
assert_close(call_q.value, [[-128, -128, -128, 127, 127]], "quantize_int8 of values outside the range",
             hint="clip to [lo, hi] first: int8 codes wrap around otherwise", reveal=False)
assert not call_q.changed, (
    "quantize_int8 changed the array it was given: clip a copy (np.clip(X, lo, hi), not out=X)")
# The text's claims, on the Setup's embeddings: int8 costs next to nothing, and beats truncation to the same size.
lo_, hi_ = P_all.min(axis=0), P_all.max(axis=0)
rt_ = lambda M: (np.round((np.clip(M, lo_, hi_) - lo_) / (hi_ - lo_) * 255)) / 255 * (hi_ - lo_) + lo_  # noqa: E731
full_, int8_ = mrr_at_10(Q_test @ P_all.T, gold), mrr_at_10(rt_(Q_test) @ rt_(P_all).T, gold)
u96_ = lambda M: M[:, :96] / np.linalg.norm(M[:, :96], axis=1, keepdims=True)  # noqa: E731
t96_ = mrr_at_10(u96_(Q_test) @ u96_(P_all).T, gold)
assert abs(int8_ - full_) < 0.01 and int8_ > t96_ + 0.05, f"the text's claim about int8 no longer holds: MRR@10 {full_:.3f}, int8 {int8_:.3f}, truncated to 96 d {t96_:.3f}"
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_binary", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
b = np.asarray(binarize([[1.0, -1, 1, 1, -1, -1, -1, 1], [-1.0, -1, -1, -1, -1, -1, -1, -1]]))
assert b.dtype == np.uint8 and b.shape == (2, 1), f"expected uint8 codes of shape (2, 1), got {b.dtype} {b.shape}"
assert_close(hamming_distances(b, b), [[0, 4], [4, 0]], "hamming_distances(b, b)",
             hint="XOR the codes, then count the 1 BITS (not the differing bytes)")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(6)
A_h, B_h = rng.normal(size=(7, 64)), rng.normal(size=(5, 64))
A_h[0, :5] = 0.0  # exact zeros: bit 0 (only x > 0 gives a 1)
cA, cB = np.asarray(binarize(A_h.astype(np.float32))), np.asarray(binarize(B_h))
assert cA.shape == (7, 8) and cA.dtype == np.uint8, f"d dimensions pack into d / 8 uint8 bytes per row, got {cA.dtype} {cA.shape}"
bits = np.unpackbits(cA, axis=1)
assert (bits == (A_h > 0)).all() or (np.unpackbits(cA, axis=1, bitorder="little") == (A_h > 0)).all(), \
    "binarize: bit j must be 1 exactly where X[:, j] > 0 (0 for x <= 0, zeros included), packed along each row"
expected_h = ((A_h[:, None, :] > 0) != (B_h[None, :, :] > 0)).sum(axis=2)
assert_close(hamming_distances(cA, cB), expected_h, "hamming_distances on codes of a few bytes",
             hint="XOR the bytes, then count the 1 bits (np.unpackbits or a popcount)", reveal=False)
big_a, big_b = rng.normal(size=(3, 512)) > 0, rng.normal(size=(4, 512)) > 0
assert_close(hamming_distances(np.packbits(big_a, axis=1), np.packbits(big_b, axis=1)),
             (big_a[:, None, :] != big_b[None, :, :]).sum(axis=2), "hamming_distances on codes longer than 255 bits",
             hint="count in a wide integer type: a uint8 sum overflows past 255", reveal=False)
# The text's claim, on the Setup's embeddings: binary codes lose a few hundredths of MRR@10.
ham_ = ((Q_test[:, None, :] > 0) != (P_all[None, :, :] > 0)).sum(axis=2)
loss_ = mrr_at_10(Q_test @ P_all.T, gold) - mrr_at_10(-ham_, gold)
assert 0.0 < loss_ < 0.08, f"the text's claim about binary codes no longer holds: MRR@10 loss {loss_:.3f}"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-019", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Now the trade-off on our help desk: the base model's embeddings of all articles (`P_all`) and of the test questions
# (`Q_test`), from the Setup, searched each way. Binary codes are ranked by Hamming distance; int8 codes are compared
# after dequantising (calibrated on the articles). What to look for in the table: int8 costs next to nothing here,
# binary codes lose a few hundredths of MRR@10 for 32× less memory, and truncation costs more than either at the
# same size (96 d in float32 takes as many bytes as int8 at 384 d).

# %%
rows = [{"method": "float32, 384 d", "bytes": 4 * 384, "MRR@10": mrr_at_10(Q_test @ P_all.T, gold)}]
for d in (192, 96, 48, 24):
    rows.append({"method": f"truncated, {d} d", "bytes": 4 * d, "MRR@10": mrr_at_10(truncate(Q_test, d) @ truncate(P_all, d).T, gold)})
    rows.append({"method": f"truncated, {d} d, not renormalised", "bytes": 4 * d, "MRR@10": mrr_at_10(Q_test[:, :d] @ P_all[:, :d].T, gold)})
lo, hi = calibrate_int8(P_all)
rows.append({"method": "int8, 384 d", "bytes": 384, "MRR@10": mrr_at_10(
    dequantize_int8(quantize_int8(Q_test, lo, hi), lo, hi) @ dequantize_int8(quantize_int8(P_all, lo, hi), lo, hi).T, gold)})
rows.append({"method": "binary, 384 bits", "bytes": 48, "MRR@10": mrr_at_10(-hamming_distances(binarize(Q_test), binarize(P_all)), gold)})
cost = pd.DataFrame(rows)
print(cost.round(3).to_string(index=False))
# Renormalised minus not renormalised, with a 95% paired bootstrap interval over the 96 test questions.
boot = np.random.default_rng(0).integers(0, len(gold), size=(1000, len(gold)))
renorm = {}
for d in (192, 96, 48, 24):
    diff = np.array([mrr_at_10(truncate(Q_test[[i]], d) @ truncate(P_all, d).T, gold[[i]])
                     - mrr_at_10(Q_test[[i], :d] @ P_all[:, :d].T, gold[[i]]) for i in range(len(gold))])
    lo_ci, hi_ci = np.percentile(diff[boot].mean(axis=1), [2.5, 97.5])
    print(f"{d:4d} d: renormalising changes MRR@10 by {diff.mean():+.3f} (95% interval {lo_ci:+.3f} to {hi_ci:+.3f})")
    renorm[d] = (diff.mean(), lo_ci, hi_ci)
mrr_of = dict(zip(cost.method, cost["MRR@10"]))
full_mrr = mrr_of["float32, 384 d"]
ek.claim("renormalising changes MRR@10 little here, in both directions, each time within the noise",
         all(lo < 0 < hi for _, lo, hi in renorm.values()) and min(m for m, _, _ in renorm.values()) < 0 < max(m for m, _, _ in renorm.values()),
         "; ".join(f"{d} d: {m:+.3f} [{lo:+.3f}, {hi:+.3f}]" for d, (m, lo, hi) in renorm.items()))
ek.claim("MiniLM, not trained for truncation, degrades quickly: at 24 d it keeps less than half its MRR@10",
         mrr_of["truncated, 24 d"] < full_mrr / 2, f"{mrr_of['truncated, 24 d']:.3f} vs {full_mrr:.3f}")
ek.claim("int8 costs next to nothing (within 0.01 MRR@10)", abs(mrr_of["int8, 384 d"] - full_mrr) < 0.01,
         f"{mrr_of['int8, 384 d']:.3f} vs {full_mrr:.3f}")
ek.claim("binary codes lose a few hundredths of MRR@10 (between 0 and 0.08) for 32x less memory",
         0 < full_mrr - mrr_of["binary, 384 bits"] < 0.08, f"{mrr_of['binary, 384 bits']:.3f} vs {full_mrr:.3f}")
ek.claim("truncation costs more than int8 at the same size (96 d float32 vs int8 at 384 d, 384 bytes each)",
         mrr_of["truncated, 96 d"] < mrr_of["int8, 384 d"] - 0.05,
         f"{mrr_of['truncated, 96 d']:.3f} vs {mrr_of['int8, 384 d']:.3f}")
fig = px.scatter(cost, x="bytes", y="MRR@10", text="method", log_x=True, title="Bytes per vector against retrieval quality (test questions, base model)")
fig.update_traces(textposition="top center")
fig.show()


# %% [markdown] nbgrader={"grade": false, "grade_id": "matryoshka-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. Matryoshka training: short prefixes on purpose (3 points)
#
# Part 3 truncated a model that was never trained for it, and quality fell fast. **Matryoshka representation
# learning** (Kusupati et al., 2022) trains the model so that every prefix of the embedding is itself a good
# embedding, like nested dolls: the training loss is the base loss computed on each chosen prefix length $d$ (the
# first $d$ coordinates, renormalised), summed with weights $w_d$:
#
# $$\mathcal{L}_{\text{Matryoshka}} = \sum_{d \in \mathcal{D}} w_d\, \mathcal{L}_{\text{MNRL}}\big(\tilde a^{(d)}, \tilde p^{(d)}, \tilde n^{(d)}\big), \qquad \tilde x^{(d)} = \frac{x_{1:d}}{\lVert x_{1:d} \rVert}$$
#
# with $\mathcal{L}_{\text{MNRL}}$ the loss of part 2: for anchor $i$, the scores $s\cos(a_i, \cdot)$ against all $B$
# positives and all $B$ negatives of the batch, and the cross-entropy of picking column $i$, averaged over the
# batch. The gradient of the short prefixes pushes the most useful information into the first coordinates; the
# price is that the full-length embedding gets only part of the training signal.
#
# Write `matryoshka_mnrl`, the loss itself, on embeddings. The library's
# [`MatryoshkaLoss`](https://sbert.net/docs/package_reference/sentence_transformer/losses.html#matryoshkaloss),
# wrapped around `MultipleNegativesRankingLoss`, computes the same number (the cell after it checks that on a batch
# of real triplets) and does the bookkeeping of training. The course's Matryoshka model was trained with it on the
# same 128 triplets, seed and settings as part 2 (that recipe is part 2's answer with another loss, so the notebook does
# not show it: the grader trains the model, once), and we compare its measured scores with **truncating your plainly
# fine-tuned model of part 2**, renormalised (this part uses that model). Two renormalisations are easy to get wrong:
# normalise **after** cutting (a unit vector cut short is no longer unit length), and treat the anchors and the
# candidates alike.

# %% nbgrader={"grade": false, "grade_id": "matryoshka", "locked": false, "schema_version": 3, "solution": true, "task": false}
import torch.nn.functional as F


def matryoshka_mnrl(anchors, positives, negatives, dims, weights=None, scale=20.0):
    """Multiple negatives ranking loss summed over prefix lengths (Matryoshka).

    anchors, positives: torch tensors of shape (B, D), float32 or float64, rows of any length (not unit);
        row i of `positives` is anchor i's positive.
    negatives: torch tensor of shape (B, D) (row i: anchor i's hard negative) or None (in-batch negatives only).
    dims: sequence of ints, 1 <= d <= D, in any order. weights: sequence of floats, one per entry of dims
        (weights[k] goes with dims[k]), or None for weight 1 each. scale: float, s in the formula.
    For each d: keep the first d coordinates of every row, rescale each row to unit length, score anchor i against
    all B positives (then all B negatives, if given) with scale * cosine, and take the cross-entropy of picking
    positive i, averaged over the B anchors. Returns the weighted SUM over dims: a 0-d torch tensor that autograd
    can differentiate with respect to the inputs.
    """
    ### BEGIN SOLUTION
    weights = [1.0] * len(dims) if weights is None else weights
    labels = torch.arange(len(anchors), device=anchors.device)
    total = anchors.new_zeros(())
    for d, w in zip(dims, weights):
        candidates = positives if negatives is None else torch.cat([positives, negatives])
        a, c = F.normalize(anchors[:, :d], dim=1), F.normalize(candidates[:, :d], dim=1)
        total = total + w * F.cross_entropy(scale * a @ c.T, labels)
    return total
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-mat-demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
# First, your loss against the library's on a batch of 32 real triplets (the base model's embeddings). Then the
# Matryoshka model: a fresh copy of the base model, trained exactly like part 2's model but with
# `MatryoshkaLoss(model, MultipleNegativesRankingLoss(model), matryoshka_dims=[384, 128, 64, 32])`. Its MRR@10 on the
# test questions, truncated to 16-384 coordinates and renormalised, was measured when this notebook was written (seed
# 0; the grader trains the same model and its hidden test compares it with yours). Your fine-tuned model of part 2 is
# truncated the same way here (your `truncate` of part 3) and searched with the test questions.

# %%
tokens = lambda i: base_model.preprocess([t[i] for t in train_subset[:32]])  # noqa: E731  column i of the batch
library_loss = MatryoshkaLoss(base_model, MultipleNegativesRankingLoss(base_model), matryoshka_dims=mat_dims)
with torch.no_grad():
    want_loss = float(library_loss([tokens(i) for i in range(3)], None))
    a_, p_, n_ = (base_model(tokens(i))["sentence_embedding"] for i in range(3))
    your_loss = float(matryoshka_mnrl(a_, p_, n_, mat_dims))
print(f"on 32 training triplets: your loss {your_loss:.4f}, the library's MatryoshkaLoss {want_loss:.4f}")

# The Matryoshka model's MRR@10 at each length (the Setup's mat_mrr: measured with seed 0 when this notebook was
# written, on these 96 test questions against all 160 articles), and your fine-tuned model's, truncated here (part 2
# encoded it: P_tuned, Q_tuned).
plain_mrr = {d: mrr_at_10(truncate(Q_tuned, d) @ truncate(P_tuned, d).T, gold) for d in mat_mrr}
by_dim = pd.DataFrame([{"model": "fine-tuned, then truncated", "dims": d, "MRR@10": m} for d, m in plain_mrr.items()]
                      + [{"model": "Matryoshka-trained (measured)", "dims": d, "MRR@10": m} for d, m in mat_mrr.items()])
table_mat = by_dim.pivot(index="dims", columns="model", values="MRR@10")
print(table_mat.round(3))
fig = px.line(by_dim, x="dims", y="MRR@10", color="model", markers=True, log_x=True,
              title="Retrieval quality against the number of coordinates kept (test questions)")
fig.show()

# %%
# Matryoshka (measured) minus your plain model (this run), at each length.
mat_gap = {d: mat_mrr[d] - plain_mrr[d] for d in (32, 64, 128, 384)}
for d, gap_d in mat_gap.items():
    print(f"{d:4d} d: Matryoshka minus plain {gap_d:+.3f} MRR@10")
gap_text = lambda *ds: "; ".join(f"{d} d: {mat_gap[d]:+.3f}" for d in ds)  # noqa: E731
ek.claim("at 32 and 64 coordinates the Matryoshka model retrieves clearly better than the truncated plain model "
         "(by more than 0.03 and 0.02 MRR@10)", mat_gap[32] > 0.03 and mat_gap[64] > 0.02, gap_text(32, 64))
ek.claim("at 128 coordinates the two are about even (within 0.05 MRR@10)", abs(mat_gap[128]) < 0.05, gap_text(128))
ek.claim("at the full 384 coordinates the Matryoshka model is worse", mat_gap[384] < 0, gap_text(384))

# %% nbgrader={"grade": true, "grade_id": "test_matryoshka", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from embedkit.checks import value_and_grad
from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss  # the library's, as a check

g_mat = torch.Generator().manual_seed(13)
lengths = torch.tensor([[0.5], [3.0], [1.0], [8.0]], dtype=torch.float64)  # rows of very different lengths
a_t, p_t, n_t = (torch.randn(4, 6, generator=g_mat, dtype=torch.float64) * lengths for _ in range(3))
got = assert_scalar(matryoshka_mnrl(a_t, p_t, n_t, [6, 2]), "matryoshka_mnrl(4 triplets, 6 coordinates, dims=[6, 2])")
# The formula above, worked out once on these 4 triplets (dims [6, 2], scale 20, weight 1 each): 27.6955.
assert_close(got, 27.695482, "matryoshka_mnrl(4 triplets of 6 coordinates, dims=[6, 2])", rtol=1e-4,
             hint="for each d: the FIRST d coordinates, renormalised AFTER cutting; scale * cosine against all positives, "
                  "then all negatives; cross-entropy of the anchor's own positive, MEAN over anchors; SUM over dims")
# Properties: a longer row points the same way, so scaling rows changes nothing; the two dims add up.
assert_close(matryoshka_mnrl(a_t * 7.0, p_t, n_t * 0.1, [6, 2]), got, "matryoshka_mnrl with every anchor 7 times longer and "
             "every negative 10 times shorter", rtol=1e-4, hint="renormalise each row (after cutting): only directions count")
parts_t = [assert_scalar(matryoshka_mnrl(a_t, p_t, n_t, [d]), f"matryoshka_mnrl(dims=[{d}])") for d in (6, 2)]
assert_close(sum(parts_t), got, "matryoshka_mnrl(dims=[6]) + matryoshka_mnrl(dims=[2]) against dims=[6, 2]", rtol=1e-4,
             hint="the loss over several dims is the SUM of the loss at each (weight 1 each by default)")
# Against the library: sentence-transformers' MatryoshkaLoss(MultipleNegativesRankingLoss) on the tiny model's embeddings.
toy_batch = [("kbs build stuck", "Kestrel: builds.", "Marlin: quotas."), ("mdp perms", "Marlin: access.", "Heron: access."),
             ("hgw latency", "Heron: latency.", "Kestrel: latency.")]
toy_tokens = lambda i: tiny_untrained.preprocess([t[i] for t in toy_batch])  # noqa: E731
with torch.no_grad():
    lib_loss = float(MatryoshkaLoss(tiny_untrained, MultipleNegativesRankingLoss(tiny_untrained), [16, 8, 4])(
        [toy_tokens(i) for i in range(3)], None))
    toy_emb = [tiny_untrained(toy_tokens(i))["sentence_embedding"] for i in range(3)]
assert_close(matryoshka_mnrl(*toy_emb, [16, 8, 4]), lib_loss, "matryoshka_mnrl against the library's MatryoshkaLoss "
             "(tiny model, 3 triplets, dims [16, 8, 4])", rtol=1e-4, hint="the library's scale is 20 and it SUMS over dims")
### BEGIN HIDDEN TESTS
a_h, p_h, n_h = (torch.randn(7, 12, generator=g_mat, dtype=torch.float64) * torch.rand(7, 1, generator=g_mat, dtype=torch.float64) * 5
                 + 0.01 for _ in range(3))
cases = [((a_h.float(), p_h.float(), n_h.float(), [12, 6, 3]), {}, "float32, three dims from the full size down"),
         ((a_h, p_h, n_h, [3, 12, 6]), {}, "dims in no particular order"),
         ((a_h, p_h, None, [12, 5]), {}, "negatives=None (in-batch negatives only)"),
         ((a_h, p_h, n_h, [12, 6, 3]), {"weights": [1.0, 0.5, 2.0]}, "unequal weights, three dims"),
         ((a_h, p_h, n_h, [3, 12]), {"weights": [2.0, 0.25]}, "unequal weights, two dims in increasing order"),
         ((a_h, p_h, n_h, [8]), {"scale": 1.0}, "scale=1, one dim"),
         ((a_h[:1], p_h[:1], n_h[:1], [1, 12]), {}, "one triplet, dims down to 1")]
for args_h, kw_h, what in cases:
    want = ref_matryoshka(*args_h, **kw_h)
    assert_close(assert_scalar(matryoshka_mnrl(*args_h, **kw_h), f"matryoshka_mnrl({what})"), want,
                 f"matryoshka_mnrl({what})", rtol=1e-4, hint="weights[k] goes with dims[k]; truncate, THEN renormalise; "
                 "negatives are extra columns of candidates; mean over anchors, weighted sum over dims", reveal=False)
# Differentiable, with the gradient of the formula.
val, grads = value_and_grad(matryoshka_mnrl, a_h[:4], p_h[:4], n_h[:4], wrt=[0, 1, 2], dims=[12, 4])
ref_in = [x[:4].clone().requires_grad_(True) for x in (a_h, p_h, n_h)]
unit_ = lambda M, d: M[:, :d] / M[:, :d].norm(dim=1, keepdim=True)  # noqa: E731
ref_val = sum(torch.nn.functional.cross_entropy(20.0 * unit_(ref_in[0], d) @ unit_(torch.cat(ref_in[1:]), d).T, torch.arange(4))
              for d in (12, 4))
ref_val.backward()
for name_g, got_g, ref_g in zip(("anchors", "positives", "negatives"), grads, ref_in):
    assert_close(got_g, ref_g.grad, f"gradient of matryoshka_mnrl with respect to the {name_g}", rtol=1e-3, atol=1e-6,
                 hint="stay in torch (no numpy, .item() or .detach()) so that training can back-propagate", reveal=False)
### END HIDDEN TESTS


# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-mat-read", "locked": true, "schema_version": 3, "solution": false, "task": false}
# What the numbers say (the claims above check each sentence against your model of this run and the Matryoshka
# model's measured scores; with 96 questions, read differences of a few hundredths as noise): at 32 and 64
# coordinates the Matryoshka model retrieves clearly better than the plainly fine-tuned one cut to the same length;
# at 128 they are about even; at the full 384 it is *worse*. With four training steps, the full length got a quarter of the loss,
# while the plain model spent all of it there: Matryoshka training is a trade, bought here with full-length
# quality. When this notebook was written, training both models with seeds 0, 1 and 2 gave the same picture every
# time: Matryoshka ahead by 0.07 to 0.11 MRR@10 at 32 d and by 0.06 to 0.07 at 64 d, 0.02 behind to 0.00 ahead at
# 128 d, and 0.08 to 0.12 behind at 384 d. Longer training (and weights $w_d$ that favour the full length) narrow
# the full-length gap; the point here is the shape of the curves.

# %% [markdown] nbgrader={"grade": false, "grade_id": "models-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. Choosing an embedding model (3 points)
#
# Leaderboards such as MTEB (Muennighoff et al., 2023) score models on many tasks; what matters for *you* is how
# they do on **your** tasks, at a cost you can pay. We compare three models on three small tasks of this course:
#
# | task | data | metric |
# |---|---|---|
# | retrieval | the 96 test questions (seen templates, split `test`) against all 160 articles | MRR@10 (`mrr_at_10` of the Setup) |
# | similarity | 01's 60 sentence pairs with graded scores 0–5 | Spearman's $\rho$ between cosine and score |
# | clustering | the same 96 test questions, grouped by the system they ask about | V-measure of $k$-means with $k$ = number of groups |
#
# and the costs: **dimensions**, **bytes per vector** (float32: $4d$), **parameters** and **encoding speed**
# (texts per second). Spearman's $\rho$ is the correlation of the *ranks*: it asks only whether more similar pairs
# get higher cosines, not whether the relation is linear. The V-measure is the harmonic mean of homogeneity (each
# cluster holds one group) and completeness (each group sits in one cluster), 1 for a perfect match, near 0 for
# chance; it does not care which cluster number a group gets.
#
# Not every model returns unit vectors (GloVe averages do not), so compare by **cosine**: normalise every
# embedding before scoring, clustering included. Write `evaluate_model`; it uses the library for the metrics.

# %% nbgrader={"grade": false, "grade_id": "models", "locked": false, "schema_version": 3, "solution": true, "task": false}
from scipy.stats import spearmanr
from sklearn.cluster import KMeans
from sklearn.metrics import v_measure_score


def evaluate_model(encode, tasks):
    """Scores and costs of one embedding model on the course's tasks.

    encode: function, list of n str -> array of shape (n, d) (float32 or float64; rows need NOT be unit length).
    tasks: dict with three entries:
        "retrieval": (questions, corpus, gold): lists of str; gold: sequence of ints, gold[i] = the index in
            `corpus` of the text relevant to questions[i];
        "similarity": (sentences1, sentences2, scores): pair i is (sentences1[i], sentences2[i]), scores[i] its
            gold similarity;
        "clustering": labels, a list with one label (str or int) per question of the retrieval task: the
            group of questions[i].
    Every comparison uses the cosine (normalise the rows first). Returns a dict:
        "retrieval": MRR@10 of the questions against the corpus ranked by cosine (use the Setup's mrr_at_10);
        "similarity": Spearman's rho between the pairs' cosines and the gold scores (scipy.stats.spearmanr);
        "clustering": sklearn's v_measure_score(labels, predicted) for KMeans(n_clusters=<number of distinct
            labels>, n_init=10, random_state=0) fitted on the unit-length embeddings of the questions;
        "dims": d (int); "bytes_per_vector": bytes of one float32 vector (int);
        "texts_per_second": len(corpus) / the seconds taken by the one call encode(corpus), timed with
            time.perf_counter().
    Call encode exactly once per list of texts: questions, corpus, sentences1, sentences2 (a model is expensive).
    """
    ### BEGIN SOLUTION
    def unit(texts):
        X = np.asarray(encode(list(texts)), dtype=np.float64)
        return X / np.linalg.norm(X, axis=1, keepdims=True)

    questions, corpus, gold = tasks["retrieval"]
    Q = unit(questions)
    start = time.perf_counter()
    P = unit(corpus)
    seconds = time.perf_counter() - start
    s1, s2, scores = tasks["similarity"]
    cosines = np.sum(unit(s1) * unit(s2), axis=1)
    labels = tasks["clustering"]
    predicted = KMeans(n_clusters=len(set(labels)), n_init=10, random_state=0).fit_predict(Q)
    return {"retrieval": mrr_at_10(Q @ P.T, np.asarray(gold)), "similarity": float(spearmanr(cosines, scores)[0]),
            "clustering": float(v_measure_score(labels, predicted)), "dims": int(P.shape[1]),
            "bytes_per_vector": 4 * int(P.shape[1]), "texts_per_second": len(corpus) / seconds}
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-models-demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The three models: all-MiniLM-L6-v2 as shipped, your fine-tuned copy of part 2, and averaged GloVe word vectors
# (`glove_average` of the Setup: no training, no context). We looked for a second genuine pretrained sentence
# encoder that ships offline through pip (a bge-small or an all-mpnet-base-v2 package, say) and found none whose
# weights we could verify against the publisher's checksums (`data/README.md` says what was checked), so the
# comparison stays within what we can vouch for. Parameters count every weight the model needs at query time (for
# GloVe, its whole 400,000-word table).

# %%
encoders = {"MiniLM (as shipped)": (base_model, lambda t: base_model.encode(t, batch_size=64)),
            "MiniLM fine-tuned (part 2)": (tuned_model, lambda t: tuned_model.encode(t, batch_size=64)),
            "GloVe average": (None, glove_average)}
model_rows = []
for name, (model, encode) in encoders.items():
    params = sum(p.numel() for p in model.parameters()) if model is not None else glove.vectors.size
    model_rows.append({"model": name, **evaluate_model(encode, course_tasks), "parameters": params})
models_table = pd.DataFrame(model_rows).set_index("model")
print(models_table.round(3).to_string())
base_r, tuned_r, glove_r = (models_table.loc[m] for m in encoders)
gains = {t: tuned_r[t] - base_r[t] for t in ("retrieval", "similarity", "clustering")}
ek.claim("fine-tuning on the help desk helps its retrieval far more (by 0.1 or more) than the two other tasks",
         gains["retrieval"] > max(gains["similarity"], gains["clustering"]) + 0.1, ", ".join(f"{t} {g:+.3f}" for t, g in gains.items()))
ek.claim("GloVe averaging encodes over 50 times faster than MiniLM but trails it by more than 0.15 on every task",
         glove_r.texts_per_second > 50 * base_r.texts_per_second
         and all(glove_r[t] < base_r[t] - 0.15 for t in ("retrieval", "similarity", "clustering")),
         f"{glove_r.texts_per_second:,.0f} vs {base_r.texts_per_second:,.0f} texts/s; "
         + ", ".join(f"{t} {glove_r[t]:.3f} vs {base_r[t]:.3f}" for t in ("retrieval", "similarity", "clustering")))
ek.claim("GloVe has about as many parameters as MiniLM (within 20%): parameters alone say little about speed",
         0.8 < glove_r.parameters / base_r.parameters < 1.2, f"{glove_r.parameters:,.0f} vs {base_r.parameters:,.0f}")
fig = px.scatter(models_table.reset_index().melt(id_vars=["model", "texts_per_second"], value_vars=["retrieval", "similarity", "clustering"],
                                                  var_name="task", value_name="score"),
                 x="texts_per_second", y="score", color="model", symbol="task", log_x=True,
                 title="Quality against encoding speed (one CPU thread here; faster is right)",
                 labels={"texts_per_second": "texts encoded per second (log scale)"})
fig.show()

# %% nbgrader={"grade": true, "grade_id": "test_models", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def toy_tasks(seed, d, n_groups, per, n_c, n_pairs):
    """Made-up texts ("q0", "c3", ...) with known vectors of very different lengths, and an encoder that looks them
    up and takes 4 ms per text. Returns (tasks, encode, calls): calls logs the length of every list encoded."""
    rng, vec, calls = np.random.default_rng(seed), {}, []

    def named(prefix, M):
        names = [f"{prefix}{i}" for i in range(len(M))]
        vec.update(zip(names, M))
        return names

    group = rng.permutation(np.repeat(np.arange(n_groups), per))  # questions differ in direction by group, and in length
    Q = (3 * np.eye(d)[group] + 0.5 * rng.normal(size=(len(group), d))) * rng.choice([0.2, 6.0], size=(len(group), 1))
    C = rng.normal(size=(n_c, d)) * rng.choice([0.3, 4.0], size=(n_c, 1))  # short and long articles
    cos_qc = (Q / np.linalg.norm(Q, axis=1, keepdims=True)) @ (C / np.linalg.norm(C, axis=1, keepdims=True)).T
    gold_t = np.argsort(-cos_qc, axis=1)[np.arange(len(Q)), rng.integers(0, 3, size=len(Q))]  # among the top 3 by cosine
    A = rng.normal(size=(n_pairs, d))
    B = (A + rng.normal(size=(n_pairs, d)) * np.linspace(0.1, 2.0, n_pairs)[:, None]) * rng.uniform(0.2, 5.0, size=(n_pairs, 1))
    cos = np.sum(A * B, axis=1) / np.linalg.norm(A, axis=1) / np.linalg.norm(B, axis=1)
    tasks = {"retrieval": (named("q", Q), named("c", C), gold_t),
             "similarity": (named("a", A), named("b", B), np.exp(4 * cos)),  # monotone in the cosine, not linear
             "clustering": [f"group {g}" for g in group]}

    def encode(texts):
        calls.append(len(texts))
        time.sleep(0.004 * len(texts))
        return np.stack([vec[t] for t in texts])

    return tasks, encode, calls


def check_evaluate(got, want, what, reveal=True):
    """evaluate_model's result `got` on a toy task against the expected values `want` (a dict of the five scores and
    sizes); reveal=False (hidden tests) leaves the values out of messages."""
    assert isinstance(got, dict) and set(want) | {"texts_per_second"} <= set(got), (
        f"evaluate_model({what}) should return a dict with the keys retrieval, similarity, clustering, dims, "
        f"bytes_per_vector, texts_per_second; got {sorted(got) if isinstance(got, dict) else type(got).__name__}")
    hints = {"retrieval": "rank the corpus by COSINE (normalise the rows: the articles have very different lengths)",
             "similarity": "Spearman's rho (ranks), not Pearson's r, of the pairs' COSINES against the gold scores",
             "clustering": "KMeans with as many clusters as DISTINCT labels, on the UNIT-length question embeddings; v_measure_score(labels, predicted)",
             "dims": "the number of columns of the embeddings", "bytes_per_vector": "4 bytes per float32 coordinate"}
    for key, hint in hints.items():
        assert_close(assert_scalar(got[key], f"evaluate_model({what})[{key!r}]"), want[key],
                     f"evaluate_model({what})[{key!r}]", rtol=1e-4, atol=1e-6, hint=hint, reveal=reveal)
    rate = assert_scalar(got["texts_per_second"], f"evaluate_model({what})['texts_per_second']")
    assert 60 < rate < 260, (
        f"evaluate_model({what})['texts_per_second'] = {rate:.4g}; this encoder takes 4 ms per text, so about 250 "
        "texts per second (less the time of the calls): len(corpus) divided by the seconds of the call encode(corpus) alone")


tasks_0, encode_0, _ = toy_tasks(0, 3, 3, 6, 8, 10)
# The docstring's recipe, worked out once on this toy task: MRR@10 31/54; the gold scores grow with the cosine, so
# Spearman's rho is exactly 1; the three groups point along three axes, so k-means on unit rows finds them.
want_0 = {"retrieval": 0.574074, "similarity": 1.0, "clustering": 1.0, "dims": 3, "bytes_per_vector": 12}
check_evaluate(evaluate_model(encode_0, tasks_0), want_0, "3-d toy encoder: 18 questions in 3 groups of 6, 8 articles, 10 pairs")
### BEGIN HIDDEN TESTS
for toy_h, what_h in (((1, 5, 4, 5, 20, 25), "another toy encoder, questions in several groups"),
                      ((2, 7, 2, 9, 40, 8), "a toy encoder with more articles than questions"),
                      # Many questions, few articles: a timer that also runs over the questions is far off here.
                      ((4, 4, 4, 10, 6, 5), "a toy encoder with many questions and few articles")):
    tasks_h, encode_h, _ = toy_tasks(*toy_h)
    check_evaluate(evaluate_model(encode_h, tasks_h), ref_evaluate(encode_h, tasks_h), what_h, reveal=False)
# Labels that no direction of the questions follows: the partition k-means finds then depends on its starts, so the
# docstring's KMeans(n_init=10, random_state=0) decides the clustering score.
for toy_k in ((6, 3, 2, 20, 8, 10), (9, 5, 3, 12, 10, 10)):
    tasks_k, encode_k, _ = toy_tasks(*toy_k)
    tasks_k["clustering"] = [int(x) for x in np.random.default_rng(toy_k[0] + 1).integers(0, 5, size=len(tasks_k["clustering"]))]
    assert_close(assert_scalar(evaluate_model(encode_k, tasks_k)["clustering"], "evaluate_model(...)['clustering']"),
                 ref_evaluate(encode_k, tasks_k)["clustering"], "evaluate_model's clustering score for labels k-means cannot find",
                 rtol=1e-4, hint="KMeans(n_clusters=<number of distinct labels>, n_init=10, random_state=0), as the docstring "
                                 "says: other starts find other partitions here", reveal=False)
# Each list is encoded once (a model is expensive), and the gold list of a task can come as a list.
tasks_l, encode_l, calls_l = toy_tasks(3, 4, 3, 4, 10, 12)
tasks_l["retrieval"] = (tasks_l["retrieval"][0], tasks_l["retrieval"][1], [int(g) for g in tasks_l["retrieval"][2]])
got_l = evaluate_model(encode_l, tasks_l)
assert sorted(calls_l) == [10, 12, 12, 12], (
    f"encode was called {len(calls_l)} times: call it once per list (the questions, the articles, each side of the "
    "similarity pairs); the questions are clustered as they were encoded for retrieval")
assert_close(got_l["retrieval"], ref_evaluate(encode_l, tasks_l)["retrieval"], "evaluate_model(gold given as a list)", rtol=1e-6,
    reveal=False)
### END HIDDEN TESTS


# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-models-read", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Reading the table (each sentence is checked above): fine-tuning on the help desk pays off on its retrieval and
# much less, if at all, on general sentence similarity and on grouping the questions — a model adapted to one task
# is not better at everything. GloVe averages are over 50 times faster and their vectors 7.7 times smaller, but they
# trail on every task; note that GloVe has about as many parameters as MiniLM (its 400,000-word table), so the
# parameter count alone does not tell you the speed: a table lookup costs nothing, a transformer layer a lot. The
# speeds are one CPU thread on this machine and vary from run to run; compare their order of magnitude. With 96
# questions and 60 pairs, differences of a few hundredths are within the noise (part 2 shows the interval for
# retrieval): choose on large differences, on your own data.

# %% [markdown] nbgrader={"grade": false, "grade_id": "pca-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6. PCA from scratch (3 points)
#
# Principal component analysis finds the orthogonal directions of largest variance. Centre the data,
# $X_c = X - \bar x$, and take its thin singular value decomposition $X_c = U \Sigma V^\top$. The rows of $V^\top$ are
# the principal directions, the projection onto the first $k$ is $Z = X_c V_{:, :k} = U_{:, :k}\Sigma_{:k}$, and
# the share of variance each direction explains is
#
# $$\text{ratio}_i = \frac{\sigma_i^2}{\sum_j \sigma_j^2}$$
#
# (the sum runs over **all** singular values, not just the $k$ kept). Without centring, the first "component"
# points at the mean of the data instead of along its spread. Signs are arbitrary: $v$ and $-v$ are the same
# direction, so results are compared with scikit-learn up to sign.

# %% nbgrader={"grade": false, "grade_id": "pca", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pca(X, k):
    """Principal component analysis by SVD of the centred data.

    X: array of shape (n, D), left unchanged (centre a copy); k: int, 1 <= k <= min(n, D).
    Returns: (Z, components, ratio):
      Z: np.ndarray (n, k), the centred data projected on the first k components;
      components: np.ndarray (k, D), unit-length principal directions, largest variance first;
      ratio: np.ndarray (k,), the fraction of the total variance each of them explains.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0)
    U, S, Vt = np.linalg.svd(Xc, full_matrices=False)
    return Xc @ Vt[:k].T, Vt[:k], S[:k] ** 2 / np.sum(S ** 2)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_pca", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def same_up_to_sign(got, want, name, axis, reveal=True):
    got, want = as_array(got, name, shape=np.shape(want)), np.asarray(want)
    signs = np.sign(np.sum(got * want, axis=axis, keepdims=True))
    assert_close(got * signs, want, name, rtol=1e-3, atol=1e-4 * np.abs(want).max(),
                 hint="each component is defined up to its sign; centre the data first", reveal=reveal)


# Four points you can work out by hand: centred, they lie on the axes, twice as far out along x as along y.
X_toy = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 1.0], [0.0, -1.0]]) + np.array([3.0, -1.0])
Z, C, r = pca(X_toy, 2)
same_up_to_sign(C, np.eye(2), "components of the four points", axis=1)
same_up_to_sign(Z, X_toy - X_toy.mean(axis=0), "projection Z of the four points (centre first!)", axis=0)
assert_close(r, [0.8, 0.2], "explained variance ratio of the four points (sums of squares 8 and 2)", rtol=1e-4,
             hint="sigma_i^2 over the sum of ALL sigma_j^2 (not only the k kept), of the centred data")
# Properties on correlated data: orthonormal directions, Z is the centred data on them, ratios fall and sum below 1.
rng = np.random.default_rng(7)
X_cor = rng.normal(size=(30, 5)) @ np.diag([5.0, 2.0, 1.0, 0.5, 0.1]) @ rng.normal(size=(5, 5)) + 3.0
Z, C, r = pca(X_cor, 3)
C = as_array(C, "components", shape=(3, 5))
assert_close(C @ C.T, np.eye(3), "components @ components.T (unit length, orthogonal)", atol=1e-5)
assert_close(as_array(Z, "Z", shape=(30, 3)), (X_cor - X_cor.mean(axis=0)) @ C.T, "Z against (X - mean) @ components.T",
             rtol=1e-4, atol=1e-5)
r = as_array(r, "ratio", shape=(3,))
assert np.all(np.diff(r) <= 1e-12) and r.sum() < 1.0, f"ratios should fall and sum below 1 for k < D, got {r.round(4)}"
### BEGIN HIDDEN TESTS
from sklearn.decomposition import PCA

X_toy = rng.normal(size=(30, 5)) @ np.diag([5.0, 2.0, 1.0, 0.5, 0.1]) + np.array([3.0, -1.0, 0.5, 2.0, 1.0])
Z, C, r = pca(X_toy, 2)
ref = PCA(2, svd_solver="full").fit(X_toy)
same_up_to_sign(C, ref.components_, "components of 30 points in 5-D", axis=1, reveal=False)
same_up_to_sign(Z, ref.transform(X_toy), "projection of 30 points in 5-D (centre first!)", axis=0, reveal=False)
assert_close(r, ref.explained_variance_ratio_, "explained variance ratio of 30 points in 5-D", rtol=1e-4, reveal=False)
# 501 points in 60-D with a flat spectrum: only an exact SVD (or eigendecomposition) gets these components; a
# randomized one (scikit-learn's PCA picks it here by default) is off by about 0.05.
X_flat = rng.normal(size=(501, 60)) + 5.0
_, S_f, Vt_f = np.linalg.svd(X_flat - X_flat.mean(axis=0), full_matrices=False)
Z, C, r = pca(X_flat, 5)
same_up_to_sign(C, Vt_f[:5], "components of 501 points in 60-D with a flat spectrum", axis=1, reveal=False)
assert_close(r, S_f[:5] ** 2 / np.sum(S_f ** 2), "ratio of 501 points in 60-D with a flat spectrum", rtol=1e-6,
             hint="the exact SVD of the centred data: an approximate (randomized) decomposition is not PCA from scratch",
             reveal=False)
X_off = rng.normal(size=(40, 6)) @ rng.normal(size=(6, 6)) + 100.0  # far from the origin, correlated
for k_h, what_h in ((3, "k < D"), (1, "k = 1"), (6, "k = D")):
    Z, C, r = pca(X_off.astype(np.float32), k_h)
    ref = PCA(k_h, svd_solver="full").fit(X_off)
    same_up_to_sign(C, ref.components_, f"components ({what_h}) of data far from the origin (centre first!)", axis=1, reveal=False)
    same_up_to_sign(Z, ref.transform(X_off), f"projection ({what_h}) of data far from the origin (centre first!)", axis=0, reveal=False)
    assert_close(r, ref.explained_variance_ratio_, f"ratio ({what_h}), data far from the origin", rtol=1e-3,
                 hint="sigma_i^2 over the sum of ALL sigma_j^2, of the centred data", reveal=False)
assert not call_tracking(pca, X_off, 2).changed, "pca(X, 2) changed X itself (centred in place?): centre a copy, Xc = X - X.mean(axis=0)"
X_wide = rng.normal(size=(8, 20)) * np.linspace(3.0, 0.5, 20)  # fewer points than dimensions
Z, C, r = pca(X_wide, 4)
ref = PCA(4, svd_solver="full").fit(X_wide)
same_up_to_sign(C, ref.components_, "components when n < D", axis=1, reveal=False)
same_up_to_sign(Z, ref.transform(X_wide), "projection when n < D", axis=0, reveal=False)
assert_close(r, ref.explained_variance_ratio_, "ratio when n < D", rtol=1e-3, reveal=False)
assert_close(np.linalg.norm(as_array(C, "components"), axis=1), np.ones(4), "component lengths", rtol=1e-4, reveal=False)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-024", "locked": true, "schema_version": 3, "solution": false, "task": false}
# How many directions does the model really use on our knowledge base? The curve below is the cumulative share
# of variance of the first 50 principal components of `X_vis`. The variance is spread thin: the first two
# components, all a PCA scatter plot can show, hold under a quarter of it.

# %%
# X_vis (Setup): the 160 articles and the 96 test questions, embedded by the base model
labels = pd.DataFrame({"system": passages.system.tolist() + test_q.pid.map(dict(zip(passages.pid, passages.system))).tolist(),
                       "kind": ["article"] * len(passages) + ["test question"] * len(test_q),
                       "text": passages.text.str[:80].tolist() + test_q.text.tolist()})
_, _, ratio_all = pca(X_vis.copy(), 50)  # a copy: part 7 projects X_vis itself
print(f"the first 2 components explain {np.sum(ratio_all[:2]):.0%} of the variance, the first 10 {np.sum(ratio_all[:10]):.0%}, "
      f"the first 50 {np.sum(ratio_all):.0%}")
ek.claim("two principal components hold under a quarter of the variance: a 2-D PCA picture shows little of the structure",
         np.sum(ratio_all[:2]) < 0.25, f"{np.sum(ratio_all[:2]):.0%}")
fig = px.line(x=np.arange(1, 51), y=np.cumsum(ratio_all), markers=True, title=f"PCA of {len(X_vis)} help-desk embeddings",
              labels={"x": "number of components", "y": "cumulative explained variance"})
fig.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "proj-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 7. t-SNE, UMAP, and how honest is a 2-D picture? (4 points)
#
# PCA is linear: it keeps the large-scale geometry and crushes everything else. **t-SNE** (van der Maaten & Hinton)
# and **UMAP** (McInnes et al.) are non-linear: they place points so that each point's *nearest neighbours*
# stay near. Both are stochastic; fix the seed (`random_state`) — and know that UMAP can still vary between runs
# and machines (parallel threads), so conclusions must not hinge on one picture.
#
# **What they do not preserve:** distances *between* clusters, cluster sizes and densities. Two clusters far apart
# in a t-SNE plot need not be far apart in the embedding; a tight cluster need not be a tight group. Read
# neighbourhoods, not the map.
#
# We can measure what a projection keeps: the **neighbourhood preservation** at $k$ is the average share of each
# point's $k$ nearest neighbours (Euclidean distance, the point itself excluded) in the original space that are
# also among its $k$ nearest neighbours in the projection:
#
# $$\text{NP}_k = \frac{1}{n}\sum_{i=1}^{n} \frac{|N_k^{\text{high}}(i) \cap N_k^{\text{low}}(i)|}{k}$$
#
# A point is at distance 0 from itself: counting it as its own neighbour adds a free match to every point.
#
# Write `neighbourhood_preservation`, and `project_2d`, which returns a 2-D projection by scikit-learn's `PCA`
# (which you checked yours against), its `TSNE` (`init="pca"`, `random_state=seed`) or umap-learn's `UMAP`
# (`random_state=seed`).

# %% nbgrader={"grade": false, "grade_id": "projection", "locked": false, "schema_version": 3, "solution": true, "task": false}
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
import umap


def neighbourhood_preservation(X_high, X_low, k=10):
    """Average overlap of the k nearest neighbours of each point before and after a projection.

    X_high: array of shape (n, D); X_low: array of shape (n, d), row i the same point; k: int, 1 <= k < n.
    Neighbours by Euclidean distance, a point never counting as its own neighbour (another point at distance 0,
    a duplicate, does count).
    Returns: float in [0, 1], the mean over points of |common neighbours| / k.
    """
    ### BEGIN SOLUTION
    def knn(X):
        X = np.asarray(X, dtype=np.float64)
        sq = (X ** 2).sum(axis=1)
        D = sq[:, None] + sq[None, :] - 2 * X @ X.T
        np.fill_diagonal(D, np.inf)
        return np.argsort(D, axis=1)[:, :k]

    high, low = knn(X_high), knn(X_low)
    return float(np.mean([len(set(h) & set(l)) / k for h, l in zip(high, low)]))
    ### END SOLUTION


def project_2d(X, method, seed=0):
    """A 2-D projection of X.

    X: array of shape (n, D), n > 90; method: "pca" (sklearn PCA), "tsne" (sklearn TSNE, init="pca",
    random_state=seed, other arguments at their defaults) or "umap" (umap.UMAP, random_state=seed, other
    arguments at their defaults; n_jobs=1 is allowed: a seed forces one thread anyway, and saying so silences
    UMAP's warning about it); seed: int.
    Returns: np.ndarray of shape (n, 2). Raises ValueError for any other method.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float32)
    if method == "pca":
        return PCA(n_components=2).fit_transform(X)
    if method == "tsne":
        return TSNE(n_components=2, init="pca", random_state=seed, perplexity=30).fit_transform(X)
    if method == "umap":
        return umap.UMAP(n_components=2, random_state=seed, n_neighbors=15, n_jobs=1).fit_transform(X)
    raise ValueError(f"unknown method {method!r}")
    ### END SOLUTION


# %%
projections = {m: np.asarray(project_2d(X_vis, m, seed=0)) for m in ("pca", "tsne", "umap")}
preservation = {m: neighbourhood_preservation(X_vis, Y, k=10) for m, Y in projections.items()}
print({m: round(v, 3) for m, v in preservation.items()})
ek.claim("t-SNE and UMAP keep clearly more of each point's 10 nearest neighbours than PCA (by 0.1 or more)",
         min(preservation["tsne"], preservation["umap"]) > preservation["pca"] + 0.1, str({m: round(v, 3) for m, v in preservation.items()}))
frames = [labels.assign(x=Y[:, 0], y=Y[:, 1], method=f"{m} (NP@10 = {preservation[m]:.2f})") for m, Y in projections.items()]
fig = px.scatter(pd.concat(frames), x="x", y="y", color="system", symbol="kind", facet_col="method", hover_data=["text"],
                 title=f"The same {len(X_vis)} embeddings, three projections", height=450)
fig.update_xaxes(matches=None, showticklabels=False); fig.update_yaxes(matches=None, showticklabels=False)
fig.show()

# %% nbgrader={"grade": true, "grade_id": "test_preservation", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
X_same = np.random.default_rng(8).normal(size=(30, 5))
assert_close(neighbourhood_preservation(X_same, X_same * 3.0, k=5), 1.0, "a rescaled copy keeps every neighbourhood")
# Four points whose neighbours are known: in the projection every nearest neighbour changes.
quad_high = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0], [1.0, 3.1]])  # nearest: a-b, b-a, c-d, d-c
quad_low = np.array([[0.0], [5.0], [0.4], [5.5]])  # nearest: a-c, b-d, c-a, d-b
assert_close(neighbourhood_preservation(quad_high, quad_low, k=1), 0.0, "NP@1 when every nearest neighbour changes",
             hint="a point is at distance 0 from itself: exclude it from its own neighbours, or every point gets a free "
                  "match; and use Euclidean distance (here cosine gives other neighbours)")
### BEGIN HIDDEN TESTS
assert_close(neighbourhood_preservation(quad_high, quad_low, k=2), 0.75, "NP@2 of the four-point example",
             hint="exclude each point from its own neighbours; divide the overlap by k", reveal=False)
rng = np.random.default_rng(9)
X_h = rng.normal(size=(60, 8)) * np.linspace(2.0, 0.5, 8) + 3.0
Y_h = rng.normal(size=(60, 2)) * np.array([4.0, 0.3])


def reference_np(A, B, k):
    def nn(M):
        D = ((M[:, None, :] - M[None, :, :]) ** 2).sum(-1)
        np.fill_diagonal(D, np.inf)
        return np.argsort(D, axis=1)[:, :k]
    return np.mean([len(set(a) & set(b)) / k for a, b in zip(nn(A), nn(B))])


for k_h, what_h in ((3, "a small k"), (10, "k=10"), (59, "k = n - 1 (every other point)")):
    assert_close(neighbourhood_preservation(X_h, Y_h.astype(np.float32), k=k_h), reference_np(X_h, Y_h, k_h),
                 f"NP of a random projection, {what_h}", rtol=1e-6,
                 hint="exclude each point from its own neighbours; EUCLIDEAN distance (not cosine); overlap / k", reveal=False)
assert_close(neighbourhood_preservation(X_h, X_h[:, :2], k=10), reference_np(X_h, X_h[:, :2], 10),
             "NP@10 of a coordinate projection", rtol=1e-6, reveal=False)
assert_close(neighbourhood_preservation(Y_h, X_h, k=4), reference_np(Y_h, X_h, 4), "NP@4 with the arguments swapped", rtol=1e-6,
    reveal=False)
# Repeated points (the same sentence twice), apart after the projection: each copy is the other's neighbour, never its own.
X_dup = rng.normal(size=(40, 6))
X_dup[[7, 12, 25, 33]] = X_dup[[3, 9, 18, 30]]
Y_dup = X_dup[:, :2] + rng.normal(scale=0.01, size=(40, 2))
assert_close(neighbourhood_preservation(X_dup, Y_dup, k=5), reference_np(X_dup, Y_dup, 5), "NP@5 with repeated points",
             rtol=1e-6, hint="a repeated point is at distance 0 from its copy too: leave out the point itself (its own "
                             "index), not the first column of the sorted distances", reveal=False)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_projections", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
for m, Y in projections.items():
    Y = as_array(Y, f"project_2d(X_vis, {m!r})", shape=(len(X_vis), 2))
    assert np.isfinite(Y).all(), f"project_2d(X_vis, {m!r}) returned non-finite values"
    assert Y.std(axis=0).min() > 0, f"project_2d(X_vis, {m!r}) collapsed the points onto a line or a point"
from sklearn.decomposition import PCA

Y_pca, want_pca = as_array(projections["pca"], "project_2d(X_vis, 'pca')"), PCA(2).fit_transform(X_vis)
assert_close(np.abs(Y_pca), np.abs(want_pca), "project_2d(X_vis, 'pca') against scikit-learn's PCA", rtol=1e-3, atol=1e-4,
             hint="PCA(n_components=2).fit_transform(X) (no whitening); signs may differ")
try:
    project_2d(X_vis[:100], "lda")
    raised = False
except ValueError:
    raised = True
assert raised, "project_2d(X, 'lda') should raise ValueError: an unknown method must not pass silently"
### BEGIN HIDDEN TESTS
# Ranked with a reference neighbourhood score, so this test does not depend on yours (measured at k=10 on the
# 256 base-model embeddings, seed 0: see the printed NP@10 above).
def knn_ref(M, k=10):
    M = np.asarray(M, dtype=np.float64)
    sq = (M ** 2).sum(axis=1)
    D = sq[:, None] + sq[None, :] - 2 * M @ M.T
    np.fill_diagonal(D, np.inf)
    return np.argsort(D, axis=1)[:, :k]


high_ref = knn_ref(X_vis)
np_ref = {m: np.mean([len(set(a) & set(b)) / 10 for a, b in zip(high_ref, knn_ref(Y))]) for m, Y in projections.items()}
assert np_ref["tsne"] > np_ref["pca"] + 0.1, \
    f"t-SNE should keep clearly more neighbourhoods than PCA: NP@10 {np_ref['tsne']:.3f} vs {np_ref['pca']:.3f}"
assert np_ref["umap"] > np_ref["pca"] + 0.1, \
    f"UMAP should keep clearly more neighbourhoods than PCA: NP@10 {np_ref['umap']:.3f} vs {np_ref['pca']:.3f}"
X_small = np.random.default_rng(10).normal(size=(100, 10)).astype(np.float32) * np.linspace(3.0, 0.5, 10)
assert_close(np.abs(as_array(project_2d(X_small, "pca"), "project_2d(X, 'pca')", shape=(100, 2))),
             np.abs(PCA(2).fit_transform(X_small)), "project_2d(X, 'pca')", rtol=1e-3, atol=1e-4,
             hint="scikit-learn's PCA(n_components=2).fit_transform(X)", reveal=False)
# umap_want (examiner only) is umap.UMAP(random_state=0) on X_warm, other arguments at their defaults.
u0 = as_array(project_2d(X_warm, "umap", seed=0), "project_2d(X, 'umap', seed=0)", shape=(100, 2))
assert np.allclose(u0, umap_want, atol=1e-3), (
    "project_2d(X, 'umap', seed=0) differs from umap.UMAP(random_state=0).fit_transform(X) on the same points: pass "
    "random_state=seed and leave the other arguments (metric, n_neighbors, min_dist...) at their defaults")
# t-SNE as the docstring says (init="pca", random_state=seed, other arguments at their defaults), run here on the
# same points. Its layout depends on the input's dtype, so float32 and float64 input are both right; one thread
# (the layout is the same for any number).
from sklearn.manifold import TSNE as _TSNE
from threadpoolctl import threadpool_limits

with threadpool_limits(1):
    tsne_want = [_TSNE(n_components=2, init="pca", random_state=0).fit_transform(X_warm.astype(t)) for t in (np.float32, np.float64)]
t0 = as_array(project_2d(X_warm, "tsne", seed=0), "project_2d(X, 'tsne', seed=0)", shape=(100, 2))
assert any(np.allclose(t0, want_t, atol=1e-3) for want_t in tsne_want), (
    "project_2d(X, 'tsne', seed=0) differs from TSNE(init='pca', random_state=0).fit_transform(X) on the same points: "
    "pass init='pca' and random_state=seed, and leave the other arguments (perplexity, learning_rate, ...) at their defaults")
u3 = as_array(project_2d(X_warm, "umap", seed=3), "project_2d(X, 'umap', seed=3)", shape=(100, 2))
assert not np.allclose(u0, u3, atol=1e-3), "seeds 0 and 3 gave the same UMAP: pass random_state=seed, not a fixed number"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "weat-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 8. Measuring bias: WEAT, and what neutralising costs (4 points)
#
# The Word Embedding Association Test (Caliskan, Bryson & Narayanan, 2017) asks whether two sets of **target**
# words $X, Y$ (e.g. career and family words) relate differently to two sets of **attribute** words $A, B$ (e.g.
# male and female terms). Each word's association is its mean cosine to $A$ minus its mean cosine to $B$:
#
# $$s(w, A, B) = \operatorname{mean}_{a \in A}\cos(w, a) - \operatorname{mean}_{b \in B}\cos(w, b)$$
#
# and the **effect size** is a standardised difference of means, the standard deviation taken over the targets
# of **both** sets together:
#
# $$d = \frac{\operatorname{mean}_{x \in X} s(x, A, B) - \operatorname{mean}_{y \in Y} s(y, A, B)}{\operatorname{std}_{w \in X \cup Y}\, s(w, A, B)}$$
#
# What it shows: a measurable, directional association in the vectors, learnt from text. What it does **not**
# show: that a system built on them discriminates, or that the bias is gone when $d$ is small — it tests a handful
# of hand-picked words, and the sign and size depend on that choice.
#
# **Hard debiasing** (Bolukbasi et al., 2016) measures a gender direction $g$ from definitional pairs
# (he − she, man − woman, ...) and **neutralises** words that should be gender-neutral by removing their component
# along it and renormalising. Bolukbasi et al. take $g$ as the first principal component of the pairs' vectors, each
# pair centred on its own mean; the Setup's `gender` is simpler, the **mean of the differences** $a - b$ of the
# pairs' unit vectors (the cell after your code compares the two):
#
# $$w' = \frac{w - (w\cdot \hat g)\,\hat g}{\lVert w - (w\cdot \hat g)\,\hat g \rVert}, \qquad \hat g = g / \lVert g \rVert$$
#
# Write `weat_effect_size` and `neutralise`.

# %% nbgrader={"grade": false, "grade_id": "weat", "locked": false, "schema_version": 3, "solution": true, "task": false}
def weat_effect_size(X, Y, A, B):
    """WEAT effect size of Caliskan et al.

    X, Y: arrays of shapes (n_x, d), (n_y, d), the two target sets (any lengths, not necessarily unit;
          n_x and n_y may differ).
    A, B: arrays of shapes (n_a, d), (n_b, d), the two attribute sets (n_a and n_b may differ).
    None of the four arrays is changed. Associations use cosines. Returns: float, the difference of the mean associations of X and Y, divided by
    the standard deviation of the associations of all words of X and Y together (the sample standard deviation,
    ddof=1, as Caliskan et al.; ddof=0 is accepted too).
    """
    ### BEGIN SOLUTION
    def unit(M):
        M = np.asarray(M, dtype=np.float64)
        return M / np.linalg.norm(M, axis=1, keepdims=True)

    A, B = unit(A), unit(B)
    s = lambda W: (unit(W) @ A.T).mean(axis=1) - (unit(W) @ B.T).mean(axis=1)  # noqa: E731
    sx, sy = s(X), s(Y)
    return float((sx.mean() - sy.mean()) / np.concatenate([sx, sy]).std(ddof=1))
    ### END SOLUTION


def neutralise(W, direction):
    """Remove each row's component along `direction`, then rescale rows to unit length.

    W: array of shape (n, d); direction: array of shape (d,), any non-zero length. Neither is changed.
    Returns: np.ndarray of shape (n, d), a new array: unit rows orthogonal to direction.
    """
    ### BEGIN SOLUTION
    W = np.asarray(W, dtype=np.float64)
    g = np.asarray(direction, dtype=np.float64)
    g = g / np.linalg.norm(g)
    W = W - np.outer(W @ g, g)
    return W / np.linalg.norm(W, axis=1, keepdims=True)
    ### END SOLUTION


# %%
# GloVe, the word sets and the gender direction `gender` (mean of he - she, man - woman, ... over unit vectors)
# come from the Setup.
d_before = weat_effect_size(X_c, Y_f, A_m, B_f)
X_n, Y_n = neutralise(X_c, gender), neutralise(Y_f, gender)
d_after = weat_effect_size(X_n, Y_n, A_m, B_f)
print(f"WEAT effect size career/family vs male/female: {d_before:.2f} before, {d_after:.2f} after neutralising")
# What it costs: how far each neutralised word moved, and whether it still finds its old neighbours.
moved = np.sum(unit_rows(np.vstack([X_c, Y_f])) * np.vstack([X_n, Y_n]), axis=1)
print("cosine of each neutralised word to its original:", {w: round(float(c), 3) for w, c in zip(career + family, moved)})
before_abs = np.abs(unit_rows(np.vstack([X_c, Y_f])) @ (gender / np.linalg.norm(gender)))
from scipy.stats import spearmanr  # noqa: E402
ek.claim("the effect size drops from about 1.6 to about 0.85: a lot, but it does not vanish",
         1.5 < d_before < 1.7 and 0.75 < d_after < 0.95 and d_after < 0.7 * d_before, f"{d_before:.2f} -> {d_after:.2f}")
ek.claim("most neutralised words moved (cosine to the original below 0.999)", np.mean(moved < 0.999) > 0.5,
         f"{np.sum(moved < 0.999)} of {len(moved)}")
ek.claim("those with a large component along g moved the most (rank correlation above 0.8)",
         spearmanr(before_abs, 1 - moved)[0] > 0.8, f"Spearman {spearmanr(before_abs, 1 - moved)[0]:.2f}")
# Bolukbasi et al.'s direction: the first principal component of the definitional pairs, each centred on its mean.
pair_vecs = np.stack([unit_rows(glove.matrix([a, b])) for a, b in definitional])      # (10, 2, d)
_, pair_sv, pair_vt = np.linalg.svd((pair_vecs - pair_vecs.mean(axis=1, keepdims=True)).reshape(-1, pair_vecs.shape[-1]),
                                    full_matrices=False)
g_pca = pair_vt[0] * np.sign(pair_vt[0] @ gender)                                   # the sign of a component is arbitrary
d_after_pca = weat_effect_size(neutralise(X_c, g_pca), neutralise(Y_f, g_pca), A_m, B_f)
cos_pca = float(g_pca @ gender / np.linalg.norm(gender))
print(f"first principal component: {pair_sv[0] ** 2 / np.sum(pair_sv ** 2):.0%} of the pairs' variance, cosine {cos_pca:.3f} "
      f"with the mean difference; WEAT after neutralising along it {d_after_pca:.2f} (along the mean: {d_after:.2f})")
ek.claim("The principal component and the mean difference are nearly the same line (cosine above 0.99)", cos_pca > 0.99,
         f"cosine {cos_pca:.3f}")
ek.claim("Neutralising along the principal component leaves an effect size of about 0.96, within 0.2 of the mean "
         "direction's: neither makes it vanish",
         0.9 < d_after_pca < 1.0 and abs(d_after_pca - d_after) < 0.2, f"{d_after_pca:.2f} vs {d_after:.2f}")
g_hat = gender / np.linalg.norm(gender)
proj = pd.DataFrame({"word": career + family, "set": ["career"] * 8 + ["family"] * 8,
                     "before": unit_rows(np.vstack([X_c, Y_f])) @ g_hat, "after": np.vstack([X_n, Y_n]) @ g_hat})
fig = px.bar(proj.melt(id_vars=["word", "set"], var_name="embedding", value_name="projection on the gender direction"),
             x="word", y="projection on the gender direction", color="embedding", barmode="group", hover_data=["set"],
             title=f"Neutralising: WEAT d = {d_before:.2f} before, {d_after:.2f} after")
fig.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-034", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The effect size drops but does not vanish (the printed numbers: from about 1.6 to about 0.85; about 0.96 with
# Bolukbasi et al.'s principal-component direction, which is nearly the same line): the gender
# direction measured from ten pairs is one line in a 50-d space, and the association also lives in other directions
# (Gonen & Goldberg, 2019, "Lipstick on a pig"). WEAT on 16 hand-picked words is a small sample, so read the size of
# the drop, not its second decimal. The cost is visible too: most neutralised words moved (a cosine to the original
# below 1), those with a large component along $g$ the most, and any legitimate gender information along $g$ is gone
# for the words we neutralised — which is why hard debiasing neutralises only words judged gender-neutral.

# %% nbgrader={"grade": true, "grade_id": "test_weat", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
X_t, Y_t = np.array([[1.0, 0.0], [0.9, 0.1], [0.5, 0.5]]), np.array([[0.0, 1.0], [0.2, 1.0]])
A_t, B_t = np.array([[1.0, 0.0], [1.0, 0.3]]), np.array([[0.0, 1.0]])
d_t = assert_scalar(weat_effect_size(X_t, Y_t, A_t, B_t), "weat_effect_size(X_t, Y_t, A_t, B_t)")
assert d_t > 0, f"X_t is closer to A_t than Y_t is: the effect size must be positive, got {d_t:.4f}"
assert min(abs(d_t / 1.65817 - 1), abs(d_t / 1.85389 - 1)) < 1e-3, (
    f"weat_effect_size(X_t, Y_t, A_t, B_t) = {d_t:.4f}, expected 1.6582 (1.8539 with ddof=0): associations are MEAN "
    "cosines (normalise every vector), and the standard deviation runs over the associations of X and Y TOGETHER")
assert_close(weat_effect_size(Y_t, X_t, A_t, B_t), -d_t, "swapping X and Y flips the sign", rtol=1e-4)
### BEGIN HIDDEN TESTS
def ref_weat(X, Y, A, B, ddof):
    u = lambda M: M / np.linalg.norm(M, axis=1, keepdims=True)  # noqa: E731
    s = lambda W: (u(W) @ u(A).T).mean(1) - (u(W) @ u(B).T).mean(1)  # noqa: E731
    sx, sy = s(X), s(Y)
    return (sx.mean() - sy.mean()) / np.concatenate([sx, sy]).std(ddof=ddof)


rng = np.random.default_rng(11)
A_h, B_h = rng.normal(size=(5, 10)) + 2 * np.eye(10)[0], rng.normal(size=(3, 10)) + 2 * np.eye(10)[1]
X_h = (rng.normal(size=(7, 10)) + 4 * np.eye(10)[0]) * rng.uniform(0.2, 5.0, size=(7, 1))  # A-like, different norms
Y_h = rng.normal(size=(4, 10)) + 4 * np.eye(10)[1]
got = assert_scalar(weat_effect_size(X_h.astype(np.float32), Y_h, A_h, B_h), "weat_effect_size of random sets of different sizes")
lo_ok, hi_ok = sorted([ref_weat(X_h, Y_h, A_h, B_h, 0), ref_weat(X_h, Y_h, A_h, B_h, 1)])
assert min(abs(got / lo_ok - 1), abs(got / hi_ok - 1)) < 1e-3, (
    "the effect size is the one of neither ddof=1 nor ddof=0: MEAN cosines to A and to B "
    "(the sets have different sizes), and the standard deviation over the associations of X and Y TOGETHER")
assert_close(weat_effect_size(X_h, Y_h, B_h, A_h), -got, "swapping A and B flips the sign", rtol=1e-3, reveal=False)
assert not call_tracking(weat_effect_size, X_h, Y_h, A_h, B_h).changed, (
    "weat_effect_size changed the arrays it was given (normalised them in place?): normalise copies")
assert_close(weat_effect_size(X_h * 5, Y_h, A_h * rng.uniform(0.1, 3.0, size=(5, 1)), B_h), got,
             "WEAT uses cosines, so scaling vectors changes nothing", rtol=1e-3, reveal=False)
### END HIDDEN TESTS

# %% nbgrader={"grade": true, "grade_id": "test_neutralise", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
W_t = neutralise(np.array([[3.0, 4.0], [1.0, 1.0]]), np.array([0.0, 2.0]))
assert_close(W_t, [[1.0, 0.0], [1.0, 0.0]], "neutralise([[3, 4], [1, 1]], direction [0, 2])",
             hint="remove the component along the UNIT direction, then renormalise the rows")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(12)
W_h, g_h = rng.normal(size=(6, 9)) * rng.uniform(0.3, 4.0, size=(6, 1)), rng.normal(size=9) * 3
N_h = as_array(neutralise(W_h.astype(np.float32), g_h), "neutralise(W, g)", shape=(6, 9))
assert_close(N_h @ (g_h / np.linalg.norm(g_h)), np.zeros(6), "projection on the direction after neutralising", atol=1e-5,
             hint="normalise the direction before projecting", reveal=False)
assert_close(np.linalg.norm(N_h, axis=1), np.ones(6), "row norms after neutralising", rtol=1e-5,
             hint="rescale every ROW to unit length AFTER removing the component", reveal=False)
Wp = W_h - np.outer(W_h @ g_h, g_h) / (g_h @ g_h)
assert_close(N_h, Wp / np.linalg.norm(Wp, axis=1, keepdims=True), "neutralise(W, g)", rtol=1e-4, atol=1e-5, reveal=False)
assert not call_tracking(neutralise, W_h, g_h).changed, (
    "neutralise changed the arrays it was given (W -= ... or g /= ... edit the caller's arrays): compute new ones")
one = as_array(neutralise(W_h[:1], g_h * 0.01), "neutralise(one row, a short direction)", shape=(1, 9))
assert_close(one, Wp[:1] / np.linalg.norm(Wp[:1]), "neutralise(one row, a short direction)", rtol=1e-4, atol=1e-5, reveal=False)
# On GloVe (claims of the text): neutralising the career and family words shrinks their WEAT effect size a lot,
# but does not remove it (measured 1.59 -> 0.85, with a reference effect size).
u_ = lambda M: M / np.linalg.norm(M, axis=1, keepdims=True)  # noqa: E731
s_ = lambda W: (u_(W) @ u_(A_m).T).mean(1) - (u_(W) @ u_(B_f).T).mean(1)  # noqa: E731
d_ = lambda X, Y: (s_(X).mean() - s_(Y).mean()) / np.concatenate([s_(X), s_(Y)]).std(ddof=1)  # noqa: E731
d_b, d_a = d_(X_c, Y_f), d_(as_array(neutralise(X_c, gender), "neutralise(career words)"), as_array(neutralise(Y_f, gender), "neutralise(family words)"))
assert d_b > 1.2, f"the text's claim no longer holds: the career/family effect size on GloVe is only {d_b:.2f}"
assert 0.2 * d_b < d_a < 0.7 * d_b, f"neutralising should cut the effect size a lot but not remove it, got {d_b:.2f} -> {d_a:.2f}"
### END HIDDEN TESTS
