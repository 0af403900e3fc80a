"""Structured JSON logging: one object per line, each carrying the request id and trace id.

``configure_logging("INFO")`` installs the handler on the root logger once; later calls only
change the level, which is how the hot-reloaded ``log_level`` takes effect.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from leaky_app.context import current_request_id
from leaky_app.tracing import trace_id_of

_HANDLER_NAME = "leaky_app.json"


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request id and trace id (``null`` outside a
    request, or when the trace is not sampled): a log line leads to its trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        record.trace_id = trace_id_of(trace.get_current_span())
        return True


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        if handler.get_name() == _HANDLER_NAME:
            return handler
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{request_id}{trace_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False,
        )
    )
    root.addHandler(handler)
    return handler


def set_level(level: str) -> None:
    logging.getLogger().setLevel(level)
