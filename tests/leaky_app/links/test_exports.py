"""Click exports: appended per click, or kept open (the release), the same files."""

import csv
import io
import shutil
import tempfile
from pathlib import Path

import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaky_app.links.exports import HEADER, ClickExports

CODES = ["abc", "Zq9", "x_y-1", "T0p"]
pages = st.one_of(
    st.just("direct"),
    st.builds(lambda n: f"https://news.example/item/{n}", st.integers(0, 50)),
    st.text(st.characters(codec="utf-8"), max_size=30),
)
clicks = st.lists(
    st.tuples(st.sampled_from(CODES), st.floats(0, 2e9, allow_nan=False), pages), max_size=40
)


def exports_of(folder: Path, writer: str = "appends", max_open: int = 1000) -> ClickExports:
    exports = ClickExports(folder, max_open=max_open)
    exports.use_writer(writer)
    return exports


@settings(max_examples=80, deadline=None)
@given(clicks=clicks, switch_at=st.integers(0, 40), max_open=st.integers(1, 5))
def test_appends_open_files_and_a_switch_write_the_same_exports(
    clicks: list[tuple[str, float, str]], switch_at: int, max_open: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        appends = exports_of(root / "appends")
        kept = exports_of(root / "open", "open", max_open)
        switched = exports_of(root / "switched", "appends", max_open)
        for i, (code, at, page) in enumerate(clicks):
            if i == switch_at:
                switched.use_writer("open")
            for exports in (appends, kept, switched):
                exports.append(code, at, page)
            # Read while the release holds files open: a download sees every row so far.
            assert kept.read(code) == appends.read(code) == switched.read(code)
        for code in CODES:
            body = appends.read(code)
            assert kept.read(code) == switched.read(code) == body
            rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
            mine = [(f"{at:.3f}", page) for c, at, page in clicks if c == code]
            assert rows == [["clicked_at", "referrer"], *map(list, mine)]
        assert appends.open_files() == 0
        assert kept.open_files() <= max_open
        for exports in (kept, switched):
            exports.use_writer("appends")
            assert exports.open_files() == 0


def test_the_release_holds_a_descriptor_per_link_until_switched_back(tmp_path: Path) -> None:
    me = psutil.Process()
    exports = exports_of(tmp_path / "exports", "open", max_open=50)
    before = me.num_fds()
    for n in range(40):
        for _ in range(3):  # a link clicked three times is one file, opened once
            exports.append(f"link{n}", 1.0, "direct")
    assert me.num_fds() - before == 40 == exports.open_files()
    for n in range(40, 80):
        exports.append(f"link{n}", 1.0, "direct")
    assert me.num_fds() - before == 50  # the cap: the oldest file is closed for a new one
    exports.use_writer("appends")
    assert me.num_fds() <= before
    assert len(list((tmp_path / "exports").iterdir())) == 80  # every link's rows are kept


def test_a_deleted_links_export_is_gone_and_an_unclicked_one_is_its_header(
    tmp_path: Path,
) -> None:
    exports = exports_of(tmp_path / "exports", "open")
    exports.append("abc", 1.5, 'https://a.example/x,"y"')
    assert exports.read("abc") == (HEADER + '1.500,"https://a.example/x,""y"""\r\n').encode()
    exports.discard("abc")
    assert exports.open_files() == 0
    assert exports.read("abc") == HEADER.encode()
    assert list((tmp_path / "exports").iterdir()) == []


def test_an_export_that_cannot_be_written_never_fails_the_click(tmp_path: Path) -> None:
    for writer in ("appends", "open"):
        folder = tmp_path / writer
        exports = exports_of(folder, writer)
        exports.append("abc", 1.0, "direct")
        exports.use_writer(writer)  # the release's files closed, as switching does
        shutil.rmtree(folder)  # someone cleaned the run folder: the next click makes it again
        exports.append("abc", 2.0, "direct")
        assert exports.read("abc") == (HEADER + "2.000,direct\r\n").encode()
        exports.use_writer("appends")
        shutil.rmtree(folder)
        folder.write_text("not a folder")  # and now nothing can be written there
        exports.append("abc", 3.0, "direct")
        assert exports.failed_rows == 1


def test_an_unknown_writer_is_refused() -> None:
    with pytest.raises(ValueError, match="no export writer 'kept'"):
        ClickExports(Path("unused")).use_writer("kept")
