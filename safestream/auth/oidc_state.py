"""Single-use, expiring records for a sign-in in flight: the ``state`` (with its nonce, PKCE
verifier and browser binding) and the one-time hand-off of a viewer's token.

``take`` removes and returns a record in one step, so a replayed ``state``
finds nothing. With Redis configured the records live there (GETDEL is
atomic), so the callback may land on any server process; without it they
live in this process, bounded so a flood of abandoned sign-ins cannot grow
memory without limit (the oldest go first).
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from typing import Any, Protocol

MAX_LOCAL_RECORDS = 10000


class OneTimeStore(Protocol):
    async def put(self, key: str, value: dict[str, Any], *, ttl: float) -> None: ...

    async def take(self, key: str) -> dict[str, Any] | None: ...

    async def close(self) -> None: ...


class LocalStore:
    def __init__(self, *, max_records: int = MAX_LOCAL_RECORDS) -> None:
        self._records: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._max = max_records

    async def put(self, key: str, value: dict[str, Any], *, ttl: float) -> None:
        now = time.monotonic()
        while self._records and (len(self._records) >= self._max or next(iter(self._records.values()))[0] <= now):
            self._records.popitem(last=False)  # the oldest, expired or not
        self._records[key] = (now + ttl, value)

    async def take(self, key: str) -> dict[str, Any] | None:
        record = self._records.pop(key, None)
        if record is None or record[0] <= time.monotonic():
            return None
        return record[1]

    async def close(self) -> None:
        self._records.clear()


class RedisStore:
    def __init__(self, url: str, *, prefix: str) -> None:
        import redis.asyncio as aioredis  # lazy: Redis is optional

        self._redis = aioredis.from_url(url)
        self._prefix = f"{prefix}:oidc:"

    async def put(self, key: str, value: dict[str, Any], *, ttl: float) -> None:
        await self._redis.set(self._prefix + key, json.dumps(value), px=max(1, int(ttl * 1000)))

    async def take(self, key: str) -> dict[str, Any] | None:
        raw = await self._redis.getdel(self._prefix + key)
        if raw is None:
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    async def close(self) -> None:
        await self._redis.aclose()
