"""A family's requests that its data be erased (right to erasure), for the family-file service.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    moment = store.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "erasure_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "accepted",
                "refused",
                "waitlisted",
                "withdrawn",
                name="requeststatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("requested_at", moment, nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", moment, nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["staff_member.id"],
            name=op.f("fk_erasure_request_decided_by_staff_member"),
        ),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["family.id"],
            name=op.f("fk_erasure_request_family_id_family"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["guardian.id"],
            name=op.f("fk_erasure_request_requested_by_guardian"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_request")),
    )
    op.create_index(
        "ix_erasure_request_status", "erasure_request", ["status", "requested_at"], unique=False
    )
    op.create_index(
        op.f("ix_erasure_request_family_id"), "erasure_request", ["family_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_erasure_request_family_id"), table_name="erasure_request")
    op.drop_index("ix_erasure_request_status", table_name="erasure_request")
    op.drop_table("erasure_request")
