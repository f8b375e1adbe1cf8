"""Chat message and gift reads; writes go through ``storage.writer``."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from safestream.storage.db import SessionMaker
from safestream.storage.models import GiftEvent, Message

VISIBLE_ACTIONS = ("allow", "flag", "mask")


async def max_seq(sessions: SessionMaker, *, stream: str) -> tuple[int, int]:
    """The highest chat and gift sequence numbers stored for ``stream``."""
    async with sessions() as session:
        chat = (await session.exec(select(func.max(Message.seq)).where(Message.stream == stream))).one()
        gift = (await session.exec(select(func.max(GiftEvent.seq)).where(GiftEvent.stream == stream))).one()
        return int(chat or 0), int(gift or 0)


async def recent_visible(sessions: SessionMaker, *, stream: str, limit: int,
                         after_seq: int = 0) -> list[Message]:
    """The newest ``limit`` messages viewers saw, oldest first."""
    async with sessions() as session:
        rows = await session.exec(
            select(Message)
            .where(Message.stream == stream, col(Message.seq) > after_seq,
                   col(Message.action).in_(VISIBLE_ACTIONS))
            .order_by(col(Message.seq).desc())
            .limit(limit))
        return list(reversed(rows.all()))


async def count_messages(sessions: SessionMaker, *, stream: str | None = None) -> int:
    async with sessions() as session:
        stmt = select(func.count()).select_from(Message)
        if stream is not None:
            stmt = stmt.where(Message.stream == stream)
        return int((await session.exec(stmt)).one())
