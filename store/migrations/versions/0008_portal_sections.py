"""The portal's other sections: the family file (address, quotient, health details, pick-up
persons, consents, change requests), enrolment requests and pre-registrations, tariff bands,
credit notes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 15:18:17.427377
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tariff_band",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("quotient_min", sa.Integer(), nullable=True),
        sa.Column("quotient_max", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariff_band")),
        sa.UniqueConstraint("code", name=op.f("uq_tariff_band_code")),
    )
    op.create_table(
        "child_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "image_rights",
                "outings",
                "transport",
                "swimming",
                name="consentkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["child.id"],
            name=op.f("fk_child_consent_child_id_child"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_child_consent")),
        sa.UniqueConstraint("child_id", "kind", name=op.f("uq_child_consent_child_id_kind")),
    )
    with op.batch_alter_table("child_consent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_child_consent_child_id"), ["child_id"], unique=False)

    op.create_table(
        "child_registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("school_level", sa.String(length=10), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=True),
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
        sa.Column("requested_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", store.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["child.id"],
            name=op.f("fk_child_registration_child_id_child"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["staff_member.id"],
            name=op.f("fk_child_registration_decided_by_staff_member"),
        ),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["family.id"],
            name=op.f("fk_child_registration_family_id_family"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["guardian.id"],
            name=op.f("fk_child_registration_requested_by_guardian"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_child_registration")),
    )
    with op.batch_alter_table("child_registration", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_child_registration_family_id"), ["family_id"], unique=False
        )

    op.create_table(
        "file_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=True),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
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
        sa.Column("requested_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", store.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["child.id"],
            name=op.f("fk_file_change_child_id_child"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["staff_member.id"],
            name=op.f("fk_file_change_decided_by_staff_member"),
        ),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["family.id"],
            name=op.f("fk_file_change_family_id_family"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["guardian.id"],
            name=op.f("fk_file_change_requested_by_guardian"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_change")),
    )
    with op.batch_alter_table("file_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_file_change_family_id"), ["family_id"], unique=False)
        batch_op.create_index("ix_file_change_status", ["status", "requested_at"], unique=False)

    op.create_table(
        "pickup_person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("relationship", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["child.id"],
            name=op.f("fk_pickup_person_child_id_child"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pickup_person")),
    )
    with op.batch_alter_table("pickup_person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pickup_person_child_id"), ["child_id"], unique=False)

    op.create_table(
        "enrolment_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("family_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.String(length=9), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
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
        sa.Column("requested_at", store.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", store.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activity.id"],
            name=op.f("fk_enrolment_request_activity_id_activity"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["child.id"],
            name=op.f("fk_enrolment_request_child_id_child"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["staff_member.id"],
            name=op.f("fk_enrolment_request_decided_by_staff_member"),
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollment.id"],
            name=op.f("fk_enrolment_request_enrollment_id_enrollment"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["family_id"],
            ["family.id"],
            name=op.f("fk_enrolment_request_family_id_family"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["guardian.id"],
            name=op.f("fk_enrolment_request_requested_by_guardian"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_request")),
    )
    with op.batch_alter_table("enrolment_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enrolment_request_activity_status", ["activity_id", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_enrolment_request_family_id"), ["family_id"], unique=False
        )

    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("required_consents", sa.JSON(), server_default="[]", nullable=False)
        )
        batch_op.add_column(sa.Column("enrolment_capacity", sa.Integer(), nullable=True))

    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.add_column(sa.Column("school", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("doctor", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("allergies", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("pai", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("diet", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("vaccinations_on", sa.Date(), nullable=True))

    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("weekdays", sa.JSON(), server_default="[]", nullable=False))

    with op.batch_alter_table("guardian", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_check_asked_on", sa.Date(), nullable=True))

    with op.batch_alter_table("family", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("quotient", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("quotient_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "file_checked_at", store.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )

    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum(
                    "invoice", "credit_note", name="invoicekind", native_enum=False, length=32
                ),
                server_default="invoice",
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_column("kind")

    with op.batch_alter_table("guardian", schema=None) as batch_op:
        batch_op.drop_column("file_check_asked_on")

    with op.batch_alter_table("family", schema=None) as batch_op:
        batch_op.drop_column("file_checked_at")
        batch_op.drop_column("quotient_on")
        batch_op.drop_column("quotient")
        batch_op.drop_column("address")

    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_column("weekdays")

    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.drop_column("vaccinations_on")
        batch_op.drop_column("diet")
        batch_op.drop_column("pai")
        batch_op.drop_column("allergies")
        batch_op.drop_column("doctor")
        batch_op.drop_column("school")

    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_column("enrolment_capacity")
        batch_op.drop_column("required_consents")

    with op.batch_alter_table("enrolment_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_request_family_id"))
        batch_op.drop_index("ix_enrolment_request_activity_status")

    op.drop_table("enrolment_request")
    with op.batch_alter_table("pickup_person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pickup_person_child_id"))

    op.drop_table("pickup_person")
    with op.batch_alter_table("file_change", schema=None) as batch_op:
        batch_op.drop_index("ix_file_change_status")
        batch_op.drop_index(batch_op.f("ix_file_change_family_id"))

    op.drop_table("file_change")
    with op.batch_alter_table("child_registration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_child_registration_family_id"))

    op.drop_table("child_registration")
    with op.batch_alter_table("child_consent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_child_consent_child_id"))

    op.drop_table("child_consent")
    op.drop_table("tariff_band")
