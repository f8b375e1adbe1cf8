"""Sending a gift: id, broadcast, metrics, persistence. Used by the API and the producer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import UTC, datetime
from typing import Any

from safestream.chat.broadcaster import Broadcaster
from safestream.chat.metrics import Metrics
from safestream.chat.payloads import gift_payload
from safestream.chat.rooms import Rooms
from safestream.errors import Busy, SafeStreamError
from safestream.storage.models import GiftEvent
from safestream.storage.writer import Record, WriteBehind

log = logging.getLogger(__name__)

#: The catalogue the producer draws from: gift id -> relative weight.
CATALOGUE: dict[str, int] = {"rose": 40, "heart": 30, "star": 15, "rocket": 8, "lion": 5, "universe": 2}
BOT = "bot"


class GiftService:
    def __init__(self, *, rooms: Rooms, broadcaster: Broadcaster, writer: WriteBehind, metrics: Metrics,
                 interval: float, rng: random.Random | None = None) -> None:
        self._rooms = rooms
        self._broadcaster = broadcaster
        self._writer = writer
        self._metrics = metrics
        self.interval = interval
        self._rng = rng or random.Random()
        self._producers: dict[str, asyncio.Task[None]] = {}

    async def send(self, *, stream: str, sender: str, gift_id: str, amount: int) -> dict[str, Any]:
        room = await self._rooms.load(stream)
        if not room.live:
            raise SafeStreamError(f"{stream!r} is not live", code="stream_offline", status=409)
        if not self._writer.has_room:
            raise Busy("the server is busy; try again shortly", retry_after=1.0)
        now = datetime.now(UTC)
        gift_id_seq = await self._rooms.reserve_ids(room, "gift", 1)
        payload = gift_payload(id=gift_id_seq, stream=stream, sender=sender, gift_id=gift_id,
                               amount=amount, ts=now)
        await self._broadcaster.gift(payload)
        self._metrics.record_gift(stream, sender, amount)
        if self._rooms.cluster.shared:
            await self._rooms.cluster.add_metrics(stream, gifts=1)
        row = {"stream": stream, "seq": payload["id"], "sender": sender, "gift_id": gift_id,
               "amount": amount, "created_at": now}
        self._writer.offer(Record(GiftEvent, row, (payload,)))
        return payload

    def start_producer(self, stream: str) -> None:
        """One producer per live stream (this process's; clustering adds a lock)."""
        task = self._producers.get(stream)
        if task is None or task.done():
            self._producers[stream] = asyncio.create_task(self._produce(stream), name=f"gifts:{stream}")

    async def stop_producer(self, stream: str) -> None:
        task = self._producers.pop(stream, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close(self) -> None:
        for stream in list(self._producers):
            await self.stop_producer(stream)

    def random_gift(self) -> tuple[str, int]:
        gift_id = self._rng.choices(list(CATALOGUE), weights=list(CATALOGUE.values()))[0]
        return gift_id, self._rng.randint(1, 5)

    async def _produce(self, stream: str) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                # Every process runs this loop; only the holder of the stream's lock sends.
                if not await self._rooms.cluster.lead(f"gifts:{stream}", ttl=self.interval * 3):
                    continue
                gift_id, amount = self.random_gift()
                await self.send(stream=stream, sender=BOT, gift_id=gift_id, amount=amount)
            except SafeStreamError as exc:
                log.info("gift producer for %s skipped a gift: %s", stream, exc.message)
            except Exception:  # noqa: BLE001 - the producer must outlive one bad tick (or Redis blip)
                log.exception("gift producer for %s failed a tick", stream)
