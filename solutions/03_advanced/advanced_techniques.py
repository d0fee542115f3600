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
# A pretrained embedding model is a starting point, not the end. This assignment covers four things you do with
# one in practice, each on real models:
#
# | part | question | what you build |
# |---|---|---|
# | 1–2 | does adapting the model to our jargon help, and how do we *know*? | training pairs, hard-negative mining, fine-tuning with sentence-transformers, held-out evaluation |
# | 3 | what does an embedding cost, and how small can it get? | Matryoshka-style truncation, int8 and binary quantisation |
# | 4–5 | how do we look at 384 dimensions? | PCA from scratch, t-SNE, UMAP, a score for how honest a 2-D picture is |
# | 6 | what social bias does a word embedding carry? | the WEAT effect size, hard-debiasing's neutralise step |
#
# **Learning objectives.** After this assignment you can: build leakage-free training data and mine hard negatives
# for a retrieval model; fine-tune a sentence encoder with sentence-transformers' trainer and judge it on held-out
# questions; trade bytes against retrieval quality with truncation and int8/binary quantisation; implement PCA by
# SVD and measure how much of a neighbourhood structure a 2-D projection keeps; compute a WEAT effect size and
# say what it does and does not show.
#
# **Prerequisites.** Assignments 01 and 02 (cosine similarity, sentence embeddings, contrastive losses); numpy
# broadcasting and `argsort`; pandas filtering; the SVD from a linear-algebra course.
# **Expected effort:** 6–8 hours. **Run time:** about a minute on a laptop CPU for the whole notebook (the Setup
# takes 15–20 s, fine-tuning 10–15 s).
#
# **The data.** `data/helpdesk_*.csv` is the knowledge base of an (invented) company's engineering help desk:
# 160 short articles about 16 internal systems, and 480 questions people typed into the help channel. The
# articles call each system by its codename (*Kestrel*, *Marlin*, ...); people call them by acronyms
# (*KBS*, *MDP*, ...) and write in slang ("p99 through the roof", "need perms"). A general model understands the
# problem in a question but has never seen the acronyms — that is the gap fine-tuning can close.
# Articles are split into train, dev and test (each question goes with its article), so no test question or
# test article is ever seen during training.
#
# **How this works.** Write your code where it says `YOUR CODE HERE` (delete the `raise NotImplementedError()`).
# Each exercise has a visible test you can run; hidden tests check edge cases when the notebook is graded. The
# tests of one exercise never depend on your answer to another: where a part needs an earlier result, it uses
# the Setup's. Run the whole notebook top to bottom (*Restart & Run All*) before you submit.

# %% [markdown] nbgrader={"grade": false, "grade_id": "setup-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Setup
#
# The next two cells load everything the exercises use, none of which depends on your answers: the libraries,
# the help-desk data, the pretrained model all-MiniLM-L6-v2 with its embeddings of every article and question,
# the training triplets of part 2, a tiny model that `fine_tune`'s test trains in a blink, and GloVe for part 6.
# They take about 15 seconds. Names you will use later: `passages`, `queries`, `base_model`, `P_all` and `Q_all`
# (unit-length embeddings, row $i$ = row $i$ of `passages` / `queries`), `test_q`, `Q_test` and `gold` (the test
# questions, their embeddings and the row of `P_all` that answers each), `train_triplets`, `mrr_at_10`, `glove`.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import os
import tempfile

import numpy as np
import pandas as pd
import torch
import plotly.express as px

import embedkit as ek
from embedkit.checks import as_array, assert_close, assert_scalar, assert_sequence_equal

DEVICE = ek.setup(seed=0)  # DEVICE=cpu|cuda|auto in the environment picks the device
torch.set_num_threads(1)  # one thread: the grader forks this state (a thread pool would not survive) and runs many at once
print("device:", DEVICE)
# The libraries of the exercises, imported once here: they take a few seconds.
import datasets, sentence_transformers, sklearn.decomposition, sklearn.manifold, umap  # noqa: E401,F401
from sentence_transformers import SentenceTransformer
from sentence_transformers.models import StaticEmbedding
from sentence_transformers.util import semantic_search

