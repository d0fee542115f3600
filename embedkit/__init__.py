"""embedkit: the small helper library every notebook of the course imports.

It holds the plumbing that is not what the course teaches: choosing a device,
seeding, finding models and data offline, and keeping output quiet while a
notebook is graded. Everything students are there to learn, they write.
"""
from .quiet import is_grading, new_head, quiet, quiet_library_bars
from .device import get_device
from .seed import seed_everything
from .models import ModelNotAvailable, resolve_model, load_sentence_model, load_hf_model
from .glove import GloVe, load_glove
from .data import data_path, google_analogies
from .progress import progress
from .plots import configure_plotly
from . import checks
from .claims import claim

__all__ = [
    "setup", "is_grading", "quiet", "new_head", "get_device", "seed_everything",
    "ModelNotAvailable", "resolve_model", "load_sentence_model", "load_hf_model",
    "GloVe", "load_glove", "data_path", "google_analogies", "progress", "checks", "claim", "configure_plotly",
]


def setup(seed: int = 0, device: str | None = None):
    """The first call of every notebook: quiet when graded, no library bar for each model load or save, seeded,
    plotly set up, and the device to use.

    Returns the torch.device chosen from `device` or the DEVICE environment setting.
    """
    if is_grading():
        quiet()
    quiet_library_bars()
    seed_everything(seed)
    configure_plotly()
    return get_device(device)
