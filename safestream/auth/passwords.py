"""argon2id password hashing, run off the event loop (a hash costs ~100+ ms)."""

from __future__ import annotations

import asyncio
import concurrent.futures

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int, workers: int = 2) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        # Verifying against this when a user does not exist costs the same as a real
        # check, so response time does not reveal which usernames exist.
        self._dummy_hash = self._hasher.hash("no-such-user-dummy-password")

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._verify_sync, password_hash, password)

    def _verify_sync(self, password_hash: str | None, password: str) -> bool:
        try:
            self._hasher.verify(password_hash or self._dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return password_hash is not None

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
