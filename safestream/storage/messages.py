"""Chat message and gift reads; writes go through ``storage.writer``.

That includes later changes to a message (``WriteBehind.update``): its row may
still be in the write-behind buffer, where an UPDATE here would miss it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, or_, select

from safestream.storage.db import SessionMaker
from safestream.storage.models import GiftEvent, Message

VISIBLE_ACTIONS = ("allow", "flag", "mask")
HIDDEN_REVIEWS = ("removed",)


async def max_seq(sessions: SessionMaker, *, stream: str) -> tuple[int, int]:
    """The highest chat and gift sequence numbers stored for ``stream``."""
    async with sessions() as session:
        chat = (await session.exec(select(func.max(Message.seq)).where(Message.stream == stream))).one()
        gift = (await session.exec(select(func.max(GiftEvent.seq)).where(GiftEvent.stream == stream))).one()
        return int(chat or 0), int(gift or 0)


async def recent_visible(sessions: SessionMaker, *, stream: str, limit: int, after_seq: int = 0) -> list[Message]:
    """The newest ``limit`` messages viewers saw, oldest first."""
    async with sessions() as session:
        rows = await session.exec(
            select(Message)
            .where(
                Message.stream == stream,
                col(Message.seq) > after_seq,
                col(Message.action).in_(VISIBLE_ACTIONS),
                or_(col(Message.review).is_(None), col(Message.review).not_in(HIDDEN_REVIEWS)),
            )
            .order_by(col(Message.seq).desc())
            .limit(limit)
        )
        return list(reversed(rows.all()))


async def count_messages(sessions: SessionMaker, *, stream: str | None = None) -> int:
    async with sessions() as session:
        stmt = select(func.count()).select_from(Message)
        if stream is not None:
            stmt = stmt.where(Message.stream == stream)
        return int((await session.exec(stmt)).one())


async def get_message(sessions: SessionMaker, *, stream: str, seq: int) -> Message | None:
    async with sessions() as session:
        return (await session.exec(select(Message).where(Message.stream == stream, Message.seq == seq))).first()


async def pending_review(sessions: SessionMaker, *, stream: str | None, limit: int = 100) -> list[Message]:
    """Held messages waiting for a moderator, oldest first."""
    async with sessions() as session:
        stmt = select(Message).where(Message.review == "pending")
        if stream is not None:
            stmt = stmt.where(Message.stream == stream)
        return list((await session.exec(stmt.order_by(col(Message.id)).limit(limit))).all())


async def claim_review(
    sessions: SessionMaker, *, stream: str, seq: int, review: str, actor: str = "", at: datetime | None = None
) -> bool:
    """Moves a held message out of "pending"; False when someone else already did."""
    async with sessions() as session:
        result = await session.exec(
            update(Message)
            .where(col(Message.stream) == stream, col(Message.seq) == seq, col(Message.review) == "pending")
            .values(review=review, reviewed_by=actor or None, reviewed_at=at)
        )
        await session.commit()
        return bool(result.rowcount)


async def unclaim_review(sessions: SessionMaker, *, stream: str, seq: int) -> None:
    """Puts a claimed message back in the queue when its decision could not be carried out."""
    async with sessions() as session:
        await session.exec(
            update(Message)
            .where(col(Message.stream) == stream, col(Message.seq) == seq)
            .values(review="pending", reviewed_by=None, reviewed_at=None)
        )
        await session.commit()


async def record_publication(
    sessions: SessionMaker, *, stream: str, seq: int, action: str, shown: str, toxic: bool
) -> None:
    """An approved message is now a visible one: history replays and the feed show it as published."""
    async with sessions() as session:
        await session.exec(
            update(Message)
            .where(col(Message.stream) == stream, col(Message.seq) == seq)
            .values(action=action, shown_text=shown, toxic=toxic)
        )
        await session.commit()


async def pending_before(sessions: SessionMaker, *, before: datetime, limit: int = 500) -> list[Message]:
    """Held messages still waiting that were sent before ``before``, oldest first."""
    async with sessions() as session:
        stmt = (
            select(Message)
            .where(Message.review == "pending", col(Message.created_at) < before)
            .order_by(col(Message.id))
            .limit(limit)
        )
        return list((await session.exec(stmt)).all())


@dataclass(frozen=True, slots=True)
class Filters:
    """The console's history filters; every field optional. ``category`` matches messages whose
    score in that category reaches ``category_min``; times are inclusive UTC bounds."""

    user: str | None = None
    toxic_only: bool = False
    action: str | None = None
    text: str | None = None
    category: str | None = None
    category_min: float = 0.5
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self, stream: str) -> list[Any]:
        out: list[Any] = [Message.stream == stream]
        if self.user:
            out.append(Message.username == self.user)
        if self.toxic_only:
            out.append(col(Message.toxic).is_(True))
        if self.action:
            out.append(Message.action == self.action)
        if self.text:
            escaped = self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            out.append(col(Message.text).ilike(f"%{escaped}%", escape="\\"))
        if self.category:
            out.append(col(Message.categories)[self.category].as_float() >= self.category_min)
        if self.since is not None:
            out.append(col(Message.created_at) >= self.since)
        if self.until is not None:
            out.append(col(Message.created_at) <= self.until)
        return out


async def search(
    sessions: SessionMaker,
    *,
    stream: str,
    user: str | None = None,
    toxic_only: bool = False,
    action: str | None = None,
    text: str | None = None,
    page: int = 1,
    per_page: int = 50,
    filters: Filters | None = None,
) -> tuple[list[Message], int]:
    """The console's feed: filtered, newest first, paginated; returns (rows, total)."""
    conditions = (filters or Filters(user=user, toxic_only=toxic_only, action=action, text=text)).conditions(stream)
    async with sessions() as session:
        total = int((await session.exec(select(func.count()).select_from(Message).where(*conditions))).one())
        rows = await session.exec(
            select(Message)
            .where(*conditions)
            .order_by(col(Message.seq).desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        return list(rows.all()), total


async def export_rows(
    sessions: SessionMaker, *, stream: str, filters: Filters, limit: int, chunk: int = 1000
) -> AsyncIterator[list[Message]]:
    """The filtered history, oldest first, in chunks (keyset paging on seq: no OFFSET scans)."""
    after, sent = 0, 0
    while sent < limit:
        async with sessions() as session:
            rows = list(
                (
                    await session.exec(
                        select(Message)
                        .where(*filters.conditions(stream), col(Message.seq) > after)
                        .order_by(col(Message.seq))
                        .limit(min(chunk, limit - sent))
                    )
                ).all()
            )
        if not rows:
            return
        yield rows
        sent += len(rows)
        after = rows[-1].seq


async def recent_containing(
    sessions: SessionMaker, *, stream: str, text: str, since: datetime, limit: int = 1000
) -> list[Message]:
    """Messages since ``since`` whose text contains ``text`` (any case) and that are not removed yet."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    async with sessions() as session:
        rows = await session.exec(
            select(Message)
            .where(
                Message.stream == stream,
                col(Message.created_at) >= since,
                col(Message.text).ilike(f"%{escaped}%", escape="\\"),
                or_(col(Message.review).is_(None), col(Message.review) != "removed"),
            )
            .order_by(col(Message.seq).desc())
            .limit(limit)
        )
        return list(rows.all())
