"""What can be booked: facilities, activities, their prices, calendars and enrollments."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, str_enum
from store.models.enums import ActivityKind


class Facility(Base):
    """A place that runs activities (school, leisure centre)."""

    __tablename__ = "facility"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    holiday_zone: Mapped[str | None] = mapped_column(String(1))


class Activity(Base):
    """A bookable line (prestation), priced per day unit.

    `rules` holds the booking and cancellation policies as validated by
    `store.policies.ActivityRules`; `required_documents` the document types that must be accepted
    before a child can be booked; `levels` the school levels allowed (empty: all).
    """

    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("service.id"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ActivityKind] = mapped_column(str_enum(ActivityKind))
    capacity: Mapped[int] = mapped_column(Integer)
    requires_validation: Mapped[bool] = mapped_column(default=False)
    waitlist_enabled: Mapped[bool] = mapped_column(default=True)
    min_age: Mapped[int | None]
    max_age: Mapped[int | None]
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    required_documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Consents (`ConsentKind` values) given before a child may be booked.
    required_consents: Mapped[list[str]] = mapped_column(JSON, default=list)
    # How many children may be enrolled (None: no limit); beyond, requests wait in a list.
    enrolment_capacity: Mapped[int | None]
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    facility: Mapped[Facility] = relationship()
    prices: Mapped[list[ActivityPrice]] = relationship(back_populates="activity")


class ActivityPrice(Base):
    """The price of one day of an activity for one tariff band, in cents."""

    __tablename__ = "activity_price"
    __table_args__ = (UniqueConstraint("activity_id", "tariff_band"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    tariff_band: Mapped[str] = mapped_column(String(20))
    price_cents: Mapped[int]

    activity: Mapped[Activity] = relationship(back_populates="prices")


class OpeningDay(Base):
    """One day of an activity's calendar.

    `capacity` is the effective number of places that day (the activity's, or an override);
    `taken` counts pending and confirmed bookings and is only ever changed by a conditional
    UPDATE, which is what keeps racing parents from overbooking the last place.
    """

    __tablename__ = "opening_day"
    __table_args__ = (UniqueConstraint("activity_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    capacity: Mapped[int]
    capacity_override: Mapped[int | None]
    taken: Mapped[int] = mapped_column(default=0)
    closed: Mapped[bool] = mapped_column(default=False)
    closed_reason: Mapped[str | None] = mapped_column(String(200))


class SchoolHoliday(Base):
    """A school holiday period of one zone (A, B or C), as given by the import file."""

    __tablename__ = "school_holiday"
    __table_args__ = (UniqueConstraint("zone", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[str] = mapped_column(String(1))
    label: Mapped[str] = mapped_column(String(100))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)


class Enrollment(Base):
    """A child's right to book an activity during one school year."""

    __tablename__ = "enrollment"
    __table_args__ = (UniqueConstraint("child_id", "activity_id", "school_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id", ondelete="CASCADE"))
    school_year: Mapped[str] = mapped_column(String(9))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    # The weekdays (0 = Monday) chosen at enrolment for a recurring activity; empty: any day.
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)


class TariffBand(Base):
    """A tariff band (tranche) and the quotient familial limits that give it, in euros."""

    __tablename__ = "tariff_band"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    quotient_min: Mapped[int | None]
    quotient_max: Mapped[int | None]
    position: Mapped[int] = mapped_column(default=0)