scratch_dir = tempfile.mkdtemp(prefix="advanced-")  # models saved by this notebook go here
passages = pd.read_csv(ek.data_path("helpdesk_passages.csv"))
queries = pd.read_csv(ek.data_path("helpdesk_queries.csv"))
print(passages.groupby("split").size().to_dict(), "articles;", queries.groupby("split").size().to_dict(), "questions")
passages.head(3)

# %% nbgrader={"grade": false, "grade_id": "setup-models", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The pretrained model (kept on the CPU here; part 2 moves its copy to DEVICE) and its embeddings of every
# article and every question, unit length. Parts 3-5 work on these.
base_model = ek.load_sentence_model(device="cpu")
base_model.max_seq_length = 32  # questions are short and every article starts with "<codename>: <topic>."
P_all = base_model.encode(passages.text.tolist(), normalize_embeddings=True)  # (160, 384), row i = passages row i
Q_all = base_model.encode(queries.text.tolist(), normalize_embeddings=True)   # (480, 384), row i = queries row i
test_q = queries[queries.split == "test"].reset_index(drop=True)
Q_test = Q_all[(queries.split == "test").to_numpy()]
passage_row = {pid: i for i, pid in enumerate(passages.pid)}
gold = np.array([passage_row[p] for p in test_q.pid])  # row of P_all relevant to each test question
X_vis = np.vstack([P_all, Q_test])  # parts 4-5: the 160 articles and the 96 test questions


def mrr_at_10(scores, gold):
    """MRR@10 from a (questions x articles) score matrix, higher = better; gold[i] = relevant column of row i."""
    scores = np.asarray(scores)
    rank = (scores > scores[np.arange(len(gold)), gold][:, None]).sum(axis=1) + 1
    return float(np.mean(np.where(rank <= 10, 1.0 / rank, 0.0)))


# Part 2 trains on (question, its article, a hard negative) triplets of the train split, mined here with the
# library's semantic_search, so that its grade does not depend on your part 1.
train_passages = passages[passages.split == "train"].reset_index(drop=True)
train_queries = queries[queries.split == "train"].reset_index(drop=True)
article_row = {pid: i for i, pid in enumerate(train_passages.pid)}  # pid -> row of train_passages / P_train
P_train, Q_train = P_all[(passages.split == "train").to_numpy()], Q_all[(queries.split == "train").to_numpy()]
hits = semantic_search(torch.from_numpy(Q_train), torch.from_numpy(P_train), top_k=2)
train_triplets = [(q, train_passages.text[article_row[p]],
                   train_passages.text[next(h["corpus_id"] for h in hit if h["corpus_id"] != article_row[p])])
                  for q, p, hit in zip(train_queries.text, train_queries.pid, hits)]


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

# GloVe (memory-mapped) and the word sets of part 6.
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
print(f"all-MiniLM-L6-v2: {len(P_all)} articles and {len(Q_all)} questions embedded; {len(train_triplets)} training "
      f"triplets; GloVe: {len(glove):,} words")

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
# a negative), and compare with the triplets the Setup mined with the library's `semantic_search` (the same rule,
# $k = 1$): on real data they should agree on every question.

# %%
pairs = training_pairs(queries, passages)
negatives = mine_hard_negatives(Q_train, P_train, [article_row[p] for p in train_queries.pid], k=1)
triplets = [(q, p, train_passages.text[j]) for (q, p), j in zip(pairs, np.asarray(negatives)[:, 0])]
same = sum(t == s for t, s in zip(triplets, train_triplets))
print(f"{len(pairs)} training pairs; your triplets equal the Setup's for {same} of {len(train_triplets)} questions")
for anchor, positive, negative in triplets[:3]:
    print(f"Q: {anchor}\n  +  {positive[:90]}...\n  -  {negative[:90]}...")

# %% nbgrader={"grade": true, "grade_id": "test_pairs", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# training_pairs: one pair per TRAIN question, each with its own article.
got_pairs = training_pairs(queries, passages)
n_train = int((queries.split == "train").sum())
assert len(got_pairs) == n_train, (
    f"training_pairs(queries, passages) gave {len(got_pairs)} pairs, expected {n_train} (one per train question): "
    "use the train split ONLY, or the test score measures memory")
