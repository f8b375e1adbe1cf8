"""Sending a gift: checks, id, broadcast, metrics, persistence. Used by the API and the producer."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from datetime import UTC, datetime
from typing import Any

from safestream.chat.broadcaster import Broadcaster
from safestream.chat.metrics import Metrics
from safestream.chat.payloads import gift_payload, iso
from safestream.chat.ratelimit import SlidingWindowLimiter
from safestream.chat.rooms import Room, Rooms
from safestream.chat.sanctions import FOREVER, Sanctions
from safestream.cluster import Cluster
from safestream.errors import (
    Banned,
    Busy,
    InvalidPayload,
    Muted,
    NotInStream,
    RateLimited,
    SafeStreamError,
    StreamOffline,
)
from safestream.gifts import catalogue
from safestream.storage.models import GiftEvent
from safestream.storage.writer import Record, WriteBehind

log = logging.getLogger(__name__)

BOT = "bot"
GIFT_WINDOW_SECS = 10.0


class GiftService:
    def __init__(
        self,
        *,
        rooms: Rooms,
        cluster: Cluster,
        broadcaster: Broadcaster,
        writer: WriteBehind,
        metrics: Metrics,
        sanctions: Sanctions,
        interval: float,
        gifts_per_window: int,
        rng: random.Random | None = None,
    ) -> None:
        self._rooms = rooms
        self._cluster = cluster
        self._broadcaster = broadcaster
        self._writer = writer
        self._metrics = metrics
        self._sanctions = sanctions
        self.interval = interval
        self.limiter = SlidingWindowLimiter(gifts_per_window, GIFT_WINDOW_SECS)
        self._rng = rng or random.Random()
        self._producers: dict[str, asyncio.Task[None]] = {}

    async def send(
        self, *, stream: str, sender: str, gift_id: str | int, amount: int, staff: bool = False
    ) -> dict[str, Any]:
        """A user's gift: the same checks as a chat message (live stream, in the
        stream, not banned, not muted, within the rate limit), then delivered.
        ``gift_id`` is echoed back in the type it came in (the original design's
        clients send integers). ``staff`` (an admin or global moderator asking)
        and the stream's owner need no socket in the stream."""
        gift = catalogue.lookup(gift_id)
        if not 1 <= amount <= catalogue.MAX_AMOUNT:
            raise InvalidPayload(f"amount must be 1..{catalogue.MAX_AMOUNT}")
        room = await self._rooms.load(stream)
        if not room.live:
            raise StreamOffline(f"{stream!r} is not live")
        if (until := self._sanctions.banned(sender, stream)) is not None:
            raise Banned("you are banned from this stream", until=None if until == FOREVER else iso(until))
        if (until := self._sanctions.muted(sender, stream)) is not None:
            raise Muted(until=None if until == FOREVER else iso(until))
        if not staff and sender != room.owner and not await self._watching(room, sender):
            raise NotInStream(f"join {stream!r} before sending gifts there")
        if (retry := self.limiter.check(sender)) is not None:
            raise RateLimited("too many gifts; slow down", retry_after=retry)
        # The local limiter saw only this process; the cluster counts every process (alone: never over).
        if (await self._cluster.over_limit([f"gift:{sender}"], self.limiter.limit, self.limiter.window))[0]:
            raise RateLimited("too many gifts; slow down", retry_after=self.limiter.window)
        return await self._deliver(room, sender, gift, gift_id, amount)

    async def _watching(self, room: Room, username: str) -> bool:
        shared = await self._cluster.is_viewer(room.slug, username)
        return username in room.viewers if shared is None else shared or username in room.viewers

    async def _deliver(
        self, room: Room, sender: str, gift: catalogue.Gift, shown_id: str | int, amount: int
    ) -> dict[str, Any]:
        if not self._writer.has_room:
            raise Busy("the server is busy; try again shortly", retry_after=1.0)
        now = datetime.now(UTC)
        seq = await self._rooms.reserve_ids(room, "gift", 1)
        payload = gift_payload(id=seq, stream=room.slug, sender=sender, gift_id=shown_id, amount=amount, ts=now)
        payload.update(name=gift.name, icon=gift.icon, value=gift.value)
        row = {
            "stream": room.slug,
            "seq": seq,
            "sender": sender,
            "gift_id": gift.id,
            "amount": amount,
            "created_at": now,
        }
        await self._writer.accept([Record(GiftEvent, row, (payload,))])  # write-ahead, before anyone sees it
        await self._broadcaster.gift(payload)
        self._metrics.record_gift(room.slug, sender, amount)
        await self._cluster.add_metrics(room.slug, gifts=1)
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

    def random_gift(self) -> tuple[catalogue.Gift, int]:
        gift = self._rng.choices(catalogue.CATALOGUE, weights=[g.weight for g in catalogue.CATALOGUE])[0]
        return gift, self._rng.randint(1, 5)

    async def _produce(self, stream: str) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                # Every process runs this loop; only the holder of the stream's lock sends.
                if not await self._cluster.lead(f"gifts:{stream}", ttl=self.interval * 3):
                    continue
                room = await self._rooms.load(stream)
                if not room.live:
                    continue
                gift, amount = self.random_gift()
                await self._deliver(room, BOT, gift, gift.id, amount)
            except SafeStreamError as exc:
                log.info("gift producer for %s skipped a gift: %s", stream, exc.message)
            except Exception:  # the producer must outlive one bad tick (or Redis blip)
                log.exception("gift producer for %s failed a tick", stream)
