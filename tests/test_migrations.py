"""Alembic upgrade -> downgrade -> upgrade on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from safestream.storage.db import downgrade_sync, migrate_sync
from tests.conftest import POSTGRES_URL, postgres_admin, require_service

TABLES = {
    "users",
    "streams",
    "messages",
    "gift_events",
    "admin_actions",
    "sanctions",
    "moderator_grants",
    "stream_policies",
    "oidc_identities",
}


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def _round_trip(url: str) -> list[set[str]]:
    seen = []
    migrate_sync(url)
    seen.append(asyncio.run(_tables(url)))
    downgrade_sync(url, "base")
    seen.append(asyncio.run(_tables(url)))
    migrate_sync(url)
    seen.append(asyncio.run(_tables(url)))
    return seen


def test_sqlite_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    up, down, again = _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    assert up >= TABLES and not (TABLES & down) and again >= TABLES


@pytest.mark.postgres
def test_postgres_upgrade_downgrade_upgrade() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    # A throw-away database keeps this test away from anything else in `test`.
    name = f"safestream_mig_{uuid.uuid4().hex[:8]}"

    asyncio.run(postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        up, down, again = _round_trip(POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}")
        assert up >= TABLES and not (TABLES & down) and again >= TABLES
    finally:
        asyncio.run(postgres_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))
