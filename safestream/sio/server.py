"""python-socketio's server with the doors it leaves open closed, and a clean way out.

- **Client events go through a table.** python-socketio routes a client's EVENT
  packet by name through the same ``trigger_event`` the lifecycle uses, so the
  raw frame ``42["disconnect",{}]`` would run the disconnect handler while the
  socket stays connected (and ``connect`` would run with a forged environ).
  Here an event is dispatched only when its name is one of the namespace's
  ``client_events``; any other name (``connect``, ``disconnect``,
  ``connect_error``, a name without a handler) gets an ``unknown_event`` ack
  and has no effect.
- **Sessions are admitted before authentication** by a ``SessionGate``: per
  address and in total, and closed when they do not authenticate in time.
- **Shutdown** can wait until every event handler has sent its ack, then close
  every session and answer every request still open, including long-poll GETs
  whose session the client already closed (those otherwise wait out the poll
  timeout and hold the process).

The overridden hooks are python-socketio/python-engineio internals (``_handle_event``,
``_handle_connect``, ...); the tests in ``tests/test_transport.py`` fail if an upgrade changes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from typing import Any

import engineio
import socketio
from socketio import packet

from safestream.errors import error_ack, failure_ack
from safestream.http.client_ip import client_ip
from safestream.sio import tuning
from safestream.sio.gate import SessionGate
from safestream.sio.socket_queue import WaiterQueue
from safestream.sio.wire import WireSockets, text_frame

log = logging.getLogger(__name__)

#: Gate refusals and their HTTP status (python-engineio would answer 401 to all).
GATE_REFUSALS = {
    "too_many_connections": "429 TOO MANY REQUESTS",
    "server_full": "503 SERVICE UNAVAILABLE",
    "shutting_down": "503 SERVICE UNAVAILABLE",
}
#: How long a refused handshake should wait before trying again.
GATE_RETRY_AFTER = 5


class _EngineServer(engineio.AsyncServer):
    """Engine.IO with its open requests tracked, and gate refusals answered 429/503."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_requests: set[asyncio.Task[Any]] = set()

    def create_queue(self, maxsize: int = 0) -> WaiterQueue:
        """Each session's unbounded outgoing queue (the slow-consumer watchdog bounds it by dropping the socket)."""
        return WaiterQueue(maxsize)

    async def handle_request(self, *args: Any, **kwargs: Any) -> Any:
        task = asyncio.current_task()
        if task is not None:
            self.open_requests.add(task)
        try:
            return await super().handle_request(*args, **kwargs)
        finally:
            if task is not None:
                self.open_requests.discard(task)

    def _unauthorized(self, message: Any = None) -> dict[str, Any]:
        if message not in GATE_REFUSALS:
            return super()._unauthorized(message)  # type: ignore[no-any-return]
        body = {
            "error": {
                "code": message,
                "message": "no new session now; try again shortly",
                "retry_after": GATE_RETRY_AFTER,
            }
        }
        return {
            "status": GATE_REFUSALS[message],
            "headers": [("Content-Type", "application/json"), ("Retry-After", str(GATE_RETRY_AFTER))],
            "response": json.dumps(body).encode(),
        }


