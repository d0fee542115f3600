"""Plotly renderer chosen for where the notebook runs."""
import sys


def configure_plotly() -> str:
    """Pick plotly's renderer deliberately and return its name.

    Colab has its own renderer. Elsewhere each figure carries two representations:
    the plotly mimetype, which JupyterLab renders natively, and HTML that loads
    plotly.js from its CDN, which nbconvert's HTML (nbgrader's feedback) shows.
    Outside IPython (plain scripts) plotly's default is left alone.
    """
    import plotly.io as pio

    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with every kernel
        return pio.renderers.default
    if get_ipython() is None:
        return pio.renderers.default
    pio.renderers.default = "colab" if "google.colab" in sys.modules else "plotly_mimetype+notebook_connected"
    return pio.renderers.default
