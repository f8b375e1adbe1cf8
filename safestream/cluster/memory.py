"""One process: nothing is shared, so every answer is "use your local state" and costs nothing."""

from __future__ import annotations

from typing import Any

from safestream.cluster.base import Cluster
from safestream.moderation.modes.crowd import LocalCrowds


class InProcessCluster(Cluster):
    local_history_complete = True

    async def close(self) -> None:
        """Nothing to release."""

    async def broadcast(self, kind: str, data: dict[str, Any]) -> None:
        """Other processes' copies of an event; there are none."""

    async def next_ids(self, key: str, n: int, floor: int) -> int | None:
        return None

    async def set_viewer(self, stream: str, username: str, present: bool) -> None:
        """Only this process's Room.viewers counts."""

    async def viewer_count(self, stream: str) -> int | None:
        return None

    async def is_viewer(self, stream: str, username: str) -> bool | None:
        """None: only this process's Room.viewers knows."""
        return None

    async def add_metrics(self, stream: str, messages: int = 0, toxic: int = 0, gifts: int = 0) -> None:
        """Metrics stay in this process."""

    async def metrics(self, stream: str | None) -> dict[str, int] | None:
        return None

    async def reset_metrics(self) -> None:
        """Local counters are reset by the caller."""

    async def over_limit(self, users: list[str], limit: int, window: float) -> list[bool]:
        return [False] * len(users)  # the local limiter already counted everything

    async def push_history(self, stream: str, payloads: list[dict[str, Any]], keep: int) -> None:
        """The local ring is the history."""

    async def history(self, stream: str, limit: int) -> list[dict[str, Any]] | None:
        return None

    async def replace_history(self, stream: str, payloads: list[dict[str, Any]]) -> None:
        """The local ring was already edited."""

    def crowds(self) -> LocalCrowds:
        return LocalCrowds()

    async def lead(self, name: str, ttl: float) -> bool:
        return True
