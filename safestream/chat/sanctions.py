"""An in-memory view of active mutes and bans, backed by the sanctions table.

Checked on every chat message, so lookups are dict hits, not queries. Writes
go to the database first (``storage.audit``), then here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from safestream.storage.models import Sanction

#: Stands for "no expiry" so callers compare datetimes without None checks.
FOREVER = datetime.max.replace(tzinfo=UTC)

Key = tuple[str, str | None]


class Sanctions:
    def __init__(self) -> None:
        self._active: dict[str, dict[Key, datetime]] = {"mute": {}, "ban": {}}

    def load(self, rows: Iterable[Sanction]) -> None:
        for row in rows:
            self.add(row.kind, row.username, row.stream, row.until)

    def add(self, kind: str, username: str, stream: str | None, until: datetime | None) -> None:
        self._active[kind][(username, stream)] = until or FOREVER

    def lift(self, kind: str, username: str, stream: str | None) -> None:
        self._active[kind].pop((username, stream), None)

    def _check(self, kind: str, username: str, stream: str | None) -> datetime | None:
        table = self._active[kind]
        if not table:
            return None
        now = datetime.now(UTC)
        for key in ((username, None), (username, stream)) if stream is not None else ((username, None),):
            until = table.get(key)
            if until is not None:
                if until > now:
                    return until
                del table[key]
        return None

    def muted(self, username: str, stream: str | None) -> datetime | None:
        """When the user's mute in ``stream`` (or site-wide) ends, if muted now."""
        return self._check("mute", username, stream)

    def banned(self, username: str, stream: str | None) -> datetime | None:
        return self._check("ban", username, stream)

    def sweep(self) -> int:
        """Drops expired entries; returns how many."""
        now = datetime.now(UTC)
        dropped = 0
        for table in self._active.values():
            for key in [k for k, until in table.items() if until <= now]:
                del table[key]
                dropped += 1
        return dropped
