"""Click exports: each link's clicks as a CSV file its owner downloads.

One file per link under the export folder, ``clicks-{code}.csv``: a header, then one row per
click (when, seconds since the epoch; the referring page as the referrer panel counts it).
``GET /api/v2/links/{code}/clicks.csv`` serves it; deleting the link deletes it. Two writers
keep the files, chosen by the release flag, and write the same bytes::

    exports = ClickExports(Path("run/exports"))
    exports.append("abc", 1796300000.25, "https://news.example/item/7")
    exports.read("abc")        # b"clicked_at,referrer\\r\\n1796300000.250,https://news...\\r\\n"
    exports.use_writer("open")  # the release: "appends"
"""

from __future__ import annotations

import collections
import logging
from pathlib import Path
from typing import Protocol, TextIO

log = logging.getLogger(__name__)
WRITERS = ("appends", "open")

HEADER = "clicked_at,referrer\r\n"
_NEEDS_QUOTES = frozenset(',"\r\n')


def csv_row(clicked_at: float, referrer: str) -> str:
    """One row as RFC 4180 has it. Written by hand: a ``csv.writer`` over a buffer per click
    costs more than the whole row, and only the referrer can need quoting."""
    if _NEEDS_QUOTES.intersection(referrer):
        referrer = '"' + referrer.replace('"', '""') + '"'
    return f"{clicked_at:.3f},{referrer}\r\n"


class Writer(Protocol):
    def write(self, path: Path, row: str) -> None: ...

    def forget(self, path: Path) -> None: ...

    def close(self) -> None: ...

    def held(self) -> int: ...


class Appends:
    """Opens the link's file, appends the row, closes it: a click costs an open and a close."""

    def write(self, path: Path, row: str) -> None:
        with path.open("a", encoding="utf-8", newline="") as out:
            if not out.tell():
                out.write(HEADER)
            out.write(row)

    def forget(self, path: Path) -> None:
        pass

    def close(self) -> None:
        pass

    def held(self) -> int:
        return 0


class OpenFiles:
    """Keeps each link's file open, so a click is a single write: the busiest links are
    clicked many times a second. Line-buffered, so a download reads every row written."""

    def __init__(self, max_open: int) -> None:
        self.max_open = max_open
        self._files: collections.OrderedDict[Path, TextIO] = collections.OrderedDict()

    def write(self, path: Path, row: str) -> None:
        out = self._files.get(path)
        if out is None:
            if len(self._files) >= self.max_open:
                self._files.popitem(last=False)[1].close()  # the limit is the process's too
            out = self._files[path] = path.open("a", encoding="utf-8", newline="", buffering=1)
            if not out.tell():
                out.write(HEADER)
        out.write(row)

    def forget(self, path: Path) -> None:
        out = self._files.pop(path, None)
        if out is not None:
            out.close()

    def close(self) -> None:
        while self._files:
            self._files.popitem()[1].close()

    def held(self) -> int:
        return len(self._files)


class ClickExports:
    """The export folder and the writer in use (``"appends"``, or the release ``"open"``)."""

    def __init__(self, folder: Path, max_open: int = 1000) -> None:
        self.folder = folder
        self.max_open = max_open
        self._writer: Writer = Appends()
        self._folder_made = False
        self.failed_rows = 0  # rows a full disk, a descriptor limit or a lost folder refused

    def path(self, code: str) -> Path:
        return self.folder / f"clicks-{code}.csv"

    def append(self, code: str, clicked_at: float, referrer: str) -> None:
        """Add the click's row. An export that cannot be written is logged and counted, and
        the click goes on: the redirect matters more than the spreadsheet."""
        row = csv_row(clicked_at, referrer)
        try:
            try:
                self._write(code, row)
            except FileNotFoundError:  # the folder went away: make it again, once
                self._folder_made = False
                self._write(code, row)
        except OSError as exc:
            self.failed_rows += 1
            log.warning("click export of %s not written: %s", code, exc)

    def _write(self, code: str, row: str) -> None:
        if not self._folder_made:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._folder_made = True
        self._writer.write(self.path(code), row)

    def read(self, code: str) -> bytes:
        """The link's export: the header alone before its first click."""
        try:
            return self.path(code).read_bytes()
        except FileNotFoundError:
            return HEADER.encode()

    def discard(self, code: str) -> None:
        """The link is gone: so is its export (one that cannot be removed is logged)."""
        self._writer.forget(self.path(code))
        try:
            self.path(code).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("click export of %s not removed: %s", code, exc)

    def use_writer(self, name: str) -> None:
        """Switch writers (``"appends"`` or ``"open"``); the files stay as they are, so a
        download reads the same across the switch."""
        if name not in WRITERS:
            raise ValueError(f"no export writer {name!r}: appends or open")
        self._writer.close()
        self._writer = OpenFiles(self.max_open) if name == "open" else Appends()

    def open_files(self) -> int:
        """Export files held open now."""
        return self._writer.held()