assert tuple(got_pairs[0]) == (train_queries.text[0], train_passages.text[article_row[train_queries.pid[0]]]), (
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
for k_h in (1, 3, 11):
    got = as_array(mine_hard_negatives(Q_h.astype(np.float32), P_h.astype(np.float32), list(pos_h), k=k_h),
                   f"mine_hard_negatives(6 questions, 12 articles, k={k_h})", shape=(6, k_h)).astype(int)
    bad = np.nonzero((got == pos_h[:, None]).any(axis=1))[0]
    assert not len(bad), (f"k={k_h}: question {bad[0]}'s own article (row {pos_h[bad[0]]}) was mined as its negative: "
                          f"{got[bad[0]].tolist()}. Drop the positive itself (not the top hit, and not by setting its score to 0)")
    S_m = S_h.copy(); S_m[np.arange(6), pos_h] = -np.inf
    assert_close(np.take_along_axis(S_h, got, axis=1), -np.sort(-S_m, axis=1)[:, :k_h], f"scores of the mined negatives (k={k_h})",
                 rtol=1e-4, atol=1e-5, hint="the k highest-scoring non-relevant articles, in DECREASING order of score")
# Question 0 scores every article below zero: the positive (row 0) must still never come back.
P_n = np.array([[-0.2, 0.98, 0.0], [-0.5, 0.0, 0.87], [-0.9, 0.44, 0.0], [-0.1, -0.99, 0.0]])
P_n /= np.linalg.norm(P_n, axis=1, keepdims=True)
got = as_array(mine_hard_negatives(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), P_n, np.array([0, 2]), k=2),
               "mine_hard_negatives(a question that scores every article below 0)", shape=(2, 2))
assert_close(got, [[3, 1], [0, 1]], "mine_hard_negatives(a question that scores every article below 0, k=2)",
             hint="mask the positive with -inf, not 0: here every other score is negative")
# Pairs: only the train split, in order, each with its own article, whatever order the splits come in.
toy_passages = pd.DataFrame({"pid": ["a", "b", "c"], "split": ["test", "train", "train"], "text": ["A!", "B!", "C!"]})
toy_queries = pd.DataFrame({"qid": ["1", "2", "3", "4", "5"], "split": ["test", "train", "dev", "train", "train"],
                            "pid": ["a", "c", "b", "b", "c"], "text": ["qa", "qc", "qb", "qb2", "qc2"]})
got_pairs = [tuple(p) for p in training_pairs(toy_queries, toy_passages)]
assert got_pairs == [("qc", "C!"), ("qb2", "B!"), ("qc2", "C!")], (
    f"training_pairs(toy) gave {got_pairs}, expected [('qc', 'C!'), ('qb2', 'B!'), ('qc2', 'C!')]: only the train "
    "questions, in their order, each as (question text, the text of ITS article)")
text_of = dict(zip(passages.pid, passages.text))
full = [tuple(p) for p in training_pairs(queries, passages)]
assert full == [(q, text_of[p]) for q, p in zip(train_queries.text, train_queries.pid)], \
    "training_pairs(queries, passages): each train question, in order, paired with its own article's text"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "finetune-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 2. Fine-tuning, judged on held-out questions (4 points)
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
# training pairs. What matters is retrieval on questions the model has never seen: we rank the *whole*
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
from sentence_transformers.evaluation import InformationRetrievalEvaluator
from sentence_transformers.losses import MultipleNegativesRankingLoss


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
train_subset = [train_triplets[i] for i in np.random.default_rng(0).permutation(len(train_triplets))[:128]]
ek.seed_everything(0)
tuned = fine_tune(copy.deepcopy(base_model).to(DEVICE), train_subset, tuned_dir, seed=0)
tuned_model = SentenceTransformer(tuned_dir, device=str(DEVICE))
after = test_evaluator(tuned_model)
metrics = ["test_cosine_mrr@10", "test_cosine_recall@10", "test_cosine_accuracy@1"]
results = pd.DataFrame({"base": [before[m] for m in metrics], "fine-tuned": [after[m] for m in metrics]},
                       index=[m.split("_")[-1] for m in metrics])
print(results.round(3))
fig = px.bar(results.reset_index().melt(id_vars="index", var_name="model"), x="index", y="value", color="model",
             barmode="group", title="Held-out test questions against the whole knowledge base", labels={"index": "metric"})
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
        f"the evaluator's text of question {qid} is not the question's text"
