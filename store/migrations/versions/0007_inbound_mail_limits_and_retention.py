"""Inbound mail: counted per sender over the last hour, and its raw bytes purged after a while.

Expression indexes on lower(mail_from) and lower(header_from) with received_at (the per-sender
rate limit counts the last hour's mails at every SMTP transaction), an index on processed_at
(the retention purge), and `raw_deleted_at`, when the raw bytes were emptied.

Written by hand: Alembic cannot autogenerate expression indexes on SQLite.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "raw_deleted_at", store.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.create_index(
        "ix_inbound_mail_mail_from_lower",
        "inbound_mail",
        [sa.text("lower(mail_from)"), "received_at"],
    )
    op.create_index(
        "ix_inbound_mail_header_from_lower",
        "inbound_mail",
        [sa.text("lower(header_from)"), "received_at"],
    )
    op.create_index("ix_inbound_mail_processed_at", "inbound_mail", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_mail_processed_at", table_name="inbound_mail")
    op.drop_index("ix_inbound_mail_header_from_lower", table_name="inbound_mail")
    op.drop_index("ix_inbound_mail_mail_from_lower", table_name="inbound_mail")
    with op.batch_alter_table("inbound_mail", schema=None) as batch_op:
        batch_op.drop_column("raw_deleted_at")
