"""identity: usernames unique regardless of case, per-user token version

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:30:00

``uq_users_username_lower`` makes "Demo_Admin" impossible next to
"demo_admin" at the database level, whoever inserts the row. A database
that already holds such a pair cannot take the unique index: the upgrade
stops and names the pairs, because renaming accounts is the operator's
call, never a migration's (login keeps working exactly as before).

``name_key`` (see ``safestream.auth.names``) lets registration refuse a
name that only looks like an existing one (``demo.user`` next to ``demo_user``).

``token_version`` is raised by logout, password and role changes, bans
and deletion; a token issued at an older version is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # autogenerate renders sqlmodel types
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    clashes = bind.execute(
        sa.text("SELECT lower(username) AS name, count(*) AS n FROM users GROUP BY lower(username) HAVING count(*) > 1")
    ).fetchall()
    if clashes:
        names = ", ".join(row[0] for row in clashes[:20])
        raise RuntimeError(
            "migration 0003 needs usernames that are unique regardless of case; "
            f"these differ only in case: {names}. Rename or delete one of each, then migrate again."
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False, server_default="")
        )
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)
    # Existing names keep working even where their keys collide (the index is not unique);
    # only new names are refused when they look like an existing one.
    for user_id, username in bind.execute(sa.text("SELECT id, username FROM users")).fetchall():
        bind.execute(
            sa.text("UPDATE users SET name_key = :key WHERE id = :id"), {"key": _name_key(username), "id": user_id}
        )
    op.create_index("ix_users_name_key", "users", ["name_key"], unique=False)


def _name_key(name: str) -> str:
    """``safestream.auth.names.name_key`` as of this revision (a migration must not change with the code)."""
    core = re.sub(r"[._-]+", "", name.lower()).translate(str.maketrans({"1": "l", "i": "l", "|": "l", "0": "o"}))
    return core.replace("rn", "m").replace("vv", "w")


def downgrade() -> None:
    op.drop_index("ix_users_name_key", table_name="users")
    op.drop_index("uq_users_username_lower", table_name="users")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("name_key")
        batch_op.drop_column("token_version")
