"""What each guardian of a family sees (issue 19, separated parents).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("guardian", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "visibility",
                sa.Enum(
                    "full", "limited", name="guardianvisibility", native_enum=False, length=32
                ),
                server_default="full",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("guardian", schema=None) as batch_op:
        batch_op.drop_column("visibility")
