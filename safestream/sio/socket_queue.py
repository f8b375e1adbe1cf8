"""Each Engine.IO session's outgoing packet queue, small enough to hold 20,000 of.

python-engineio gives every session an ``asyncio.Queue``: three deques (items,
getters, putters) and an ``Event`` with a deque of its own, about 3.3 KB per
socket before a packet is queued (``load/mem_per_socket.py``). A session has
one writer (its writer task, or the poll in progress) and puts never wait, so
``WaiterQueue`` keeps only what that needs: a list of items, the parked
getters and the ``join`` waiters, the last two made when first used.

``waiters`` counts ``get`` calls still waiting. It drops the moment a getter
takes a packet, before the writer sends it, so ``waiters`` with an empty queue
means every packet queued so far has been written: the condition under which
``safestream.sio.wire`` may write a frame to the socket directly.
"""

from __future__ import annotations

import asyncio
from typing import Any


class WaiterQueue:
    """The subset of ``asyncio.Queue`` python-engineio's sockets use, unbounded."""

    __slots__ = ("_getters", "_items", "_joiners", "_unfinished", "waiters")

    maxsize = 0

    def __init__(self, maxsize: int = 0) -> None:
        if maxsize:
            raise ValueError("a session queue is unbounded: the slow-consumer watchdog bounds it")
        # A list, not a deque: an empty deque is 600 bytes, and a queue is rarely more than a few long
        # (the slow-consumer watchdog drops a socket whose queue passes its bound).
        self._items: list[Any] = []
        self._getters: list[asyncio.Future[None]] | None = None
        self._joiners: list[asyncio.Future[None]] | None = None
        self._unfinished = 0
        self.waiters = 0

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return False

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._unfinished += 1
        self._wake_getter()

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.pop(0)

    async def get(self) -> Any:
        self.waiters += 1
        try:
            while not self._items:
                getter = asyncio.get_running_loop().create_future()
                if self._getters is None:
                    self._getters = []
                self._getters.append(getter)
                try:
                    await getter
                except BaseException:
                    getter.cancel()
                    if getter in self._getters:
                        self._getters.remove(getter)
                    elif self._items:
                        # It was woken for an item it will not take now: the next getter takes it.
                        self._wake_getter()
                    raise
            return self._items.pop(0)
        finally:
            self.waiters -= 1

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if not self._unfinished and self._joiners:
            joiners, self._joiners = self._joiners, None
            for joiner in joiners:
                if not joiner.done():
                    joiner.set_result(None)

    async def join(self) -> None:
        if not self._unfinished:
            return
        joiner = asyncio.get_running_loop().create_future()
        if self._joiners is None:
            self._joiners = []
        self._joiners.append(joiner)
        await joiner

    def _wake_getter(self) -> None:
        while self._getters:
            getter = self._getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                return