class ChatServer(socketio.AsyncServer):
    def __init__(
        self,
        *,
        trusted_proxies: tuple[str, ...],
        max_pending_per_ip: int,
        max_pending: int,
        auth_timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._trusted = trusted_proxies
        self.gate = SessionGate(
            max_pending_per_ip=max_pending_per_ip,
            max_pending=max_pending,
            auth_timeout=auth_timeout,
            close=self._close_session,
        )
        self._in_flight = 0
        self._last_event = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        #: This process's upgraded WebSockets, for room frames written directly (``sio.wire``).
        self.wires = WireSockets()

    def _engineio_server_class(self) -> type:
        return _EngineServer

    # -- client events -------------------------------------------------------------

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: Any) -> None:
        self._last_event = asyncio.get_running_loop().time()
        ns = namespace or "/"
        name = data[0] if isinstance(data, list) and data else None
        handler = self.namespace_handlers.get(ns)
        if isinstance(name, str) and name in getattr(handler, "client_events", ()):
            immediate = getattr(handler, "immediate_events", {}).get(name)
            if immediate is not None and id is not None:
                self._answer_now(immediate, eio_sid, ns, id, data[1] if len(data) > 1 else None)
                return
            await super()._handle_event(eio_sid, namespace, id, data)
            return
        sid = self.manager.sid_from_eio_sid(eio_sid, ns)
        if id is None or not self.manager.is_connected(sid, ns):
            return
        shown = name[:64] if isinstance(name, str) else name
        ack = error_ack({"code": "unknown_event", "message": f"unknown event {shown!r}"})
        await self._send_packet(eio_sid, self.packet_class(packet.ACK, namespace=ns, id=id, data=[ack]))

    def _answer_now(self, immediate: Any, eio_sid: str, ns: str, id: int, payload: Any) -> None:
        """An immediate event: its handler runs now, and its ack goes out when the ack is known."""
        sid = self.manager.sid_from_eio_sid(eio_sid, ns)
        if not self.manager.is_connected(sid, ns):
            return
        self._in_flight += 1  # until the ack is sent: shutdown waits for it
        result = immediate(sid, payload)
        if isinstance(result, asyncio.Future):
            result.add_done_callback(functools.partial(self._ack_when_done, eio_sid, ns, id, sid))
        else:
            self._send_ack(eio_sid, ns, id, result)

    def _ack_when_done(self, eio_sid: str, ns: str, id: int, sid: str, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            ack = failure_ack(asyncio.CancelledError(), "chat", sid)
        elif (exc := future.exception()) is not None:
            ack = failure_ack(exc, "chat", sid)
        else:
            ack = future.result()
        self._send_ack(eio_sid, ns, id, ack)

    def _send_ack(self, eio_sid: str, ns: str, id: int, ack: Any) -> None:
        encoded = self.packet_class(packet.ACK, namespace=ns, id=id, data=[ack]).encode()
        if self._write_now(eio_sid, encoded):
            self._in_flight -= 1
            return
        task = asyncio.get_running_loop().create_task(self._queue_ack(eio_sid, encoded))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _queue_ack(self, eio_sid: str, encoded: str) -> None:
        try:
            await self.eio.send(eio_sid, encoded)  # a closed session drops it, as python-socketio would
        finally:
            self._in_flight -= 1

    async def _handle_event_internal(
        self, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id: int | None
    ) -> None:
        # Counted until the ack is queued on the socket: shutdown waits for it.
        self._in_flight += 1
        try:
            await super()._handle_event_internal(server, sid, eio_sid, data, namespace, id)
        finally:
            self._in_flight -= 1

    async def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        """A packet to one socket (acks, connects, per-user events): straight to its WebSocket when idle."""
        encoded = pkt.encode()
        if not isinstance(encoded, str):  # binary attachments: python-socketio's own way
            await super()._send_packet(eio_sid, pkt)
        elif not self._write_now(eio_sid, encoded):
            await self.eio.send(eio_sid, encoded)

    def _write_now(self, eio_sid: str, encoded: str) -> bool:
        """A Socket.IO packet to its WebSocket now, if nothing of its own is in flight (``sio.wire``)."""
        sock = self.eio.sockets.get(eio_sid) if self.wires else None
        return sock is not None and self.wires.try_write(eio_sid, sock, text_frame(("4" + encoded).encode()))

    # -- session admission -----------------------------------------------------------

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        request = environ.get("aiohttp.request")
        ip = client_ip(request, self._trusted) if request is not None else "unknown"
        refusal = self.gate.admit(eio_sid, ip)
        if refusal is not None:
            log.info("refused a new session from %s: %s", ip, refusal)
            return refusal  # engineio answers it (429, see _EngineServer)
        tuning.adopt(self.eio.sockets.get(eio_sid))
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        self.gate.answering(eio_sid)  # the client asked: a slow answer is ours, not a reason to close it
        if eio_sid in self.environ:  # else it closed first: python-socketio's KeyError (a storm: 1000s/min)
            await super()._handle_connect(eio_sid, namespace, data)
        if self.gate.answered(eio_sid, authenticated=self._has_namespace(eio_sid)):
            tuning.slim_environ(self.environ.get(eio_sid))

    async def _handle_disconnect(self, eio_sid: str, namespace: str | None, reason: Any = None) -> None:
        await super()._handle_disconnect(eio_sid, namespace, reason)
        self._pending_again(eio_sid)

    async def disconnect(self, sid: str, namespace: str | None = None, ignore_queue: bool = False) -> None:
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace or "/")
        await super().disconnect(sid, namespace=namespace, ignore_queue=ignore_queue)
        if eio_sid is not None:
            self._pending_again(eio_sid)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            self.gate.release(eio_sid)

    def _has_namespace(self, eio_sid: str) -> bool:
        for ns in list(self.manager.get_namespaces()):
            if self.manager.is_connected(self.manager.sid_from_eio_sid(eio_sid, ns), ns):
                return True
        return False

    def _pending_again(self, eio_sid: str) -> None:
        """A transport kept open without a namespace must authenticate again in time."""
        sock = self.eio.sockets.get(eio_sid)
        if sock is not None and not sock.closing and not sock.closed and not self._has_namespace(eio_sid):
            self.gate.unauthenticated(eio_sid)

    async def _close_session(self, eio_sid: str) -> None:
        sock = self.eio.sockets.get(eio_sid)
        if sock is not None:
            await self._end(sock)
            self.eio.sockets.pop(eio_sid, None)

    # -- shutdown --------------------------------------------------------------------

    async def settle(self, *, quiet: float, timeout: float) -> None:
        """Waits until no event handler is running and no event arrived for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self._in_flight == 0 and loop.time() - self._last_event >= quiet:
                return
            await asyncio.sleep(0.02)
        log.warning("shutdown: %d event handlers still running", self._in_flight)

    async def close_sessions(self, *, timeout: float) -> None:
        """Closes every Engine.IO session, then answers every request still open.

        A closed session reads as "transport close" to clients, so they reconnect
        on their own (a Socket.IO disconnect would tell them not to).
        """
        eio = self.eio
        # Each close first flushes the socket's queue (its last acks), then sends CLOSE.
        ends = [asyncio.ensure_future(self._end(sock)) for sock in list(eio.sockets.values())]
        if ends:
            await asyncio.wait(ends, timeout=timeout)
        eio.sockets = {sid: sock for sid, sock in eio.sockets.items() if not sock.closed}
        # What is still open now is a long-poll of a session that is already gone, or a
        # socket that would not flush: answer it now instead of at the poll timeout.
        pending = [task for task in eio.open_requests if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=0.5)
        if eio.service_task_event is not None:  # python-engineio's ping checker
            eio.service_task_event.set()
            if eio.service_task_handle is not None:
                await asyncio.wait({eio.service_task_handle}, timeout=0.5)

    @staticmethod
    async def _end(sock: Any) -> None:
        """Closes an Engine.IO session and its transport, whatever the client does.

        python-engineio sends CLOSE and then waits for the client to hang up; a
        client that does not keeps its websocket (up to the ping timeout). The
        ``None`` ends the socket's writer, which closes the websocket itself (or
        answers a pending long-poll).
        """
        with contextlib.suppress(Exception):  # already gone: nothing to close
            await sock.close(reason=sock.server.reason.SERVER_DISCONNECT)
        sock.queue.put_nowait(None)
