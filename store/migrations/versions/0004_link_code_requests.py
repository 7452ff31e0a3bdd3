"""Requests for email linking codes, counted to limit them per account, address and hour.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_code_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("requested_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_code_request")),
    )
    with op.batch_alter_table("link_code_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_link_code_request_telegram_user_id"), ["telegram_user_id"]
        )
        batch_op.create_index(batch_op.f("ix_link_code_request_address_hash"), ["address_hash"])
        batch_op.create_index(batch_op.f("ix_link_code_request_requested_at"), ["requested_at"])


def downgrade() -> None:
    with op.batch_alter_table("link_code_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_code_request_requested_at"))
        batch_op.drop_index(batch_op.f("ix_link_code_request_address_hash"))
        batch_op.drop_index(batch_op.f("ix_link_code_request_telegram_user_id"))
    op.drop_table("link_code_request")
