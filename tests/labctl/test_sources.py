"""function_at reads qualified names from source, as tracemalloc rows need."""

from pathlib import Path

from labctl.sources import function_at

SOURCE = """\
import functools


class Renderer:
    @functools.cache
    def render(self, url):
        def escape(s):
            return s
        return escape(url)


def top_level():
    return 1
"""


def test_function_at_names_methods_nested_functions_and_module_level(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(SOURCE)
    assert function_at(str(path), 5) == "Renderer.render"  # the decorator line
    assert function_at(str(path), 9) == "Renderer.render"
    assert function_at(str(path), 8) == "Renderer.render.<locals>.escape"
    assert function_at(str(path), 13) == "top_level"
    assert function_at(str(path), 1) is None
    assert function_at(str(tmp_path / "missing.py"), 1) is None
