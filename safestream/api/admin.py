"""Moderator and admin actions. Each is check -> do -> notify -> audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, Field

from safestream.api.docs import documented
from safestream.api.validation import read_json
from safestream.app_keys import BROADCASTER_KEY, METRICS_KEY, SANCTIONS_KEY, SESSIONS_KEY
from safestream.auth.guard import authenticate
from safestream.auth.roles import Principal, Role
from safestream.chat.payloads import iso
from safestream.chat.rooms import STREAM_RE
from safestream.errors import Forbidden, NotFound
from safestream.storage import audit, users
from safestream.storage import streams as stream_store


class TargetIn(BaseModel):
    username: str = Field(min_length=1, max_length=50)
    stream: str | None = Field(default=None, pattern=STREAM_RE.pattern)
    reason: str = Field(default="", max_length=500)


class MuteIn(TargetIn):
    duration_s: int = Field(default=300, ge=1, le=30 * 24 * 3600)


T = TypeVar("T", bound=TargetIn)


async def _authorize(request: web.Request, model: type[T]) -> tuple[Principal, T]:
    """A moderator of the stream (its owner, a granted or global moderator) or an admin."""
    principal = await authenticate(request)  # 401 before any look at the body
    body = await read_json(request, model)
    owner = None
    if body.stream is not None:
        stream = await stream_store.get_stream(request.app[SESSIONS_KEY], slug=body.stream)
        if stream is None:
            if not principal.is_global_moderator:
                raise Forbidden("you do not moderate this stream")
            raise NotFound(f"no stream named {body.stream!r}", code="no_such_stream")
        owner = stream.owner
    if not principal.can_moderate(body.stream, owner):
        raise Forbidden("you do not moderate this stream" if body.stream else "only global moderators and admins")
    target = await users.get_user(request.app[SESSIONS_KEY], username=body.username)
    if target is None:
        raise NotFound(f"no user named {body.username!r}", code="no_such_user")
    if Role.parse(target.role) is Role.ADMIN and not principal.is_admin:
        raise Forbidden("moderators cannot act on admins")
    return principal, body


@documented("Kick a user: their sockets get `kicked` and are disconnected", auth="moderator of the stream or admin",
            body=TargetIn, tag="admin", responses={200: "kicked", 401: "no token", 403: "not allowed",
                                                   404: "no such user or stream"})
async def kick(request: web.Request) -> web.Response:
    principal, body = await _authorize(request, TargetIn)
    payload = {"stream": body.stream, "reason": body.reason or "kicked by a moderator"}
    sockets = await request.app[BROADCASTER_KEY].kick(body.username, payload)
    await audit.record_action(request.app[SESSIONS_KEY], actor=principal.username, action="kick",
                              target=body.username, stream=body.stream, reason=body.reason,
                              details={"sockets": sockets})
    return web.json_response({"ok": True, "username": body.username, "stream": body.stream,
                              "disconnected": sockets})


@documented("Mute a user (default 300 s); their chat is refused with `muted` until it ends",
            auth="moderator of the stream or admin", body=MuteIn, tag="admin",
            responses={200: "muted", 401: "no token", 403: "not allowed", 404: "no such user or stream"})
async def mute(request: web.Request) -> web.Response:
    principal, body = await _authorize(request, MuteIn)
    until = datetime.now(UTC) + timedelta(seconds=body.duration_s)
    app = request.app
    await audit.add_sanction(app[SESSIONS_KEY], kind="mute", username=body.username, stream=body.stream,
                             until=until, reason=body.reason, actor=principal.username)
    app[SANCTIONS_KEY].add("mute", body.username, body.stream, until)
    payload = {"stream": body.stream, "reason": body.reason or "muted by a moderator", "until": iso(until)}
    await app[BROADCASTER_KEY].to_user(body.username, "muted", payload)
    await audit.record_action(app[SESSIONS_KEY], actor=principal.username, action="mute",
                              target=body.username, stream=body.stream, reason=body.reason,
                              details={"duration_s": body.duration_s, "until": iso(until)})
    return web.json_response({"ok": True, "username": body.username, "stream": body.stream,
                              "until": iso(until)})


@documented("Reset the metrics counters", auth="admin", tag="admin",
            responses={200: "reset", 401: "no token", 403: "not an admin"})
async def reset_metrics(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    if not principal.is_admin:
        raise Forbidden("only admins reset metrics")
    request.app[METRICS_KEY].reset()
    await audit.record_action(request.app[SESSIONS_KEY], actor=principal.username, action="reset_metrics")
    return web.json_response({"ok": True})


def setup(app: web.Application) -> None:
    app.router.add_post("/api/admin/kick", kick)
    app.router.add_post("/api/admin/mute", mute)
    app.router.add_post("/api/admin/reset_metrics", reset_metrics)
