"""Room frames written straight to each recipient's WebSocket transport.

python-engineio sends through one writer task per socket: every frame wakes
that task (``wait_for`` around ``queue.get``: a task and a timer per wake),
which then writes through aiohttp's WebSocket writer. In a big room those
wake-ups, not the bytes, are most of the server's CPU per frame-recipient
(load/README.md). A room emit instead builds the WebSocket frame once, header
and all, and hands the same bytes to each recipient's transport.

A direct write must never overtake a packet already on its way through the
socket's own path, so it is taken only when that path is idle: the socket is
upgraded to an uncompressed WebSocket that is not closing, its Engine.IO queue
is empty and its writer task is parked in ``get`` (so it holds no packet it
has taken but not yet written), and its transport buffers at most
``max_buffer`` bytes. Otherwise the packet is queued as before, so a reader
that stopped reading still backs up into the queue the slow-consumer watchdog
bounds.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from aiohttp.web import WebSocketResponse

#: A transport holding more than this is backing up: its frames go through the queue.
MAX_BUFFER = 256 * 1024

_FIN_TEXT = 0x81  # RFC 6455: FIN bit and opcode 1 (text); a server never masks


def text_frame(payload: bytes) -> bytes:
    """The whole WebSocket text frame (header and payload) for one UTF-8 payload."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", _FIN_TEXT, n)
    elif n < 65536:
        header = struct.pack("!BBH", _FIN_TEXT, 126, n)
    else:
        header = struct.pack("!BBQ", _FIN_TEXT, 127, n)
    return header + payload


class WireSockets:
    """The WebSocket of every upgraded, uncompressed Engine.IO session of this process, by Engine.IO sid."""

    def __init__(self, max_buffer: int = MAX_BUFFER) -> None:
        self.max_buffer = max_buffer
        self._by_sid: dict[str, tuple[WebSocketResponse, asyncio.BaseTransport]] = {}
        self.written = 0  # frames written directly (tests and profiling)

    def __len__(self) -> int:
        return len(self._by_sid)

    def add(self, sid: str, ws: WebSocketResponse, transport: asyncio.BaseTransport | None) -> None:
        # A compressed socket's frames carry per-connection deflate state: only aiohttp may write them.
        if transport is not None and not ws.compress:
            self._by_sid[sid] = (ws, transport)

    def discard(self, sid: str) -> None:
        self._by_sid.pop(sid, None)

    def try_write(self, sid: str, sock: Any, frame: bytes) -> bool:
        """Writes ``frame`` to the socket now if nothing of its own is in flight; False: queue it."""
        entry = self._by_sid.get(sid)
        if entry is None:
            return False
        ws, transport = entry
        queue = sock.queue
        if (
            not sock.upgraded
            or sock.closing
            or ws.closed
            or queue.qsize()
            or not getattr(queue, "waiters", 0)
            or transport.is_closing()
            or transport.get_write_buffer_size() > self.max_buffer  # type: ignore[attr-defined]
        ):
            return False
        transport.write(frame)  # type: ignore[attr-defined]
        self.written += 1
        return True
