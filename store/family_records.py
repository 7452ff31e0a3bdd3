"""The family file (mon dossier): reading it, asking for a change, staff deciding on changes,
the consents an activity requires, and the yearly check.

A change is a `FileChange` row with the value before and after. Fields named in
`applied_at_once` (patterns such as `guardian.phone`, `consent.*`) are applied at once and
recorded as accepted; the others wait for staff of the family-file service, who accept (the
change is applied if the file still holds the value it was asked against) or refuse with a
reason. The family is told of each decision on Telegram, and the service gets an email for each
pending change, through the outbox. Health details (doctor, allergies, PAI, vaccinations) are
returned only to the family's guardians, the family-file service and the staff of the child's
activities; they are never logged nor put in an audit entry or an email.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import audit
from store.access_log import HEALTH, record_staff_read
from store.actors import AccessDenied, Actor, NotFound, StoreError
from store.clock import Clock, system_clock
from store.database import changed_rows
from store.deadlines import PARIS
from store.family_file import FAMILY_FILE_SERVICE
from store.models import (
    Activity,
    Child,
    ChildConsent,
    Enrollment,
    Family,
    FileChange,
    Guardian,
    PickupPerson,
    Service,
    StaffMember,
    TariffBand,
)
from store.models.enums import ActorKind, ConsentKind, RequestStatus
from store.outbox import notify_family
from store.staff_notices import notify_service, service_recipient
from store.visibility import check_health, sees_health

ADDRESS = "family.address"
PHONE = "guardian.phone"
EMAIL = "guardian.email"
DOCTOR = "child.doctor"
ALLERGIES = "child.allergies"
PAI = "child.pai"
DIET = "child.diet"
PICKUP_ADD = "pickup.add"
PICKUP_REMOVE = "pickup.remove"
CONSENT = "consent."
GUARDIAN_FIELDS = (PHONE, EMAIL)
CHILD_TEXT_FIELDS = (DOCTOR, ALLERGIES, DIET)
# Health details: shown only to those who need them; an email only says one changed.
HEALTH_FIELDS = frozenset({DOCTOR, ALLERGIES, PAI})
FIELDS = frozenset(
    {ADDRESS, PHONE, EMAIL, DOCTOR, ALLERGIES, PAI, DIET, PICKUP_ADD, PICKUP_REMOVE}
    | {CONSENT + kind.value for kind in ConsentKind}
)
# The longest text each field takes (the columns' sizes).
MAX_LENGTH = {
    ADDRESS: 300,
    DOCTOR: 200,
    ALLERGIES: 1000,
    DIET: 100,
    "pickup.name": 200,
    "pickup.relationship": 100,
}
DEFAULT_APPLIED_AT_ONCE = "guardian.phone,consent.*"
DEFAULT_CHECK_DAY = "09-01"


class InvalidChange(StoreError):
    """A change the file cannot take; `code` says why (`invalid_phone`, `invalid_email`,
    `empty`, `too_long`, `email_taken`, `unchanged`, `unknown_field`, `no_pickup`)."""

    def __init__(self, code: str, limit: int = 0) -> None:
        super().__init__(code)
        self.code = code
        self.limit = limit


class FileMoved(StoreError):
    """The file no longer holds the value a change was asked against: not applied."""


@dataclass(frozen=True)
class GuardianLine:
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str | None


@dataclass(frozen=True)
class Household:
    family_id: int
    name: str
    address: str | None
    tariff_band: str
    band_label: str | None
    quotient: int | None
    quotient_on: date | None
    guardians: list[GuardianLine]


@dataclass(frozen=True)
class PickupLine:
    id: int
    name: str
    phone: str
    relationship: str | None


@dataclass(frozen=True)
class ChildFile:
    """A child's file; the health details are None when `health_shown` is False."""

    id: int
    first_name: str
    last_name: str
    birth_date: date
    school: str | None
    school_level: str
    diet: str | None
    health_shown: bool
    doctor: str | None
    allergies: str | None
    pai: bool | None
    vaccinations_on: date | None
    pickups: list[PickupLine]
    # Every consent kind: given (True), refused (False) or not answered (None).
    consents: dict[ConsentKind, bool | None]


@dataclass(frozen=True)
class ChangeView:
    """A file change and where it stands; values of a health field are None unless shown."""

    id: int
    family_id: int
    family_name: str
    child_id: int | None
    child_name: str | None
    field: str
    target_id: int | None
    target_name: str | None
    old_value: Any
    new_value: Any
    status: RequestStatus
    reason: str | None
    requested_by: str | None
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    health_shown: bool = True
    family_code: str = ""

    @property
    def is_health(self) -> bool:
        return self.field in HEALTH_FIELDS


