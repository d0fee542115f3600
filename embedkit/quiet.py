"""Quiet mode for grading.

nbgrader gives zero to a test cell that writes anything to stderr, so a progress
bar or a library warning would cost a correct answer its points. While a notebook
is graded (nbgrader sets NBGRADER_EXECUTION in the kernel's environment) we turn
those off.
"""
import contextlib
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


# Progress bars the libraries draw for steps of a fraction of a second, with no argument to turn them off:
# transformers' on every model load and save (its `disable_progress_bar()` would also hide hub downloads, which
# people want to see), sentence-transformers' when a trainer samples model-card examples (it ignores `disable_tqdm`).
LIBRARY_BARS = {"Loading weights", "Writing model shards", "Computing widget examples"}


def quiet_library_bars() -> None:
    """Turn off the library progress bars named in LIBRARY_BARS (by their description), and no other bar."""
    from tqdm import std

    if getattr(std.tqdm.__init__, "library_bars", False):
        return
    original = std.tqdm.__init__

    def init(self, *args, **kwargs):
        if kwargs.get("desc") in LIBRARY_BARS:
            kwargs["disable"] = True
        original(self, *args, **kwargs)

    init.library_bars = True
    init.quiet = getattr(original, "quiet", False)
    std.tqdm.__init__ = init


class _NewHeadReport(logging.Filter):
    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "LOAD REPORT" not in message:
            return True
        rows = [line for line in message.splitlines() if "|" in line and not line.lstrip().startswith(("Key", "-"))]
        keys = [row.split("|")[0].strip() for row in rows]
        only_new_head = all("MISSING" in row for row in rows) and all(key.startswith(self.prefix) for key in keys)
        return not (rows and only_new_head)


@contextlib.contextmanager
def new_head(prefix: str = "classifier."):
    """Load a pretrained encoder under a new task head (a cross-encoder's classifier, trained next) without
    transformers' LOAD REPORT listing the head's weights as MISSING: they must be missing, and transformers has no
    argument to say the head is meant to be new. A report of anything else (other missing weights, unexpected or
    mismatched ones) still shows."""
    logger = logging.getLogger("transformers.modeling_utils")
    report_filter = _NewHeadReport(prefix)
    logger.addFilter(report_filter)
    try:
        yield
    finally:
        logger.removeFilter(report_filter)
