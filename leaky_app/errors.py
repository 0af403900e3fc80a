"""One JSON shape for every refusal: ``{"error": code, "message": sentence, "request_id": id}``.

Handlers here turn domain exceptions, validation failures and unmatched routes into that
shape, so a client never sees a traceback or FastAPI's nested ``detail`` list.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from leaky_app.context import current_request_id
from leaky_app.links.alias_claims import AliasUnavailable, InsufficientCredits
from leaky_app.links.ownership import KeyRequired, WrongKey
from leaky_app.links.safety import BlockedTarget, SafetyUnavailable, UnsafeUrl
from leaky_app.links.service import AliasNeedsOwner, LinkNotFound

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


_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options"})


def _allowed_methods(request: Request, fallback: str) -> str:
    """Every method the spec documents at this path: Starlette's own 405 names only those of
    the first route it matched (one route per method here), and RFC 9110 wants them all. A
    path the spec leaves out keeps Starlette's answer (``fallback``)."""
    app = request.app
    if not isinstance(app, FastAPI):
        return fallback
    path = request.url.path
    for template, operations in app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            return ", ".join(sorted(m.upper() for m in operations if m in _HTTP_METHODS))
    return fallback


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


# Domain exceptions whose message is already the sentence a client should read.
DOMAIN_ERRORS: dict[type[Exception], tuple[int, str]] = {
    LinkNotFound: (404, "not_found"),
    AliasNeedsOwner: (422, "invalid_request"),
    AliasUnavailable: (409, "alias_taken"),
    InsufficientCredits: (402, "insufficient_credits"),
    UnsafeUrl: (422, "unsafe_url"),
    BlockedTarget: (403, "blocked_target"),
    SafetyUnavailable: (503, "safety_check_unavailable"),
    KeyRequired: (401, "management_key_required"),
    WrongKey: (403, "wrong_management_key"),
}
# A 401 says how to authenticate (RFC 9110).
_CHALLENGE = {401: {"WWW-Authenticate": 'Bearer realm="links"'}}


def _domain_handler(
    status: int, code: str
) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handle(_: Request, exc: Exception) -> JSONResponse:
        return error_response(status, code, str(exc), _CHALLENGE.get(status))

    return handle


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(*_describe_validation(exc))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request, headers.get("Allow", ""))
        return error_response(exc.status_code, code, str(exc.detail), headers)

    async def on_unhandled(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return error_response(500, "internal", "internal error; quote the request id")

    app.add_exception_handler(ApiError, on_api_error)
    for domain_error, (status, code) in DOMAIN_ERRORS.items():
        app.add_exception_handler(domain_error, _domain_handler(status, code))
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unhandled)