dev_eval = make_evaluator(queries, passages, "dev")
assert sorted(dev_eval.queries_ids) == sorted(queries.qid[queries.split == "dev"]), "make_evaluator must use the split it is given"
assert len(dev_eval.corpus_ids) == len(passages), "the dev evaluator's corpus must be the whole knowledge base too"
assert "test_cosine_recall@10" in after and "test_cosine_mrr@10" in after, "evaluate MRR@10 and recall@10, with name=split"
ref_before = mrr_at_10(Q_test @ P_all.T, gold)
assert abs(before["test_cosine_mrr@10"] - ref_before) < 2e-3, (
    f"the evaluator gives the base model MRR@10 {before['test_cosine_mrr@10']:.4f}, the same ranking by hand {ref_before:.4f}: "
    "check the corpus (all articles), the relevant documents (each qid -> {its pid}) and mrr_at_k=[10]")
assert after["test_cosine_recall@10"] >= before["test_cosine_recall@10"], "recall@10 dropped after fine-tuning"
# The saved model is the tuned one: reloaded embeddings equal the returned model's, and differ from the base.
probe = ["KBS build hung in pending forever", "Kestrel: quotas."]
fresh = tuned_model.encode(probe, normalize_embeddings=True)
assert_close(fresh, tuned.encode(probe, normalize_embeddings=True), "reloaded model vs the fine-tuned model", rtol=1e-3,
             atol=1e-4, hint="train the model you were given in place, return it, and save it to output_dir AFTER training")
assert np.abs(fresh - base_model.encode(probe, normalize_embeddings=True)).max() > 1e-3, \
    "the saved model equals the base model: was it trained before saving?"
# Tiny model: the seed is used (and reproducible), batch_size and learning_rate are honoured.
toy_probe = ["question 0 about kestrel", "the heron article", "a post on pico"]
ref_a = tiny_ret.encode(toy_probe)
ret_b = fine_tune(tiny_b, toy_triplets, os.path.join(scratch_dir, "tiny-b"), seed=0, batch_size=4, learning_rate=0.1)
assert_close(ret_b.encode(toy_probe), ref_a, "the same seed twice", rtol=1e-4, atol=1e-6, hint="seed the trainer with `seed`")
ret_c = fine_tune(tiny_c, toy_triplets, os.path.join(scratch_dir, "tiny-c"), seed=1, batch_size=4, learning_rate=0.1)
assert np.abs(ret_c.encode(toy_probe) - ref_a).max() > 1e-4, "seed=1 trained exactly like seed=0: pass `seed` to the training arguments"
start_d = tiny_untrained.encode(toy_probe)
ret_d = fine_tune(tiny_d, toy_triplets, os.path.join(scratch_dir, "tiny-d"), seed=0, batch_size=3, learning_rate=0.0)
seen_d = [len(b) for b in ret_d.batches]
assert sum(seen_d) == 36 and max(seen_d) <= 3, f"batch_size=3: forward passes of {seen_d} rows, expected 4 steps of 3 triplets"
assert_close(ret_d.encode(toy_probe), start_d, "learning_rate=0 must leave the model unchanged", atol=1e-7,
             hint="pass learning_rate to the training arguments")
### END HIDDEN TESTS

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

    X: array of shape (n, D), float32 or float64; d: int, 1 <= d <= D.
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

    X: array of shape (n, D), float32 or float64; lo, hi: arrays of shape (D,) with hi > lo.
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
for d_h in (5, 1, 16):
    T_h = as_array(truncate(X_h.astype(np.float32), d_h), f"truncate(unit rows of 16 d, {d_h})", shape=(20, d_h))
    assert_close(np.linalg.norm(T_h, axis=1), np.ones(20), f"row norms after truncation to {d_h} d", rtol=1e-4,
                 hint="a truncated unit vector is no longer unit length: renormalise every ROW")
    assert_close(T_h, X_h[:, :d_h] / np.linalg.norm(X_h[:, :d_h], axis=1, keepdims=True), f"truncate(X, {d_h})",
                 rtol=1e-4, atol=1e-5, hint="the first d coordinates of each row, divided by their own length")
Z_h = as_array(truncate([[0.0, 0.0, 2.0], [0.0, 3.0, 1.0]], 1), "truncate([[0, 0, 2], [0, 3, 1]], 1)", shape=(2, 1))
assert_close(Z_h, [[0.0], [0.0]], "truncate([[0, 0, 2], [0, 3, 1]], 1): rows whose kept part is all zeros",
             hint="a row that is all zeros after truncation stays zero (no division by zero, no NaN)")
