"""Frames as records, and the innermost application frame of a stack."""

import sys

from leaky_app.debug.frames import FrameInfo, first_app_frame, from_frame, is_library, stack_of


def here() -> FrameInfo:
    return from_frame(sys._getframe())


def test_a_frame_is_named_by_its_qualified_name() -> None:
    info = here()
    assert info.function == "here" and info.file == __file__
    assert info.to_json() == {"function": "here", "file": __file__, "line": info.line}
    assert str(info) == f"here ({__file__}:{info.line})"


def test_the_first_application_frame_skips_the_library_and_this_package() -> None:
    stack = stack_of(sys._getframe())
    assert stack[0].function.endswith(
        "test_the_first_application_frame_skips_the_library_and_this_package"
    )
    library = FrameInfo("run", "/usr/lib/python3.11/asyncio/events.py", 80)
    app = FrameInfo("Cache.put", "/srv/app/cache.py", 40)
    assert first_app_frame([library, app]) == app
    assert first_app_frame([library]) == library  # none is the application's: the innermost
    assert first_app_frame([]) is None
    assert is_library(library.file) and not is_library(app.file)
