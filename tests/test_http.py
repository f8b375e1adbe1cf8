"""Health, metrics, OpenAPI coverage, JSON errors and security headers."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from safestream.http.docs import route_doc
from safestream.http.middleware import errors


async def test_healthz_checks_the_database(client: TestClient) -> None:
    resp = await client.get("/healthz")
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "ok" and body["database"] == "ok"


async def test_every_http_route_is_documented(client: TestClient) -> None:
    spec = await (await client.get("/openapi.json")).json()
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if route.method == "HEAD" or path is None or path.startswith(("/socket.io", "/static")) or path == "/":
            continue
        assert route_doc(route.handler) is not None, f"{route.method} {path} has no @documented"
        assert route.method.lower() in spec["paths"][path], f"{route.method} {path} missing from OpenAPI"
    page = await client.get("/docs")
    assert page.status == 200 and "/api/admin/kick" in await page.text()


async def test_unknown_routes_and_methods_answer_json(client: TestClient) -> None:
    missing = await client.get("/no/such/page")
    assert missing.status == 404 and (await missing.json())["error"]["code"] == "not_found"
    wrong = await client.get("/api/admin/kick")
    assert wrong.status == 405 and (await wrong.json())["error"]["code"] == "method_not_allowed"


async def test_metrics_rejects_a_bad_stream_name(client: TestClient) -> None:
    resp = await client.get("/metrics?stream=%3Cscript%3E")
    assert resp.status == 422


async def test_security_headers_on_pages(client: TestClient) -> None:
    resp = await client.get("/docs")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


async def test_a_client_gone_mid_answer_is_not_logged_as_a_server_error(
    aiohttp_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A reconnect storm abandons handshakes: writing to their closing transports is no server fault."""

    async def gone(request: web.Request) -> web.Response:
        raise ConnectionResetError("Cannot write to closing transport")

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a real bug")

    app = web.Application(middlewares=[errors])
    app.router.add_get("/gone", gone)
    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.ERROR):
        # Here the connection is still open, so the answer arrives; a gone client's write just fails.
        response = await client.get("/gone")
        assert response.status == 499 and (await response.json())["error"]["code"] == "client_closed_request"
        response = await client.get("/broken")
    assert response.status == 500 and (await response.json())["error"]["code"] == "internal"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == ["unhandled error on GET /broken"]
