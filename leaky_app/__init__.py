"""The patient: a link shortener with an email notifier, carrying planted production bugs.

Start it with ``leaky-app`` or ``python -m leaky_app``; build it in-process with
:func:`leaky_app.app.create_app`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("python-diagnostics-lab")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
