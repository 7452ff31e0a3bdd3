"""What a family asks staff to decide: file changes, pick-up persons and consents of the family
file, enrolments in an activity, pre-registrations of a new child."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.encryption import EncryptedJSON
from store.models.base import Base, str_enum, utcnow
from store.models.enums import ConsentKind, RequestStatus


class PickupPerson(Base):
    """An adult the guardians authorise to collect a child."""

    __tablename__ = "pickup_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40))
    relationship: Mapped[str | None] = mapped_column(String(100))


class ChildConsent(Base):
    """A consent answered for a child: given (True) or refused (False); no row: not answered."""

    __tablename__ = "child_consent"
    __table_args__ = (UniqueConstraint("child_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ConsentKind] = mapped_column(str_enum(ConsentKind))
    granted: Mapped[bool]
    answered_on: Mapped[date] = mapped_column(Date)


class Decided:
    """Columns every request shares: who asked, when, and what staff decided."""

    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus), default=RequestStatus.PENDING
    )
    reason: Mapped[str | None] = mapped_column(String(500))
    requested_by: Mapped[int | None] = mapped_column(
        ForeignKey("guardian.id", ondelete="SET NULL")
    )
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    decided_at: Mapped[datetime | None]

    def conclude(
        self, accepted: bool, reason: str | None, staff_id: int | None, at: datetime
    ) -> None:
        """Record a decision: accepted, or refused for `reason` (`staff_id`: None when the
        system decided, e.g. a change that applies at once)."""
        self.status = RequestStatus.ACCEPTED if accepted else RequestStatus.REFUSED
        self.reason = None if accepted else reason
        self.decided_by = staff_id
        self.decided_at = at


class FileChange(Decided, Base):
    """A change of the family file asked by a guardian, with the value before and after.

    `field` names what changes (e.g. `guardian.phone`, `family.address`, `child.allergies`,
    `pickup.add`, `pickup.remove`, `consent.image_rights`); `target_id` the row it changes (a
    guardian, a child, a pick-up person) when the field alone does not say; `old_value` and
    `new_value` are JSON (a string, a bool, or a small object such as a pick-up person).
    """

    __tablename__ = "file_change"
    __table_args__ = (Index("ix_file_change_status", "status", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(60))
    target_id: Mapped[int | None]
    # Encrypted at rest (`store.encryption`): a change may carry a child's health details.
    old_value: Mapped[Any] = mapped_column(EncryptedJSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(EncryptedJSON, nullable=True)


class EnrolmentRequest(Decided, Base):
    """A guardian's request to enrol a child in an activity from a date (on some weekdays)."""

    __tablename__ = "enrolment_request"
    __table_args__ = (Index("ix_enrolment_request_activity_status", "activity_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"))
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    school_year: Mapped[str] = mapped_column(String(9))
    starts_on: Mapped[date] = mapped_column(Date)
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollment.id", ondelete="SET NULL")
    )


class ChildRegistration(Decided, Base):
    """A new child the family asks to add (pre-registration), checked by the family-file
    service; accepted, it becomes a `Child` (`child_id`)."""

    __tablename__ = "child_registration"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    school_level: Mapped[str] = mapped_column(String(10))
    child_id: Mapped[int | None] = mapped_column(ForeignKey("child.id", ondelete="SET NULL"))