@dataclass(frozen=True)
class Decision:
    """What a staff decision did: `first` is False when the change was decided already."""

    change: ChangeView
    first: bool


@dataclass(frozen=True)
class ChangeFacts:
    """What the parent's notice of a decision says (no health value)."""

    field: str
    child_name: str | None
    target_name: str | None
    status: RequestStatus
    reason: str | None


@dataclass
class FileSettings:
    """Which fields apply at once (comma-separated patterns), and the yearly check day."""

    applied_at_once: str = DEFAULT_APPLIED_AT_ONCE
    check_day: str = DEFAULT_CHECK_DAY
    patterns: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.patterns = [p.strip() for p in self.applied_at_once.split(",") if p.strip()]
        check_month_day(self.check_day)

    def at_once(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.patterns)


def check_month_day(value: str) -> tuple[int, int]:
    """ "MM-DD" as (month, day); ValueError for anything else."""
    month, day = (int(part) for part in value.split("-"))
    date(2024, month, day)  # a leap year: 02-29 is a day of some years
    return month, day


def last_check_day(today: date, check_day: str) -> date:
    """The latest yearly check day on or before `today`."""
    month, day = check_month_day(check_day)
    for year in (today.year, today.year - 1, today.year - 4):
        try:
            candidate = date(year, month, day)
        except ValueError:  # 29 February of a common year
            continue
        if candidate <= today:
            return candidate
    raise ValueError(check_day)


# Checking values ---------------------------------------------------------------------------


def clean_phone(value: str) -> str:
    """A phone number as people write it: French numbers in the national form
    ("06 12 34 56 78"), others in the international one ("+44 20 7946 0958")."""
    try:
        number = phonenumbers.parse(value.strip(), "FR")
    except phonenumbers.NumberParseException:
        raise InvalidChange("invalid_phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidChange("invalid_phone")
    form = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if phonenumbers.region_code_for_number(number) == "FR"
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, form)


def clean_email(value: str) -> str:
    """An email address, checked and normalised (no DNS lookup)."""
    try:
        return str(validate_email(value.strip(), check_deliverability=False).normalized)
    except EmailNotValidError:
        raise InvalidChange("invalid_email") from None


def clean_text(value: str, limit_key: str) -> str:
    """A text with its spaces tidied: not empty, not longer than its field takes."""
    cleaned = " ".join(value.split())
    if not cleaned:
        raise InvalidChange("empty")
    limit = MAX_LENGTH[limit_key]
    if len(cleaned) > limit:
        raise InvalidChange("too_long", limit)
    return cleaned


def clean_pickup(value: object) -> dict[str, str | None]:
    """A pick-up person: name and phone required, relationship optional."""
    if not isinstance(value, dict):
        raise InvalidChange("invalid_pickup")
    name = clean_text(str(value.get("name") or ""), "pickup.name")
    phone = str(value.get("phone") or "").strip()
    if not phone:
        raise InvalidChange("phone_required")
    relationship = " ".join(str(value.get("relationship") or "").split()) or None
    if relationship is not None and len(relationship) > MAX_LENGTH["pickup.relationship"]:
        raise InvalidChange("too_long", MAX_LENGTH["pickup.relationship"])
    return {"name": name, "phone": clean_phone(phone), "relationship": relationship}


def clean_value(name: str, value: object) -> Any:
    """The value a field takes, checked; InvalidChange otherwise."""
    if name == PHONE:
        return clean_phone(str(value or ""))
    if name == EMAIL:
        return clean_email(str(value or ""))
    if name == ADDRESS or name in CHILD_TEXT_FIELDS:
        return clean_text(str(value or ""), name)
    if name == PAI or name.startswith(CONSENT):
        if not isinstance(value, bool):
            raise InvalidChange("invalid_choice")
        return value
    if name == PICKUP_ADD:
        return clean_pickup(value)
    if name == PICKUP_REMOVE:
        return None
    raise InvalidChange("unknown_field")


# Consents an activity requires ---------------------------------------------------------------


