"""`portail import FILE.yaml`: load the town's data into the store, idempotently.

The whole file is validated first (errors name the line and the field at fault), then applied
in one transaction: a bad file changes nothing. Rows are matched by their natural keys (codes,
emails, invoice numbers, payment references), so importing the same file twice changes nothing
and an edited file updates in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import holidays
import yaml
from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor, StoreError
from store.audit import record
from store.import_schema import ActivityIn, CalendarIn, ChildIn, FamilyIn, ImportFile, InvoiceIn
from store.models import (
    Activity,
    ActivityPrice,
    Child,
    ChildConsent,
    Enrollment,
    Facility,
    Family,
    Guardian,
    Invoice,
    InvoiceLine,
    OpeningDay,
    Payment,
    PickupPerson,
    SchoolHoliday,
    Service,
    StaffMember,
    TariffBand,
)
from store.models.base import Base
from store.models.enums import InvoiceKind

Row = TypeVar("Row", bound=Base)


class ImportFileError(StoreError):
    """The file is refused; `problems` lists each fault as 'line N, field F: message'."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class ImportReport:
    """How many rows the import created and updated, per table."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def count(self, table: str, created: bool) -> None:
        target = self.created if created else self.updated
        target[table] = target.get(table, 0) + 1


def parse_file(path: Path) -> ImportFile:
    """Read and validate an import file, or raise `ImportFileError` naming lines and fields."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ImportFileError([f"cannot read {path}: {error}"]) from error
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ImportFileError([f"not valid YAML: {error}"]) from error
    if not isinstance(data, dict):
        raise ImportFileError(["line 1: the file must be a mapping with `school_year`, ..."])
    try:
        parsed = ImportFile.model_validate(data)
    except ValidationError as error:
        raise ImportFileError(
            [
                f"line {_line_of(node, err['loc'])}, field {_dotted(err['loc'])}: {err['msg']}"
                for err in error.errors()
            ]
        ) from None
    problems = list(_check_references(parsed))
    if problems:
        raise ImportFileError(
            [f"line {_line_of(node, loc)}, field {_dotted(loc)}: {msg}" for loc, msg in problems]
        )
    return parsed


