"""Indexes on lower(email) for guardians and staff (compared case-insensitively).

Written by hand: Alembic cannot autogenerate expression indexes on SQLite.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_guardian_email_lower", "guardian", [sa.text("lower(email)")])
    op.create_index("ix_staff_member_email_lower", "staff_member", [sa.text("lower(email)")])


def downgrade() -> None:
    op.drop_index("ix_staff_member_email_lower", table_name="staff_member")
    op.drop_index("ix_guardian_email_lower", table_name="guardian")
