"""A raw Engine.IO v4 / Socket.IO v5 client over aiohttp's WebSocket client, and frame parsing.

python-socketio's client costs a task, a queue and a full decode per event:
simulating hundreds of viewers with it measures the client, not the server.
Here a viewer is one WebSocket and one reader task, so a few client processes
can keep up with one server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

#: Ack actions whose message the room sees (hold and block are not shown).
VISIBLE = ("allow", "flag", "mask")


class ProtocolError(RuntimeError):
    """The server closed the socket, refused the connect or sent something this client did not expect."""


@dataclass
class RawSocket:
    """One Engine.IO v4 WebSocket carrying Socket.IO v5 on the default namespace.

    Frames are strings: ``0{open}``, ``2``/``3`` ping/pong, ``40{...}`` connect,
    ``42[event, data]`` event, ``42<id>[...]`` event asking for an ack,
    ``43<id>[...]`` ack. With the websocket transport every Engine.IO packet is
    one frame, so no payload splitting is needed.
    """

    ws: aiohttp.ClientWebSocketResponse
    sid: str = ""
    next_ack: int = 1
    extensions: str = ""

    async def send_event(self, event: str, data: Any, *, ack: bool = False) -> int | None:
        ack_id: int | None = None
        if ack:
            ack_id = self.next_ack
            self.next_ack += 1
        body = json.dumps([event, data], separators=(",", ":"))
        await self.ws.send_str(f"42{ack_id if ack_id is not None else ''}{body}")
        return ack_id

    async def call(self, event: str, data: Any, timeout: float = 30.0) -> Any:
        """Event + ack before a reader task runs (the handshake phase): reads frames inline."""
        ack_id = await self.send_event(event, data, ack=True)
        prefix = f"43{ack_id}"
        deadline = time.monotonic() + timeout
        while True:
            frame = await self.recv_text(deadline - time.monotonic())
            if frame.startswith(prefix) and frame[len(prefix) : len(prefix) + 1] == "[":
                return json.loads(frame[len(prefix) :])[0]
            # Anything else (presence, chat of other clients, ...) before our ack is dropped.

    async def recv_text(self, timeout: float) -> str:
        """The next text frame; answers Engine.IO pings on the way."""
        while True:
            msg = await self.ws.receive(timeout=max(timeout, 0.001))
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise ProtocolError(f"socket closed or bad frame: {msg.type!r} {msg.data!r}")
            frame: str = msg.data
            if frame == "2":
                await self.ws.send_str("3")
                continue
            return frame

    async def frames(self, stop: asyncio.Event, poll: float = 1.0) -> AsyncIterator[str]:
        """Text frames until ``stop`` is set or the socket closes (an async iterator; pings answered)."""
        while not stop.is_set():
            try:
                yield await self.recv_text(poll)
            except TimeoutError:
                continue
            except ProtocolError:
                return

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()


def parse_ack(frame: str) -> tuple[int, Any] | None:
    """``43<id>[body]`` -> (id, body); None for any other frame."""
    if not frame.startswith("43"):
        return None
    cut = frame.index("[")
    return int(frame[2:cut]), json.loads(frame[cut:])[0]


def ack_outcome(ack: dict[str, Any]) -> str:
    """``ok:<action>`` or ``refused:<code>``: the key the scripts count acks by."""
    if ack.get("ok"):
        return f"ok:{ack.get('action')}"
    return f"refused:{(ack.get('error') or {}).get('code')}"


def chat_messages(frame: str) -> list[dict[str, Any]]:
    """The chat messages a ``chat`` or ``chat_batch`` event frame carries; [] for any other frame."""
    if not frame.startswith("42["):
        return []
    event, data = json.loads(frame[2:])[:2]
    if event == "chat_batch":
        return list(data)
    return [data] if event == "chat" else []


async def open_socket(
    session: aiohttp.ClientSession, base_url: str, token: str, *, deflate: bool = True, timeout: float = 30.0
) -> RawSocket:
    """WebSocket + Engine.IO open + Socket.IO namespace connect with ``auth={"token"}``.

    ``deflate`` offers permessage-deflate like browsers do (``compress=15``);
    whether frames are then compressed is the server's choice, which is what
    the SAFESTREAM_WS_COMPRESSION switch decides.
    """
    ws_url = base_url.replace("http://", "ws://").replace("https://", "wss://")
    ws = await session.ws_connect(
        f"{ws_url}/socket.io/?EIO=4&transport=websocket",
        compress=15 if deflate else 0,
        autoping=True,
        max_msg_size=16 * 1024 * 1024,
        timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
    )
    sock = RawSocket(ws)
    sock.extensions = ws._response.headers.get("Sec-WebSocket-Extensions", "") if ws._response else ""
    deadline = time.monotonic() + timeout
    try:
        opened = await sock.recv_text(timeout)
        if not opened.startswith("0"):
            raise ProtocolError(f"expected the Engine.IO open packet, got {opened[:80]!r}")
        await ws.send_str("40" + json.dumps({"token": token}, separators=(",", ":")))
        while True:
            frame = await sock.recv_text(deadline - time.monotonic())
            if frame.startswith("40"):
                sock.sid = json.loads(frame[2:]).get("sid", "")
                return sock
            if frame.startswith("44"):
                raise ProtocolError(f"connect refused: {frame[2:]}")
    except BaseException:
        await sock.close()
        raise


async def join(sock: RawSocket, stream: str, timeout: float = 30.0) -> dict[str, Any]:
    ack: dict[str, Any] = await sock.call("join", {"stream": stream}, timeout)
    if not ack.get("ok"):
        raise ProtocolError(f"join {stream} refused: {ack}")
    return ack


async def open_joined(
    session: aiohttp.ClientSession, base_url: str, tokens: Sequence[str], stream: str, *, deflate: bool = True
) -> list[RawSocket]:
    """One socket per token, each joined to ``stream``, opened one after another (a small, ordered room)."""
    socks: list[RawSocket] = []
    for token in tokens:
        sock = await open_socket(session, base_url, token, deflate=deflate)
        await join(sock, stream)
        socks.append(sock)
    return socks


async def gather_bounded(factories: Sequence[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    """Runs coroutine factories with at most ``limit`` in flight; exceptions are returned, not raised."""
    gate = asyncio.Semaphore(limit)

    async def run(factory: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await factory()

    return list(await asyncio.gather(*(run(f) for f in factories), return_exceptions=True))


def install_uvloop() -> bool:
    """Clients use uvloop when present: a cheaper loop leaves more of the 2 cores to the server."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True
