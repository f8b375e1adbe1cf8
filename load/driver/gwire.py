"""A blocking WebSocket client on a plain socket, speaking Engine.IO v4 / Socket.IO v5: Locust's chat client.

Locust runs each user as a greenlet and gevent patches ``socket``, so a blocking
``recv`` here yields to the other users; nothing here imports gevent or Locust.
``wire.py`` is asyncio (a loop per process, which Locust's greenlets do not
have), and python-socketio's client, the one Locust's ``SocketIOUser`` wraps,
costs websocket-client's two or three ``recv`` calls per frame, a JSON decode
and a handler call per packet, which saturated Locust at 100-174 msg/s. Here
one ``recv`` of up to 256 KiB yields every frame it holds, and frames are
handed over as bytes: the caller decides what to decode.

Only what the server sends is handled: unfragmented text frames, ping (answered
with pong) and close. Frames the client sends are masked, as RFC 6455 requires.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import struct
import threading
from collections import deque
from typing import Any
from urllib.parse import urlsplit

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TEXT, _CLOSE, _PING, _PONG = 0x1, 0x8, 0x9, 0xA
_RECV_BYTES = 256 * 1024


class Closed(ConnectionError):
    """The server closed the socket, refused the handshake or sent a frame this client does not handle."""


class PlainWebSocket:
    """One WebSocket on a blocking socket: ``send_text`` from any greenlet, ``recv`` from one reader."""

    def __init__(self, sock: socket.socket, buffered: bytes) -> None:
        self.sock = sock
        self._buf = bytearray(buffered)
        self._ready: deque[bytes] = deque()
        # The reader answers pings while a task greenlet sends chat: one frame at a time on the wire.
        self._send_lock = threading.Lock()

    @classmethod
    def connect(cls, url: str, timeout: float = 30.0) -> PlainWebSocket:
        parts = urlsplit(url)
        sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        try:
            sock.sendall(request.encode())
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    raise Closed("closed during the WebSocket handshake")
                head += chunk
            head, _, rest = head.partition(b"\r\n\r\n")
            accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
            if not head.startswith(b"HTTP/1.1 101") or accept not in head:
                raise Closed(f"WebSocket handshake refused: {head[:200]!r}")
        except BaseException:
            sock.close()
            raise
        return cls(sock, rest)

    def send_text(self, text: str) -> None:
        self._send(_TEXT, text.encode())

    def _send(self, opcode: int, payload: bytes) -> None:
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        mask = os.urandom(4)
        # XOR as one big integer: no per-byte Python loop.
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        masked = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big")
        with self._send_lock:
            self.sock.sendall(header + mask + masked)

    def recv(self) -> bytes:
        """The next text message's payload (bytes, not decoded); pings are answered on the way."""
        while not self._ready:
            chunk = self.sock.recv(_RECV_BYTES)
            if not chunk:
                raise Closed("the server closed the socket")
            self._buf += chunk
            self._parse()
        return self._ready.popleft()

    def _parse(self) -> None:
        buf, pos, end = self._buf, 0, len(self._buf)
        while end - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n, head = b1 & 0x7F, 2
            if n == 126:
                if end - pos < 4:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif n == 127:
                if end - pos < 10:
                    break
                n, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if end - pos < head + n:
                break
            if b1 & 0x80 or not b0 & 0x80:
                raise Closed("a masked or fragmented frame from the server")
            payload = bytes(buf[pos + head : pos + head + n])
            pos += head + n
            opcode = b0 & 0x0F
            if opcode == _TEXT:
                self._ready.append(payload)
            elif opcode == _PING:
                self._send(_PONG, payload)
            elif opcode == _CLOSE:
                raise Closed(f"close frame {payload[:2].hex()}")
        del buf[:pos]

    def settimeout(self, seconds: float | None) -> None:
        """The handshake is bounded; a reader that waits for chat is not (None)."""
        self.sock.settimeout(seconds)

    def close(self) -> None:
        try:
            self._send(_CLOSE, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


class SocketIO:
    """Socket.IO v5 on the default namespace over one ``PlainWebSocket`` (websocket transport: a packet a frame)."""

    def __init__(self, ws: PlainWebSocket) -> None:
        self.ws = ws
        self.sid = ""
        self._next_ack = 1

    @classmethod
    def connect(cls, base_url: str, token: str, timeout: float = 30.0) -> SocketIO:
        """Engine.IO open, then the namespace connect with ``auth={"token"}``."""
        ws_url = base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        ws = PlainWebSocket.connect(f"{ws_url}/socket.io/?EIO=4&transport=websocket", timeout)
        sio = cls(ws)
        try:
            if not ws.recv().startswith(b"0"):
                raise Closed("expected the Engine.IO open packet")
            ws.send_text("40" + json.dumps({"token": token}, separators=(",", ":")))
            while True:
                packet = sio.recv()
                if packet.startswith(b"40"):
                    sio.sid = json.loads(packet[2:]).get("sid", "")
                    return sio
                if packet.startswith(b"44"):
                    raise Closed(f"connect refused: {packet[2:200]!r}")
        except BaseException:
            ws.close()
            raise

    def recv(self) -> bytes:
        """The next Socket.IO packet; Engine.IO pings (``2``) are answered with pongs (``3``) here."""
        while True:
            packet = self.ws.recv()
            if packet != b"2":
                return packet
            self.ws.send_text("3")

    def new_ack_id(self) -> int:
        """An id for ``emit(..., ack_id=)``: taken before the send, so a reader never sees an ack it cannot place."""
        ack_id, self._next_ack = self._next_ack, self._next_ack + 1
        return ack_id

    def emit(self, event: str, data: Any, *, ack_id: int = 0) -> None:
        """Sends ``event``, asking for an ack with ``ack_id`` when it is not 0."""
        body = json.dumps([event, data], separators=(",", ":"))
        self.ws.send_text(f"42{ack_id or ''}{body}")

    def call(self, event: str, data: Any) -> Any:
        """Event + ack while no reader runs (the handshake phase); packets before the ack are dropped."""
        ack_id = self.new_ack_id()
        self.emit(event, data, ack_id=ack_id)
        prefix = b"43%d[" % ack_id
        while True:
            packet = self.recv()
            if packet.startswith(prefix):
                return json.loads(packet[len(prefix) - 1 :])[0]


def parse_ack(packet: bytes) -> tuple[int, Any] | None:
    """``43<id>[body]`` -> (id, body); None for any other packet."""
    if not packet.startswith(b"43"):
        return None
    cut = packet.index(b"[")
    return int(packet[2:cut]), json.loads(packet[cut:])[0]
