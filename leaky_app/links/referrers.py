"""Recent clicks per referrer, for the "where do clicks come from" panel."""

from __future__ import annotations

import collections
import time


class ReferrerLog:
    """A bounded log of recent clicks; ``panel_window`` > 0 turns on the live panel."""

    def __init__(self, keep: int = 5000) -> None:
        self._recent: collections.deque[tuple[str, str, float]] = collections.deque(maxlen=keep)
        self.panel_window = 0

    def record(self, code: str, referrer: str | None) -> None:
        self._recent.append((code, referrer or "direct", time.time()))
        if self.panel_window:
            self.distinct_recent(self.panel_window)

    def distinct_recent(self, window: int) -> list[tuple[str, str, float]]:
        """The last ``window`` clicks without duplicates, oldest first."""
        recent = list(self._recent)[-window:]
        distinct: list[tuple[str, str, float]] = []
        for click in recent:
            if click not in distinct:  # a list scan per click: quadratic in the window
                distinct.append(click)
        return distinct
