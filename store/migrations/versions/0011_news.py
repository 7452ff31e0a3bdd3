"""News from the services (actualités): the items staff publish, the families each is for, and
the guardians who muted news.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "news_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=True),
        sa.Column("body_en", sa.Text(), nullable=True),
        sa.Column("audience", sa.String(length=500), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("attachment", sa.LargeBinary(), nullable=True),
        sa.Column("attachment_name", sa.String(length=200), nullable=True),
        sa.Column("attachment_type", sa.String(length=60), nullable=True),
        sa.Column("key", sa.String(length=80), nullable=True),
        sa.Column("closure_activity", sa.String(length=200), nullable=True),
        sa.Column("closure_day", sa.Date(), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("published_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", store.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_member.id"],
            name=op.f("fk_news_item_staff_id_staff_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_news_item")),
        sa.UniqueConstraint("key", name=op.f("uq_news_item_key")),
    )
    op.create_index(op.f("ix_news_item_staff_id"), "news_item", ["staff_id"], unique=False)
    op.create_index("ix_news_item_published", "news_item", ["published_at", "id"], unique=False)
    op.create_table(
        "news_audience",
        sa.Column("news_id", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["family.id"],
            name=op.f("fk_news_audience_family_id_family"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["news_id"],
            ["news_item.id"],
            name=op.f("fk_news_audience_news_id_news_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("news_id", "family_id", name=op.f("pk_news_audience")),
    )
    op.create_index(
        op.f("ix_news_audience_family_id"), "news_audience", ["family_id"], unique=False
    )
    op.create_table(
        "news_mute",
        sa.Column("guardian_id", sa.Integer(), nullable=False),
        sa.Column("muted_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["guardian_id"],
            ["guardian.id"],
            name=op.f("fk_news_mute_guardian_id_guardian"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("guardian_id", name=op.f("pk_news_mute")),
    )


def downgrade() -> None:
    op.drop_table("news_mute")
    op.drop_index(op.f("ix_news_audience_family_id"), table_name="news_audience")
    op.drop_table("news_audience")
    op.drop_index("ix_news_item_published", table_name="news_item")
    op.drop_index(op.f("ix_news_item_staff_id"), table_name="news_item")
    op.drop_table("news_item")
