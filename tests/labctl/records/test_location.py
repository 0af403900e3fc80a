"""One place in the code, and the one rule for application code."""

import pytest

from labctl.records.location import (
    MODULE_LEVEL,
    UNKNOWN,
    Location,
    SourceHit,
    is_application_file,
)


@pytest.mark.parametrize(
    ("file", "application"),
    [
        ("/srv/app/links/cache.py", True),
        ("/home/me/project/script.py", True),
        ("/usr/lib/python3.11/asyncio/tasks.py", False),
        ("/root/.pyenv/versions/3.11.7/lib/python3.11/json/encoder.py", False),
        ("/srv/venv/lib/python3.11/site-packages/uvicorn/server.py", False),
        ("/usr/lib/python3/dist-packages/yaml/__init__.py", False),
        ("<frozen importlib._bootstrap>", False),
        ("<string>", False),
    ],
)
def test_application_code_is_what_is_neither_the_interpreters_nor_installed(
    file: str, application: bool
) -> None:
    assert is_application_file(file) is application
    assert Location("f", file, 1).is_application is application


def test_the_debug_surfaces_text_and_json_give_the_same_place() -> None:
    text = Location.parse("LinkCache.put (/srv/app/links/cache.py:40)")
    assert text == Location("LinkCache.put", "/srv/app/links/cache.py", 40)
    assert Location.from_json(text.to_json()) == text
    assert str(text) == "LinkCache.put (/srv/app/links/cache.py:40)"
    # Text the surface did not write as a frame is kept, with no file to point at.
    assert Location.parse("<idle>") == Location("<idle>", "?", 0)
    assert Location.from_json({"function": "f", "file": "a.py", "line": None}).line == 0


def test_one_key_per_function_and_an_unknown_place_says_so() -> None:
    hot = Location("render", "/srv/app/page.py", 17)
    assert hot.without_line() == Location("render", "/srv/app/page.py", 0)
    assert str(UNKNOWN) == "? (?:0)"


def test_a_hit_at_module_level_is_not_in_a_function() -> None:
    assert SourceHit(Location("Exporter.append", "x.py", 4), "open(...)").in_function
    assert not SourceHit(Location(MODULE_LEVEL, "x.py", 5), "PATTERN = 'x'").in_function
