"""Digest codes for staff decisions (issue 18 parts 2 and 4): the codes of each service's
digest, the digests sent, their reply addresses.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_digest_code_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_code")),
        sa.UniqueConstraint("service_id", "key", name=op.f("uq_digest_code_service_id_key")),
        sa.UniqueConstraint("service_id", "number", name=op.f("uq_digest_code_service_id_number")),
    )
    op.create_table(
        "staff_digest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_for", sa.Date(), nullable=True),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("created_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_staff_digest_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_digest")),
        sa.UniqueConstraint(
            "service_id", "scheduled_for", name=op.f("uq_staff_digest_service_id_scheduled_for")
        ),
    )
    op.create_table(
        "staff_digest_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("created_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["staff_digest.id"],
            name=op.f("fk_staff_digest_token_digest_id_staff_digest"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_digest_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_digest_token_token_hash")),
    )
    op.create_index(
        op.f("ix_staff_digest_token_digest_id"), "staff_digest_token", ["digest_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_digest_token_digest_id"), table_name="staff_digest_token")
    op.drop_table("staff_digest_token")
    op.drop_table("staff_digest")
    op.drop_table("digest_code")
