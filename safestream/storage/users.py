"""User storage. Keyword-only arguments keep call sites readable."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from safestream.errors import Conflict
from safestream.storage.db import SessionMaker
from safestream.storage.models import ModeratorGrant, User


async def get_user(sessions: SessionMaker, *, username: str) -> User | None:
    async with sessions() as session:
        result = await session.exec(select(User).where(User.username == username))
        return result.first()


async def create_user(sessions: SessionMaker, *, username: str, password_hash: str,
                      email: str = "", role: str = "viewer") -> User:
    user = User(username=username, email=email, password_hash=password_hash, role=role)
    async with sessions() as session:
        session.add(user)
        try:
            await session.commit()
        except IntegrityError as exc:
            raise Conflict("username is taken", code="username_taken") from exc
        await session.refresh(user)
        return user


async def delete_user(sessions: SessionMaker, *, username: str) -> bool:
    async with sessions() as session:
        user = (await session.exec(select(User).where(User.username == username))).first()
        if user is None:
            return False
        await session.delete(user)
        await session.commit()
        return True


async def set_role(sessions: SessionMaker, *, username: str, role: str) -> None:
    async with sessions() as session:
        user = (await session.exec(select(User).where(User.username == username))).first()
        if user is not None:
            user.role = role
            session.add(user)
            await session.commit()


async def grant_moderator(sessions: SessionMaker, *, username: str, stream: str) -> None:
    async with sessions() as session:
        session.add(ModeratorGrant(username=username, stream=stream))
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()  # already granted: granting is idempotent


async def moderated_streams(sessions: SessionMaker, *, username: str) -> set[str]:
    async with sessions() as session:
        rows = await session.exec(select(ModeratorGrant.stream).where(ModeratorGrant.username == username))
        return set(rows.all())
