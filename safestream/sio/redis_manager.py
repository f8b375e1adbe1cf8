"""python-socketio's Redis manager, reconnecting on a short, fixed schedule.

The stock manager doubles its wait after each failed resubscribe, up to 60 s,
so after a 30-second Redis outage a process may stay cut off from the others
for up to another half a minute. Chat wants the cluster back as soon as Redis
is: this subclass retries every ``RETRY_SECS``. (Emits to this process's own
clients never wait for Redis: python-socketio delivers them locally first.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio

from safestream.sio.room_index import IndexedRooms

log = logging.getLogger(__name__)

RETRY_SECS = 1.0


class ReconnectingRedisManager(IndexedRooms, socketio.AsyncRedisManager):
    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                    log.info("subscribed to the Socket.IO Redis channel %s", self.channel)
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:  # noqa: BLE001 - any Redis failure: resubscribe shortly
                if subscribed:
                    log.error("lost the Socket.IO Redis channel (%s); retrying every %.0f s", exc, RETRY_SECS)
                subscribed = False
                await asyncio.sleep(RETRY_SECS)
