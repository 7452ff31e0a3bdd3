"""`portail demo --today 2026-11-24`, tried as a new user would: the morning's deadline
reminders come after the welcome, and Camille books December "comme le mois dernier"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.demo import DemoSession
from bot.settings import Settings
from store.models import Booking, Child
from tests.conftest import DEMO_TODAY

WEDNESDAYS = "CL Élémentaire Mercredis – Journée avec repas"


@pytest.fixture
async def demo_with_reminders(database_url: str, tmp_path: Path) -> AsyncIterator[DemoSession]:
    settings = Settings(conversation_timeout_seconds=30, _env_file=None)  # type: ignore[call-arg]
    session = DemoSession(
        database_url,
        documents_dir=tmp_path / "documents",
        today=DEMO_TODAY,
        settings=settings,
        settle=0.2,
        reminders=True,
    )
    yield session
    await session.close()


async def test_a_reminder_then_december_booked_as_last_month(
    demo_with_reminders: DemoSession,
) -> None:
    demo = demo_with_reminders
    await demo.start()
    screen = await demo.wait_for(WEDNESDAYS, timeout=10)
    joined = "\n".join(screen)
    assert "ferment mardi 24 novembre à 12 h" in " ".join(line.strip() for line in screen)
    assert "Comme le mois dernier" in joined
    [reminder] = [
        m for m in demo.user.messages if WEDNESDAYS in (m.text or "") and "⏰" in (m.text or "")
    ]
    await demo.user.tap("🔁 Comme le mois dernier", message=reminder)
    screen = await demo.wait_for("Confirmer", timeout=5)
    joined = "\n".join(screen)
    assert "Lucas : " in joined and "Total : " in joined, joined
    await demo.user.tap("✅ Confirmer", message=reminder)
    screen = await demo.wait_for("réservé", timeout=5)
    assert any("✅ C'est réservé" in line for line in screen), screen
    assert demo.portal is not None
    async with demo.portal.sessions() as session:
        days = list(
            await session.scalars(
                select(Booking.day)
                .join(Child, Child.id == Booking.child_id)
                .where(Child.code == "E0011", Booking.day >= date(2026, 12, 1))
                .order_by(Booking.day)
            )
        )
    assert days and all(day.weekday() == 2 and day.month == 12 for day in days)
