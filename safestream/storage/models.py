"""SQLModel tables. Times are timezone-aware UTC.

Chat messages are keyed by (stream, seq): ``seq`` is the per-stream id clients
see and order by. Moderation scores are stored with every message so the
console and the review queue can show why a verdict was reached.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(sa.DateTime(timezone=True), nullable=False))


class User(SQLModel, table=True):
    __tablename__ = "users"
    # Unique regardless of case (migration 0003): "Demo_Admin" cannot sit next to "demo_admin".
    __table_args__ = (sa.Index("uq_users_username_lower", sa.func.lower(sa.text("username")), unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=50, unique=True, index=True)
    #: ``auth.names.name_key``: new names must not look like an existing one.
    name_key: str = Field(default="", max_length=50, index=True)
    email: str = Field(default="", max_length=254)
    password_hash: str = Field(max_length=255)
    role: str = Field(default="viewer", max_length=16)
    #: Tokens carry the version they were issued at; raising it revokes them all
    #: (logout, password or role change, ban).
    token_version: int = Field(default=0, sa_column=Column(sa.Integer, nullable=False, server_default="0"))
    #: When the address in ``email`` was confirmed (``auth.verification``); None: not verified.
    email_verified_at: datetime | None = Field(default=None, sa_column=Column(sa.DateTime(timezone=True)))
    created_at: datetime = _ts()


class Stream(SQLModel, table=True):
    __tablename__ = "streams"
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=40, unique=True, index=True)
    title: str = Field(default="", max_length=200)
    owner: str = Field(max_length=50, index=True)
    live: bool = Field(default=False)
    created_at: datetime = _ts()
    ended_at: datetime | None = Field(default=None, sa_column=Column(sa.DateTime(timezone=True)))


class Message(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (sa.UniqueConstraint("stream", "seq", name="uq_messages_stream_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    stream: str = Field(max_length=40, index=True)
    seq: int
    username: str = Field(max_length=50, index=True)
    text: str
    shown_text: str = Field(default="")
    action: str = Field(max_length=8)
    toxic: bool = Field(default=False)
    score: float = Field(default=0.0)
    categories: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: For held messages: "pending", then "approved" or "denied". Removed messages: "removed".
    review: str | None = Field(default=None, max_length=10, index=True)
    #: Who decided a held message (or ``automod`` for an expiry), and when.
    reviewed_by: str | None = Field(default=None, max_length=50)
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(sa.DateTime(timezone=True)))
    created_at: datetime = _ts()


class StreamPolicy(SQLModel, table=True):
    """A stream's moderation policy (``moderation.policy.Policy.to_dict()``)."""

    __tablename__ = "stream_policies"
    id: int | None = Field(default=None, primary_key=True)
    stream: str = Field(max_length=40, unique=True, index=True)
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(default="", max_length=50)
    updated_at: datetime = _ts()


class GiftEvent(SQLModel, table=True):
    __tablename__ = "gift_events"
    __table_args__ = (sa.UniqueConstraint("stream", "seq", name="uq_gift_events_stream_seq"),)
    id: int | None = Field(default=None, primary_key=True)
    stream: str = Field(max_length=40, index=True)
    seq: int
    sender: str = Field(max_length=50)
    gift_id: str = Field(max_length=32)
    amount: int
    created_at: datetime = _ts()


class AdminAction(SQLModel, table=True):
    """The audit log: every moderator/admin action, who did it and why."""

    __tablename__ = "admin_actions"
    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=50, index=True)
    action: str = Field(max_length=32)
    target: str = Field(default="", max_length=50)
    stream: str | None = Field(default=None, max_length=40)
    reason: str = Field(default="", max_length=500)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts()


class Sanction(SQLModel, table=True):
    """A mute or ban; ``stream`` None means site-wide, ``until`` None means permanent."""

    __tablename__ = "sanctions"
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)  # "mute" | "ban"
    username: str = Field(max_length=50, index=True)
    stream: str | None = Field(default=None, max_length=40)
    until: datetime | None = Field(default=None, sa_column=Column(sa.DateTime(timezone=True)))
    reason: str = Field(default="", max_length=500)
    actor: str = Field(default="", max_length=50)
    active: bool = Field(default=True)
    created_at: datetime = _ts()


class ModeratorGrant(SQLModel, table=True):
    """Makes a user a moderator of one stream."""

    __tablename__ = "moderator_grants"
    __table_args__ = (sa.UniqueConstraint("username", "stream", name="uq_moderator_grants"),)
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=50, index=True)
    stream: str = Field(max_length=40, index=True)
    created_at: datetime = _ts()


class OidcIdentity(SQLModel, table=True):
    """Links an account at an OpenID Connect provider, (issuer, sub), to a SafeStream user.

    The link, not the name, decides who signs in: a rename at the provider keeps
    the account, and a local user who happens to share the name is never taken over.
    """

    __tablename__ = "oidc_identities"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject", name="uq_oidc_identities_issuer_subject"),)
    id: int | None = Field(default=None, primary_key=True)
    issuer: str = Field(max_length=255)
    subject: str = Field(max_length=255)
    user_id: int = Field(
        sa_column=Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = _ts()
    last_login_at: datetime = _ts()
