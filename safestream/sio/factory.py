"""The Socket.IO server as configured by the settings: codec, client manager, transports, limits."""

from __future__ import annotations

from safestream.settings import Settings
from safestream.sio import tuning
from safestream.sio.json_codec import OrjsonCodec
from safestream.sio.packets import JsonTextPacket
from safestream.sio.redis_manager import ReconnectingRedisManager
from safestream.sio.room_index import IndexedManager
from safestream.sio.server import ChatServer

#: Engine.IO's limit for one packet or polling body (a chat message is at most a few KiB).
MAX_SOCKET_PACKET = 64 * 1024


def create_sio(settings: Settings) -> ChatServer:
    manager = (
        ReconnectingRedisManager(settings.redis_url, channel=f"{settings.redis_prefix}:socketio")
        if settings.redis_url
        else IndexedManager()
    )
    sio = ChatServer(
        trusted_proxies=settings.trusted_proxies,
        max_pending_per_ip=settings.max_pending_per_ip,
        max_pending=settings.max_connections,
        auth_timeout=settings.auth_timeout_secs,
        async_mode="aiohttp",
        client_manager=manager,
        serializer=JsonTextPacket,
        json=OrjsonCodec if settings.json_codec == "orjson" else None,
        # None keeps python-socketio's same-origin check; [] would disable it entirely.
        cors_allowed_origins=list(settings.cors_origins) or None,
        max_http_buffer_size=MAX_SOCKET_PACKET,
        # Several processes without sticky sessions: long-polling would spread one
        # session's requests over processes, so those deployments use websocket only.
        transports=list(settings.transports),
        logger=False,
        engineio_logger=False,
    )
    tuning.tune(sio, compress=settings.ws_compression, wires=sio.wires)
    return sio
