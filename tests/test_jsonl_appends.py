"""The write-ahead log's appends: inline while fast, on its thread after a slow one, in order either way."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from safestream.storage import jsonl
from safestream.storage.jsonl import JsonlLog


def _ids(directory: Path) -> list[int]:
    return [
        orjson.loads(line)["id"]
        for path in sorted(directory.glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
    ]


async def test_a_slow_append_moves_the_next_ones_to_the_thread_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = JsonlLog(tmp_path)
    try:
        await log.append([{"id": 0}])
        assert log.slow_writes == 0  # a page-cache write: inline
        monkeypatch.setattr(jsonl, "SLOW_WRITE", 0.0)  # every write now counts as slow
        await log.append([{"id": 1}])
        assert log.slow_writes == 1
        monkeypatch.setattr(jsonl, "SLOW_WRITE", 1.0)
        # These go to the thread (the back-off holds), submitted together: order must hold.
        await asyncio.gather(*(log.append([{"id": i}, {"id": i + 1}]) for i in range(2, 400, 2)))
        assert log.slow_writes == 1  # thread writes are not timed against the loop
        log._threaded_until = 0.0  # the back-off is over
        await log.append([{"id": 400}])
    finally:
        log.close()
    assert _ids(tmp_path) == list(range(401))


async def test_an_inline_append_never_overtakes_one_still_on_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = JsonlLog(tmp_path)
    try:
        monkeypatch.setattr(jsonl, "SLOW_BACKOFF", 0.0)  # the back-off ends at once...
        log._threaded_until = float("inf")
        queued = [asyncio.ensure_future(log.append([{"id": i}])) for i in range(100)]
        await asyncio.sleep(0)  # ...while those are still queued on the thread
        log._threaded_until = 0.0
        await log.append([{"id": 100}])  # must wait its turn behind them, not jump ahead
        await asyncio.gather(*queued)
    finally:
        log.close()
    assert _ids(tmp_path) == list(range(101))
