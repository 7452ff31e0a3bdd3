"""Deadline reminders: the waves planned per activity, period and kind, the periods a family
does not need, and the activities a guardian muted reminders for.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    moment = store.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "reminder_wave",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("period_kind", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("deadline_at", moment, nullable=False),
        sa.Column("due_at", moment, nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("sent_at", moment, nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_reminder_wave_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_wave")),
        sa.UniqueConstraint(
            "activity_id",
            "period_start",
            "kind",
            name=op.f("uq_reminder_wave_activity_id_period_start_kind"),
        ),
    )
    op.create_index("ix_reminder_wave_due", "reminder_wave", ["state", "due_at"], unique=False)
    op.create_table(
        "reminder_skip",
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("skipped_at", moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_reminder_skip_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["family.id"],
            name=op.f("fk_reminder_skip_family_id_family"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "family_id", "activity_id", "period_start", name=op.f("pk_reminder_skip")
        ),
    )
    op.create_table(
        "reminder_mute",
        sa.Column("guardian_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("muted_at", moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_reminder_mute_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["guardian_id"],
            ["guardian.id"],
            name=op.f("fk_reminder_mute_guardian_id_guardian"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("guardian_id", "activity_id", name=op.f("pk_reminder_mute")),
    )


def downgrade() -> None:
    op.drop_table("reminder_mute")
    op.drop_table("reminder_skip")
    op.drop_index("ix_reminder_wave_due", table_name="reminder_wave")
    op.drop_table("reminder_wave")
