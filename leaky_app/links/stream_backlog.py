"""What one stream subscriber holds while its client catches up: the events waiting, oldest
first, at most the subscriber's ``limit`` (the subscriber refuses more; see
:class:`~leaky_app.links.click_stream.Subscriber`).

Two ways to hold them, with the same behaviour (a test checks it over random event streams):

* :class:`EventList` (the default): a list of the event texts. The texts are the ones the
  stream encoded once for every subscriber, so an idle subscriber holds an empty list and a
  busy one a pointer per event.
* :class:`PackedEvents`: each event copied, UTF-8 encoded, back to back into one buffer
  allocated for the whole backlog when the subscriber is made, so appending on the publish
  path never reallocates.

Usage::

    backlog = EventList()            # or PackedEvents(limit=64)
    backlog.append('{"code": "abc", ...}')
    len(backlog)                     # 1
    backlog.drain()                  # ['{"code": "abc", ...}'], and the backlog is empty
"""

from __future__ import annotations

from typing import Protocol

# An event is ``{"code", "url", "at"}`` as JSON: a URL of up to 2,048 characters (the
# longest we accept) and the rest.
EVENT_BYTES = 2048 + 128


class Backlog(Protocol):
    def __len__(self) -> int: ...

    def append(self, text: str) -> None: ...

    def drain(self) -> list[str]:
        """Every waiting event, oldest first; the backlog is empty after."""
        ...

    def clear(self) -> None: ...


class EventList:
    """The waiting events as a list of the stream's own texts."""

    __slots__ = ("_texts",)

    def __init__(self) -> None:
        self._texts: list[str] = []

    def __len__(self) -> int:
        return len(self._texts)

    def append(self, text: str) -> None:
        self._texts.append(text)

    def drain(self) -> list[str]:
        batch, self._texts = self._texts, []
        return batch

    def clear(self) -> None:
        self._texts.clear()


class PackedEvents:
    """The waiting events encoded into one buffer sized for a full backlog of the longest
    events (``limit * EVENT_BYTES``). A longer event (a URL of escaped non-ASCII) grows it."""

    __slots__ = ("_buffer", "_ends")

    def __init__(self, limit: int) -> None:
        self._buffer = bytearray(limit * EVENT_BYTES)
        self._ends: list[int] = []  # where each waiting event ends in the buffer

    def __len__(self) -> int:
        return len(self._ends)

    def append(self, text: str) -> None:
        data = text.encode()
        start = self._ends[-1] if self._ends else 0
        end = start + len(data)
        if end > len(self._buffer):
            self._buffer.extend(bytes(end - len(self._buffer)))
        self._buffer[start:end] = data
        self._ends.append(end)

    def drain(self) -> list[str]:
        view = memoryview(self._buffer)
        batch = []
        start = 0
        for end in self._ends:
            batch.append(str(view[start:end], "utf-8"))
            start = end
        self._ends.clear()
        return batch

    def clear(self) -> None:
        self._ends.clear()
