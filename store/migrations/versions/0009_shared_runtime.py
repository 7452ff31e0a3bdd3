"""What the bot's workers share at run time: the Telegram updates already taken, the bot's
outbound send schedule (one row) and when each chat may be written to again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 16:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handled_update",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("taken_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_handled_update")),
    )
    op.create_index(
        op.f("ix_handled_update_taken_at"), "handled_update", ["taken_at"], unique=False
    )
    op.create_table(
        "send_schedule",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("next_free", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_send_schedule")),
    )
    op.create_table(
        "chat_send",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_chat_send")),
    )
    op.create_index(op.f("ix_chat_send_next_at"), "chat_send", ["next_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_send_next_at"), table_name="chat_send")
    op.drop_table("chat_send")
    op.drop_table("send_schedule")
    op.drop_index(op.f("ix_handled_update_taken_at"), table_name="handled_update")
    op.drop_table("handled_update")
