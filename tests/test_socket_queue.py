"""WaiterQueue: each session's outgoing queue keeps asyncio.Queue's order, cancellation and join."""

from __future__ import annotations

import asyncio

import pytest

from safestream.sio.socket_queue import WaiterQueue


async def test_packets_leave_in_order_and_a_parked_getter_is_counted() -> None:
    queue = WaiterQueue()
    getter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert queue.waiters == 1 and queue.empty()
    for item in ("a", "b", "c"):
        queue.put_nowait(item)
    assert await getter == "a"
    assert queue.waiters == 0  # dropped as the getter took its packet
    assert [queue.get_nowait(), await queue.get()] == ["b", "c"]
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_a_getter_cancelled_after_being_woken_leaves_its_packet_for_the_next() -> None:
    queue = WaiterQueue()
    first = asyncio.ensure_future(queue.get())
    second = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("only")  # wakes the first getter...
    first.cancel()  # ...which is cancelled before it runs
    assert await second == "only"
    assert first.cancelled() and queue.waiters == 0


async def test_a_timed_out_get_loses_nothing_queued_later() -> None:
    queue = WaiterQueue()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await queue.get()
    assert queue.waiters == 0
    await queue.put("late")
    assert queue.qsize() == 1 and await queue.get() == "late"


async def test_join_waits_for_every_packet_to_be_done() -> None:
    queue = WaiterQueue()
    await queue.join()  # nothing queued: at once
    queue.put_nowait(1)
    queue.put_nowait(2)
    joined = asyncio.ensure_future(queue.join())
    queue.get_nowait()
    queue.task_done()
    await asyncio.sleep(0)
    assert not joined.done()
    queue.get_nowait()
    queue.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError, match="too many"):
        queue.task_done()


def test_a_bounded_session_queue_is_refused_not_silently_unbounded() -> None:
    assert WaiterQueue(0).maxsize == 0
    with pytest.raises(ValueError, match="unbounded"):
        WaiterQueue(10)