async def missing_consents(
    session: AsyncSession, child_ids: Iterable[int], activity: Activity
) -> dict[int, list[str]]:
    """Per child, the consents the activity requires that are not given (refused or not
    answered), in the activity's order."""
    ids = list(child_ids)
    required = [kind for kind in activity.required_consents or [] if kind]
    if not required or not ids:
        return {child_id: [] for child_id in ids}
    given = {
        (child_id, kind)
        for child_id, kind in await session.execute(
            select(ChildConsent.child_id, ChildConsent.kind).where(
                ChildConsent.child_id.in_(ids), ChildConsent.granted.is_(True)
            )
        )
    }
    return {
        child_id: [kind for kind in required if (child_id, ConsentKind(kind)) not in given]
        for child_id in ids
    }


# The service ---------------------------------------------------------------------------------


class FamilyFileService:
    """Reading the family file, changes asked by guardians, staff decisions, the yearly check."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock = system_clock,
        settings: FileSettings | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.settings = settings or FileSettings()

    # Reading ----------------------------------------------------------------------------------

    async def household(self, actor: Actor, family_id: int) -> Household:
        """The household: guardians with phones and emails, address, tariff band, quotient."""
        async with self._sessions() as session:
            family = await self._family(session, actor, family_id)
            guardians = await session.scalars(
                select(Guardian).where(Guardian.family_id == family.id).order_by(Guardian.id)
            )
            band_label = await session.scalar(
                select(TariffBand.label).where(TariffBand.code == family.tariff_band)
            )
            return Household(
                family.id,
                family.name,
                family.address,
                family.tariff_band,
                band_label,
                family.quotient,
                family.quotient_on,
                [
                    GuardianLine(g.id, g.first_name, g.last_name, g.email, g.phone)
                    for g in guardians
                ],
            )

    async def child_file(self, actor: Actor, child_id: int) -> ChildFile:
        """A child's file (NotFound for a child the actor may not see)."""
        async with self._sessions() as session:
            child = await session.get(Child, child_id)
            if child is None or (
                actor.kind is ActorKind.GUARDIAN and child.family_id != actor.family_id
            ):
                raise NotFound("no such child")
            shown = await _reads_health(session, actor, child)
            if shown and actor.kind is ActorKind.STAFF:
                await record_staff_read(
                    session, actor, child.family_id, HEALTH, child.id, "family_file"
                )
                await session.commit()
            pickups = await session.scalars(
                select(PickupPerson)
                .where(PickupPerson.child_id == child.id)
                .order_by(PickupPerson.id)
            )
            answered = {
                kind: granted
                for kind, granted in await session.execute(
                    select(ChildConsent.kind, ChildConsent.granted).where(
                        ChildConsent.child_id == child.id
                    )
                )
            }
            return ChildFile(
                child.id,
                child.first_name,
                child.last_name,
                child.birth_date,
                child.school,
                child.school_level,
                child.diet,
                shown,
                child.doctor if shown else None,
                child.allergies if shown else None,
                child.pai if shown else None,
                child.vaccinations_on if shown else None,
                [PickupLine(p.id, p.name, p.phone, p.relationship) for p in pickups],
                {kind: answered.get(kind) for kind in ConsentKind},
            )

    async def family_changes(self, actor: Actor, family_id: int) -> list[ChangeView]:
        """The family's changes still waiting for staff, oldest first."""
        async with self._sessions() as session:
            await self._family(session, actor, family_id)
            rows = await session.scalars(
                select(FileChange)
                .where(
                    FileChange.family_id == family_id,
                    FileChange.status == RequestStatus.PENDING,
                )
                .order_by(FileChange.requested_at, FileChange.id)
            )
            return [await _view(session, actor, row) for row in rows]

    # Asking for a change -------------------------------------------------------------------

    async def request_change(
        self,
        actor: Actor,
        name: str,
        value: object = None,
        *,
        child_id: int | None = None,
        target_id: int | None = None,
    ) -> ChangeView:
        """A guardian asks for a change of their family's file: checked, recorded with the
        value before and after; applied at once (accepted) for the fields so configured,
        else pending, and the family-file service is told."""
        if actor.kind is not ActorKind.GUARDIAN or actor.family_id is None:
            raise AccessDenied("guardians ask for changes of their own file")
        if name not in FIELDS:
            raise InvalidChange("unknown_field")
        new_value = clean_value(name, value)
        now = self._clock()
        async with self._sessions.begin() as session:
            family = await self._family(session, actor, actor.family_id)
            if name in HEALTH_FIELDS:
                # Not shown the value it would replace, a limited guardian does not change it.
                await check_health(session, actor)
            child = await _child_of(session, family.id, child_id) if _is_child(name) else None
            if child is None and _is_child(name):
                raise NotFound("no such child")
            old_value, target_id = await _current(session, family, child, name, target_id)
            if name == PICKUP_REMOVE:
                new_value = None
            elif old_value == new_value:
                raise InvalidChange("unchanged")
            if name == EMAIL:
                await _email_free(session, new_value, target_id)
            change = FileChange(
                family_id=family.id,
                child_id=child.id if child is not None else None,
                field=name,
                target_id=target_id,
                old_value=old_value,
                new_value=new_value,
                requested_by=actor.id,
                requested_at=now,
            )
            session.add(change)
            await session.flush()
            if self.settings.at_once(name):
                await _apply(session, change)
                change.conclude(True, None, None, now)
                audit.record(
                    session, actor, "file_change.applied", "file_change", change.id, field=name
                )
            else:
                audit.record(
                    session, actor, "file_change.requested", "file_change", change.id, field=name
                )
                await notify_service(
                    session,
                    await service_recipient(session, code=FAMILY_FILE_SERVICE),
                    "file_change_to_review",
                    {"change_id": change.id},
                    f"file_change:{change.id}:staff",
                )
            return await _view(session, actor, change)

    # Staff -----------------------------------------------------------------------------------

    async def changes(self, actor: Actor, *, everything: bool = False) -> list[ChangeView]:
        """Changes waiting for a decision (all of them with `everything`), oldest first."""
        actor.check_staff()
        async with self._sessions() as session:
            query = select(FileChange).order_by(FileChange.requested_at, FileChange.id)
            if not everything:
                query = query.where(FileChange.status == RequestStatus.PENDING)
            return [await _view(session, actor, row) for row in await session.scalars(query)]

    async def change(self, actor: Actor, change_id: int) -> ChangeView:
        """One change (staff); NotFound if there is none."""
        actor.check_staff()
        async with self._sessions() as session:
            change = await session.get(FileChange, change_id)
            if change is None:
                raise NotFound("no such change")
            view = await _view(session, actor, change)
            if view.field in HEALTH_FIELDS and view.health_shown and view.child_id is not None:
                await record_staff_read(
                    session, actor, view.family_id, HEALTH, view.child_id, f"file_change:{view.id}"
                )
                await session.commit()
            return view

    async def decide(
        self, actor: Actor, change_id: int, accept: bool, reason: str | None = None
    ) -> Decision:
        """Staff of the family-file service accept (applied, if the file still holds the
        value the change was asked against: FileMoved otherwise) or refuse (a reason the
        family reads is required) a pending change; the first decision wins."""
        reason = " ".join((reason or "").split()) or None
        if not accept and reason is None:
            raise InvalidChange("reason_required")
        async with self._sessions.begin() as session:
            await _check_file_staff(session, actor)
            change = await session.get(FileChange, change_id, with_for_update=True)
            if change is None:
                raise NotFound("no such change")
            if change.status is not RequestStatus.PENDING:
                return Decision(await _view(session, actor, change), first=False)
            family = await session.get(Family, change.family_id)
            assert family is not None
            child = await session.get(Child, change.child_id) if change.child_id else None
            if accept:
                current, _ = await _current(session, family, child, change.field, change.target_id)
                if current != change.old_value:
                    raise FileMoved("the file changed since the request")
                if change.field == EMAIL:
                    await _email_free(session, change.new_value, change.target_id)
                await _apply(session, change)
            change.conclude(accept, reason, actor.staff_id, self._clock())
            audit.record(
                session,
                actor,
                "file_change.accepted" if accept else "file_change.refused",
                "file_change",
                change.id,
                field=change.field,
            )
            await notify_family(
                session,
                change.family_id,
                "file_change_decided",
                {"change_id": change.id},
                f"file_change:{change.id}:decided",
            )
            return Decision(await _view(session, actor, change), first=True)

    # The yearly check -----------------------------------------------------------------------

    async def needs_check(self, actor: Actor) -> bool:
        """Whether the family has not confirmed its file since the last yearly check day."""
        if actor.family_id is None:
            return False
        today = self._clock().astimezone(PARIS).date()
        threshold = last_check_day(today, self.settings.check_day)
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Family.file_checked_at, Family.created_at).where(
                        Family.id == actor.family_id
                    )
                )
            ).first()
        if row is None:
            return False
        # A file never confirmed counts from its creation: a new family is not asked at once.
        checked = row.file_checked_at or row.created_at
        if checked.tzinfo is None:  # SQLite gives naive UTC datetimes
            checked = checked.replace(tzinfo=UTC)
        return checked.astimezone(PARIS).date() < threshold

    async def ask_check_today(self, actor: Actor) -> bool:
        """Whether to ask this guardian now to confirm the file: the family has not confirmed it
        since the last check day, and the guardian was not asked yet today. Saying yes records
        the question as asked, in one conditional update, so that two updates or two workers at
        the same moment ask once."""
        if actor.kind is not ActorKind.GUARDIAN or actor.id is None:
            return False
        if not await self.needs_check(actor):
            return False
        today = self._clock().astimezone(PARIS).date()
        async with self._sessions.begin() as session:
            asked = await changed_rows(
                session,
                update(Guardian)
                .where(
                    Guardian.id == actor.id,
                    or_(
                        Guardian.file_check_asked_on.is_(None),
                        Guardian.file_check_asked_on < today,
                    ),
                )
                .values(file_check_asked_on=today),
            )
        return asked == 1

    async def confirm_checked(self, actor: Actor) -> None:
        """A guardian says the file is still right."""
        if actor.kind is not ActorKind.GUARDIAN or actor.family_id is None:
            raise AccessDenied("guardians confirm their own file")
        async with self._sessions.begin() as session:
            family = await self._family(session, actor, actor.family_id)
            family.file_checked_at = self._clock()
            audit.record(session, actor, "file.checked", "family", family.id)

    # Helpers ---------------------------------------------------------------------------------

    @staticmethod
    async def _family(session: AsyncSession, actor: Actor, family_id: int) -> Family:
        family = await session.get(Family, family_id)
        if family is None:
            raise NotFound("no such family")
        try:
            actor.check_family(family.id)
        except AccessDenied:
            raise NotFound("no such family") from None
        return family


