"""Helpers for the messaging tests: services and staff added to a town built by `build_town`,
and the temporary wiring of the messaging flow into the application."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor
from store.models import Guardian, Service, StaffMember

LEISURE = "leisure_centres"
BILLING = "billing"


@dataclass(frozen=True)
class Services:
    """Ids of what `add_services` created."""

    leisure_id: int
    billing_id: int
    staff: Actor
    staff_email: str


async def add_services(sessions: async_sessionmaker[AsyncSession]) -> Services:
    """Two services (leisure centres, billing) and one staff member of the first."""
    async with sessions.begin() as session:
        leisure = Service(
            code=LEISURE, name="Centres de loisirs", email="centres-loisirs@montclar.example"
        )
        billing = Service(code=BILLING, name="Règlement-Facture", email="regie@montclar.example")
        session.add_all([leisure, billing])
        await session.flush()
        staff = StaffMember(
            service_id=leisure.id, name="Nadia Belkacem", email="n.belkacem@montclar.example"
        )
        session.add(staff)
        await session.flush()
        return Services(leisure.id, billing.id, Actor.staff(staff.id), staff.email)


async def link_chat(
    sessions: async_sessionmaker[AsyncSession], guardian_id: int, chat_id: int
) -> None:
    """Mark a guardian as linked to a Telegram chat, as an invite would."""
    async with sessions.begin() as session:
        await session.execute(
            update(Guardian)
            .where(Guardian.id == guardian_id)
            .values(telegram_user_id=chat_id, telegram_chat_id=chat_id)
        )
