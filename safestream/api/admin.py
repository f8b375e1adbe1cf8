"""Moderator and admin actions over REST; the work is in ``chat.moderator_actions``."""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, Field

from safestream.app_keys import ACTIONS_KEY, GUARD_KEY, REVOCATION_KEY, SESSIONS_KEY
from safestream.auth.roles import Principal, Role
from safestream.chat.payloads import iso
from safestream.chat.rooms import STREAM_RE, check_stream_name
from safestream.errors import Forbidden, NoSuchStream, NoSuchUser
from safestream.http.docs import documented
from safestream.http.validation import read_json
from safestream.storage import stream_rows as stream_store
from safestream.storage import users


class TargetIn(BaseModel):
    username: str = Field(min_length=1, max_length=50)
    stream: str | None = Field(default=None, pattern=STREAM_RE.pattern)
    reason: str = Field(default="", max_length=500)


class MuteIn(TargetIn):
    duration_s: int = Field(default=300, ge=1, le=30 * 24 * 3600)


class BanIn(TargetIn):
    duration_s: int | None = Field(
        default=None, ge=1, le=365 * 24 * 3600, description="omit for a permanent ban; set for a timeout"
    )


class RoleIn(BaseModel):
    username: str = Field(min_length=1, max_length=50)
    role: Role


class DeleteUserIn(BaseModel):
    username: str = Field(min_length=1, max_length=50)
    reason: str = Field(default="", max_length=500)


class RemoveIn(BaseModel):
    stream: str = Field(pattern=STREAM_RE.pattern)
    ids: list[int] = Field(min_length=1, max_length=500)
    reason: str = Field(default="", max_length=500)


T = TypeVar("T", bound=BaseModel)
Account = TypeVar("Account", RoleIn, DeleteUserIn)


async def authorize_stream(request: web.Request, stream: str | None) -> Principal:
    """A moderator of the stream (its owner, a granted or global moderator) or an admin."""
    principal = await request.app[GUARD_KEY].authenticate(request)
    owner = None
    if stream is not None:
        row = await stream_store.get_stream(request.app[SESSIONS_KEY], slug=stream)
        if row is None:
            if not principal.is_global_moderator:
                raise Forbidden("you do not moderate this stream")
            raise NoSuchStream(stream)
        owner = row.owner
    if not principal.can_moderate(stream, owner):
        raise Forbidden("you do not moderate this stream" if stream else "only global moderators and admins")
    return principal


async def authorize_path_stream(request: web.Request) -> tuple[str, Principal]:
    """The stream the path names (``{stream}``) and the caller, who must moderate it (``authorize_stream``)."""
    stream = check_stream_name(request.match_info["stream"])
    return stream, await authorize_stream(request, stream)


async def _authorize_target(request: web.Request, model: type[T]) -> tuple[Principal, T]:
    await request.app[GUARD_KEY].authenticate(request)  # 401 before any look at the body
    body = await read_json(request, model)
    principal = await authorize_stream(request, getattr(body, "stream", None))
    username = getattr(body, "username", None)
    if username is not None:
        target = await users.get_user(request.app[SESSIONS_KEY], username=username)
        if target is None:
            raise NoSuchUser(username)
        stream = getattr(body, "stream", None)
        row = await stream_store.get_stream(request.app[SESSIONS_KEY], slug=stream) if stream else None
        check_target(principal, Role.parse(target.role), owns_stream=row is not None and row.owner == username)
    return principal, body


def check_target(principal: Principal, role: Role, *, owns_stream: bool) -> None:
    """403 ``target_outranks`` when the target outranks the actor (see ``Principal.may_act_on``)."""
    if not principal.may_act_on(role, target_owns_stream=owns_stream):
        who = "admins" if role is Role.ADMIN else "global moderators" if role is Role.MODERATOR else "its owner"
        raise Forbidden(f"you cannot act on {who}", code="target_outranks")


_RESPONSES = {200: "done", 401: "no token", 403: "not allowed", 404: "no such user or stream", 422: "invalid body"}
_WHO = "moderator of the stream (or its owner) or admin; site-wide without a stream"


@documented(
    "Kick a user: their sockets get `kicked` and leave the stream (site-wide: are disconnected)",
    auth=_WHO,
    body=TargetIn,
    tag="admin",
    responses=_RESPONSES,
)
async def kick(request: web.Request) -> web.Response:
    principal, body = await _authorize_target(request, TargetIn)
    sockets = await request.app[ACTIONS_KEY].kick(
        actor=principal.username, username=body.username, stream=body.stream, reason=body.reason
    )
    # A stream kick takes the sockets out of that stream; only a site-wide kick disconnects.
    return web.json_response(
        {
            "ok": True,
            "username": body.username,
            "stream": body.stream,
            "disconnected": 0 if body.stream else sockets,
            "removed": sockets,
        }
    )


