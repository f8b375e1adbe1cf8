"""Micro-batching: items that arrive while a batch is being processed form the next one.

A quiet stream pays no added delay (a lone item is processed at once); a
busy one pays one model call per batch instead of one per message. Batches
are processed strictly in order, one at a time, so results come back in
arrival order. The queue is bounded: ``submit`` refuses when it is full.
A result may be a future of its own (the answer is not known when the batch
ends): the item's waiter is then settled when that future is.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from safestream.errors import Busy, ShuttingDown

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    def __init__(
        self,
        process: Callable[[list[T]], Awaitable[Sequence[R | asyncio.Future[R]]]],
        *,
        max_batch: int = 256,
        max_queue: int = 5000,
        name: str = "batcher",
    ) -> None:
        self._process = process
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.name = name
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False  # no new items; finish the queue
        self._stopping = False  # finish the batch in hand, then stop
        self.batches = 0
        self.items = 0

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def closing(self) -> bool:
        return self._closing or self._task is None

    def start(self) -> None:
        if self._task is None:
            self._closing = self._stopping = False
            self._task = asyncio.create_task(self._run(), name=self.name)

    def submit(self, item: T) -> asyncio.Future[R]:
        """Queues an item synchronously (so callers keep their order); raises Busy when full."""
        if self.closing:
            raise ShuttingDown()
        if len(self._queue) >= self.max_queue:
            raise Busy("the server is busy; try again shortly", retry_after=1.0)
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._wake.set()
        return future

    async def close(self, timeout: float | None = None, grace: float = 5.0) -> None:
        """Takes no new items and processes the queue, for at most ``timeout`` seconds.

        Every item gets an answer: past the timeout the batch in hand is finished
        (within ``grace``) and the items still queued fail with ``ShuttingDown``.
        The processing task is never cancelled mid-batch while it can finish,
        since a batch it had begun may already have been published.
        """
        task = self._task
        if task is None:
            return
        self._closing = True
        self._wake.set()
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            self._stopping = True
            self._refuse_queued()
            done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            log.error("%s: the batch in hand did not finish in time; cancelling it", self.name)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._refuse_queued()
        self._task = None

    def _refuse_queued(self) -> None:
        while self._queue:
            _, future = self._queue.popleft()
            if not future.done():
                future.set_exception(ShuttingDown())

    async def _run(self) -> None:
        while not self._stopping:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            await self._drain_one()

    async def _drain_one(self) -> None:
        batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
        if not batch:
            return
        items = [item for item, _ in batch]
        try:
            results = await self._process(items)
            if len(results) != len(batch):
                raise RuntimeError(f"{self.name}: {len(results)} results for {len(batch)} items")
        except asyncio.CancelledError:
            for _, future in batch:  # cancelled at shutdown: still an answer for each waiter
                if not future.done():
                    future.set_exception(ShuttingDown())
            raise
        except Exception as exc:  # the error belongs to every waiter of this batch
            log.exception("%s: batch of %d failed", self.name, len(batch))
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.items += len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, asyncio.Future):
                result.add_done_callback(functools.partial(_copy_outcome, future))
            else:
                future.set_result(result)


def _copy_outcome(waiter: asyncio.Future[R], done: asyncio.Future[R]) -> None:
    """Settles an item's waiter with the outcome of the future its batch answered with."""
    if waiter.done():
        return
    if done.cancelled():
        waiter.set_exception(ShuttingDown())
    elif (exc := done.exception()) is not None:
        waiter.set_exception(exc)
    else:
        waiter.set_result(done.result())