async def change_facts(
    sessions: async_sessionmaker[AsyncSession], change_id: int
) -> ChangeFacts | None:
    """What a decision's notice says (for the system's own notifications; no value)."""
    async with sessions() as session:
        change = await session.get(FileChange, change_id)
        if change is None:
            return None
        child = await session.get(Child, change.child_id) if change.child_id else None
        return ChangeFacts(
            change.field,
            child.first_name if child else None,
            await _target_name(session, change),
            change.status,
            change.reason,
        )


async def staff_change_facts(
    sessions: async_sessionmaker[AsyncSession], change_id: int
) -> ChangeView | None:
    """A change as the family-file service's email tells it: health values left out."""
    async with sessions() as session:
        change = await session.get(FileChange, change_id)
        if change is None:
            return None
        return await _view(session, None, change)


def _is_child(name: str) -> bool:
    return name.startswith(("child.", "pickup.", CONSENT))


async def _child_of(session: AsyncSession, family_id: int, child_id: int | None) -> Child | None:
    if child_id is None:
        return None
    child = await session.get(Child, child_id)
    return child if child is not None and child.family_id == family_id else None


async def _current(
    session: AsyncSession, family: Family, child: Child | None, name: str, target_id: int | None
) -> tuple[Any, int | None]:
    """The value the file holds now for `name`, and the row it is on."""
    if name == ADDRESS:
        return family.address, None
    if name in GUARDIAN_FIELDS:
        guardian = await session.get(Guardian, target_id) if target_id else None
        if guardian is None or guardian.family_id != family.id:
            raise NotFound("no such guardian")
        return (guardian.phone if name == PHONE else guardian.email), guardian.id
    assert child is not None
    if name in (DOCTOR, ALLERGIES, DIET, PAI):
        return getattr(child, name.removeprefix("child.")), None
    if name.startswith(CONSENT):
        kind = ConsentKind(name.removeprefix(CONSENT))
        granted = await session.scalar(
            select(ChildConsent.granted).where(
                ChildConsent.child_id == child.id, ChildConsent.kind == kind
            )
        )
        return granted, None
    if name == PICKUP_ADD:
        return None, None
    person = await session.get(PickupPerson, target_id) if target_id else None
    if person is None or person.child_id != child.id:
        raise InvalidChange("no_pickup")
    return {"name": person.name, "phone": person.phone, "relationship": person.relationship}, (
        person.id
    )


