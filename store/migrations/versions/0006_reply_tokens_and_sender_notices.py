"""Every reply token of a thread stays valid; senders of mails set aside told once an hour.

`reply_token` keeps the hash of each token a thread's notifications carried (the thread's
current one, `thread.reply_token_hash`, is copied in); `sender_notice` keeps, per address,
when it was last told that a mail of theirs was set aside.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reply_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["thread.id"],
            name=op.f("fk_reply_token_thread_id_thread"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reply_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_reply_token_token_hash")),
    )
    with op.batch_alter_table("reply_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reply_token_thread_id"), ["thread_id"])
    op.execute(
        "INSERT INTO reply_token (thread_id, token_hash, created_at) "
        "SELECT id, reply_token_hash, created_at FROM thread "
        "WHERE reply_token_hash IS NOT NULL"
    )
    op.create_table(
        "sender_notice",
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("last_sent_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("mail_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("address", name=op.f("pk_sender_notice")),
    )


def downgrade() -> None:
    op.drop_table("sender_notice")
    with op.batch_alter_table("reply_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reply_token_thread_id"))
    op.drop_table("reply_token")
