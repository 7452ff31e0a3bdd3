"""Daily lists mailed to services (issue 18 part 3): one row per activity and day, with the
snapshot of what the list said, for the follow-ups.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    moment = store.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "daily_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("queued_at", moment, nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("updates", sa.Integer(), nullable=False),
        sa.Column("updated_at", moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_daily_list_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_list")),
        sa.UniqueConstraint("activity_id", "day", name=op.f("uq_daily_list_activity_id_day")),
    )


def downgrade() -> None:
    op.drop_table("daily_list")
