"""One JSON shape for every refusal: ``{"error": code, "message": sentence, "request_id": id}``.

Handlers here turn domain exceptions, validation failures and unmatched routes into that
shape, so a client never sees a traceback or FastAPI's nested ``detail`` list.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from leaky_app.context import current_request_id
from leaky_app.links.alias_claims import AliasUnavailable, InsufficientCredits
from leaky_app.links.service import AliasTaken, LinkNotFound

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = {"error": code, "message": message, "request_id": current_request_id()}
    return JSONResponse(body, status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        ctx = next(err.get("ctx", {}) for err in errors if err.get("type") == "json_invalid")
        return 400, "malformed_json", f"request body is not valid JSON: {ctx.get('error', '')}"
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{'.'.join(loc) or 'body'}: {msg}")
    return 422, "invalid_request", "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    async def on_not_found(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, LinkNotFound)
        return error_response(404, "not_found", str(exc))

    async def on_alias_taken(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AliasTaken)
        return error_response(409, "alias_taken", str(exc))

    async def on_alias_unavailable(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AliasUnavailable)
        return error_response(409, "alias_taken", str(exc))

    async def on_no_credit(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InsufficientCredits)
        return error_response(402, "insufficient_credits", str(exc))

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(*_describe_validation(exc))

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), exc.headers)

    async def on_unhandled(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return error_response(500, "internal", "internal error; quote the request id")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(LinkNotFound, on_not_found)
    app.add_exception_handler(AliasTaken, on_alias_taken)
    app.add_exception_handler(AliasUnavailable, on_alias_unavailable)
    app.add_exception_handler(InsufficientCredits, on_no_credit)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unhandled)
