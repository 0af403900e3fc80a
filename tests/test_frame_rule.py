"""One rule for "application frame" on both sides of the boundary: the patient's debug
surface (which can import nothing of labctl), labctl (which never imports the patient) and
the window labctl runs inside other processes (which imports only the standard library)
agree on every path, except the debug surface's own files, which only the observer excludes."""

import os
import sysconfig

import pytest

import leaky_app.debug.tasks
from labctl.evidence.probes import remote_window
from labctl.records.location import is_application_file
from leaky_app.debug.frames import is_library

PATHS = [
    "/srv/app/links/cache.py",
    "/home/me/project/script.py",
    "/usr/lib/python3.11/asyncio/tasks.py",
    "/usr/local/lib/python3.11/json/encoder.py",
    "/srv/venv/lib/python3.11/site-packages/uvicorn/server.py",
    "/usr/lib/python3/dist-packages/yaml/__init__.py",
    "<frozen importlib._bootstrap>",
    "<string>",
    os.path.join(sysconfig.get_paths()["stdlib"], "asyncio", "events.py"),
    os.path.join(sysconfig.get_paths()["purelib"], "starlette", "routing.py"),
    os.path.abspath("leaky_app/links/service.py"),
]


@pytest.mark.parametrize("path", PATHS)
def test_both_sides_call_the_same_frames_application_code(path: str) -> None:
    assert is_application_file(path) is not is_library(path)
    # The window labctl runs inside a foreign process (--inject) carries its own copy.
    assert remote_window._is_application(path) is is_application_file(path)


def test_the_debug_surfaces_own_frames_are_never_the_application() -> None:
    own = leaky_app.debug.tasks.__file__
    assert is_library(own) and is_application_file(own)  # labctl sees an ordinary file