# The text's claim, on the Setup's embeddings: renormalising or not changes MRR@10 little, in both directions.
tr_ = lambda M, d: M[:, :d] / np.linalg.norm(M[:, :d], axis=1, keepdims=True)  # noqa: E731
gap_ = [mrr_at_10(tr_(Q_test, d) @ tr_(P_all, d).T, gold) - mrr_at_10(Q_test[:, :d] @ P_all[:, :d].T, gold) for d in (192, 96, 48, 24)]
assert max(map(abs, gap_)) < 0.03 and min(gap_) < 0 < max(gap_), f"the text's claim about renormalising no longer holds: {gap_}"
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
assert_close(lo_h, X_h.min(axis=0), "calibrate_int8: lo", rtol=1e-6, hint="the range is per dimension (axis=0)")
assert_close(hi_h, X_h.max(axis=0), "calibrate_int8: hi", rtol=1e-6, hint="the range is per dimension (axis=0)")
lo_h, hi_h = X_h.min(axis=0), X_h.max(axis=0)
codes_h = np.asarray(quantize_int8(X_h.astype(np.float32), lo_h, hi_h))
assert codes_h.dtype == np.int8 and codes_h.shape == (200, 5), f"codes: expected int8 (200, 5), got {codes_h.dtype} {codes_h.shape}"
want_h = np.round((np.clip(X_h.astype(np.float32), lo_h, hi_h) - lo_h) / (hi_h - lo_h) * 255) - 128
assert np.abs(codes_h.astype(int) - want_h).max() <= 1, (
    f"codes differ from round((x - lo) / (hi - lo) * 255) - 128 by up to {np.abs(codes_h.astype(int) - want_h).max():g}: "
    "scale each dimension by its own range, then ROUND (not floor) and shift by -128")
err = np.abs(as_array(dequantize_int8(codes_h, lo_h, hi_h), "dequantize_int8(int8 codes)", shape=(200, 5)) - X_h)
step = (hi_h - lo_h) / 255
assert (err <= step / 2 * (1 + 1e-3) + 1e-6).all(), (
    f"round-trip error up to {err.max(axis=0)} per dimension; with a per-dimension range and rounding it is at most "
    f"half a step {step / 2}")
X_out = np.array([[-1.0, 0.0, -50.0, 100.0, 1000.0]])
assert_close(quantize_int8(X_out, lo_h, hi_h), [[-128, -128, -128, 127, 127]], "quantize_int8 of values outside the range",
             hint="clip to [lo, hi] first: int8 codes wrap around otherwise")
# The text's claims, on the Setup's embeddings: int8 costs next to nothing, and beats truncation to the same size.
lo_, hi_ = P_all.min(axis=0), P_all.max(axis=0)
rt_ = lambda M: (np.round((np.clip(M, lo_, hi_) - lo_) / (hi_ - lo_) * 255)) / 255 * (hi_ - lo_) + lo_  # noqa: E731
full_, int8_ = mrr_at_10(Q_test @ P_all.T, gold), mrr_at_10(rt_(Q_test) @ rt_(P_all).T, gold)
u96_ = lambda M: M[:, :96] / np.linalg.norm(M[:, :96], axis=1, keepdims=True)  # noqa: E731
t96_ = mrr_at_10(u96_(Q_test) @ u96_(P_all).T, gold)
assert abs(int8_ - full_) < 0.01 and int8_ > t96_ + 0.05, f"the text's claim about int8 no longer holds: {full_:.3f}, int8 {int8_:.3f}, 96 d {t96_:.3f}"
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
assert cA.shape == (7, 8) and cA.dtype == np.uint8, f"64 dimensions pack into 8 bytes per row, got {cA.dtype} {cA.shape}"
bits = np.unpackbits(cA, axis=1)
assert (bits == (A_h > 0)).all() or (np.unpackbits(cA, axis=1, bitorder="little") == (A_h > 0)).all(), \
    "binarize: bit j must be 1 exactly where X[:, j] > 0 (0 for x <= 0, zeros included), packed along each row"
