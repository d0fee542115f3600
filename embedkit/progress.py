"""Progress bars for long steps: shown to people, silent while grading."""
from tqdm.auto import tqdm

from .quiet import is_grading


def progress(iterable=None, **kwargs):
    """tqdm.auto.tqdm that disables itself while a notebook is graded."""
    kwargs.setdefault("disable", is_grading())
    return tqdm(iterable, **kwargs)
