"""``/debug/traces``: the newest traces in the in-memory span buffer, and one trace's spans.

The buffer (:class:`leaky_app.tracing.RecentSpans`) is bounded; a trace older than its last
few thousand spans is gone from here (an OTLP collector, when configured, keeps it).
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leaky_app.debug.endpoints import Endpoint, int_param
from leaky_app.tracing import RecentSpans

_TRACE_ID = re.compile(r"[0-9a-f]{32}")


def trace_endpoints(recent: RecentSpans) -> list[Endpoint]:
    async def list_traces(request: Request) -> Response:
        limit = int_param(request, "limit", 20, 1, 200)
        return JSONResponse({"traces": recent.traces(limit)})

    async def one_trace(request: Request) -> Response:
        trace_id = request.path_params["trace_id"].lower()
        if not _TRACE_ID.fullmatch(trace_id):
            return JSONResponse(
                {"error": "bad_param", "message": "trace_id must be 32 hex digits"}, 400
            )
        spans = recent.trace(trace_id)
        if not spans:
            return JSONResponse(
                {"error": "not_found",
                 "message": f"no span of trace {trace_id} in the buffer (it keeps the newest)"},
                404,
            )  # fmt: skip
        return JSONResponse({"trace_id": trace_id, "spans": [s.to_json() for s in spans]})

    return [
        Endpoint("/debug/traces", ("GET",), "newest traces in the span buffer (seed Q362)",
                 "limit=1..200", list_traces),
        Endpoint("/debug/traces/{trace_id}", ("GET",), "one trace's spans, parent ids included",
                 "", one_trace),
    ]  # fmt: skip
