"""email verification: users.email_verified_at

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-01 21:20:00

A stream can require a verified email (``modes.verified_email``); the time
the owner of the address confirmed it is kept, cleared when the address
changes. Nullable, so existing accounts are simply unverified.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel types)
from alembic import op

revision: str = "0008"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD/DROP COLUMN (SQLite has both since 3.35): a batch rebuild of "users" would
# lose the expression index of 0003, which SQLAlchemy cannot reflect.
def upgrade() -> None:
    op.add_column("users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "email_verified_at")
