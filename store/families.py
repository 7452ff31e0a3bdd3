"""Reading a family as its guardians see it: who they are, and their children."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import Actor
from store.models import Child, Guardian
from store.models.enums import Language


@dataclass(frozen=True)
class GuardianProfile:
    """The guardian behind a Telegram account."""

    actor: Actor
    first_name: str
    language: Language


@dataclass(frozen=True)
class ChildView:
    id: int
    first_name: str
    last_name: str
    school_level: str


# What a `ChildView` reads, in its fields' order.
_CHILD_VIEW = (Child.id, Child.first_name, Child.last_name, Child.school_level)


class FamilyService:
    """Who is talking, and which children they act for."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]):
        self._sessions = sessions

    async def profile(self, telegram_user_id: int) -> GuardianProfile | None:
        """The linked guardian of a Telegram account, or None."""
        async with self._sessions() as session:
            return await self.profile_in(session, telegram_user_id)

    async def profile_in(
        self, session: AsyncSession, telegram_user_id: int
    ) -> GuardianProfile | None:
        """`profile`, as one statement of the caller's transaction (the one opening the
        update's turn, `bot.persistence.read_person`: one transaction less per update)."""
        row = (
            await session.execute(
                select(
                    Guardian.id, Guardian.family_id, Guardian.first_name, Guardian.language
                ).where(Guardian.telegram_user_id == telegram_user_id)
            )
        ).first()
        if row is None:
            return None
        return GuardianProfile(Actor.guardian(row.id, row.family_id), row.first_name, row.language)

    async def profile_and_children(
        self, telegram_user_id: int
    ) -> tuple[GuardianProfile, list[ChildView]] | None:
        """`profile` and the `children` of its family, in one statement; None if not linked."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(
                        Guardian.id,
                        Guardian.family_id,
                        Guardian.first_name,
                        Guardian.language,
                        *_CHILD_VIEW,
                    )
                    .outerjoin(Child, Child.family_id == Guardian.family_id)
                    .where(Guardian.telegram_user_id == telegram_user_id)
                    .order_by(Child.first_name)
                )
            ).all()
        if not rows:
            return None
        guardian = rows[0]
        profile = GuardianProfile(
            Actor.guardian(guardian.id, guardian.family_id), guardian.first_name, guardian.language
        )
        children = [ChildView(*row[4:]) for row in rows if row[4] is not None]
        return profile, children

    async def children(self, actor: Actor) -> list[ChildView]:
        """The children of the actor's family, by first name."""
        if actor.family_id is None:
            return []
        async with self._sessions() as session:
            rows = await session.execute(
                select(*_CHILD_VIEW)
                .where(Child.family_id == actor.family_id)
                .order_by(Child.first_name)
            )
            return [ChildView(*row) for row in rows]

    async def set_language(self, actor: Actor, language: Language) -> None:
        """Remember the guardian's language."""
        async with self._sessions.begin() as session:
            guardian = await session.get(Guardian, actor.id)
            if guardian is not None:
                actor.check_family(guardian.family_id)
                guardian.language = language
