"""The doctor's bag: start the lab, drive it, attach profilers, name the culprit.

``labctl`` never imports ``leaky_app``: it talks to any service over HTTP and through external
profilers, so everything here works on a process that is not ours.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("python-diagnostics-lab")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
