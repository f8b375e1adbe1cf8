"""/metrics, /healthz, /openapi.json and /docs."""

from __future__ import annotations

import time

from aiohttp import web

from safestream.api.docs import documented, openapi
from safestream.app_keys import (
    ENGINE_KEY,
    METRICS_KEY,
    MODERATION_KEY,
    PIPELINE_KEY,
    WRITER_KEY,
)
from safestream.chat.rooms import check_stream_name
from safestream.storage.db import ping
from safestream.templating import render


@documented("Viewer count, gift count and toxic %", query={"stream": "one stream's figures"},
            tag="status", responses={200: "{viewer_count, gift_count, toxic_pct}"})
async def metrics(request: web.Request) -> web.Response:
    stream = request.query.get("stream")
    if stream is not None:
        check_stream_name(stream)
    return web.json_response(await request.app[METRICS_KEY].snapshot(stream))


@documented("Liveness and readiness: the app, the database and (if configured) Redis",
            tag="status", responses={200: "ok", 503: "a dependency is down"})
async def healthz(request: web.Request) -> web.Response:
    app = request.app
    db_ok = await ping(app[ENGINE_KEY])
    writer = app[WRITER_KEY]
    checks = {"database": "ok" if db_ok else "down",
              "write_queue": len(writer), "moderation_queue": app[PIPELINE_KEY].queued,
              "moderation": app[MODERATION_KEY].name,
              "uptime_s": round(time.monotonic() - app[STARTED_KEY], 1)}
    ok = db_ok
    return web.json_response({"status": "ok" if ok else "degraded", **checks}, status=200 if ok else 503)


@documented("The OpenAPI document for every HTTP route", tag="docs")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi(request.app))


@documented("Human-readable API documentation", tag="docs")
async def docs_page(request: web.Request) -> web.Response:
    return render(request, "docs.html", {"spec": openapi(request.app)})


STARTED_KEY = web.AppKey("started_monotonic", float)


def setup(app: web.Application) -> None:
    app[STARTED_KEY] = time.monotonic()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/docs", docs_page)
