"""Make assignment 03's training triplets once, so that the notebook's Setup reads them, not makes them.

    .venv/bin/python solutions/03_advanced/instructor/make_triplets.py   # writes the file below, the same bytes each run

data/helpdesk_triplets.csv   anchor,positive,negative: one row per train question, in the order of
                             helpdesk_queries.csv: the question, its article's text, and the hard negative that
                             sentence-transformers' own miner (util.mine_hard_negatives, num_negatives=1) picks
                             among the train articles with all-MiniLM-L6-v2 (max_seq_length 32)

Making the (question, article) pairs is exercise 1's graded answer (training_pairs), so the recipe lives here, with
the instructor's sources, and never in the student's notebook (issue 24): the Setup only reads its result. The
library mines the negatives, so that part 2's grade does not depend on the student's part 1.
"""
import contextlib
import io
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import datasets  # noqa: E402
import pandas as pd  # noqa: E402
from sentence_transformers.util import mine_hard_negatives  # noqa: E402

import embedkit as ek  # noqa: E402

DATA = Path(__file__).resolve().parents[3] / "data"
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA  # tests/test_data.py writes a copy elsewhere and compares


def main() -> None:
    passages = pd.read_csv(DATA / "helpdesk_passages.csv")
    queries = pd.read_csv(DATA / "helpdesk_queries.csv")
    train_passages = passages[passages.split == "train"].reset_index(drop=True)
    train_queries = queries[queries.split == "train"].reset_index(drop=True)
    text = dict(zip(train_passages.pid, train_passages.text))
    model = ek.load_sentence_model(device="cpu")
    model.max_seq_length = 32
    pairs = datasets.Dataset.from_dict({"anchor": train_queries.text.tolist(),
                                        "positive": [text[p] for p in train_queries.pid]})
    with contextlib.redirect_stderr(io.StringIO()):  # the miner's progress bars
        mined = mine_hard_negatives(pairs, model, corpus=train_passages.text.tolist(), num_negatives=1, verbose=False)
    table = pd.DataFrame({"anchor": mined["anchor"], "positive": mined["positive"], "negative": mined["negative"]})
    table.to_csv(OUT / "helpdesk_triplets.csv", index=False, lineterminator="\n")


if __name__ == "__main__":
    main()
