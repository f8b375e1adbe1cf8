"""Rotating JSONL logs: ``chat_YYYY-MM-DD.jsonl``, 10 MiB x 10 by default.

One line per message, moderation decision and gift, in the protocol's JSON
shapes. Written from the write-behind flusher's thread, never on the loop.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson


class JsonlLog:
    def __init__(self, directory: Path, *, max_bytes: int = 10 * 1024 * 1024, backups: int = 10) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.backups = backups
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._day = ""
        directory.mkdir(parents=True, exist_ok=True)

    def path_for(self, day: str) -> Path:
        return self.directory / f"chat_{day}.jsonl"

    def write_many(self, lines: Iterable[dict[str, Any]]) -> int:
        """Appends lines and flushes them to the OS; returns how many were written."""
        count = 0
        with self._lock:
            for line in lines:
                data = orjson.dumps(line) + b"\n"
                handle = self._handle_for(len(data))
                handle.write(data)
                count += 1
            if self._file is not None:
                self._file.flush()
        return count

    def fsync(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())

    def close(self) -> None:
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
        self._file = open(self.path_for(day), "ab")  # noqa: SIM115 - kept open across writes

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
        self._file = open(base, "ab")  # noqa: SIM115
