"""Stored per-stream moderation policies."""

from __future__ import annotations

from typing import Any, Protocol

from sqlmodel import select

from safestream.storage.db import SessionMaker
from safestream.storage.models import StreamPolicy, utcnow


class StorablePolicy(Protocol):
    """What is stored of a policy: its data (``moderation.policy.Policy`` is one; storage does not compile them)."""

    def to_dict(self) -> dict[str, Any]: ...


async def get_policy_data(sessions: SessionMaker, *, stream: str) -> dict[str, Any] | None:
    """The stream's stored policy as data (compile it with ``Policy.from_dict``), or None."""
    async with sessions() as session:
        row = (await session.exec(select(StreamPolicy).where(StreamPolicy.stream == stream))).first()
        return dict(row.policy) if row is not None else None


async def put_policy(sessions: SessionMaker, *, stream: str, policy: StorablePolicy, actor: str) -> None:
    async with sessions() as session:
        row = (await session.exec(select(StreamPolicy).where(StreamPolicy.stream == stream))).first()
        if row is None:
            row = StreamPolicy(stream=stream, policy=policy.to_dict(), updated_by=actor)
        else:
            row.policy = policy.to_dict()
            row.updated_by = actor
            row.updated_at = utcnow()
        session.add(row)
        await session.commit()


async def delete_policy(sessions: SessionMaker, *, stream: str) -> None:
    async with sessions() as session:
        row = (await session.exec(select(StreamPolicy).where(StreamPolicy.stream == stream))).first()
        if row is not None:
            await session.delete(row)
            await session.commit()
