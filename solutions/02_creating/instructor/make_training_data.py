"""Make the training data of assignment 02's part 5 once, so that the notebook's Setup reads it, not makes it.

    .venv/bin/python solutions/02_creating/instructor/make_training_data.py   # writes the two files below, byte-identical each run

data/word_vocab.csv      word,count,noise: the corpus vocabulary of exercise 1 (words seen at least 5 times, most
                         frequent first, ties alphabetically) with the noise distribution of exercise 2
                         (count ** 0.75, normalised; float64 written by repr, so it reads back bit for bit)
data/word_pairs.npy.gz   uint16 (n, 2): the skip-gram training pairs (center id, context id) of part 5, made with
                         the subsampling of exercise 1 (t = 1e-2) and the dynamic window of exercise 2 (W = 3) from a
                         generator seeded with 0; gzip without a time stamp, so the bytes do not change

The recipes are the graded answers of exercises 1-2, so they live here, with the instructor's sources, and never in
the student's notebook (issue 24): the Setup only reads their results.
"""
import csv
import gzip
import io
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[3] / "data"
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA  # tests/test_data.py writes a copy elsewhere and compares
SEED, T, WINDOW, MIN_COUNT = 0, 1e-2, 3, 5


def vocabulary(sentences):
    tokens, counts = np.unique(np.concatenate(sentences), return_counts=True)
    order = np.lexsort((tokens, -counts))                     # by count (descending), then alphabetically
    order = order[counts[order] >= MIN_COUNT]
    return [str(w) for w in tokens[order]], counts[order].astype(np.int64)


def window_pairs(corpus_ids, window, rng):
    """Skip-gram pairs with a dynamic window (vectorised; the same pairs as exercise 2 asks for, in another order)."""
    ids = np.concatenate(corpus_ids)
    sentence_of = np.repeat(np.arange(len(corpus_ids)), [len(s) for s in corpus_ids])
    size = rng.integers(1, window + 1, size=len(ids))
    out = []
    for d in range(1, window + 1):
        left = np.flatnonzero(sentence_of[:-d] == sentence_of[d:])
        right = left + d
        out += [np.stack([ids[left], ids[right]], 1)[size[left] >= d], np.stack([ids[right], ids[left]], 1)[size[right] >= d]]
    return np.concatenate(out)


def main():
    sentences = [line.split() for line in (DATA / "word_corpus.txt").read_text().splitlines()]
    words, counts = vocabulary(sentences)
    word2id = {w: i for i, w in enumerate(words)}
    corpus_ids = [np.array([word2id[w] for w in s if w in word2id], dtype=np.int64) for s in sentences]
    keep = np.minimum(1.0, np.sqrt(T / (counts / counts.sum())))
    noise = counts.astype(np.float64) ** 0.75
    noise = noise / noise.sum()
    rng = np.random.default_rng(SEED)
    kept = [s[rng.random(len(s)) < keep[s]] for s in corpus_ids]
    pairs = window_pairs(kept, WINDOW, rng)
    assert pairs.max() < 2 ** 16
    with open(OUT / "word_vocab.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["word", "count", "noise"])
        writer.writerows([w, int(c), repr(float(p))] for w, c, p in zip(words, counts, noise))
    buffer = io.BytesIO()
    np.save(buffer, pairs.astype(np.uint16))
    with open(OUT / "word_pairs.npy.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(buffer.getvalue())
    print(f"{len(words)} words, {len(pairs):,} pairs -> {OUT}")


if __name__ == "__main__":
    main()
