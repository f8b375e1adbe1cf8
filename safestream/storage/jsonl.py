"""Rotating JSONL logs: ``chat_YYYY-MM-DD.jsonl``, 10 MiB x 10 by default.

One line per message, moderation decision, review change and gift, in the
protocol's JSON shapes. The log is the write-ahead record: the send path
appends a batch's lines (one ``write`` to the OS per batch) before the batch
is broadcast or acked, so a message that was acked survives SIGKILL of the
process and start-up brings the database up to the log's tail
(``storage.importer.recover``). Appends keep their submission order.

An append is one ``write`` into the page cache, a few microseconds: handing it
to a thread cost more (a hop there and back, and under load a wait for the
GIL), and it was on every message's path before anyone saw it. So appends run
on the caller's thread while they are fast; one that takes longer than
``SLOW_WRITE`` (a disk under writeback pressure) sends the appends of the next
``SLOW_BACKOFF`` seconds to the log's own thread, so a slow disk never stalls
the event loop for long.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

log = logging.getLogger(__name__)

#: An inline append slower than this moves appends to the log's thread for SLOW_BACKOFF seconds.
#: Wall time, so it must sit well above what a busy CPU's preemption adds to a page-cache write.
SLOW_WRITE = 0.050
SLOW_BACKOFF = 10.0


class JsonlLog:
    def __init__(self, directory: Path, *, max_bytes: int = 10 * 1024 * 1024, backups: int = 10) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._day = ""
        # One thread: appends keep the order they were submitted in, and never queue
        # behind moderation work in the default executor.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jsonl")
        self._threaded_until = 0.0  # monotonic time until which appends go to the thread
        self._in_thread = 0  # appends handed to the thread and not yet written
        self.slow_writes = 0
        directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, day: str) -> Path:
        return self.directory / f"chat_{day}.jsonl"

    async def append(self, lines: list[dict[str, Any]]) -> int:
        """Write-ahead: the lines are in the OS's hands (not fsynced) when this returns."""
        if not lines:
            return 0
        now = time.monotonic()
        # Never inline while the thread still holds appends: this one would overtake them.
        if now >= self._threaded_until and not self._in_thread:
            written = self.write_many(lines)
            if (took := time.monotonic() - now) > SLOW_WRITE:
                self.slow_writes += 1
                self._threaded_until = time.monotonic() + SLOW_BACKOFF
                log.warning("a JSONL append took %.0f ms; appending on a thread for %.0f s", took * 1000, SLOW_BACKOFF)
            return written
        loop = asyncio.get_running_loop()
        job = self._executor.submit(self.write_many, lines)
        self._in_thread += 1
        # Counted down when the write is done, not when its awaiter is: a cancelled awaiter's write still runs.
        job.add_done_callback(lambda _: loop.call_soon_threadsafe(self._thread_done))
        return await asyncio.wrap_future(job)

    def _thread_done(self) -> None:
        self._in_thread -= 1

    def write_many(self, lines: Iterable[dict[str, Any]]) -> int:
        """Appends lines with one ``write`` and no user-space buffer; returns how many."""
        encoded = [orjson.dumps(line) for line in lines]
        if not encoded:
            return 0
        data = b"\n".join(encoded) + b"\n"
        with self._lock:
            handle = self._handle_for(len(data))
            view = memoryview(data)
            while view:  # a regular file takes it all at once; loop for the rare short write
                view = view[handle.write(view) or 0 :]
        return len(encoded)

    def fsync(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _handle_for(self, incoming: int) -> IO[bytes]:
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        if self._file is None or day != self._day:
            self._open(day)
        assert self._file is not None  # for the type checker; _open always sets it
        if self._file.tell() + incoming > self.max_bytes and self._file.tell() > 0:
            self._rotate()
        return self._file

    def _open(self, day: str) -> None:
        if self._file is not None:
            self._file.close()
        self._day = day
        self._file = self._open_append(self.path_for(day))

    @staticmethod
    def _open_append(path: Path) -> IO[bytes]:
        handle = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open; unbuffered: one write per batch
        if handle.tell() > 0:
            with open(path, "rb") as reader:
                reader.seek(-1, os.SEEK_END)
                if reader.read(1) != b"\n":
                    handle.write(b"\n")  # a line cut by a crash must not swallow the next one
        return handle

    def _rotate(self) -> None:
        """chat_D.jsonl -> .1 -> .2 ... ; the oldest past ``backups`` is dropped."""
        assert self._file is not None
        self._file.close()
        base = self.path_for(self._day)
        oldest = base.with_name(f"{base.name}.{self.backups}")
        if oldest.exists():
            oldest.unlink()
        for index in range(self.backups - 1, 0, -1):
            src = base.with_name(f"{base.name}.{index}")
            if src.exists():
                src.rename(base.with_name(f"{base.name}.{index + 1}"))
        if self.backups > 0:
            base.rename(base.with_name(f"{base.name}.1"))
        else:
            base.unlink()
        self._file = self._open_append(base)
