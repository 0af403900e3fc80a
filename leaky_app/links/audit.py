"""Redirect audit trail: one record per redirect, with its checks as children."""

from __future__ import annotations

import collections
import random


class AuditEntry:
    def __init__(self, code: str, parent: AuditEntry | None = None) -> None:
        self.code = code
        self.parent = parent  # child -> parent and parent -> children: a reference cycle
        self.children: list[AuditEntry] = []


class RedirectAudit:
    """``checks`` > 0 turns auditing on; ``geo_rows`` is the geo-IP table it joins against."""

    def __init__(
        self, max_rows: int = 2_000_000, keep_recent: int = 2000, max_objects: int = 2_000_000
    ) -> None:
        self.checks = 0
        self.max_rows = max_rows
        self.max_objects = max_objects  # safety cap of the lab: audit entries kept in recent
        self._geo: dict[int, tuple[str, list[int]]] = {}
        # The admin page shows the latest audits; records live long enough to reach the old
        # generation, and each one evicted is a cycle only a full collection can free.
        self.recent: collections.deque[AuditEntry] = collections.deque(maxlen=keep_recent)

    def load_geo_table(self, rows: int) -> None:
        rows = min(rows, self.max_rows)
        self._geo = {i: (f"net-{i}", [i, i + 1]) for i in range(rows)}

    def record(self, code: str) -> str:
        root = AuditEntry(code)
        for _ in range(self.checks):
            child = AuditEntry(code, parent=root)
            root.children.append(child)
        self.recent.append(root)
        while len(self.recent) * (self.checks + 1) > self.max_objects:
            self.recent.popleft()
        region = self._geo.get(random.randrange(len(self._geo) or 1))  # noqa: S311
        return region[0] if region else "unknown"

    def unload(self) -> None:
        self.checks = 0
        self._geo = {}
        self.recent.clear()
