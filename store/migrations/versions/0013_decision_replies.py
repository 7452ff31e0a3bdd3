"""Deciding by reply: the tokens of the notifications that ask for a decision, and the first
reply that decided each request.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 22:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_decision_token_token_hash")),
    )
    op.create_table(
        "decision_claim",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("mail_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("accept", sa.Boolean(), nullable=False),
        sa.Column("claimed_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_decision_claim")),
    )


def downgrade() -> None:
    op.drop_table("decision_claim")
    op.drop_table("decision_token")