expected_h = ((A_h[:, None, :] > 0) != (B_h[None, :, :] > 0)).sum(axis=2)
assert_close(hamming_distances(cA, cB), expected_h, "hamming_distances on 64-bit codes (7 x 5)",
             hint="XOR the bytes, then count the 1 bits (np.unpackbits or a popcount)")
big_a, big_b = rng.normal(size=(3, 512)) > 0, rng.normal(size=(4, 512)) > 0
assert_close(hamming_distances(np.packbits(big_a, axis=1), np.packbits(big_b, axis=1)),
             (big_a[:, None, :] != big_b[None, :, :]).sum(axis=2), "hamming_distances on 512-bit codes",
             hint="count in a wide integer type: a uint8 sum overflows past 255")
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
for d in (192, 96, 48, 24):
    diff = np.array([mrr_at_10(truncate(Q_test[[i]], d) @ truncate(P_all, d).T, gold[[i]])
                     - mrr_at_10(Q_test[[i], :d] @ P_all[:, :d].T, gold[[i]]) for i in range(len(gold))])
    lo_ci, hi_ci = np.percentile(diff[boot].mean(axis=1), [2.5, 97.5])
    print(f"{d:4d} d: renormalising changes MRR@10 by {diff.mean():+.3f} (95% interval {lo_ci:+.3f} to {hi_ci:+.3f})")
fig = px.scatter(cost, x="bytes", y="MRR@10", text="method", log_x=True, title="Bytes per vector against retrieval quality (test questions, base model)")
fig.update_traces(textposition="top center")
fig.show()


# %% [markdown] nbgrader={"grade": false, "grade_id": "pca-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 4. PCA from scratch (3 points)
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

    X: array of shape (n, D); k: int, 1 <= k <= min(n, D).
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
from sklearn.decomposition import PCA


def same_up_to_sign(got, want, name, axis):
    got, want = as_array(got, name, shape=want.shape), np.asarray(want)
    signs = np.sign(np.sum(got * want, axis=axis, keepdims=True))
    assert_close(got * signs, want, name, rtol=1e-3, atol=1e-4 * np.abs(want).max(),
                 hint="compare with scikit-learn's PCA (up to sign)")


rng = np.random.default_rng(7)
X_toy = rng.normal(size=(30, 5)) @ np.diag([5.0, 2.0, 1.0, 0.5, 0.1]) + np.array([3.0, -1.0, 0.5, 2.0, 1.0])
Z, C, r = pca(X_toy, 2)
ref = PCA(2).fit(X_toy)
same_up_to_sign(C, ref.components_, "components of X_toy", axis=1)
same_up_to_sign(Z, ref.transform(X_toy), "projection Z of X_toy (centre first!)", axis=0)
assert_close(r, ref.explained_variance_ratio_, "explained variance ratio of X_toy", rtol=1e-4,
             hint="sigma_i^2 over the sum of ALL sigma_j^2 (not only the k kept), of the centred data")
### BEGIN HIDDEN TESTS
X_off = rng.normal(size=(40, 6)) @ rng.normal(size=(6, 6)) + 100.0  # far from the origin, correlated
for k_h in (3, 1, 6):
    Z, C, r = pca(X_off.astype(np.float32), k_h)
    ref = PCA(k_h).fit(X_off)
    same_up_to_sign(C, ref.components_, f"components (k={k_h}) of data far from the origin (centre first!)", axis=1)
    same_up_to_sign(Z, ref.transform(X_off), f"projection (k={k_h}) of data far from the origin (centre first!)", axis=0)
    assert_close(r, ref.explained_variance_ratio_, f"ratio (k={k_h}), data far from the origin", rtol=1e-3,
                 hint="sigma_i^2 over the sum of ALL sigma_j^2, of the centred data")
X_wide = rng.normal(size=(8, 20)) * np.linspace(3.0, 0.5, 20)  # fewer points than dimensions
Z, C, r = pca(X_wide, 4)
ref = PCA(4).fit(X_wide)
same_up_to_sign(C, ref.components_, "components when n < D", axis=1)
same_up_to_sign(Z, ref.transform(X_wide), "projection when n < D", axis=0)
assert_close(r, ref.explained_variance_ratio_, "ratio when n < D", rtol=1e-3)
assert_close(np.linalg.norm(as_array(C, "components"), axis=1), np.ones(4), "component lengths", rtol=1e-4)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-024", "locked": true, "schema_version": 3, "solution": false, "task": false}
# How many directions does the model really use on our knowledge base? The curve below is the cumulative share
# of variance of the first 50 principal components of `X_vis`.

