"""One call that seeds every random number generator the course uses."""
import os
import random

import numpy as np
import torch


def seed_everything(seed: int = 0) -> np.random.Generator:
    """Seed python's `random`, numpy's global RNG and torch (CPU and CUDA).

    Returns a fresh numpy Generator from the same seed, for code that prefers
    explicit generators.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    os.environ["PYTHONHASHSEED"] = str(seed)  # for subprocesses; this process hashed already
    return np.random.default_rng(seed)
