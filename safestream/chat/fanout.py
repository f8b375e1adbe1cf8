"""How one room event reaches this process's sockets: python-socketio's emit, or a direct fan-out.

python-socketio's room emit encodes the packet once, then creates one asyncio
task per recipient and waits for them all; each task checks the ping timeout,
awaits a queue put and formats a log call. Under a big room that per-recipient
machinery, not the frame itself, is most of the cost (see load/README.md).

``DirectFanout`` encodes the packet once the same way and puts the one
Engine.IO packet object straight onto each recipient's Engine.IO queue: no task,
no await, no allocation per recipient. The per-socket writer task, the queue the
slow-consumer watchdog bounds and the frame on the wire are python-socketio's
own, so clients see identical frames (``tests/test_fanout.py`` compares both).

It only knows this process's sockets, so with a pub/sub manager (Redis: several
processes) every emit goes through python-socketio, which publishes it.
"""

from __future__ import annotations

from typing import Any, Protocol

import socketio
from engineio import packet as eio_packet
from socketio import packet
from socketio.async_pubsub_manager import AsyncPubSubManager

NAMESPACE = "/"


class Fanout(Protocol):
    async def emit(self, event: str, data: Any, room: str) -> None: ...


class SocketioFanout:
    """The reference path: python-socketio's manager (and its pub/sub, if any)."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def emit(self, event: str, data: Any, room: str) -> None:
        await self._sio.emit(event, data, room=room)


class DirectFanout:
    """Encodes once, then one ``put_nowait`` of the same packet per recipient socket."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio
        self.sent = 0  # recipient-frames queued, for tests and profiling

    async def emit(self, event: str, data: Any, room: str) -> None:
        self.emit_now(event, data, room)

    def emit_now(self, event: str, data: Any, room: str) -> None:
        sio = self._sio
        encoded = sio.packet_class(packet.EVENT, namespace=NAMESPACE, data=[event, data]).encode()
        if isinstance(encoded, list):  # binary attachments: never in chat, but keep them correct
            raise TypeError("direct fan-out carries JSON events only")
        frame = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        sockets = sio.eio.sockets
        n = 0
        for _sid, eio_sid in sio.manager.get_participants(NAMESPACE, room):
            sock = sockets.get(eio_sid)
            # A closed socket's writer is gone; python-socketio's send would raise and drop it too.
            if sock is not None and not sock.closed:
                sock.queue.put_nowait(frame)
                n += 1
        self.sent += n


def make_fanout(sio: socketio.AsyncServer, mode: str) -> SocketioFanout | DirectFanout:
    """``direct`` where it can see every recipient (one process); the reference path otherwise."""
    if mode == "direct" and not isinstance(sio.manager, AsyncPubSubManager):
        return DirectFanout(sio)
    return SocketioFanout(sio)
