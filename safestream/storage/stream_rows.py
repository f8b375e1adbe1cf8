"""Stream (room) storage."""

from __future__ import annotations

from sqlmodel import col, select

from safestream.errors import Conflict
from safestream.storage.db import SessionMaker
from safestream.storage.models import Stream, utcnow


async def get_stream(sessions: SessionMaker, *, slug: str) -> Stream | None:
    async with sessions() as session:
        return (await session.exec(select(Stream).where(Stream.slug == slug))).first()


async def live_streams(
    sessions: SessionMaker, *, owner: str | None = None, after: str | None = None, limit: int | None = None
) -> list[Stream]:
    """Live streams by slug; ``after`` and ``limit`` page through them (keyset pagination)."""
    async with sessions() as session:
        stmt = select(Stream).where(col(Stream.live).is_(True))
        if owner is not None:
            stmt = stmt.where(Stream.owner == owner)
        if after is not None:
            stmt = stmt.where(col(Stream.slug) > after)
        stmt = stmt.order_by(col(Stream.slug))
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = await session.exec(stmt)
        return list(rows.all())


async def open_stream(sessions: SessionMaker, *, slug: str, title: str, owner: str) -> Stream:
    """Goes live; re-opening an ended stream of the same owner reuses its slug."""
    async with sessions() as session:
        stream = (await session.exec(select(Stream).where(Stream.slug == slug))).first()
        if stream is None:
            stream = Stream(slug=slug, title=title, owner=owner, live=True)
        elif stream.owner != owner:
            raise Conflict("that stream name belongs to another streamer", code="stream_taken")
        else:
            stream.title = title or stream.title
            stream.live = True
            stream.ended_at = None
        session.add(stream)
        await session.commit()
        await session.refresh(stream)
        return stream


async def end_stream(sessions: SessionMaker, *, slug: str) -> Stream | None:
    async with sessions() as session:
        stream = (await session.exec(select(Stream).where(Stream.slug == slug))).first()
        if stream is None:
            return None
        stream.live = False
        stream.ended_at = utcnow()
        session.add(stream)
        await session.commit()
        await session.refresh(stream)
        return stream


async def set_title(sessions: SessionMaker, *, slug: str, title: str) -> Stream | None:
    async with sessions() as session:
        stream = (await session.exec(select(Stream).where(Stream.slug == slug))).first()
        if stream is None:
            return None
        stream.title = title
        session.add(stream)
        await session.commit()
        await session.refresh(stream)
        return stream


async def streams_of(sessions: SessionMaker, *, owner: str) -> list[Stream]:
    """Every stream ``owner`` opened, live or ended (live first)."""
    async with sessions() as session:
        rows = await session.exec(
            select(Stream).where(Stream.owner == owner).order_by(col(Stream.live).desc(), Stream.slug)
        )
        return list(rows.all())
