"""Quiet mode for grading.

nbgrader gives zero to a test cell that writes anything to stderr, so a progress
bar or a library warning would cost a correct answer its points. While a notebook
is graded (nbgrader sets NBGRADER_EXECUTION in the kernel's environment) we turn
those off.
"""
import logging
import os
import warnings

# Environment settings that silence the libraries the course uses (the grader sets them for its kernels too).
QUIET_ENV = {
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TOKENIZERS_PARALLELISM": "false",  # its fork warning goes to stderr
    "PYTHONWARNINGS": "ignore",
}


def is_grading() -> bool:
    """True while nbgrader (or our autograder) executes the notebook."""
    return bool(os.environ.get("NBGRADER_EXECUTION")) or os.environ.get("EMBEDKIT_QUIET") == "1"


def quiet() -> None:
    """Silence progress bars, warnings and library logging for this process."""
    os.environ.update(QUIET_ENV)
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    # tqdm reads TQDM_DISABLE when it is imported, and libraries pass disable= themselves
    # (sentence-transformers' show_progress_bar), so every bar is switched off at the base class.
    from tqdm import std

    if not getattr(std.tqdm.__init__, "quiet", False):
        original = std.tqdm.__init__

        def silent_init(self, *args, **kwargs):
            kwargs["disable"] = True
            original(self, *args, **kwargs)

        silent_init.quiet = True
        std.tqdm.__init__ = silent_init
    try:
        from transformers.utils import logging as hf_logging
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover
        pass
