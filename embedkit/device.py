"""Device selection from the DEVICE setting: auto, cpu or cuda (cuda:N also works)."""
import os

import torch

CHOICES = ("auto", "cpu", "cuda")


def get_device(device: str | None = None) -> torch.device:
    """Return the torch.device to use.

    `device` wins over the DEVICE environment variable; both default to "auto",
    which picks CUDA when a GPU is visible and the CPU otherwise. Asking for cuda
    on a machine without one is an error, not a silent fall-back to the CPU.
    """
    choice = (device or os.environ.get("DEVICE") or "auto").strip().lower()
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if choice == "cpu":
        return torch.device("cpu")
    if choice == "cuda" or choice.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"DEVICE={choice} was asked for, but torch sees no CUDA GPU "
                f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}). "
                "Install a CUDA build of torch (see README, 'Running on a GPU') or use DEVICE=cpu."
            )
        return torch.device(choice)
    raise ValueError(f"DEVICE must be one of {CHOICES} (or cuda:N), got {choice!r}")
