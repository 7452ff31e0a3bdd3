"""Shared set-up of the family-file tests: the family-file service and its staff member, a
staff member of another service, and a child's health details."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor
from store.family_file import FAMILY_FILE_SERVICE
from store.models import Activity, Child, Service, StaffMember

FILE_STAFF = "s.martin@montclar.example"
LEISURE_STAFF = "n.belkacem@montclar.example"
OTHER_STAFF = "regie@montclar.example"
ALLERGY = "Arachides (choc anaphylactique)"


@dataclass(frozen=True)
class FileStaff:
    file_staff: Actor
    leisure_staff: Actor
    other_staff: Actor


async def add_file_staff(
    sessions: async_sessionmaker[AsyncSession], activity_id: int
) -> FileStaff:
    """The family-file service with one member; the activity's service with one; the billing
    office with one (who has no business with health details)."""
    async with sessions.begin() as session:
        services = {
            code: Service(code=code, name=name, email=email)
            for code, name, email in (
                (FAMILY_FILE_SERVICE, "Dossier famille", "dossier@montclar.example"),
                ("leisure", "Centres de loisirs", "cl@montclar.example"),
                ("billing", "Régie", "regie-service@montclar.example"),
            )
        }
        session.add_all(services.values())
        await session.flush()
        members = [
            StaffMember(
                service_id=services[FAMILY_FILE_SERVICE].id, name="Sophie Martin", email=FILE_STAFF
            ),
            StaffMember(
                service_id=services["leisure"].id, name="Nadia Belkacem", email=LEISURE_STAFF
            ),
            StaffMember(service_id=services["billing"].id, name="Paul Régie", email=OTHER_STAFF),
        ]
        session.add_all(members)
        await session.execute(
            update(Activity)
            .where(Activity.id == activity_id)
            .values(service_id=services["leisure"].id)
        )
        await session.flush()
        return FileStaff(*(Actor.staff(member.id) for member in members))


async def set_health(sessions: async_sessionmaker[AsyncSession], child_id: int) -> None:
    async with sessions.begin() as session:
        await session.execute(
            update(Child)
            .where(Child.id == child_id)
            .values(allergies=ALLERGY, pai=True, doctor="Dr Lefèvre", school="École Jules Ferry")
        )
