"""The cluster interface: what one SafeStream process asks of the others.

Two implementations sit side by side behind it (as encode/broadcaster does
with its backends): ``InProcessCluster`` for one process, where every answer
is "use your local state", and ``RedisCluster`` for several processes sharing
Redis. Callers hold a ``Cluster`` and call it the same way whichever it is;
an answer of ``None`` always means "this process's own state is the answer",
so no caller asks which implementation it has.
"""

from __future__ import annotations

import abc
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from safestream.moderation.modes.crowd import LocalCrowds

EventHandler = Callable[[str, dict[str, Any]], Awaitable[None]]


class Cluster(abc.ABC):
    #: Whether this process's history ring holds every message of its streams (so a
    #: replay can be answered from it): true for one process, never for several.
    local_history_complete: bool = True

    def __init__(self) -> None:
        self.node = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.handler: EventHandler | None = None
        #: This process's viewers per stream (the Redis heartbeat resyncs from it); set by the app factory.
        self.local_viewers: Callable[[], dict[str, set[str]]] = dict

    async def start(self, handler: EventHandler) -> None:
        """``handler(kind, data)`` applies other processes' events (``broadcast``) here."""
        self.handler = handler

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def broadcast(self, kind: str, data: dict[str, Any]) -> None:
        """Every other process's ``handler`` gets ``(kind, data)``; this one already applied it."""

    @abc.abstractmethod
    async def next_ids(self, key: str, n: int, floor: int) -> int | None:
        """The first of ``n`` ids (above ``floor``) from the shared counter; None: count locally."""

    @abc.abstractmethod
    async def set_viewer(self, stream: str, username: str, present: bool) -> None: ...

    @abc.abstractmethod
    async def viewer_count(self, stream: str) -> int | None: ...

    @abc.abstractmethod
    async def is_viewer(self, stream: str, username: str) -> bool | None: ...

    @abc.abstractmethod
    async def add_metrics(self, stream: str, messages: int = 0, toxic: int = 0, gifts: int = 0) -> None: ...

    @abc.abstractmethod
    async def metrics(self, stream: str | None) -> dict[str, int] | None: ...

    @abc.abstractmethod
    async def reset_metrics(self) -> None: ...

    @abc.abstractmethod
    async def over_limit(self, users: list[str], limit: int, window: float) -> list[bool]:
        """Per user: over ``limit`` events in the current ``window`` across every process."""

    @abc.abstractmethod
    async def push_history(self, stream: str, payloads: list[dict[str, Any]], keep: int) -> None: ...

    @abc.abstractmethod
    async def history(self, stream: str, limit: int) -> list[dict[str, Any]] | None:
        """The newest ``limit`` entries, oldest first; None: the local ring is all there is."""

    @abc.abstractmethod
    async def replace_history(self, stream: str, payloads: list[dict[str, Any]]) -> None: ...

    @abc.abstractmethod
    def crowds(self) -> LocalCrowds:
        """Unique chat's copy-paste counts: this process's, or shared by every process."""

    @abc.abstractmethod
    async def lead(self, name: str, ttl: float) -> bool:
        """Whether this process holds (or now takes) the lock ``name`` for ``ttl`` seconds."""
