"""Who a connecting socket's token belongs to, without a database round trip per connect.

After a restart or deploy every client reconnects at once; one user query and
one grants query per connect made the storm database-bound. ``PrincipalLoader``
batches the lookups of connects that arrive together into one query pair (a
fresh process has nothing cached), and keeps each answer for ``ttl`` seconds
(bounded to ``max_entries``) for the next reconnect.

What a cached answer must never outlive:
- a revocation (logout, password or role change, deletion, a site ban):
  ``Revocation.sessions_ended`` runs on every process, locally and through
  the cluster bus, and calls ``invalidate``; a lookup that started before an
  invalidation is not cached, so a read racing a revocation cannot stick;
- a site ban: checked against the in-memory sanctions on every connect anyway;
- a verified email (``Verifier.mark_verified`` invalidates).
New stream grants show within ``ttl``; privileged socket events re-read the
database anyway (``ChatNamespace._rechecked``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from safestream.auth.roles import Principal
from safestream.storage import users
from safestream.storage.db import SessionMaker
from safestream.storage.models import User

MakePrincipal = Callable[[User, set[str]], Principal]


class PrincipalLoader:
    def __init__(
        self,
        sessions: SessionMaker,
        make: MakePrincipal,
        *,
        ttl: float = 30.0,
        max_entries: int = 50_000,
        max_batch: int = 500,
    ) -> None:
        self._sessions = sessions
        self._make = make
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_batch = max_batch
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._invalidated: dict[str, float] = {}
        self._waiting: dict[str, list[asyncio.Future[Principal | None]]] = {}
        self._worker: asyncio.Task[None] | None = None
        self.queries = 0  # query pairs run: what batching saves

    async def get(self, username: str) -> Principal | None:
        """The user's principal as of at most ``ttl`` ago, or None when there is no such user."""
        hit = self._cache.get(username)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        future: asyncio.Future[Principal | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(username, []).append(future)
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="principal-loader")
        return await future

    def invalidate(self, username: str) -> None:
        self._cache.pop(username, None)
        now = time.monotonic()
        if len(self._invalidated) > 10_000:  # only lookups in flight need these marks
            self._invalidated = {u: t for u, t in self._invalidated.items() if t > now - 60}
        self._invalidated[username] = now

    def __len__(self) -> int:
        return len(self._cache)

    async def _run(self) -> None:
        try:
            while self._waiting:
                await asyncio.sleep(0)  # the connects that arrived in this tick join the batch
                names = list(self._waiting)[: self.max_batch]
                batch = {name: self._waiting.pop(name) for name in names}
                started = time.monotonic()
                try:
                    found = await users.with_grants(self._sessions, usernames=names)
                except Exception as exc:  # noqa: BLE001 - each waiting connect gets the error
                    for futures in batch.values():
                        for f in futures:
                            if not f.done():
                                f.set_exception(exc)
                    continue
                self.queries += 1
                for name, futures in batch.items():
                    principal = self._make(*found[name]) if name in found else None
                    if principal is not None and self._invalidated.get(name, float("-inf")) < started:
                        self._put(name, principal)
                    for f in futures:
                        if not f.done():
                            f.set_result(principal)
        finally:
            self._worker = None

    def _put(self, username: str, principal: Principal) -> None:
        if len(self._cache) >= self.max_entries:
            now = time.monotonic()
            self._cache = {u: e for u, e in self._cache.items() if e[0] > now}
            while len(self._cache) >= self.max_entries:  # oldest first: dicts keep insertion order
                del self._cache[next(iter(self._cache))]
        self._cache.pop(username, None)
        self._cache[username] = (time.monotonic() + self.ttl, principal)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
