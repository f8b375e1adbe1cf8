"""Socket.IO handlers: thin, each owning its error boundary.

A handler checks who is asking, calls the layer that does the work and turns
any ``SafeStreamError`` into a typed ack. Nothing a client sends can raise out
of a handler: unexpected errors are logged and acked as ``internal``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import socketio

from safestream.auth.guard import Guard
from safestream.auth.principals import PrincipalLoader
from safestream.auth.tokens import SESSION_COOKIE
from safestream.chat.broadcaster import STAFF_CONSOLE_ROOM, console_room, user_room
from safestream.chat.membership import Membership
from safestream.chat.metrics import Metrics
from safestream.chat.nudge import Nudger
from safestream.chat.payloads import error_ack
from safestream.chat.pipeline import ChatPipeline
from safestream.chat.policy_changes import public_modes, standing_payload
from safestream.chat.replay import Replays, check_since
from safestream.chat.rooms import Rooms, check_stream_name
from safestream.chat.sanctions import Sanctions
from safestream.chat.stream_policies import PolicyBook
from safestream.console.live import ConsoleLive
from safestream.errors import (
    Banned,
    Forbidden,
    InvalidPayload,
    NotInStream,
    RateLimited,
    SafeStreamError,
    StreamOffline,
    Unauthorized,
    failure_ack,
)
from safestream.http.client_ip import client_ip
from safestream.settings import Settings
from safestream.sio.boundary import LIFECYCLE_EVENTS, acked, client_events
from safestream.sio.connections import Connection, Connections

log = logging.getLogger(__name__)


class ChatNamespace(socketio.AsyncNamespace):
    """The socket handlers, built by the app factory with the services they call; it reads no app keys."""

    def __init__(
        self,
        *,
        settings: Settings,
        connections: Connections,
        guard: Guard,
        principals: PrincipalLoader,
        pipeline: ChatPipeline,
        nudger: Nudger,
        rooms: Rooms,
        policies: PolicyBook,
        sanctions: Sanctions,
        membership: Membership,
        replays: Replays,
        metrics: Metrics,
        console: ConsoleLive,
    ) -> None:
        super().__init__("/")
        self._settings = settings
        self._connections = connections
        self._guard = guard
        self._principals = principals
        self._pipeline = pipeline
        self._nudger = nudger
        self._rooms = rooms
        self._policies = policies
        self._sanctions = sanctions
        self._membership = membership
        self._replays = replays
        self._metrics = metrics
        self._console = console
        #: What a client may call; ChatServer dispatches nothing else.
        self.client_events = client_events(type(self))
        #: Client events ChatServer may answer without a task of their own (see ``chat_now``).
        self.immediate_events: dict[str, Callable[[str, Any], asyncio.Future[Any] | dict[str, Any]]] = {
            "chat": self.chat_now
        }
        if self.client_events & LIFECYCLE_EVENTS:
            raise TypeError("lifecycle handlers must not be client events")

    def _conn(self, sid: str) -> Connection:
        conn = self._connections.get(sid)
        if conn is None:
            raise Unauthorized("not connected")
        return conn

    async def _rechecked(self, sid: str) -> Connection:
        """The connection with its principal re-read from the database, before a privileged event.

        Roles, grants and revocations change while a socket stays open; a socket
        whose session ended is disconnected rather than trusted.
        """
        conn = self._conn(sid)
        try:
            conn.principal = await self._guard.current(conn.username, version=conn.principal.token_version)
        except SafeStreamError:
            await self.disconnect(sid)
            raise
        return conn

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        settings, connections = self._settings, self._connections
        if len(connections) >= settings.max_connections:
            raise socketio.exceptions.ConnectionRefusedError("server_full")
        token = _token_from(environ, auth)
        request = environ.get("aiohttp.request")
        if token is None and request is not None:
            # The console authenticates with its HttpOnly session cookie; the Origin
            # check python-socketio keeps on stops other sites from borrowing it.
            token = request.cookies.get(SESSION_COOKIE) or None
        if token is None:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        started = time.monotonic()
        try:
            principal = await self._guard.from_token(token, loader=self._principals)
        except Banned as exc:
            raise socketio.exceptions.ConnectionRefusedError("banned") from exc
        except SafeStreamError as exc:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized") from exc
        ip = client_ip(request, settings.trusted_proxies) if request is not None else "unknown"
        if connections.per_ip(ip) >= settings.max_connections_per_ip:
            raise socketio.exceptions.ConnectionRefusedError("too_many_connections")
        if len(connections.of_user(principal.username)) >= settings.max_sockets_per_user:
            raise socketio.exceptions.ConnectionRefusedError("too_many_connections")
        if connections.ended_since(principal.username, started):  # revoked while we were checking
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        connections.add(Connection(sid=sid, principal=principal, ip=ip))
        await self.enter_room(sid, user_room(principal.username))

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self._connections.remove(sid)
        self._replays.forget(sid)
        self._nudger.forget(sid)
        if conn is None:
            return
        for stream in list(conn.streams):
            await self._membership.leave(conn, stream, room_too=False)
        for stream in conn.consoles:
            self._console.unwatch(stream)

    @acked
    async def on_join(self, sid: str, data: Any) -> dict[str, Any]:
        # Everything is checked before the socket enters the room: a refused join has no effect.
        conn = self._conn(sid)
        stream = check_stream_name(_field(data, "stream"))
        since = check_since(data.get("since"))
        room = await self._rooms.load(stream)
        await self._policies.load(stream)
        if not room.live:
            raise StreamOffline(f"{stream!r} is not live")
        if self._sanctions.banned(conn.username, stream) is not None:
            raise Banned("you are banned from this stream")
        replays, membership = self._replays, self._membership
        replays.admit(sid)
        entered = await membership.enter(conn, room)
        try:
            history, gap = await replays.history(sid, room, since)
        except BaseException:
            if entered:  # the join failed after all: undo it rather than leave a half-joined socket
                await membership.leave(conn, stream)
            raise
        viewers = await self._metrics.viewer_count(stream)
        return {
            "ok": True,
            "stream": stream,
            "viewers": viewers,
            "history": history,
            "gap": gap,
            **self._modes(conn, stream),
        }

    def _modes(self, conn: Connection, stream: str) -> dict[str, Any]:
        """The stream's chat modes and whether this user may chat in it (the composer's state)."""
        pipeline = self._pipeline
        policy = pipeline.policies.get(stream)
        hit = pipeline.modes.standing(policy.modes, pipeline.sender(conn, stream))
        return {"modes": public_modes(stream, policy), "standing": standing_payload(hit)}

    @acked
    async def on_standing(self, sid: str, data: Any) -> dict[str, Any]:
        """Asked again after a ``modes`` event: may this user chat in the stream now?"""
        conn = self._conn(sid)
        stream = check_stream_name(_field(data, "stream"))
        if stream not in conn.streams:
            raise NotInStream(f"join {stream!r} first")
        return {"ok": True, "stream": stream, **self._modes(conn, stream)}

    @acked
    async def on_nudge(self, sid: str, data: Any) -> dict[str, Any]:
        """How a draft would be treated: never stored, broadcast or counted (``chat.nudge``)."""
        return await self._nudger.nudge(self._conn(sid), data)

    @acked
    async def on_leave(self, sid: str, data: Any) -> dict[str, Any]:
        conn = self._conn(sid)
        stream = check_stream_name(_field(data, "stream"))
        if not await self._membership.leave(conn, stream):
            raise NotInStream(f"you are not in {stream!r}")
        return {"ok": True}

    @acked
    async def on_console_join(self, sid: str, data: Any) -> dict[str, Any]:
        """The console's live feed: server-rendered fragments for one stream's moderators."""
        conn = await self._rechecked(sid)
        stream = check_stream_name(_field(data, "stream"))
        room = await self._rooms.load(stream)
        if not conn.principal.can_moderate(stream, room.owner):
            raise Forbidden("you do not moderate this stream")
        # Each console_join renders and pushes the panels to the stream's whole console room.
        if (retry := self._replays.joins.check(sid)) is not None:
            raise RateLimited("too many joins; slow down", retry_after=retry)
        if stream not in conn.consoles:
            conn.consoles.add(stream)
            await self.enter_room(sid, console_room(stream))
            if conn.principal.is_global_moderator:
                await self.enter_room(sid, STAFF_CONSOLE_ROOM)
            self._console.watch(stream)
        await self._console.refresh(stream)
        return {"ok": True, "stream": stream, "live": room.live}

    @acked
    async def on_chat(self, sid: str, data: Any) -> dict[str, Any]:
        # submit() runs synchronously before the first await: that keeps order.
        ack: dict[str, Any] = await self._pipeline.submit(self._conn(sid), data)
        return ack

    def chat_now(self, sid: str, data: Any) -> asyncio.Future[Any] | dict[str, Any]:
        """``on_chat`` without a task per message: the ack now (a refusal), or the future of it.

        Chat is the one event a busy room sends hundreds of times a second, and
        ``submit`` is synchronous, so ChatServer calls this in place of spawning a
        task that would only wait; it sends the ack when the future is done,
        turning an error into its ack with ``failure_ack`` as ``acked`` does.
        """
        try:
            future: asyncio.Future[Any] = self._pipeline.submit(self._conn(sid), data)
        except Exception as exc:  # noqa: BLE001 - every outcome is an ack
            return failure_ack(exc, "on_chat", sid)
        return future

    async def trigger_event(self, event: str, *args: Any) -> Any:
        # python-socketio calls this for the lifecycle and for client events alike.
        # ChatServer lets only ``client_events`` through from clients; this table
        # is the second lock, so no other ``on_*`` attribute is ever reachable.
        if event in LIFECYCLE_EVENTS or event in self.client_events:
            return await super().trigger_event(event, *args)
        return error_ack({"code": "unknown_event", "message": f"unknown event {str(event)[:64]!r}"})


def _field(data: Any, name: str) -> Any:
    if not isinstance(data, dict):
        raise InvalidPayload(f"expected an object with {name!r}")
    if name not in data:
        raise InvalidPayload(f"missing {name!r}")
    return data[name]


def _token_from(environ: dict[str, Any], auth: Any) -> str | None:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str) and auth["token"]:
        return str(auth["token"])
    query = parse_qs(environ.get("QUERY_STRING", ""))
    tokens = query.get("token")
    return tokens[0] if tokens and tokens[0] else None