@documented(
    "Mute a user (default 300 s); their chat is refused with `muted` until it ends",
    auth=_WHO,
    body=MuteIn,
    tag="admin",
    responses=_RESPONSES,
)
async def mute(request: web.Request) -> web.Response:
    principal, body = await _authorize_target(request, MuteIn)
    until = await request.app[ACTIONS_KEY].mute(
        actor=principal.username,
        username=body.username,
        stream=body.stream,
        duration_s=body.duration_s,
        reason=body.reason,
    )
    return web.json_response({"ok": True, "username": body.username, "stream": body.stream, "until": iso(until)})


@documented("Lift a user's mute", auth=_WHO, body=TargetIn, tag="admin", responses=_RESPONSES)
async def unmute(request: web.Request) -> web.Response:
    principal, body = await _authorize_target(request, TargetIn)
    await request.app[ACTIONS_KEY].unmute(actor=principal.username, username=body.username, stream=body.stream)
    return web.json_response({"ok": True})


@documented(
    "Ban a user (a timeout with duration_s): kicked now, refused at join/connect",
    auth=_WHO,
    body=BanIn,
    tag="admin",
    responses=_RESPONSES,
)
async def ban(request: web.Request) -> web.Response:
    principal, body = await _authorize_target(request, BanIn)
    until = await request.app[ACTIONS_KEY].ban(
        actor=principal.username,
        username=body.username,
        stream=body.stream,
        duration_s=body.duration_s,
        reason=body.reason,
    )
    return web.json_response(
        {"ok": True, "username": body.username, "stream": body.stream, "until": iso(until) if until else None}
    )


@documented("Lift a user's ban", auth=_WHO, body=TargetIn, tag="admin", responses=_RESPONSES)
async def unban(request: web.Request) -> web.Response:
    principal, body = await _authorize_target(request, TargetIn)
    await request.app[ACTIONS_KEY].unban(actor=principal.username, username=body.username, stream=body.stream)
    return web.json_response({"ok": True})


@documented(
    "Remove messages: viewers get `message_removed`",
    auth="moderator of the stream or admin",
    body=RemoveIn,
    tag="admin",
    responses=_RESPONSES,
)
async def remove(request: web.Request) -> web.Response:
    principal, body = await _authorize_target(request, RemoveIn)
    await request.app[ACTIONS_KEY].remove_messages(
        actor=principal.username, stream=body.stream, ids=body.ids, reason=body.reason
    )
    return web.json_response({"ok": True, "stream": body.stream, "ids": body.ids})


@documented(
    "Reset the metrics counters",
    auth="admin",
    tag="admin",
    responses={200: "reset", 401: "no token", 403: "not an admin"},
)
async def reset_metrics(request: web.Request) -> web.Response:
    principal = await request.app[GUARD_KEY].authenticate(request)
    if not principal.is_admin:
        raise Forbidden("only admins reset metrics")
    await request.app[ACTIONS_KEY].reset_metrics()
    await request.app[ACTIONS_KEY].record(actor=principal.username, action="reset_metrics")
    return web.json_response({"ok": True})


async def _admin_on_other(request: web.Request, model: type[Account]) -> tuple[Principal, Account]:
    """An admin (401 before any look at the body) acting on another account than their own."""
    principal = await request.app[GUARD_KEY].authenticate(request)
    body = await read_json(request, model)
    if not principal.is_admin:
        raise Forbidden("only admins manage accounts")
    if body.username == principal.username:
        raise Forbidden("use another admin account to change or delete your own", code="self_action")
    return principal, body


@documented(
    "Change a user's role: their tokens are revoked and open sockets closed (log in again)",
    auth="admin",
    body=RoleIn,
    tag="admin",
    responses=_RESPONSES,
)
async def set_role(request: web.Request) -> web.Response:
    principal, body = await _admin_on_other(request, RoleIn)
    if not await users.set_role(request.app[SESSIONS_KEY], username=body.username, role=body.role.value):
        raise NoSuchUser(body.username)
    sockets = await request.app[REVOCATION_KEY].drop_sockets(
        username=body.username, reason="your role changed; log in again"
    )
    await request.app[ACTIONS_KEY].record(
        actor=principal.username,
        action="set_role",
        target=body.username,
        details={"role": body.role.value, "sockets": sockets},
    )
    return web.json_response({"ok": True, "username": body.username, "role": body.role.value})


@documented(
    "Delete an account: its tokens stop working and its sockets close at once",
    auth="admin",
    body=DeleteUserIn,
    tag="admin",
    responses=_RESPONSES,
)
async def delete_user(request: web.Request) -> web.Response:
    principal, body = await _admin_on_other(request, DeleteUserIn)
    if not await users.delete_user(request.app[SESSIONS_KEY], username=body.username):
        raise NoSuchUser(body.username)
    sockets = await request.app[REVOCATION_KEY].drop_sockets(username=body.username, reason="account deleted")
    await request.app[ACTIONS_KEY].record(
        actor=principal.username,
        action="delete_user",
        target=body.username,
        reason=body.reason,
        details={"sockets": sockets},
    )
    return web.json_response({"ok": True, "username": body.username})
