"""/metrics, /healthz, /readyz, /openapi.json and /docs.

``/healthz`` is public and says only whether the process and its database
answer; queue depths and the moderation chain help an attacker time a flood
or pick a bypass, so they are on ``/readyz``, for admins or an operator token.
"""

from __future__ import annotations

import hmac
import time

from aiohttp import web

from safestream.app_keys import (
    ENGINE_KEY,
    GUARD_KEY,
    METRICS_KEY,
    MODERATION_KEY,
    PIPELINE_KEY,
    SETTINGS_KEY,
    WRITER_KEY,
)
from safestream.auth.guard import bearer_token
from safestream.auth.roles import Role
from safestream.chat.rooms import check_stream_name
from safestream.http.docs import documented, openapi
from safestream.storage.db import ping
from safestream.templating import JINJA_KEY, render


@documented(
    "Viewer count, gift count and toxic %",
    query={"stream": "one stream's figures"},
    tag="status",
    responses={200: "{viewer_count, gift_count, toxic_pct}"},
)
async def metrics(request: web.Request) -> web.Response:
    stream = request.query.get("stream")
    if stream is not None:
        check_stream_name(stream)
    return web.json_response(await request.app[METRICS_KEY].snapshot(stream))


@documented(
    "Liveness: the app and its database answer (no details)",
    tag="status",
    responses={200: "{status: ok, database: ok}", 503: "the database is down"},
)
async def healthz(request: web.Request) -> web.Response:
    db_ok = await ping(request.app[ENGINE_KEY])
    # "loading" while the moderation chain loads (chat waits for it); "failed" is a 503.
    state = request.app[MODERATION_KEY].state
    ok = db_ok and state != "failed"
    return web.json_response(
        {"status": "ok" if ok else "degraded", "database": "ok" if db_ok else "down", "moderation_state": state},
        status=200 if ok else 503,
    )


@documented(
    "Readiness with details for operators: queue depths, moderation chain, uptime",
    auth="admin, or Authorization: Bearer SAFESTREAM_OPERATOR_TOKEN",
    tag="status",
    responses={
        200: "{status, database, write_queue, moderation_queue, moderation, uptime_s}",
        401: "no credentials",
        403: "not an admin",
        503: "the database is down",
    },
)
async def readyz(request: web.Request) -> web.Response:
    app = request.app
    if not _operator(request):
        await request.app[GUARD_KEY].require_role(request, Role.ADMIN)
    db_ok = await ping(app[ENGINE_KEY])
    checks = {
        "database": "ok" if db_ok else "down",
        "write_queue": len(app[WRITER_KEY]),
        "moderation_queue": app[PIPELINE_KEY].queued,
        "moderation": app[MODERATION_KEY].name,
        # "loading" while the encoder loads (chat waits for it), "failed" if it cannot.
        "moderation_state": app[MODERATION_KEY].state,
        "uptime_s": round(time.monotonic() - app[STARTED_KEY], 1),
    }
    ok = db_ok and checks["moderation_state"] != "failed"
    return web.json_response({"status": "ok" if ok else "degraded", **checks}, status=200 if ok else 503)


def _operator(request: web.Request) -> bool:
    expected = request.app[SETTINGS_KEY].operator_token
    given = bearer_token(request)
    return bool(expected and given and hmac.compare_digest(given.encode(), expected.encode()))


@documented("The OpenAPI document for every HTTP route", tag="docs")
async def openapi_json(request: web.Request) -> web.Response:
    return web.json_response(openapi(request.app))


@documented("Human-readable API documentation", tag="docs")
async def docs_page(request: web.Request) -> web.Response:
    return render(request.app[JINJA_KEY], "docs.html", {"spec": openapi(request.app)})


STARTED_KEY = web.AppKey("started_monotonic", float)
