"""Request-scoped context carried by contextvars (seed Q374).

asyncio copies the current context into every task it creates, so a value set by the
request-id middleware is visible in the handler, in the store calls it awaits and in tasks
it spawns, with no parameter threading. Read it with :func:`current_request_id`.
"""

from __future__ import annotations

import itertools
import os
import re
from contextvars import ContextVar

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")

# Minted ids are a random per-process prefix (48 bits) and a counter, "3f9a0c1e5b7d-42":
# unique across restarts and instances, ~10x cheaper than uuid4() on the hot path (it showed
# up at 6% in py-spy), and short: uvicorn scans every response header value with a regex.
_PROCESS_PREFIX = os.urandom(6).hex()
_sequence = itertools.count(1)

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return request_id_var.get()


def accept_or_generate(incoming: bytes | None) -> str:
    """Keep a caller's id (the raw ``X-Request-ID`` value) when it is safe to log verbatim;
    otherwise mint a new one.

    A header is attacker-controlled: refusing odd characters keeps log lines parseable.
    """
    if incoming is not None and _VALID_REQUEST_ID.fullmatch(incoming):
        return incoming.decode("ascii")
    return f"{_PROCESS_PREFIX}-{next(_sequence)}"  # no format spec: str(int) is the cheap path
