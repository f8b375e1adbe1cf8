"""Messages the sentence stage must read, and each sender's later messages held behind theirs.

A message the expensive stage reads cannot be published until it has been
read, and its sender's next messages must not overtake it. Each sender with
an unread message has a chain: the unread message and, in order, everything
that sender sends until it is read. Only unread messages go to the reading
queue; when one has been read, its chain is published up to the next unread
message of that sender.

Why chains and not one queue for all of them: with one queue, a follower
waits for every read ahead of it, including other senders' reads, and while
it waits its own sender's next messages join the queue too. At 1,000 msg/s
with 0.5 % of messages read, such a queue held the messages of most senders
within a second (798 queued, batches of 17 reads taking 620 ms), so the whole
room's p99 was the queue's length. With chains a read delays its own sender
only, by its own read.

Reads run in chunks of ``ModerationEngine.read_chunk`` texts (a backend that
scores texts one at a time gains nothing from a bigger chunk), all handed to
the stage at once, and each chunk is published as soon as it has been read.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from safestream.chat.payloads import error_ack
from safestream.chat.pending import Pending
from safestream.chat.rooms import Rooms
from safestream.errors import Busy, ShuttingDown, StreamOffline
from safestream.moderation.batcher import MicroBatcher
from safestream.moderation.engine import Assessment, ModerationEngine

log = logging.getLogger(__name__)

#: Publishes screened messages in order and returns their acks (``Publisher.publish`` with a decision each).
PublishRead = Callable[[list[Pending], list[Assessment]], Awaitable[list[dict[str, Any]]]]


@dataclass(slots=True, eq=False)
class Held:
    item: Pending
    assessment: Assessment
    answer: asyncio.Future[dict[str, Any]]
    #: Read (or never needed reading): it may be published once everything before it was.
    ready: bool
    #: Being published by a release in flight (the chain's head stays put until that is done).
    taken: bool = False
    #: Why it will not be published: its answer is this ack instead (a typed refusal) or this exception.
    refusal: dict[str, Any] | BaseException | None = None


class HeldReads:
    def __init__(self, *, engine: ModerationEngine, rooms: Rooms, publish: PublishRead, max_queue: int) -> None:
        self._engine = engine
        self._rooms = rooms
        self._publish = publish
        self._reads: MicroBatcher[Held, None] = MicroBatcher(
            self._read, max_batch=32, max_queue=max_queue, name="escalations"
        )
        self._chains: dict[str, deque[Held]] = {}
        self._held = 0
        self._releases: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        """Messages held: being read, or waiting behind one of their sender's that is."""
        return self._held

    def start(self) -> None:
        self._reads.start()

    async def close(self, timeout: float | None, grace: float) -> None:
        """Reads what it can within ``timeout``; every message still held then gets ``shutting_down``."""
        await self._reads.close(timeout, grace=grace)
        while self._releases:
            await asyncio.gather(*self._releases, return_exceptions=True)
        for chain in self._chains.values():
            for held in chain:
                if not held.answer.done():
                    held.answer.set_exception(ShuttingDown())
        self._chains.clear()
        self._held = 0

    def holding(self, username: str) -> bool:
        """Whether ``username`` has a message held: then their next one must be held too."""
        return username in self._chains

    def hold(self, item: Pending, assessment: Assessment) -> asyncio.Future[dict[str, Any]]:
        """Holds a screened message in its sender's chain (sending it to be read if it must be); its ack."""
        held = Held(item, assessment, asyncio.get_running_loop().create_future(), ready=not assessment.awaiting)
        self._chains.setdefault(item.username, deque()).append(held)
        self._held += 1
        if assessment.awaiting:
            try:
                waiting = self._reads.submit(held)
            except (ShuttingDown, Busy) as exc:
                held.refusal, held.ready = error_ack(exc.to_dict()), True
                self._release_soon(item.username)
            else:
                waiting.add_done_callback(functools.partial(self._read_ended, held))
        return held.answer

    def _read_ended(self, held: Held, done: asyncio.Future[None]) -> None:
        """A read that failed as a whole (the batch raised, or was refused at shutdown) answers with its error."""
        if held.ready:
            return
        error = ShuttingDown() if done.cancelled() else done.exception()
        if error is None:  # a batch that returned has marked every one of its reads ready
            return
        held.refusal, held.ready = error, True
        self._release_soon(held.item.username)

    def _release_soon(self, username: str) -> None:
        task = asyncio.get_running_loop().create_task(self._release_logged(username))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    async def _release_logged(self, username: str) -> None:
        try:
            await self._release([username])
        except Exception:  # its messages got the error as their ack; nobody else awaits this task
            log.exception("publishing %s's held messages failed", username)

    async def _read(self, batch: list[Held]) -> list[None]:
        """Reads the batch in chunks, all handed to the stage at once; each chunk is published when read.

        The stage's worker thread runs the chunks back to back while the event
        loop publishes the finished ones: waiting for each publication before
        handing over the next chunk left the thread idle for every round trip
        through a busy loop (reads took 50-90 ms instead of 25 ms at 1,000 msg/s).
        """
        step = max(1, self._engine.read_chunk)
        chunks = [batch[start : start + step] for start in range(0, len(batch), step)]
        outcomes = await asyncio.gather(*(self._read_chunk(chunk) for chunk in chunks), return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome  # the batcher answers this batch's unread messages with it (``_read_ended``)
        return [None] * len(batch)

    async def _read_chunk(self, chunk: list[Held]) -> None:
        await self._engine.finish([held.assessment for held in chunk])
        for held in chunk:
            held.ready = True
        await self._release(dict.fromkeys(held.item.username for held in chunk))

    async def _release(self, usernames: Iterable[str]) -> None:
        """Publishes each chain's ready head run; a chain whose head a release already has is left to it."""
        names = list(usernames)
        while names:
            taken: list[Held] = []
            for name in names:
                chain = self._chains.get(name)
                if not chain or chain[0].taken:
                    continue
                for held in chain:
                    if not held.ready:
                        break
                    held.taken = True
                    taken.append(held)
            if not taken:
                return
            try:
                await self._answer(taken)
            finally:
                names = list(dict.fromkeys(held.item.username for held in taken))
                for name in names:  # popped only now: until published, the sender's next message queues here
                    chain = self._chains[name]
                    while chain and chain[0].taken:
                        chain.popleft()
                        self._held -= 1
                    if not chain:
                        del self._chains[name]

    async def _answer(self, taken: list[Held]) -> None:
        publish: list[Held] = []
        for held in taken:
            room = self._rooms.get(held.item.stream)
            if isinstance(held.refusal, BaseException):
                held.answer.set_exception(held.refusal)
            elif held.refusal is not None:
                held.answer.set_result(held.refusal)
            elif room is None or not room.live:  # the stream ended while it waited
                held.answer.set_result(error_ack(StreamOffline(f"{held.item.stream!r} is not live").to_dict()))
            else:
                publish.append(held)
        if not publish:
            return
        try:
            acks = await self._publish([h.item for h in publish], [h.assessment for h in publish])
        except BaseException as exc:
            for held in publish:
                if not held.answer.done():
                    held.answer.set_exception(exc if isinstance(exc, Exception) else ShuttingDown())
            raise
        for held, ack in zip(publish, acks, strict=True):
            held.answer.set_result(ack)
