"""Errors as JSON (never an HTML traceback), security headers on every response, and the
input checks that hold for every route: no NUL in the URL, polling bodies within the
Engine.IO limit."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from safestream.errors import BadRequest, PayloadTooLarge, SafeStreamError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_payload",
    429: "rate_limited",
}

SERVER_NAME = "SafeStream"

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)


def error_response(status: int, code: str, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message, **extra}}, status=status)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except SafeStreamError as exc:
        response = web.json_response({"error": exc.to_dict()}, status=exc.status)
        if "retry_after" in exc.extra:
            response.headers["Retry-After"] = str(max(1, round(float(exc.extra["retry_after"]))))
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects stay redirects
        code = _HTTP_CODES.get(exc.status, "http_error")
        return error_response(exc.status, code, exc.reason or code)
    except ConnectionResetError as exc:
        # The client went away mid-answer (a reconnect storm abandons handshakes): nothing is wrong
        # here, and the answer's write fails quietly in aiohttp (raised, aiohttp logs an error).
        log.debug("client gone during %s %s: %s", request.method, request.path, exc)
        return error_response(499, "client_closed_request", "the client closed the connection")
    except Exception:  # the last boundary: log and answer JSON, never a traceback
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal", "something went wrong")


async def server_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response the app sends (WebSocket upgrades and
    Socket.IO polling included) names the product, never the Python or aiohttp version."""
    response.headers["Server"] = SERVER_NAME


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if response.prepared:  # WebSocket upgrades and streamed bodies: headers already sent
        return response
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.content_type == "text/html":
        headers.setdefault("Content-Security-Policy", CSP)
    return response


def input_limits(*, socketio_path: str, max_polling_body: int) -> Middleware:
    """Refuses, with a typed error, input that would otherwise fail deep inside a handler."""

    @web.middleware
    async def limits(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Query values reach SQL (searches, filters); PostgreSQL text cannot hold a NUL.
        if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in request.query.items()):
            raise BadRequest("the URL must not contain NUL characters", code="invalid_text")
        # python-engineio drops a too-long polling POST without answering it: answer 413 first.
        if (
            request.method == "POST"
            and request.path.rstrip("/") == socketio_path
            and (request.content_length or 0) > max_polling_body
        ):
            raise PayloadTooLarge(
                f"a polling request body is at most {max_polling_body} bytes", max_bytes=max_polling_body
            )
        return await handler(request)

    return limits
