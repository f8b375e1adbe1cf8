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
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import socketio
from aiohttp.web import WebSocketResponse
from engineio import async_socket, exceptions, packet
from engineio.async_drivers import aiohttp as eio_aiohttp

from safestream.sio.wire import WireSockets

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
        if not self.upgraded:
            self.queue.put_nowait(None)

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


def adopt(sock: Any) -> None:
    """Gives a new Engine.IO session the faster poll (python-engineio builds its sockets itself)."""
    if type(sock) is async_socket.AsyncSocket:
        sock.__class__ = FastPollSocket