async def _email_free(session: AsyncSession, email: str, guardian_id: int | None) -> None:
    taken = await session.scalar(
        select(Guardian.id).where(
            func.lower(Guardian.email) == email.lower(), Guardian.id != guardian_id
        )
    )
    if taken is not None:
        raise InvalidChange("email_taken")


async def _apply(session: AsyncSession, change: FileChange) -> None:
    """Write a change's new value into the file."""
    name, value = change.field, change.new_value
    if name == ADDRESS:
        family = await session.get(Family, change.family_id)
        assert family is not None
        family.address = value
    elif name in GUARDIAN_FIELDS:
        guardian = await session.get(Guardian, change.target_id)
        assert guardian is not None
        setattr(guardian, name.removeprefix("guardian."), value)
    elif name in (DOCTOR, ALLERGIES, DIET, PAI):
        child = await session.get(Child, change.child_id)
        assert child is not None
        setattr(child, name.removeprefix("child."), value)
    elif name.startswith(CONSENT):
        kind = ConsentKind(name.removeprefix(CONSENT))
        consent = await session.scalar(
            select(ChildConsent).where(
                ChildConsent.child_id == change.child_id, ChildConsent.kind == kind
            )
        )
        today = (change.requested_at or datetime.now(PARIS)).astimezone(PARIS).date()
        if consent is None:
            assert change.child_id is not None
            session.add(
                ChildConsent(child_id=change.child_id, kind=kind, granted=value, answered_on=today)
            )
        else:
            consent.granted = value
            consent.answered_on = today
    elif name == PICKUP_ADD:
        assert change.child_id is not None
        person = PickupPerson(child_id=change.child_id, **value)
        session.add(person)
        await session.flush()
        change.target_id = person.id
    elif name == PICKUP_REMOVE:
        gone = await session.get(PickupPerson, change.target_id)
        if gone is not None:
            await session.delete(gone)
    await session.flush()


