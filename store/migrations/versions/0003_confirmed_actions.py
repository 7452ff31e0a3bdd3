"""Confirmed actions: the key each confirm carries, recorded with its outcome (done once).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "confirmed_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("created_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["family.id"],
            name=op.f("fk_confirmed_action_family_id_family"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmed_action")),
        sa.UniqueConstraint("key", name=op.f("uq_confirmed_action_key")),
    )
    with op.batch_alter_table("confirmed_action", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_confirmed_action_family_id"), ["family_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("confirmed_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_confirmed_action_family_id"))
    op.drop_table("confirmed_action")
