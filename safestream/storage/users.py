"""User storage. Keyword-only arguments keep call sites readable."""

from __future__ import annotations

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from safestream.auth.names import name_key
from safestream.errors import Conflict
from safestream.storage.db import SessionMaker
from safestream.storage.models import ModeratorGrant, User, utcnow


async def get_user(sessions: SessionMaker, *, username: str) -> User | None:
    async with sessions() as session:
        result = await session.exec(select(User).where(User.username == username))
        return result.first()


async def name_taken(sessions: SessionMaker, *, username: str) -> bool:
    """True when an account has this name in any letter case, or one a reader could take it for."""
    async with sessions() as session:
        result = await session.exec(
            select(User.id).where(
                or_(func.lower(col(User.username)) == username.lower(), col(User.name_key) == name_key(username))
            )
        )
        return result.first() is not None


async def create_user(
    sessions: SessionMaker, *, username: str, password_hash: str, email: str = "", role: str = "viewer"
) -> User:
    user = User(username=username, name_key=name_key(username), email=email, password_hash=password_hash, role=role)
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
        # A later account with the same name must not inherit this one's stream grants.
        grants = await session.exec(select(ModeratorGrant).where(ModeratorGrant.username == username))
        for grant in grants.all():
            await session.delete(grant)
        await session.delete(user)
        await session.commit()
        return True


async def set_role(sessions: SessionMaker, *, username: str, role: str) -> bool:
    """Changes the role and revokes the user's tokens (they were issued for the old role)."""
    return await _revoking_tokens(sessions, username, role=role) is not None


async def set_password(sessions: SessionMaker, *, username: str, password_hash: str) -> int | None:
    """A new password; every token issued before it stops working. The new token version, or None."""
    return await _revoking_tokens(sessions, username, password_hash=password_hash)


async def revoke_tokens(sessions: SessionMaker, *, username: str) -> bool:
    """Every token of the user stops working (logout, ban): tokens carry the version they were issued at."""
    return await _revoking_tokens(sessions, username) is not None


async def _revoking_tokens(sessions: SessionMaker, username: str, **fields: str) -> int | None:
    """Sets ``fields`` and bumps the token version in one commit; the new version, or None (no such user)."""
    async with sessions() as session:
        user = (await session.exec(select(User).where(User.username == username))).first()
        if user is None:
            return None
        for name, value in fields.items():
            setattr(user, name, value)
        user.token_version += 1
        session.add(user)
        await session.commit()
        return user.token_version


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


async def set_email_verified(sessions: SessionMaker, *, username: str) -> None:
    async with sessions() as session:
        user = (await session.exec(select(User).where(User.username == username))).first()
        if user is not None:
            user.email_verified_at = utcnow()
            session.add(user)
            await session.commit()


async def with_grants(sessions: SessionMaker, *, usernames: list[str]) -> dict[str, tuple[User, set[str]]]:
    """Several users and their stream grants in two queries (a reconnect storm's connects, batched)."""
    async with sessions() as session:
        found = (await session.exec(select(User).where(col(User.username).in_(usernames)))).all()
        out: dict[str, tuple[User, set[str]]] = {user.username: (user, set()) for user in found}
        if out:
            grants = await session.exec(
                select(ModeratorGrant.username, ModeratorGrant.stream).where(
                    col(ModeratorGrant.username).in_(list(out))
                )
            )
            for username, stream in grants.all():
                out[username][1].add(stream)
        return out
