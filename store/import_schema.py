"""The format of the import file (`portail import FILE.yaml`), validated field by field.

See `examples/demo.yaml` for a complete, commented example. Amounts are euros ("20,80",
"20.80" or 20.8); dates are ISO (2026-12-09); weekdays are English or French names.
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, model_validator

from store.models.enums import (
    ActivityKind,
    ConsentKind,
    DocumentType,
    GuardianVisibility,
    InvoiceKind,
    Language,
    PaymentMethod,
)
from store.policies import ActivityRules, euros_to_cents, parse_weekday

Cents = Annotated[int, BeforeValidator(euros_to_cents)]
Weekday = Annotated[int, BeforeValidator(parse_weekday)]


class Strict(BaseModel):
    """Unknown fields are errors: a typo in the file must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SchoolYear(Strict):
    label: str = Field(pattern=r"^\d{4}-\d{4}$")
    start: date
    end: date


class SchoolHolidayIn(Strict):
    zone: str = Field(pattern=r"^[ABC]$")
    label: str
    start: date
    end: date


class StaffIn(Strict):
    name: str
    email: EmailStr


class ServiceIn(Strict):
    code: str
    name: str
    email: EmailStr
    staff: list[StaffIn] = []


class FacilityIn(Strict):
    code: str
    name: str
    address: str | None = None
    holiday_zone: str | None = Field(default=None, pattern=r"^[ABC]$")


class ClosureIn(Strict):
    date: dt.date | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    reason: str

    @model_validator(mode="after")
    def _one_day_or_range(self) -> ClosureIn:
        if (self.date is None) == (self.start is None or self.end is None):
            raise ValueError("give either `date`, or `start` and `end`")
        return self

    def days(self) -> tuple[dt.date, dt.date]:
        if self.date is not None:
            return self.date, self.date
        assert self.start is not None and self.end is not None
        return self.start, self.end


class CalendarIn(Strict):
    start: date
    end: date
    weekdays: list[Weekday]
    school_holidays: str = Field(default="closed", pattern=r"^(closed|open|only)$")
    closures: list[ClosureIn] = []
    capacity: dict[date, int] = {}


class EligibilityIn(Strict):
    min_age: int | None = None
    max_age: int | None = None
    levels: list[str] = []


class TariffBandIn(Strict):
    """A tariff band and the quotient familial (euros) that gives it: min ≤ QF ≤ max."""

    code: str
    label: str
    quotient_min: int | None = Field(default=None, ge=0)
    quotient_max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> TariffBandIn:
        low, high = self.quotient_min, self.quotient_max
        if low is not None and high is not None and low > high:
            raise ValueError("quotient_min is above quotient_max")
        return self


class ActivityIn(Strict):
    code: str
    facility: str
    service: str | None = None
    name: str
    kind: ActivityKind
    capacity: int = Field(ge=0)
    requires_validation: bool = False
    waitlist: bool = True
    eligibility: EligibilityIn = EligibilityIn()
    required_documents: list[DocumentType] = []
    required_consents: list[ConsentKind] = []
    enrolment_capacity: int | None = Field(default=None, ge=0)
    prices: dict[str, Cents]
    rules: ActivityRules = ActivityRules()
    calendar: CalendarIn


class GuardianIn(Strict):
    first_name: str
    last_name: str
    email: EmailStr
    phone: str | None = None
    language: Language = Language.FR
    # What this guardian sees (separated parents): `limited` hides the children's health
    # details (`store.visibility`). Left out: unchanged (`full` for a new guardian).
    visibility: GuardianVisibility | None = None


class EnrollmentIn(Strict):
    activity: str
    start: date | None = None
    end: date | None = None
    weekdays: list[Weekday] = []


class PickupPersonIn(Strict):
    name: str = Field(min_length=1)
    phone: str = Field(min_length=1)
    relationship: str | None = None


class ChildIn(Strict):
    code: str
    first_name: str
    last_name: str
    birth_date: date
    school_level: str
    school: str | None = None
    doctor: str | None = None
    allergies: str | None = None
    pai: bool = False
    diet: str | None = None
    vaccinations_on: date | None = None
    consents: dict[ConsentKind, bool] = {}
    pickup_persons: list[PickupPersonIn] = []
    enrollments: list[EnrollmentIn] = []


class InvoiceLineIn(Strict):
    label: str
    quantity: int = Field(ge=0)
    unit_price: Cents


class InvoiceIn(Strict):
    """An invoice, or a credit note (`kind: credit_note`) whose lines are written as positive
    amounts and stored negative."""

    number: str
    kind: InvoiceKind = InvoiceKind.INVOICE
    issued_on: date
    due_on: date
    period_start: date
    period_end: date
    lines: list[InvoiceLineIn] = Field(min_length=1)


class PaymentIn(Strict):
    reference: str
    paid_on: date
    amount: Cents
    method: PaymentMethod = PaymentMethod.ONLINE
    invoice: str | None = None


class FamilyIn(Strict):
    code: str
    name: str
    tariff_band: str
    address: str | None = None
    quotient: int | None = Field(default=None, ge=0)
    quotient_on: date | None = None
    guardians: list[GuardianIn] = Field(min_length=1)
    children: list[ChildIn] = []
    invoices: list[InvoiceIn] = []
    payments: list[PaymentIn] = []


class ImportFile(Strict):
    school_year: SchoolYear
    school_holidays: list[SchoolHolidayIn] = []
    tariff_bands: list[TariffBandIn] = []
    services: list[ServiceIn] = []
    facilities: list[FacilityIn] = []
    activities: list[ActivityIn] = []
    families: list[FamilyIn] = []