# %%
# X_vis (Setup): the 160 articles and the 96 test questions, embedded by the base model
labels = pd.DataFrame({"system": passages.system.tolist() + test_q.pid.map(dict(zip(passages.pid, passages.system))).tolist(),
                       "kind": ["article"] * len(passages) + ["test question"] * len(test_q),
                       "text": passages.text.str[:80].tolist() + test_q.text.tolist()})
_, _, ratio_all = pca(X_vis, 50)
print(f"the first 2 components explain {np.sum(ratio_all[:2]):.0%} of the variance, the first 10 {np.sum(ratio_all[:10]):.0%}, "
      f"the first 50 {np.sum(ratio_all):.0%}")
fig = px.line(x=np.arange(1, 51), y=np.cumsum(ratio_all), markers=True, title=f"PCA of {len(X_vis)} help-desk embeddings",
              labels={"x": "number of components", "y": "cumulative explained variance"})
fig.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "proj-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 5. t-SNE, UMAP, and how honest is a 2-D picture? (4 points)
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
    Neighbours by Euclidean distance, a point never counting as its own neighbour.
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
    arguments at their defaults); seed: int.
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
             hint="exclude each point from its own neighbours; divide the overlap by k")
rng = np.random.default_rng(9)
X_h = rng.normal(size=(60, 8)) * np.linspace(2.0, 0.5, 8) + 3.0
Y_h = rng.normal(size=(60, 2)) * np.array([4.0, 0.3])


def reference_np(A, B, k):
    def nn(M):
        D = ((M[:, None, :] - M[None, :, :]) ** 2).sum(-1)
        np.fill_diagonal(D, np.inf)
        return np.argsort(D, axis=1)[:, :k]
    return np.mean([len(set(a) & set(b)) / k for a, b in zip(nn(A), nn(B))])


for k_h in (3, 10, 59):
    assert_close(neighbourhood_preservation(X_h, Y_h.astype(np.float32), k=k_h), reference_np(X_h, Y_h, k_h),
                 f"NP@{k_h} of a random projection (60 points)", rtol=1e-6,
                 hint="exclude each point from its own neighbours; EUCLIDEAN distance (not cosine); overlap / k")
assert_close(neighbourhood_preservation(X_h, X_h[:, :2], k=10), reference_np(X_h, X_h[:, :2], 10),
             "NP@10 of a coordinate projection", rtol=1e-6)
assert_close(neighbourhood_preservation(Y_h, X_h, k=4), reference_np(Y_h, X_h, 4), "NP@4 with the arguments swapped", rtol=1e-6)
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
assert np_ref["tsne"] > np_ref["pca"] + 0.1, f"t-SNE should keep clearly more neighbourhoods than PCA: {np_ref}"
assert np_ref["umap"] > np_ref["pca"] + 0.1, f"UMAP should keep clearly more neighbourhoods than PCA: {np_ref}"
X_small = np.random.default_rng(10).normal(size=(100, 10)).astype(np.float32) * np.linspace(3.0, 0.5, 10)
assert_close(np.abs(as_array(project_2d(X_small, "pca"), "project_2d(X, 'pca')", shape=(100, 2))),
             np.abs(PCA(2).fit_transform(X_small)), "project_2d(X, 'pca')", rtol=1e-3, atol=1e-4,
             hint="scikit-learn's PCA(n_components=2).fit_transform(X)")
u0 = as_array(project_2d(X_small, "umap", seed=0), "project_2d(X, 'umap', seed=0)", shape=(100, 2))
u0b = as_array(project_2d(X_small, "umap", seed=0), "project_2d(X, 'umap', seed=0) again", shape=(100, 2))
u3 = as_array(project_2d(X_small, "umap", seed=3), "project_2d(X, 'umap', seed=3)", shape=(100, 2))
assert np.allclose(u0, u0b, atol=1e-4), "project_2d(X, 'umap', seed=0) twice gave different results: pass random_state=seed"
assert not np.allclose(u0, u3, atol=1e-3), "seeds 0 and 3 gave the same UMAP: pass random_state=seed, not a fixed number"
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "weat-intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## 6. Measuring bias: WEAT, and what neutralising costs (4 points)
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
# along it and renormalising:
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
    Associations use cosines. Returns: float, the difference of the mean associations of X and Y, divided by
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

    W: array of shape (n, d); direction: array of shape (d,), any non-zero length.
    Returns: np.ndarray of shape (n, d), unit rows orthogonal to direction.
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
g_hat = gender / np.linalg.norm(gender)
proj = pd.DataFrame({"word": career + family, "set": ["career"] * 8 + ["family"] * 8,
                     "before": unit_rows(np.vstack([X_c, Y_f])) @ g_hat, "after": np.vstack([X_n, Y_n]) @ g_hat})
