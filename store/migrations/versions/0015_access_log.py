"""The access log: who read a family's documents or children's health details, when, why.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 22:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("reader", sa.String(length=80), nullable=False),
        sa.Column("reader_name", sa.String(length=200), nullable=True),
        sa.Column("service_name", sa.String(length=200), nullable=True),
        sa.Column("what", sa.String(length=20), nullable=False),
        sa.Column("what_id", sa.Integer(), nullable=False),
        sa.Column("why", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["family.id"],
            name=op.f("fk_access_log_family_id_family"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.create_index("ix_access_log_family", "access_log", ["family_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_access_log_family", table_name="access_log")
    op.drop_table("access_log")
