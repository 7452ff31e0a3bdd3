"""What each guardian of a family sees (separated parents): the whole file, or the file without
the children's health details.

A guardian's `visibility` is `full` (the default) or `limited`. A limited guardian still sees and
does everything else — bookings, planning, absences (days and status), news, invoices and the
balance, documents that are not about health — and may report an absence, with a certificate;
what they do not see is health: a child's doctor, allergies, PAI and vaccination day, the medical
side of absences (the reason "illness", whether a certificate came with it), medical certificates,
health forms and vaccination records, and the health values of file changes. Every service that
reads such a detail for a guardian asks `sees_health` here: the rule lives in one place.

Only staff of the family-file service set it (`VisibilityService.set`), audited; the guardian is
told in the chat, neutrally, through the outbox. The import sets it too (`visibility:` of a
guardian).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store import audit
from store.actors import AccessDenied, Actor, NotFound
from store.clock import Clock, system_clock
from store.family_file import FAMILY_FILE_SERVICE
from store.models import Family, Guardian, Service, StaffMember
from store.models.enums import ActorKind, Channel, DocumentType, GuardianVisibility
from store.outbox import enqueue

# Documents about a child's health: not shown to a limited guardian.
HEALTH_DOCUMENT_TYPES = frozenset(
    {DocumentType.MEDICAL_CERTIFICATE, DocumentType.HEALTH_FORM, DocumentType.VACCINATION_RECORD}
)
VISIBILITY_NOTICE = "visibility_changed"


class HealthHidden(AccessDenied):
    """A health detail asked for by a guardian whose account does not see health details."""


@dataclass(frozen=True)
class GuardianSight:
    """A guardian and what they see; `changed`: whether the last call changed it."""

    guardian_id: int
    family_id: int
    name: str
    email: str
    visibility: GuardianVisibility
    linked: bool
    changed: bool = False


async def guardian_visibility(session: AsyncSession, actor: Actor) -> GuardianVisibility:
    """What a guardian actor sees (FULL for staff and the system: their own rules apply)."""
    if actor.kind is not ActorKind.GUARDIAN or actor.id is None:
        return GuardianVisibility.FULL
    found = await session.scalar(select(Guardian.visibility).where(Guardian.id == actor.id))
    # A guardian who is gone sees nothing of health.
    return found if found is not None else GuardianVisibility.LIMITED


async def sees_health(session: AsyncSession, actor: Actor) -> bool:
    """False for a guardian whose account is limited; True for any other actor (whether staff
    may read a child's health is decided by the services' own rules)."""
    return await guardian_visibility(session, actor) is GuardianVisibility.FULL


async def check_health(session: AsyncSession, actor: Actor) -> None:
    """Refuse a health read to a guardian whose account is limited (`HealthHidden`)."""
    if not await sees_health(session, actor):
        raise HealthHidden("health details are not shown to this guardian's account")


async def health_shown(sessions: async_sessionmaker[AsyncSession], actor: Actor) -> bool:
    """`sees_health` in a session of its own (for a screen that says what is left out)."""
    async with sessions() as session:
        return await sees_health(session, actor)


async def health_visible_to_chat(
    sessions: async_sessionmaker[AsyncSession], chat_id: str | int | None
) -> bool:
    """Whether the guardian of this Telegram chat sees health details (for the outbox's
    notices, rendered per recipient); a chat that is no guardian's sees none."""
    if chat_id is None or not str(chat_id).lstrip("-").isdigit():
        return False
    async with sessions() as session:
        found = await session.scalar(
            select(Guardian.visibility).where(Guardian.telegram_chat_id == int(chat_id)).limit(1)
        )
    return found is GuardianVisibility.FULL


class VisibilityService:
    """Reading and setting what each guardian of a family sees (family-file service)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock = system_clock):
        self._sessions = sessions
        self._clock = clock

    async def of_family(self, actor: Actor, family: str) -> list[GuardianSight]:
        """The family's guardians (by file code or number) and what each sees (staff)."""
        actor.check_staff()
        async with self._sessions() as session:
            family_id = await _family_id(session, family)
            rows = await session.scalars(
                select(Guardian).where(Guardian.family_id == family_id).order_by(Guardian.id)
            )
            return [_sight(guardian) for guardian in rows]

    async def set(
        self, actor: Actor, family: str, email: str, visibility: GuardianVisibility
    ) -> GuardianSight:
        """Staff of the family-file service set what a guardian of the family sees: audited,
        and the guardian is told in the chat. Setting the value it has changes nothing."""
        async with self._sessions.begin() as session:
            await _check_file_staff(session, actor)
            family_id = await _family_id(session, family)
            guardian = await session.scalar(
                select(Guardian)
                .where(
                    Guardian.family_id == family_id,
                    func.lower(Guardian.email) == email.strip().lower(),
                )
                .with_for_update()
            )
            if guardian is None:
                raise NotFound("no such guardian in this family")
            was = guardian.visibility
            if was is visibility:
                return _sight(guardian)
            guardian.visibility = visibility
            audit.record(
                session,
                actor,
                "guardian.visibility",
                "guardian",
                guardian.id,
                family_id=family_id,
                visibility=visibility.value,
                was=was.value,
            )
            if guardian.telegram_chat_id is not None:
                await enqueue(
                    session,
                    channel=Channel.TELEGRAM,
                    recipient=str(guardian.telegram_chat_id),
                    kind=VISIBILITY_NOTICE,
                    payload={"guardian_id": guardian.id, "visibility": visibility.value},
                    dedup_key=(
                        f"guardian:{guardian.id}:visibility:{visibility.value}:"
                        f"{self._clock().isoformat()}"
                    ),
                )
            return _sight(guardian, changed=True)


def _sight(guardian: Guardian, *, changed: bool = False) -> GuardianSight:
    return GuardianSight(
        guardian.id,
        guardian.family_id,
        f"{guardian.first_name} {guardian.last_name}",
        guardian.email,
        guardian.visibility,
        guardian.telegram_chat_id is not None,
        changed,
    )


async def _family_id(session: AsyncSession, family: str) -> int:
    """A family by its file code, or its number."""
    found = await session.scalar(select(Family.id).where(Family.code == family))
    if found is None and family.isdigit():
        found = await session.scalar(select(Family.id).where(Family.id == int(family)))
    if found is None:
        raise NotFound("no such family")
    return found


async def _check_file_staff(session: AsyncSession, actor: Actor) -> None:
    """Only a staff member of the family-file service sets what a guardian sees."""
    if actor.kind is not ActorKind.STAFF or actor.id is None:
        raise AccessDenied("only the family-file service sets what a guardian sees")
    service = await session.scalar(
        select(Service.code)
        .join(StaffMember, StaffMember.service_id == Service.id)
        .where(StaffMember.id == actor.id)
    )
    if service != FAMILY_FILE_SERVICE:
        raise AccessDenied("only the family-file service sets what a guardian sees")
