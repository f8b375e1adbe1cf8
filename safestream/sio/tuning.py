"""Engine.IO transport tuning that python-engineio has no switch for.

aiohttp compresses every WebSocket frame (permessage-deflate) when the client
offers it, and python-engineio's aiohttp driver exposes no option. Chat frames
are small and every one is compressed once per recipient, so compression
costs CPU for little gain (see the README's measurements). This wrapper
builds the WebSocket response with compression off unless it is asked for;
it is installed on one server instance, never by patching the module.
"""

from __future__ import annotations

from typing import Any

import socketio
from aiohttp.web import WebSocketResponse
from engineio.async_drivers import aiohttp as eio_aiohttp

CLOSE_TIMEOUT = 1.0


def _websocket_class(compress: bool) -> type:
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
            await self.handler(self)
            return self._sock

    return TunedWebSocket


def tune(sio: socketio.AsyncServer, *, compress: bool) -> None:
    # A per-instance copy of the driver table: other servers in the process keep the default.
    sio.eio._async = {**sio.eio._async, "websocket": _websocket_class(compress)}  # noqa: SLF001 - engineio has no public per-server driver table
