"""Schemathesis hooks for the API fuzz run (``tests/integration/test_api_fuzz.py``), loaded by
the ``st`` process in its own venv through ``SCHEMATHESIS_HOOKS``: no project import here.

One check of our own beside schemathesis's: a refused request (4xx) changes nothing stored.
Before each call it reads the service's SQLite file (read-only, as a second reader); after a
refusal it finds no new link, no link gone that had not expired, no reservation left and no
credit moved.
"""

from __future__ import annotations

import atexit
import json
import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import schemathesis

DB = os.environ.get("LAB_FUZZ_DB", "")
TALLY = os.environ.get("LAB_FUZZ_TALLY", "")  # where the refusals checked are counted, at exit
_checked = {"refusals": 0}


@dataclass(frozen=True)
class Stored:
    links: dict[str, float | None]  # code -> expires_at
    reservations: int
    ledger_id: int  # the newest credit_ledger row


def stored() -> Stored:
    with closing(sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=10)) as db:
        links = dict(db.execute("SELECT code, expires_at FROM links").fetchall())
        reservations = db.execute("SELECT count(*) FROM alias_reservations").fetchone()[0]
        ledger = db.execute("SELECT coalesce(max(id), 0) FROM credit_ledger").fetchone()[0]
    return Stored(links, reservations, ledger)


def credit_moved_since(ledger_id: int) -> int:
    with closing(sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=10)) as db:
        row = db.execute(
            "SELECT coalesce(sum(delta), 0) FROM credit_ledger WHERE id > ?", (ledger_id,)
        ).fetchone()
    return int(row[0])


_before: dict[int, Stored] = {}


def _expired(expires_at: float | None, now: float) -> bool:
    return expires_at is not None and expires_at <= now  # the expiry job may delete it


def before_call(ctx: Any, case: Any, kwargs: Any) -> None:
    _before[id(case)] = stored()


def refused_requests_change_nothing(ctx: Any, response: Any, case: Any) -> bool | None:
    before = _before.pop(id(case), None)
    if before is None or not 400 <= response.status_code < 500:
        return None
    after = stored()
    now = time.time()
    new = sorted(set(after.links) - set(before.links))
    gone = [c for c in set(before.links) - set(after.links) if not _expired(before.links[c], now)]
    problems = []
    if new:
        problems.append(f"a {response.status_code} stored new links {new[:5]}")
    if gone:
        problems.append(f"a {response.status_code} deleted live links {gone[:5]}")
    if after.reservations != before.reservations:
        problems.append(f"a {response.status_code} left alias reservations behind")
    if moved := credit_moved_since(before.ledger_id):
        problems.append(f"a {response.status_code} moved {moved} credit(s)")
    if problems:
        raise AssertionError("; ".join(problems))
    _checked["refusals"] += 1
    return True


def _write_tally() -> None:
    if TALLY:
        with open(TALLY, "w") as out:
            json.dump(_checked, out)


atexit.register(_write_tally)
schemathesis.hook(before_call)
schemathesis.check(refused_requests_change_nothing)
