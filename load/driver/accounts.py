"""The simulated users: registered and logged in over HTTP, a bounded number at a time."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp

PASSWORD = "load-test-pw"


async def register_and_login(
    base_url: str, usernames: Sequence[str], *, password: str = PASSWORD, concurrency: int = 32, register: bool = True
) -> list[str]:
    """Registers (409 = already there, fine for a reused server) and logs in each user; returns tokens.

    A semaphore bounds the requests in flight: the server hashes passwords on a
    small thread pool, so more concurrency only queues there.
    """
    limiter = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url, timeout=timeout, connector=connector) as session:

        async def one(name: str) -> str:
            async with limiter:
                if register:
                    async with session.post("/auth/register", json={"username": name, "password": password}) as r:
                        if r.status not in (201, 409):
                            raise RuntimeError(f"register {name}: {r.status} {await r.text()}")
                async with session.post("/auth/login", data={"username": name, "password": password}) as r:
                    if r.status != 200:
                        raise RuntimeError(f"login {name}: {r.status} {await r.text()}")
                    token: str = (await r.json())["access_token"]
                    return token

        return list(await asyncio.gather(*(one(name) for name in usernames)))


def tokens_for(base_url: str, usernames: Sequence[str], *, concurrency: int = 32) -> tuple[list[str], float]:
    """Synchronous wrapper: (tokens, seconds taken)."""
    started = time.perf_counter()
    tokens = asyncio.run(register_and_login(base_url, usernames, concurrency=concurrency))
    return tokens, time.perf_counter() - started


def backdate(workdir: Path, prefix: str, days: int = 1) -> int:
    """Makes the accounts named ``prefix...`` ``days`` old, in the server's SQLite file (age gates let them in)."""
    db = next(workdir.rglob("safestream.db"))
    with sqlite3.connect(db) as conn:
        cur = conn.execute(
            "UPDATE users SET created_at = datetime(created_at, ?) WHERE username LIKE ?",
            (f"-{days} day", prefix + "%"),
        )
        return cur.rowcount
