"""function_at reads qualified names from source, as tracemalloc rows need."""

from pathlib import Path

from labctl.evidence.sources import function_at, grep, in_loop, source_scope

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


def test_grep_names_the_function_around_each_hit_and_skips_comments(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "exports.py").write_text(
        "# segments are named clicks-<ns>.csv\n"
        "class Exporter:\n"
        "    def append(self):\n"
        "        return open(f'clicks-{1}.csv', 'a')\n"
        "PATTERN = 'clicks-'\n"
    )
    (tmp_path / "pkg" / "other.py").write_text("def unrelated():\n    return 1\n")
    hits = grep("clicks-", tmp_path)
    assert [(h.location.function, h.location.line) for h in hits] == [
        ("Exporter.append", 4),
        ("<module>", 5),
    ]
    assert [h.in_function for h in hits] == [True, False]
    assert hits[0].location.file.endswith("exports.py") and hits[0].text.startswith("return open(")
    assert grep("no such text", tmp_path) == []


def test_the_scope_of_a_file_is_its_top_package_or_the_script_alone(tmp_path: Path) -> None:
    inner = tmp_path / "app" / "links"
    inner.mkdir(parents=True)
    for folder in (tmp_path / "app", inner):
        (folder / "__init__.py").write_text("")
    script = tmp_path / "script.py"
    script.write_text('NAME = "segment-"\n')
    (tmp_path / "other.py").write_text('NAME = "segment-"\n')
    assert source_scope(str(inner / "exports.py")) == tmp_path / "app"
    assert source_scope(str(tmp_path / "app" / "main.py")) == tmp_path / "app"
    assert source_scope(str(script)) == script
    assert [h.location.file for h in grep("segment-", source_scope(str(script)))] == [str(script)]


LOOPS = """\
async def resend(send, message):
    for attempt in range(10):
        await send(message)
    while True:
        break
    return await send(message)
"""


def test_in_loop_says_whether_a_line_runs_in_a_loop_body(tmp_path: Path) -> None:
    path = tmp_path / "loops.py"
    path.write_text(LOOPS)
    assert [in_loop(str(path), line) for line in range(1, 7)] == [
        False, False, True, False, True, False,
    ]  # fmt: skip
    assert not in_loop(str(tmp_path / "missing.py"), 3)
