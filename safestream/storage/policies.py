"""Stored per-stream moderation policies."""

from __future__ import annotations

from sqlmodel import select

from safestream.moderation.policy import Policy
from safestream.storage.db import SessionMaker
from safestream.storage.models import StreamPolicy, utcnow


async def get_policy(sessions: SessionMaker, *, stream: str) -> Policy | None:
    """The stream's stored policy, or None when it uses the server default."""
    async with sessions() as session:
        row = (await session.exec(select(StreamPolicy).where(StreamPolicy.stream == stream))).first()
        return Policy.from_dict(row.policy) if row is not None else None


async def put_policy(sessions: SessionMaker, *, stream: str, policy: Policy, actor: str) -> None:
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
