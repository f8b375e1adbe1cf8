"""The bounded write-behind queue: messages and gifts reach the database in batches.

The send path hands a batch to ``accept`` before it broadcasts or acks: its
JSONL lines are written (the write-ahead record, one write per batch) and its
rows are buffered. The flusher writes rows every ``flush_interval`` (or sooner
when a batch is full) in one transaction. When the database is down the batch
stays at the head of the buffer and is retried with back-off; the send path
refuses new messages with ``busy`` once ``capacity`` is reached (``has_room``),
so the buffer stays bounded. Graceful shutdown drains everything; after
SIGKILL, start-up restores the unwritten rows from the log's tail.

Every later change to a row (``update``) is ordered after the row's insert
wherever the row is: applied to the buffered copy, or to the database, while
no flush is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, col

from safestream.errors import Busy
from safestream.storage.db import SessionMaker
from safestream.storage.jsonl import JsonlLog

log = logging.getLogger(__name__)

MAX_BATCH = 2000


@dataclass(slots=True)
class Record:
    table: type[SQLModel] | None
    row: dict[str, Any] | None
    lines: tuple[dict[str, Any], ...] = ()
    logged: bool = field(default=False)


class WriteBehind:
    def __init__(self, sessions: SessionMaker, jsonl: JsonlLog, *, capacity: int, flush_interval: float) -> None:
        self._sessions = sessions
        self._jsonl = jsonl
        self.capacity = capacity
        self.flush_interval = flush_interval
        self._buffer: deque[Record] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()  # one flush at a time: a batch must never be written twice
        self._closing = False
        self.db_healthy = True
        self.written = 0
        self.failures = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._buffer)

    @property
    def has_room(self) -> bool:
        return len(self._buffer) < self.capacity

    def offer(self, record: Record) -> bool:
        """Accepts a record unless the buffer is full; never blocks."""
        if self._closing or len(self._buffer) >= self.capacity:
            return False
        self._buffer.append(record)
        if len(self._buffer) >= MAX_BATCH:
            self._wake.set()
        return True

    async def accept(self, records: list[Record]) -> None:
        """Logs the records (write-ahead), then buffers them; call before broadcasting or acking.

        Never refuses: admission is ``has_room`` at submit time, so the buffer may pass
        ``capacity`` by at most one batch, and a record buffered after ``close`` is still
        in the log for the next start-up to restore.
        """
        try:
            await self._jsonl.append([line for record in records if not record.logged for line in record.lines])
        except OSError as exc:  # disk full, log dir gone: refuse rather than ack what is not recorded
            log.error("the JSONL log cannot be written (%s); refusing messages until it can", exc)
            raise Busy("the server cannot record messages right now", retry_after=5.0) from exc
        for record in records:
            record.logged = True
            self._buffer.append(record)
        if len(self._buffer) >= MAX_BATCH:
            self._wake.set()

    async def log(self, lines: list[dict[str, Any]]) -> None:
        """Appends lines that have no row of their own (review changes)."""
        await self._jsonl.append(lines)

    async def update(
        self,
        table: type[SQLModel],
        *,
        stream: str,
        seqs: list[int],
        values: dict[str, Any],
        line: dict[str, Any] | None = None,
    ) -> int:
        """Changes rows keyed by (stream, seq) after their inserts, buffered or written.

        ``line`` (logged first) lets start-up and ``import-jsonl`` replay the change.
        Returns how many rows changed (buffered and stored; a row can count twice).
        """
        if line is not None:
            await self._jsonl.append([line])
        keys = set(seqs)
        async with self._flush_lock:  # no insert in flight: each row is either buffered or stored
            changed = 0
            for record in self._buffer:
                row = record.row
                if record.table is table and row is not None and row["stream"] == stream and row["seq"] in keys:
                    row.update(values)
                    changed += 1
            async with self._sessions() as session:
                result = await session.exec(
                    update(table)
                    .where(col(table.stream) == stream, col(table.seq).in_(keys))  # type: ignore[attr-defined]
                    .values(**values)
                )
                await session.commit()
            return changed + int(result.rowcount or 0)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="write-behind")

    async def close(self, timeout: float = 30.0) -> None:
        """Stops accepting, then drains what was accepted (the durability promise)."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            # A flag, not cancel(): cancelling wait_for() as it completes can be lost on 3.11.
            await self._task
        deadline = asyncio.get_running_loop().time() + timeout
        while self._buffer and asyncio.get_running_loop().time() < deadline:
            if not await self.flush_once():
                await asyncio.sleep(0.5)
        if self._buffer:
            log.error("shutdown: %d records could not be written to the database", len(self._buffer))
        await asyncio.to_thread(self._jsonl.fsync)

    async def _insert(self, grouped: dict[type[SQLModel], list[dict[str, Any]]]) -> None:
        async with self._sessions() as session:
            conn = await session.connection()
            for table, rows in grouped.items():
                await conn.execute(insert(table), rows)  # one executemany per table
            await session.commit()

    async def _insert_one_by_one(self, grouped: dict[type[SQLModel], list[dict[str, Any]]]) -> None:
        for table, rows in grouped.items():
            for row in rows:
                try:
                    await self._insert({table: [row]})
                except IntegrityError as exc:
                    self.dropped += 1
                    log.error("dropped a %s row that conflicts with a stored one: %s", table.__name__, exc.orig)

    async def flush_all(self) -> bool:
        """Writes everything buffered now (readers that need their own rows call this)."""
        while self._buffer:
            if not await self.flush_once():
                return False
        return True

    async def _run(self) -> None:
        backoff = self.flush_interval
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)
            self._wake.clear()
            if self._closing:
                return
            ok = True
            while self._buffer and ok:
                ok = await self.flush_once()
                if len(self._buffer) < MAX_BATCH:
                    break
            backoff = self.flush_interval if ok else min(backoff * 2, 5.0)

    async def flush_once(self) -> bool:
        """Writes one batch; False (and the batch kept) when the database failed."""
        async with self._flush_lock:
            return await self._flush_locked()

    async def _flush_locked(self) -> bool:
        batch = [self._buffer[i] for i in range(min(len(self._buffer), MAX_BATCH))]
        if not batch:
            return True
        lines = [line for record in batch if not record.logged for line in record.lines]
        if lines:
            await self._jsonl.append(lines)  # records that came through offer(), not accept()
            for record in batch:
                record.logged = True
        grouped: dict[type[SQLModel], list[dict[str, Any]]] = {}
        for record in batch:
            if record.table is not None and record.row is not None:
                grouped.setdefault(record.table, []).append(record.row)
        try:
            if grouped:
                try:
                    await self._insert(grouped)
                except IntegrityError:
                    # A row that can never be written (a duplicate id) must not block the
                    # rows behind it forever: write them one by one and drop the bad ones.
                    await self._insert_one_by_one(grouped)
        except Exception as exc:  # noqa: BLE001 - any database failure: keep the batch and retry
            self.failures += 1
            if self.db_healthy:
                log.error("database write failed, buffering %d records: %s", len(self._buffer), exc)
            self.db_healthy = False
            return False
        for _ in batch:
            self._buffer.popleft()
        if not self.db_healthy:
            log.warning("database writes recovered")
        self.db_healthy = True
        self.written += len(batch)
        return True