async def _staff_service(session: AsyncSession, actor: Actor) -> str | None:
    if actor.kind is not ActorKind.STAFF or actor.id is None:
        return None
    return await session.scalar(
        select(Service.code)
        .join(StaffMember, StaffMember.service_id == Service.id)
        .where(StaffMember.id == actor.id)
    )


async def _check_file_staff(session: AsyncSession, actor: Actor) -> None:
    """Only staff of the family-file service decide on file changes."""
    if await _staff_service(session, actor) != FAMILY_FILE_SERVICE:
        raise AccessDenied("only the family-file service decides on file changes")


async def _reads_health(session: AsyncSession, actor: Actor | None, child: Child) -> bool:
    """The family's guardians, the family-file service, and staff of the child's activities."""
    if actor is None:
        return False
    if actor.kind is ActorKind.GUARDIAN:
        # A guardian whose account is limited (separated parents) sees no health detail.
        return actor.family_id == child.family_id and await sees_health(session, actor)
    if actor.kind is not ActorKind.STAFF or actor.id is None:
        return False
    if await _staff_service(session, actor) == FAMILY_FILE_SERVICE:
        return True
    found = await session.scalar(
        select(Enrollment.id)
        .join(Activity, Activity.id == Enrollment.activity_id)
        .join(StaffMember, StaffMember.service_id == Activity.service_id)
        .where(Enrollment.child_id == child.id, StaffMember.id == actor.id)
        .limit(1)
    )
    return found is not None


async def _target_name(session: AsyncSession, change: FileChange) -> str | None:
    if change.field in GUARDIAN_FIELDS and change.target_id is not None:
        guardian = await session.get(Guardian, change.target_id)
        return f"{guardian.first_name} {guardian.last_name}" if guardian else None
    if change.field.startswith("pickup."):
        value = change.new_value if change.field == PICKUP_ADD else change.old_value
        return str(value.get("name")) if isinstance(value, dict) else None
    return None


async def _view(session: AsyncSession, actor: Actor | None, change: FileChange) -> ChangeView:
    family = await session.get(Family, change.family_id)
    child = await session.get(Child, change.child_id) if change.child_id else None
    shown = change.field not in HEALTH_FIELDS or (
        child is not None and await _reads_health(session, actor, child)
    )
    requested_by = None
    if change.requested_by is not None:
        guardian = await session.get(Guardian, change.requested_by)
        requested_by = f"{guardian.first_name} {guardian.last_name}" if guardian else None
    decided_by = None
    if change.decided_by is not None:
        staff = await session.get(StaffMember, change.decided_by)
        decided_by = staff.name if staff else None
    return ChangeView(
        change.id,
        change.family_id,
        family.name if family else "",
        change.child_id,
        f"{child.first_name} {child.last_name}" if child else None,
        change.field,
        change.target_id,
        await _target_name(session, change),
        change.old_value if shown else None,
        change.new_value if shown else None,
        change.status,
        change.reason,
        requested_by,
        change.requested_at,
        decided_by,
        change.decided_at,
        shown,
        family.code if family else "",
    )
