"""How one room event reaches this process's sockets: python-socketio's emit, or a direct fan-out.

python-socketio's room emit encodes the packet once, then creates one asyncio
task per recipient and waits for them all; each task checks the ping timeout,
awaits a queue put and formats a log call. Under a big room that per-recipient
machinery, not the frame itself, is most of the cost (see load/README.md).

``DirectFanout`` encodes the packet once the same way. With ``WireSockets``
(``SAFESTREAM_FANOUT=direct``) it also builds the WebSocket frame once and
writes those bytes to each recipient whose own send path is idle
(``safestream.sio.wire``): no writer-task wake-up per recipient. Every other
recipient (long-polling, compressed, backed up, or with a packet of its own in
flight) gets the one Engine.IO packet object put on its Engine.IO queue
(``SAFESTREAM_FANOUT=queue`` does only that): no task, no await, no allocation
per recipient. Clients see identical frames on every path
(``tests/test_fanout.py`` compares them), and the queue the slow-consumer
watchdog bounds is still where a reader that stopped reading backs up.

It only knows this process's sockets, so with a pub/sub manager (Redis: several
processes) every emit goes through python-socketio, which publishes it.
"""

from __future__ import annotations

from typing import Any, Protocol

import socketio
from engineio import packet as eio_packet
from socketio import packet
from socketio.async_pubsub_manager import AsyncPubSubManager

from safestream.sio.wire import WireSockets, text_frame

NAMESPACE = "/"


class Fanout(Protocol):
    async def emit(self, event: str, data: Any, room: str) -> None: ...

    def recipients(self, room: str) -> int:
        """How many of this process's sockets an emit to ``room`` reaches (what a frame costs)."""
        ...


def _local_recipients(sio: socketio.AsyncServer, room: str) -> int:
    return len(sio.manager.rooms.get(NAMESPACE, {}).get(room, ()))


class SocketioFanout:
    """The reference path: python-socketio's manager (and its pub/sub, if any)."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def emit(self, event: str, data: Any, room: str) -> None:
        await self._sio.emit(event, data, room=room)

    def recipients(self, room: str) -> int:
        return _local_recipients(self._sio, room)


class DirectFanout:
    """Encodes once, then per recipient one write of the same frame, or one ``put_nowait`` of the same packet."""

    def __init__(self, sio: socketio.AsyncServer, wires: WireSockets | None = None) -> None:
        self._sio = sio
        self._wires = wires
        self.sent = 0  # recipient-frames sent either way, for tests and profiling

    async def emit(self, event: str, data: Any, room: str) -> None:
        self.emit_now(event, data, room)

    def recipients(self, room: str) -> int:
        return _local_recipients(self._sio, room)

    def emit_now(self, event: str, data: Any, room: str) -> None:
        sio = self._sio
        encoded = sio.packet_class(packet.EVENT, namespace=NAMESPACE, data=[event, data]).encode()
        if isinstance(encoded, list):  # binary attachments: never in chat, but keep them correct
            raise TypeError("direct fan-out carries JSON events only")
        eio = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        wires = self._wires if self._wires else None  # no WebSocket registered: nothing to write to
        frame = text_frame(eio.encode().encode()) if wires is not None else b""
        sockets = sio.eio.sockets
        n = 0
        for _sid, eio_sid in sio.manager.get_participants(NAMESPACE, room):
            sock = sockets.get(eio_sid)
            # A closed socket's writer is gone; python-socketio's send would raise and drop it too.
            if sock is None or sock.closed:
                continue
            if wires is None or not wires.try_write(eio_sid, sock, frame):
                sock.queue.put_nowait(eio)
            n += 1
        self.sent += n


def make_fanout(
    sio: socketio.AsyncServer, mode: str, wires: WireSockets | None = None
) -> SocketioFanout | DirectFanout:
    """``direct`` or ``queue`` where it can see every recipient (one process); the reference path otherwise."""
    if mode in {"direct", "queue"} and not isinstance(sio.manager, AsyncPubSubManager):
        return DirectFanout(sio, wires if mode == "direct" else None)
    return SocketioFanout(sio)