fig = px.bar(proj.melt(id_vars=["word", "set"], var_name="embedding", value_name="projection on the gender direction"),
             x="word", y="projection on the gender direction", color="embedding", barmode="group", hover_data=["set"],
             title=f"Neutralising: WEAT d = {d_before:.2f} before, {d_after:.2f} after")
fig.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "markdown-034", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The effect size drops but does not vanish (the printed numbers: from about 1.6 to about 0.85): the gender
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
got = assert_scalar(weat_effect_size(X_h.astype(np.float32), Y_h, A_h, B_h), "weat_effect_size(random sets of 7, 4, 5, 3 words)")
lo_ok, hi_ok = sorted([ref_weat(X_h, Y_h, A_h, B_h, 0), ref_weat(X_h, Y_h, A_h, B_h, 1)])
assert min(abs(got / lo_ok - 1), abs(got / hi_ok - 1)) < 1e-3, (
    f"effect size {got:.3f}, expected {ref_weat(X_h, Y_h, A_h, B_h, 1):.3f} (ddof=1) or {ref_weat(X_h, Y_h, A_h, B_h, 0):.3f} (ddof=0): MEAN cosines to A and to B "
    "(the sets have different sizes), and the standard deviation over the associations of X and Y TOGETHER")
assert_close(weat_effect_size(X_h, Y_h, B_h, A_h), -got, "swapping A and B flips the sign", rtol=1e-3)
assert_close(weat_effect_size(X_h * 5, Y_h, A_h * rng.uniform(0.1, 3.0, size=(5, 1)), B_h), got,
             "WEAT uses cosines, so scaling vectors changes nothing", rtol=1e-3)
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
             hint="normalise the direction before projecting")
assert_close(np.linalg.norm(N_h, axis=1), np.ones(6), "row norms after neutralising", rtol=1e-5,
             hint="rescale every ROW to unit length AFTER removing the component")
Wp = W_h - np.outer(W_h @ g_h, g_h) / (g_h @ g_h)
assert_close(N_h, Wp / np.linalg.norm(Wp, axis=1, keepdims=True), "neutralise(W, g)", rtol=1e-4, atol=1e-5)
one = as_array(neutralise(W_h[:1], g_h * 0.01), "neutralise(one row, a short direction)", shape=(1, 9))
assert_close(one, Wp[:1] / np.linalg.norm(Wp[:1]), "neutralise(one row, a short direction)", rtol=1e-4, atol=1e-5)
# On GloVe (claims of the text): neutralising the career and family words shrinks their WEAT effect size a lot,
# but does not remove it (measured 1.59 -> 0.85, with a reference effect size).
u_ = lambda M: M / np.linalg.norm(M, axis=1, keepdims=True)  # noqa: E731
s_ = lambda W: (u_(W) @ u_(A_m).T).mean(1) - (u_(W) @ u_(B_f).T).mean(1)  # noqa: E731
d_ = lambda X, Y: (s_(X).mean() - s_(Y).mean()) / np.concatenate([s_(X), s_(Y)]).std(ddof=1)  # noqa: E731
d_b, d_a = d_(X_c, Y_f), d_(as_array(neutralise(X_c, gender), "neutralise(career words)"), as_array(neutralise(Y_f, gender), "neutralise(family words)"))
assert d_b > 1.2, f"the career/family effect size on GloVe should be above 1.2, got {d_b:.2f}"
assert 0.2 * d_b < d_a < 0.7 * d_b, f"neutralising should cut the effect size by 30% or more but not remove it, got {d_b:.2f} -> {d_a:.2f}"
### END HIDDEN TESTS