def _dotted(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the deepest YAML node found along `loc`."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part):
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _check_references(data: ImportFile) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Cross-checks pydantic cannot do: unknown references, duplicates, missing prices."""
    facilities = {f.code for f in data.facilities}
    services = {s.code for s in data.services}
    activities = {a.code for a in data.activities}
    for kind, items in (
        ("facilities", [f.code for f in data.facilities]),
        ("services", [s.code for s in data.services]),
        ("activities", [a.code for a in data.activities]),
        ("families", [f.code for f in data.families]),
    ):
        seen: set[str] = set()
        for index, code in enumerate(items):
            if code in seen:
                yield (kind, index, "code"), f"duplicate code {code!r}"
            seen.add(code)
    bands = {family.tariff_band for family in data.families}
    declared = {band.code for band in data.tariff_bands}
    if declared:
        for index, family in enumerate(data.families):
            if family.tariff_band not in declared:
                yield ("families", index, "tariff_band"), f"unknown band {family.tariff_band!r}"
        for index, activity in enumerate(data.activities):
            for band in sorted(set(activity.prices) - declared - {"*"}):
                yield ("activities", index, "prices"), f"unknown tariff band {band!r}"
    for index, activity in enumerate(data.activities):
        if activity.facility not in facilities:
            yield ("activities", index, "facility"), f"unknown facility {activity.facility!r}"
        if activity.service is not None and activity.service not in services:
            yield ("activities", index, "service"), f"unknown service {activity.service!r}"
        if "*" not in activity.prices:
            for band in sorted(bands - set(activity.prices)):
                yield ("activities", index, "prices"), f"no price for tariff band {band!r}"
    emails: set[str] = set()
    children: set[str] = set()
    for f_index, family in enumerate(data.families):
        for g_index, guardian in enumerate(family.guardians):
            email = guardian.email.lower()
            if email in emails:
                yield ("families", f_index, "guardians", g_index, "email"), "email used twice"
            emails.add(email)
        numbers = {invoice.number for invoice in family.invoices}
        for c_index, child in enumerate(family.children):
            if child.code in children:
                yield ("families", f_index, "children", c_index, "code"), "child code used twice"
            children.add(child.code)
            for e_index, enrollment in enumerate(child.enrollments):
                if enrollment.activity not in activities:
                    yield (
                        ("families", f_index, "children", c_index, "enrollments", e_index),
                        f"unknown activity {enrollment.activity!r}",
                    )
        for p_index, payment in enumerate(family.payments):
            if payment.invoice is not None and payment.invoice not in numbers:
                yield (
                    ("families", f_index, "payments", p_index, "invoice"),
                    f"no invoice {payment.invoice!r} in this family",
                )


def opening_days(
    calendar: CalendarIn, school_holidays: list[tuple[date, date]]
) -> Iterator[tuple[date, str | None]]:
    """Each day the calendar covers, with the reason it is closed (None when open).

    Public holidays are closed; school holidays are closed, open or the only days open,
    as the calendar says.
    """
    public_holidays = holidays.France(years=range(calendar.start.year, calendar.end.year + 1))
    closures = {}
    for closure in calendar.closures:
        first, last = closure.days()
        day = first
        while day <= last:
            closures[day] = closure.reason
            day += timedelta(days=1)
    day = calendar.start
    while day <= calendar.end:
        in_holidays = any(start <= day <= end for start, end in school_holidays)
        wanted = day.weekday() in calendar.weekdays and not (
            calendar.school_holidays == "only" and not in_holidays
        )
        if wanted:
            if day in public_holidays:
                yield day, str(public_holidays.get(day))
            elif day in closures:
                yield day, closures[day]
            elif in_holidays and calendar.school_holidays == "closed":
                yield day, "vacances scolaires"
            else:
                yield day, None
        day += timedelta(days=1)


class Importer:
    """Apply a validated file to the store in one transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def run(self, data: ImportFile) -> ImportReport:
        report = ImportReport()
        async with self._sessions.begin() as session:
            self._session = session
            self._report = report
            await self._apply(data)
            if report.changed:
                record(
                    session,
                    Actor.system(),
                    "import",
                    "store",
                    None,
                    created=report.created,
                    updated=report.updated,
                )
        return report

    async def _upsert(self, model: type[Row], key: dict[str, Any], values: dict[str, Any]) -> Row:
        """Find a row by its natural key, create it or update only what differs."""
        conditions = [
            func.lower(getattr(model, name)) == value.lower()
            if name == "email"
            else getattr(model, name) == value
            for name, value in key.items()
        ]
        row = await self._session.scalar(select(model).where(*conditions))
        table = model.__tablename__
        if row is None:
            row = model(**key, **values)
            self._session.add(row)
            await self._session.flush()
            self._report.count(table, created=True)
            return row
        changed = False
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        if changed:
            self._report.count(table, created=False)
        return row

    async def _apply(self, data: ImportFile) -> None:
        holidays_by_zone: dict[str, list[tuple[date, date]]] = {}
        for holiday in data.school_holidays:
            await self._upsert(
                SchoolHoliday,
                {"zone": holiday.zone, "label": holiday.label},
                {"start": holiday.start, "end": holiday.end},
            )
            holidays_by_zone.setdefault(holiday.zone, []).append((holiday.start, holiday.end))
        for position, band in enumerate(data.tariff_bands):
            await self._upsert(
                TariffBand,
                {"code": band.code},
                {
                    "label": band.label,
                    "quotient_min": band.quotient_min,
                    "quotient_max": band.quotient_max,
                    "position": position,
                },
            )
        services = {}
        for service in data.services:
            service_row = await self._upsert(
                Service, {"code": service.code}, {"name": service.name, "email": service.email}
            )
            services[service.code] = service_row.id
            for staff in service.staff:
                await self._upsert(
                    StaffMember,
                    {"email": staff.email},
                    {"name": staff.name, "service_id": service_row.id},
                )
        facilities: dict[str, Facility] = {}
        for facility in data.facilities:
            facilities[facility.code] = await self._upsert(
                Facility,
                {"code": facility.code},
                {
                    "name": facility.name,
                    "address": facility.address,
                    "holiday_zone": facility.holiday_zone,
                },
            )
        activities = {}
        for activity in data.activities:
            place = facilities[activity.facility]
            zone_holidays = holidays_by_zone.get(place.holiday_zone or "", [])
            activity_row = await self._import_activity(
                activity, place.id, services.get(activity.service or ""), zone_holidays
            )
            activities[activity.code] = activity_row.id
        for family in data.families:
            await self._import_family(family, activities, data)

    async def _import_activity(
        self,
        activity: ActivityIn,
        facility_id: int,
        service_id: int | None,
        zone_holidays: list[tuple[date, date]],
    ) -> Activity:
        row = await self._upsert(
            Activity,
            {"code": activity.code},
            {
                "facility_id": facility_id,
                "service_id": service_id,
                "name": activity.name,
                "kind": activity.kind,
                "capacity": activity.capacity,
                "requires_validation": activity.requires_validation,
                "waitlist_enabled": activity.waitlist,
                "min_age": activity.eligibility.min_age,
                "max_age": activity.eligibility.max_age,
                "levels": activity.eligibility.levels,
                "required_documents": [doc.value for doc in activity.required_documents],
                "required_consents": [kind.value for kind in activity.required_consents],
                "enrolment_capacity": activity.enrolment_capacity,
                "rules": activity.rules.model_dump(mode="json"),
            },
        )
        for band, cents in activity.prices.items():
            await self._upsert(
                ActivityPrice,
                {"activity_id": row.id, "tariff_band": band},
                {"price_cents": cents},
            )
        existing = {
            day.day: day
            for day in await self._session.scalars(
                select(OpeningDay).where(OpeningDay.activity_id == row.id)
            )
        }
        wanted = set()
        for day, closed_reason in opening_days(activity.calendar, zone_holidays):
            wanted.add(day)
            override = activity.calendar.capacity.get(day)
            values = {
                "capacity": override if override is not None else activity.capacity,
                "capacity_override": override,
                "closed": closed_reason is not None,
                "closed_reason": closed_reason,
            }
            current = existing.get(day)
            if current is None:
                self._session.add(OpeningDay(activity_id=row.id, day=day, taken=0, **values))
                self._report.count("opening_day", created=True)
            elif any(getattr(current, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(current, name, value)
                self._report.count("opening_day", created=False)
        for day, current in existing.items():
            # A day dropped from the calendar: deleted if unused, otherwise closed.
            if day in wanted:
                continue
            if current.taken == 0:
                await self._session.execute(delete(OpeningDay).where(OpeningDay.id == current.id))
                self._report.count("opening_day", created=False)
            elif not current.closed:
                current.closed, current.closed_reason = True, "retiré du calendrier"
                self._report.count("opening_day", created=False)
        await self._session.flush()
        return row

    async def _import_family(
        self, family: FamilyIn, activities: dict[str, int], data: ImportFile
    ) -> None:
        row = await self._upsert(
            Family,
            {"code": family.code},
            {
                "name": family.name,
                "tariff_band": family.tariff_band,
                "address": family.address,
                "quotient": family.quotient,
                "quotient_on": family.quotient_on,
            },
        )
        for guardian in family.guardians:
            await self._upsert(
                Guardian,
                {"email": guardian.email.lower()},
                {
                    "family_id": row.id,
                    "first_name": guardian.first_name,
                    "last_name": guardian.last_name,
                    "phone": guardian.phone,
                    "language": guardian.language,
                }
                | ({} if guardian.visibility is None else {"visibility": guardian.visibility}),
            )
        for child in family.children:
            child_row = await self._upsert(
                Child,
                {"code": child.code},
                {
                    "family_id": row.id,
                    "first_name": child.first_name,
                    "last_name": child.last_name,
                    "birth_date": child.birth_date,
                    "school_level": child.school_level,
                    "school": child.school,
                    "doctor": child.doctor,
                    "allergies": child.allergies,
                    "pai": child.pai,
                    "diet": child.diet,
                    "vaccinations_on": child.vaccinations_on,
                },
            )
            await self._import_file_details(child, child_row.id, data.school_year.start)
            for enrollment in child.enrollments:
                await self._upsert(
                    Enrollment,
                    {
                        "child_id": child_row.id,
                        "activity_id": activities[enrollment.activity],
                        "school_year": data.school_year.label,
                    },
                    {
                        "starts_on": enrollment.start or data.school_year.start,
                        "ends_on": enrollment.end or data.school_year.end,
                        "weekdays": enrollment.weekdays,
                    },
                )
        invoices = {}
        for invoice in family.invoices:
            invoices[invoice.number] = await self._import_invoice(row.id, invoice)
        for payment in family.payments:
            await self._upsert(
                Payment,
                {"reference": payment.reference},
                {
                    "family_id": row.id,
                    "invoice_id": invoices[payment.invoice].id if payment.invoice else None,
                    "paid_on": payment.paid_on,
                    "amount_cents": payment.amount,
                    "method": payment.method.value,
                },
            )

    async def _import_file_details(self, child: ChildIn, child_id: int, answered_on: date) -> None:
        """A child's consents and pick-up persons: added or updated, never deleted (the family
        may have added some from the chat since the last import)."""
        for kind, granted in child.consents.items():
            consent = await self._session.scalar(
                select(ChildConsent).where(
                    ChildConsent.child_id == child_id, ChildConsent.kind == kind
                )
            )
            if consent is None:
                self._session.add(
                    ChildConsent(
                        child_id=child_id, kind=kind, granted=granted, answered_on=answered_on
                    )
                )
                self._report.count("child_consent", created=True)
            elif consent.granted != granted:
                consent.granted, consent.answered_on = granted, answered_on
                self._report.count("child_consent", created=False)
        for person in child.pickup_persons:
            await self._upsert(
                PickupPerson,
                {"child_id": child_id, "name": person.name},
                {"phone": person.phone, "relationship": person.relationship},
            )

    async def _import_invoice(self, family_id: int, invoice: InvoiceIn) -> Invoice:
        sign = -1 if invoice.kind is InvoiceKind.CREDIT_NOTE else 1
        lines = [
            (
                position,
                line.label,
                line.quantity,
                sign * line.unit_price,
                sign * line.quantity * line.unit_price,
            )
            for position, line in enumerate(invoice.lines, start=1)
        ]
        row = await self._upsert(
            Invoice,
            {"number": invoice.number},
            {
                "family_id": family_id,
                "issued_on": invoice.issued_on,
                "due_on": invoice.due_on,
                "period_start": invoice.period_start,
                "period_end": invoice.period_end,
                "total_cents": sum(line[4] for line in lines),
                "kind": invoice.kind,
            },
        )
        current = [
            (line.position, line.label, line.quantity, line.unit_price_cents, line.amount_cents)
            for line in await self._session.scalars(
                select(InvoiceLine)
                .where(InvoiceLine.invoice_id == row.id)
                .order_by(InvoiceLine.position)
            )
        ]
        if current != lines:
            await self._session.execute(
                delete(InvoiceLine).where(InvoiceLine.invoice_id == row.id)
            )
            for position, label, quantity, unit, amount in lines:
                self._session.add(
                    InvoiceLine(
                        invoice_id=row.id,
                        position=position,
                        label=label,
                        quantity=quantity,
                        unit_price_cents=unit,
                        amount_cents=amount,
                    )
                )
                self._report.count("invoice_line", created=True)
        return row


async def import_file(sessions: async_sessionmaker[AsyncSession], path: Path) -> ImportReport:
    """Validate and apply an import file; raises `ImportFileError` and changes nothing if bad."""
    return await Importer(sessions).run(parse_file(path))
