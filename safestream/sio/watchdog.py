"""The slow-consumer watchdog: sockets that stopped reading are dropped before their queues grow unbounded."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import socketio

log = logging.getLogger(__name__)


class SlowConsumerWatchdog:
    """Drops sockets whose outgoing queue passed ``max_queue`` packets.

    python-socketio queues per client, so a viewer that stopped reading does
    not block the room, but its queue would grow without bound; past the
    bound it is disconnected (it can reconnect and catch up with ``since``).
    """

    def __init__(self, sio: socketio.AsyncServer, *, max_queue: int, interval: float = 0.5) -> None:
        self._sio = sio
        self.max_queue = max_queue
        self.interval = interval
        self.dropped = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="slow-consumers")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def check(self) -> int:
        slow = [sock for sock in list(self._sio.eio.sockets.values()) if sock.queue.qsize() > self.max_queue]
        for sock in slow:
            log.warning("dropping slow consumer %s (%d packets queued)", sock.sid, sock.queue.qsize())
            self.dropped += 1
            with contextlib.suppress(Exception):
                await sock.close(wait=False, abort=True)
        return len(slow)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except Exception:  # the watchdog must keep watching
                log.exception("slow-consumer check failed")
