"""Engine.IO transport tuning that python-engineio has no switch for.

aiohttp compresses every WebSocket frame (permessage-deflate) when the client
offers it, and python-engineio's aiohttp driver exposes no option. Chat frames
are small and every one is compressed once per recipient, so compression
costs CPU for little gain (see the README's measurements). This wrapper
builds the WebSocket response with compression off unless it is asked for;
it is installed on one server instance, never by patching the module.

It also enters each WebSocket in the server's ``WireSockets`` for as long as
the session lasts, so room emits can write frames to it directly
(``safestream.sio.wire``).

The third tuning is the per-socket writer's wait. python-engineio's
``AsyncSocket.poll`` waits for the next outgoing packet with
``asyncio.wait_for``, which wraps the wait in a new task every time: every
packet a socket sends (its handshake, each ack) pays for a task. In a
reconnect storm that was a twentieth of the server's CPU (load/README.md,
"Reconnect storm"). ``FastPollSocket`` waits under ``asyncio.timeout``
instead, with the same timeout and the same outcomes; ``adopt`` gives a new
session that class. Its ``get`` is still the queue's own, so the
``WaiterQueue`` count (``safestream.sio.socket_queue``) holds.

The same class waits for its next server ping on a loop timer, not in a task
that sleeps ``ping_interval``: every connected socket held one such task, its
coroutine frame and its sleep, all the time (``load/mem_per_socket.py``).
And its WebSocket session (``_websocket_handler``) reads in the request's own
task with no timer: python-engineio wraps every read in a new task under
``wait_for`` (a task, a timer and their frames parked per socket, and made
again for every message a client sends). A silent client is still dropped:
python-engineio's service task closes a session whose ping went unanswered,
``close`` ends the writer, and closing the WebSocket ends the read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import socketio
from aiohttp.web import WebSocketResponse
from engineio import async_socket, exceptions, packet
from engineio.async_drivers import aiohttp as eio_aiohttp

from safestream.sio.wire import WireSockets

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 1.0


def _websocket_class(compress: bool, wires: WireSockets | None) -> type:
    class TunedWebSocket(eio_aiohttp.WebSocket):
        async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
            request = environ["aiohttp.request"]
            # timeout: how long a server-initiated close waits for the client's close frame
            # (aiohttp's default, 10 s, would let a silent client hold a shutdown).
            self._sock = WebSocketResponse(
                max_msg_size=self.server.max_http_buffer_size, compress=compress, timeout=CLOSE_TIMEOUT
            )
            await self._sock.prepare(request)
            self.environ = environ
            # The handler is the Engine.IO socket's bound _websocket_handler: its owner is the session.
            sid = getattr(getattr(self.handler, "__self__", None), "sid", None)
            if wires is None or not isinstance(sid, str):
                await self.handler(self)
                return self._sock
            wires.add(sid, self._sock, request.transport)
            try:
                await self.handler(self)
            finally:
                wires.discard(sid)
            return self._sock

    return TunedWebSocket


def tune(sio: socketio.AsyncServer, *, compress: bool, wires: WireSockets | None = None) -> None:
    # A per-instance copy of the driver table: other servers in the process keep the default.
    sio.eio._async = {**sio.eio._async, "websocket": _websocket_class(compress, wires)}  # noqa: SLF001 - engineio has no public per-server driver table


class FastPollSocket(async_socket.AsyncSocket):
    def schedule_ping(self) -> None:
        """python-engineio's ``schedule_ping``, on a timer instead of a sleeping task."""
        state: Any = self  # python-engineio leaves last_ping untyped (None or a time.time())
        if state.last_ping:  # only once the previous ping was answered, as python-engineio does
            state.last_ping = None
            asyncio.get_running_loop().call_later(self.server.ping_interval, self._ping_due)

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        """python-engineio's ``close``, and a long poll in progress ends now.

        A client that says goodbye over polling leaves its last GET open, and
        python-engineio queues nothing on a client's close, so that request
        (and a python-socketio client's ``disconnect``) waited out the whole
        ping deadline, 30 s. The end marker returns it at once, empty.
        """
        await super().close(wait=wait, abort=abort, reason=reason)
        self.queue.put_nowait(None)  # and an upgraded socket's writer, which waits without a timer (``poll``)

    async def _websocket_handler(self, ws: Any) -> None:
        """The session over a WebSocket (opened as one, or upgraded from polling), until either side ends it."""
        state: Any = self  # python-engineio leaves its flags untyped
        if state.connected and not await self._upgrade_handshake(ws):
            return
        state.connected = state.upgraded = True
        writer = asyncio.ensure_future(self._write_packets(ws))
        # aiohttp cancels this handler when the connection drops, possibly mid-teardown: the
        # session must still end (``close``) and leave the server's table, as python-engineio's would.
        cancelled = False
        try:
            await self._read_packets(ws)
        except asyncio.CancelledError:
            cancelled = True
        self.queue.put_nowait(None)
        if not cancelled:
            try:
                await writer
            except asyncio.CancelledError:
                cancelled = True
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
        if cancelled:
            if self.server.sockets.get(self.sid) is self:
                del self.server.sockets[self.sid]  # python-engineio's caller would, had we returned
            raise asyncio.CancelledError()

    async def _upgrade_handshake(self, ws: Any) -> bool:
        """Engine.IO's polling-to-WebSocket probe: ``2probe`` answered ``3probe``, then ``5``."""
        self.upgrading = True  # packets queue meanwhile; the NOOP ends the client's open poll
        try:
            probe = packet.Packet(encoded_packet=await self._next_frame(ws))
            if probe.packet_type != packet.PING or probe.data != "probe":
                log.info("%s: failed WebSocket upgrade: no probe", self.sid)
                return False
            await ws.send(packet.Packet(packet.PONG, data="probe").encode())
            self.queue.put_nowait(packet.Packet(packet.NOOP))
            if packet.Packet(encoded_packet=await self._next_frame(ws)).packet_type != packet.UPGRADE:
                log.info("%s: failed WebSocket upgrade: no UPGRADE packet", self.sid)
                return False
            return True
        except (OSError, ValueError):
            return False
        finally:
            self.upgrading = False

    async def _next_frame(self, ws: Any) -> Any:
        data = await ws.wait()  # OSError once the WebSocket is closed
        if data and len(data) > self.server.max_http_buffer_size:
            raise ValueError("packet is too large")
        return data

    async def _read_packets(self, ws: Any) -> None:
        while True:
            try:
                data = await self._next_frame(ws)
            except (OSError, ValueError):
                return
            if data is None:
                return
            try:
                await self.receive(packet.Packet(encoded_packet=data))
            except exceptions.UnknownPacketError:
                continue
            except exceptions.SocketIsClosedError:
                return
            except Exception:  # one bad packet must not end the session (python-engineio's rule too)
                log.exception("%s: error handling a packet", self.sid)

    async def _write_packets(self, ws: Any) -> None:
        while True:
            try:
                packets = await self.poll()
            except exceptions.QueueEmpty:
                break
            if not packets:
                break
            try:
                for pkt in packets:
                    await ws.send(pkt.encode())
            except Exception:  # noqa: BLE001 - the peer went away mid-write; the read side ends too
                break
        await ws.close()

    def _ping_due(self) -> None:
        if not self.closing and not self.closed:
            state: Any = self
            state.last_ping = time.time()
            # What ``send`` does, less its timeout check (that is against last_ping, just set).
            self.queue.put_nowait(packet.Packet(packet.PING))

    async def poll(self) -> list[Any]:
        """python-engineio's ``poll``, waiting without a task per packet."""
        queue = self.queue
        try:
            if self.upgraded:
                # The WebSocket writer: every way its session ends queues the end marker (the
                # reader's exit, and ``close``, which a ping timeout calls), so no timer per
                # socket (~600 B each) waits beside it.
                first = await queue.get()
            else:
                async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                    first = await queue.get()
            queue.task_done()
        except (TimeoutError, asyncio.CancelledError):
            raise exceptions.QueueEmpty() from None  # what python-engineio raises for both
        if first is None:
            return []
        packets = [first]
        while True:
            try:
                pkt = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            queue.task_done()
            if pkt is None:
                queue.put_nowait(None)  # the end marker stays for the next poll
                break
            packets.append(pkt)
        return packets


#: What a connected session's environ is read for after its handshake (``namespace.on_connect``:
#: the token, the client's address) and by python-socketio (the environ of another namespace's connect).
_ENVIRON_KEPT = ("QUERY_STRING", "PATH_INFO", "REQUEST_METHOD", "REMOTE_ADDR", "aiohttp.request")


def slim_environ(environ: dict[str, Any] | None) -> None:
    """Drops the handshake's headers from a connected session's environ, in place.

    python-socketio keeps the environ for the session's life (and the WebSocket
    driver holds the same dict): every request header as a string, ~1.1 KB of
    a joined socket's ~30 KB (load/mem_per_socket.py) that nothing reads again.
    """
    if environ is not None and len(environ) > len(_ENVIRON_KEPT):
        kept = {key: environ[key] for key in _ENVIRON_KEPT if key in environ}
        environ.clear()
        environ.update(kept)


def adopt(sock: Any) -> None:
    """Gives a new Engine.IO session the faster poll (python-engineio builds its sockets itself)."""
    if type(sock) is async_socket.AsyncSocket:
        sock.__class__ = FastPollSocket
