"""News from the services: audiences resolved exactly, broadcast once per guardian through the
outbox (paced, across two portals), in the guardian's language, muting, withdrawing, closure
days that cancel without billing, and who may publish — on the real store and local Bot API."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.app import build_application
from bot.delivery import SHARED_CHAT_SPACING, SharedPacer, deliver_due
from bot.news_cli import add_news_command
from bot.portal import Portal
from conversations.news import markdown_html
from fake_telegram import FakeTelegram
from fake_telegram.users import FakeUser
from store.actors import AccessDenied, Actor
from store.billing import BillingService
from store.bookings import BookingService
from store.models import (
    Activity,
    ActivityPrice,
    Booking,
    Child,
    Enrollment,
    Facility,
    Family,
    Guardian,
    NewsAudience,
    OpeningDay,
    OutboxItem,
)
from store.models.enums import ActivityKind, BookingState, DeliveryState, Language
from store.news import Audience, InvalidNews, NewsDraft, NewsService, parse_audience
from store.runtime import SendSlots
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town, paris
from tests.messaging_helpers import add_services, link_chat

WED = date(2026, 12, 9)
WED2 = date(2026, 12, 16)
TODAY = date(2026, 11, 24)


@dataclass
class NewsTown:
    """Four families: F1 (two guardians, French and English) and F2 enrolled in `act` at
    `fac`, F3 in `act2` at `fac2`, F4 in nothing; F1 booked on WED, F2 on WED2."""

    staff: Actor
    staff_email: str
    families: dict[str, int]
    users: dict[str, FakeUser]
    booking_ids: dict[str, int]


async def news_town(portal: Portal, telegram: FakeTelegram, clock: Any) -> NewsTown:
    clock.set(paris(TODAY))
    town = await build_town(portal.sessions, [WED, WED2], price_cents=700)
    services = await add_services(portal.sessions)
    async with portal.sessions.begin() as session:
        facility = Facility(code="fac2", name="Centre Nord")
        session.add(facility)
        await session.flush()
        other = Activity(
            code="act2",
            facility_id=facility.id,
            name="ALAE Nord",
            kind=ActivityKind.AFTER_SCHOOL,
            capacity=10,
            rules={"booking": {"rule": "days_before", "days": 3, "count": "calendar"}},
        )
        session.add(other)
        await session.flush()
        session.add(ActivityPrice(activity_id=other.id, tariff_band="QF2", price_cents=300))
        session.add(OpeningDay(activity_id=other.id, day=WED, capacity=10))
        ids = {}
        for code, enrolled in (("F3", True), ("F4", False)):
            family = Family(code=code, name=f"Famille {code}", tariff_band="QF2")
            family.guardians = [
                Guardian(
                    first_name="Parent", last_name=code, email=f"parent.{code.lower()}@exemple.fr"
                )
            ]
            family.children = [
                Child(
                    code=f"{code}-0",
                    first_name="Noé",
                    last_name=code,
                    birth_date=date(2019, 5, 1),
                    school_level="CP",
                )
            ]
            session.add(family)
            await session.flush()
            ids[code] = family.id
            if enrolled:
                session.add(
                    Enrollment(
                        child_id=family.children[0].id,
                        activity_id=other.id,
                        school_year="2026-2027",
                        starts_on=date(2026, 9, 1),
                        ends_on=date(2027, 8, 31),
                    )
                )
        second = Guardian(
            family_id=town.family_id,
            first_name="Sam",
            last_name="F1",
            email="sam.f1@exemple.fr",
            language=Language.EN,
        )
        session.add(second)
        await session.flush()
        guardians = {
            code: guardian_id
            for code, guardian_id in await session.execute(
                select(Family.code, Guardian.id)
                .join(Guardian, Guardian.family_id == Family.id)
                .where(Guardian.id != second.id)
            )
        }
        guardians["F1-en"] = second.id
    users = {}
    for code, guardian_id in guardians.items():
        user = telegram.add_user(first_name=code, language_code="en" if "en" in code else "fr")
        await link_chat(portal.sessions, guardian_id, user.id)
        users[code] = user
    bookings = BookingService(portal.sessions, clock)
    [lucas] = await bookings.book(town.guardian, town.child_ids[:1], town.activity_id, [WED])
    [emma] = await bookings.book(town.guardian, town.child_ids[1:], town.activity_id, [WED2])
    [jade] = await bookings.book(
        town.other_guardian, [town.other_child_id], town.activity_id, [WED2]
    )
    assert all(o.booking_id for o in (lucas, emma, jade))
    return NewsTown(
        services.staff,
        services.staff_email,
        {"F1": town.family_id, "F2": town.other_family_id, **ids},
        users,
        {"lucas": lucas.booking_id, "emma": emma.booking_id, "jade": jade.booking_id},
    )


@pytest.fixture
async def bot_api(portal) -> AsyncIterator[Any]:
    """The application's bot on the local Bot API; the tests deliver the outbox by hand."""
    application = build_application(portal)
    await application.initialize()
    yield application.bot
    await application.shutdown()


async def _deliver_all(portal: Portal, bot: Any) -> int:
    sent = 0
    for _ in range(10):
        count = await deliver_due(portal, bot)
        sent += count
        if count == 0:
            break
    return sent


async def _pending_news(portal: Portal) -> int:
    async with portal.sessions() as session:
        count = await session.scalar(
            select(func.count(OutboxItem.id)).where(
                OutboxItem.kind == "news", OutboxItem.state == DeliveryState.PENDING
            )
        )
    return int(count or 0)


async def _deliver_paced(portal: Portal, bot: Any, pacer: SharedPacer) -> int:
    """One worker's delivery rounds, paced by the shared slots, until no news is pending."""
    sent = 0
    async with asyncio.timeout(20):
        while await _pending_news(portal):
            sent += await deliver_due(portal, bot, pacer)
            await asyncio.sleep(0.1)
    return sent


def _news_messages(user: FakeUser, title: str) -> list[Any]:
    return [m for m in user.messages if title in (m.text or "")]


async def _audience(portal: Portal, news_id: int) -> set[int]:
    async with portal.sessions() as session:
        return set(
            await session.scalars(
                select(NewsAudience.family_id).where(NewsAudience.news_id == news_id)
            )
        )


async def _queued_chats(portal: Portal, news_id: int) -> list[str]:
    async with portal.sessions() as session:
        return sorted(
            await session.scalars(
                select(OutboxItem.recipient).where(OutboxItem.dedup_key.like(f"news:{news_id}:%"))
            )
        )


def _draft(audience: str, title: str = "Fête de l'école", **extra: Any) -> NewsDraft:
    return NewsDraft(title, "La fête a lieu **samedi**.", parse_audience(audience), **extra)


@pytest.mark.parametrize(
    ("audience", "families", "guardians"),
    [
        ("all", {"F1", "F2", "F3", "F4"}, {"F1", "F1-en", "F2", "F3", "F4"}),
        ("facility:fac", {"F1", "F2"}, {"F1", "F1-en", "F2"}),
        ("facility:fac2", {"F3"}, {"F3"}),
        ("activity:act", {"F1", "F2"}, {"F1", "F1-en", "F2"}),
        ("activity:act2", {"F3"}, {"F3"}),
        (f"booked:act:{WED}", {"F1"}, {"F1", "F1-en"}),
        (f"booked:act:{WED2}", {"F1", "F2"}, {"F1", "F1-en", "F2"}),
        (f"booked:act2:{WED}", set(), set()),
    ],
)
async def test_an_audience_reaches_exactly_its_families(
    portal, telegram, clock, audience, families, guardians
):
    town = await news_town(portal, telegram, clock)
    service = NewsService(portal.sessions, clock)
    published = await service.publish(town.staff, _draft(audience))
    assert await _audience(portal, published.news_id) == {town.families[f] for f in families}
    expected = sorted(str(town.users[code].id) for code in guardians)
    assert await _queued_chats(portal, published.news_id) == expected
    assert (published.families, published.queued) == (len(families), len(guardians))


async def test_unknown_audiences_are_refused():
    for written in ("everyone", "facility:", "booked:act:9 déc", "activity"):
        with pytest.raises(InvalidNews):
            parse_audience(written)
    assert parse_audience(f"booked:act:{WED2},{WED}") == Audience("booked", "act", (WED, WED2))


async def test_broadcast_is_paced_and_sent_once_across_two_portals_and_retries(
    portal, telegram, clock, bot_api
):
    town = await news_town(portal, telegram, clock)
    service = NewsService(portal.sessions, clock)
    draft = _draft("all", title_en="School party", body_en="The party is on **Saturday**.")
    first = await service.publish(town.staff, draft)
    again = await service.publish(town.staff, draft)  # the command run twice
    assert (again.news_id, again.already, again.queued) == (first.news_id, True, 0)
    assert first.queued == 5

    second_portal = Portal.from_settings(portal.settings, clock)
    try:
        pacers = [
            SharedPacer(SendSlots(p.sessions, 28.0, SHARED_CHAT_SPACING), 28.0)
            for p in (portal, second_portal)
        ]
        # Two workers deliver side by side, each round by round, until nothing is due.
        sent = await asyncio.gather(
            _deliver_paced(portal, bot_api, pacers[0]),
            _deliver_paced(second_portal, bot_api, pacers[1]),
        )
        assert sum(sent) == 5
    finally:
        await second_portal.close()
    await service.publish(town.staff, draft)  # a retry after delivery queues nothing
    assert await _deliver_all(portal, bot_api) == 0

    for code in ("F1", "F2", "F3", "F4"):
        [message] = _news_messages(town.users[code], "Fête de l'école")
        assert "La fête a lieu samedi." in message.text
    [english] = _news_messages(town.users["F1-en"], "School party")
    assert "Saturday" in english.text
    assert not _news_messages(town.users["F1-en"], "Fête de l'école")
    async with portal.sessions() as session:
        states = list(
            await session.scalars(
                select(OutboxItem.state).where(OutboxItem.dedup_key.like("news:%"))
            )
        )
    assert states == [DeliveryState.SENT] * 5
    [summary] = await service.summaries(Actor.system())
    assert (summary.families, summary.queued, summary.sent) == (4, 5, 5)


async def test_muted_parents_get_only_urgent_news(portal, telegram, clock, bot_api):
    town = await news_town(portal, telegram, clock)
    service = NewsService(portal.sessions, clock)
    profile = await portal.families.profile(town.users["F2"].id)
    assert profile is not None
    assert await service.set_muted(profile.actor, True) is True
    await service.publish(town.staff, _draft("activity:act", title="Sortie au musée"))
    await service.publish(town.staff, _draft("activity:act", title="Grève jeudi", urgent=True))
    await _deliver_all(portal, bot_api)
    assert not _news_messages(town.users["F2"], "Sortie au musée")
    assert len(_news_messages(town.users["F2"], "Grève jeudi")) == 1
    assert len(_news_messages(town.users["F1"], "Sortie au musée")) == 1
    # Unmuted: the next item comes again.
    await service.set_muted(profile.actor, False)
    await service.publish(town.staff, _draft("activity:act", title="Kermesse"))
    await _deliver_all(portal, bot_api)
    assert len(_news_messages(town.users["F2"], "Kermesse")) == 1


async def test_withdraw_hides_and_stops_what_was_not_sent(portal, telegram, clock, bot_api):
    town = await news_town(portal, telegram, clock)
    service = NewsService(portal.sessions, clock)
    sent_first = await service.publish(town.staff, _draft(f"booked:act:{WED}", title="Menu"))
    await _deliver_all(portal, bot_api)
    pending = await service.publish(town.staff, _draft("all", title="Erreur de date"))
    assert pending.queued == 5
    assert await service.withdraw(town.staff, pending.news_id) == 5
    assert await _deliver_all(portal, bot_api) == 0
    for user in town.users.values():
        assert not _news_messages(user, "Erreur de date")
    f1 = await portal.families.profile(town.users["F1"].id)
    assert f1 is not None
    headlines, total = await service.headlines(f1.actor, 0, 10, "fr")
    assert ([h.id for h in headlines], total) == ([sent_first.news_id], 1)
    # Withdrawing the delivered one: the listing is empty, what was sent stays sent.
    assert await service.withdraw(town.staff, sent_first.news_id) == 0
    assert (await service.headlines(f1.actor, 0, 10, "fr"))[1] == 0
    summaries = await service.summaries(Actor.system())
    assert [(s.title, s.withdrawn, s.sent) for s in summaries] == [
        ("Erreur de date", True, 0),
        ("Menu", True, 2),
    ]


async def test_closure_cancels_without_billing_and_tells_exactly_the_booked(
    portal, telegram, clock, bot_api
):
    town = await news_town(portal, telegram, clock)
    # Past the cancellation deadline: cancelling Lucas's day now would be billed.
    clock.set(paris(WED, "08:00"))
    service = NewsService(portal.sessions, clock)
    billing = BillingService(portal.sessions)
    f1 = await portal.families.profile(town.users["F1"].id)
    assert f1 is not None and f1.actor.family_id is not None
    before = await billing.balance(f1.actor, f1.actor.family_id, WED)
    assert before.uninvoiced_cents == 1400  # Lucas on WED and Emma on WED2, 7 € each

    closed = await service.close_day(
        town.staff, "act", WED, "Grève : centre fermé", "Le centre est fermé mercredi."
    )
    assert (closed.cancelled, closed.families, closed.queued) == (1, 1, 2)
    again = await service.close_day(
        town.staff, "act", WED, "Grève : centre fermé", "Le centre est fermé mercredi."
    )
    assert (again.news_id, again.already, again.queued, again.cancelled) == (
        closed.news_id,
        True,
        0,
        0,
    )
    async with portal.sessions() as session:
        lucas = await session.get(Booking, town.booking_ids["lucas"])
        emma = await session.get(Booking, town.booking_ids["emma"])
        assert lucas is not None
        day = await session.get(OpeningDay, lucas.opening_day_id)
    assert emma is not None and day is not None
    assert (day.closed, day.closed_reason, day.taken) == (True, "Grève : centre fermé", 0)
    assert (lucas.state, lucas.cancellation_fee_cents) == (BookingState.CANCELLED, 0)
    assert emma.state is BookingState.CONFIRMED
    after = await billing.balance(f1.actor, f1.actor.family_id, WED)
    assert after.uninvoiced_cents == 700  # only Emma's day is left to pay

    await _deliver_all(portal, bot_api)
    for code in ("F1", "F1-en"):
        [message] = _news_messages(town.users[code], "Grève : centre fermé")
        assert "sans facturation" in message.text or "free of charge" in message.text
    for code in ("F2", "F3", "F4"):
        assert not _news_messages(town.users[code], "Grève")
    # The day is closed: nobody can book it any more.
    [refused] = await BookingService(portal.sessions, clock).book(
        f1.actor, [lucas.child_id], lucas.activity_id, [WED]
    )
    assert refused.booking_id is None


async def test_closure_unbills_a_late_cancellation_of_that_day(portal, telegram, clock):
    town = await news_town(portal, telegram, clock)
    async with portal.sessions.begin() as session:
        await session.execute(
            update(Booking)
            .where(Booking.id == town.booking_ids["lucas"])
            .values(state=BookingState.LATE_CANCELLED, cancellation_fee_cents=700)
        )
    service = NewsService(portal.sessions, clock)
    closed = await service.close_day(town.staff, "act", WED, "Neige", "Fermé pour neige.")
    assert closed.families == 0  # nobody was booked any more
    async with portal.sessions() as session:
        lucas = await session.get(Booking, town.booking_ids["lucas"])
    assert lucas is not None
    assert (lucas.state, lucas.cancellation_fee_cents) == (BookingState.CANCELLED, 0)


async def test_only_a_known_staff_member_publishes(portal, telegram, clock):
    town = await news_town(portal, telegram, clock)
    service = NewsService(portal.sessions, clock)
    f1 = await portal.families.profile(town.users["F1"].id)
    assert f1 is not None
    for actor in (Actor.staff(999), Actor.system(), f1.actor):
        with pytest.raises(AccessDenied):
            await service.publish(actor, _draft("all"))
        with pytest.raises(AccessDenied):
            await service.close_day(actor, "act", WED, "Grève", "Fermé.")
        with pytest.raises(AccessDenied):
            await service.withdraw(actor, 1)
    async with portal.sessions() as session:
        assert await session.scalar(select(func.count(OutboxItem.id))) == 0
        lucas = await session.get(Booking, town.booking_ids["lucas"])
    assert lucas is not None and lucas.state is BookingState.CONFIRMED


def test_markdown_subset_is_rendered_and_everything_else_escaped():
    source = (
        "**Inscriptions** ouvertes, *vite* !\n"
        "- lien : [le programme](https://exemple.fr/p?a=1&b=2)\n"
        "1. <script>alert('x')</script> & co\n"
        '[piège](javascript:alert(1)) "cité" _fin_'
    )
    assert markdown_html(source) == (
        "<b>Inscriptions</b> ouvertes, <i>vite</i> !\n"
        '• lien : <a href="https://exemple.fr/p?a=1&amp;b=2">le programme</a>\n'
        "1. &lt;script&gt;alert('x')&lt;/script&gt; &amp; co\n"
        "[piège](javascript:alert(1)) &quot;cité&quot; <i>fin</i>"
    )


# --- The command line ------------------------------------------------------------------------


def _portail(settings: Any, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="portail")
    add_news_command(parser.add_subparsers(dest="command", required=True))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = parser.parse_args(["news", *argv])
            status = args.handler(settings, args)
        except SystemExit as exit_:
            status = int(exit_.code or 0)
    return status, out.getvalue(), err.getvalue()


async def test_command_line_publishes_lists_withdraws_and_closes(
    portal, telegram, clock, tmp_path: Path
):
    town = await news_town(portal, telegram, clock)
    body = tmp_path / "fete.md"
    body.write_text("La **fête** de l'école.", encoding="utf-8")
    pdf = tmp_path / "programme.pdf"
    pdf.write_bytes(tiny_pdf())
    fake = tmp_path / "virus.pdf"
    fake.write_bytes(b"MZ\x90\x00 not a pdf")
    settings = portal.settings
    run = asyncio.to_thread

    status, _, err = await run(
        _portail, settings, "publish", "--as", "nobody@exemple.fr", "--title", "Fête",
        "--text", str(body), "--audience", "all",
    )  # fmt: skip
    assert status == 2 and "No staff member" in err
    status, _, err = await run(
        _portail, settings, "publish", "--as", town.staff_email, "--title", "Fête",
        "--text", str(body), "--audience", "all", "--attach", str(fake),
    )  # fmt: skip
    assert status == 2 and "not attached" in err
    status, _, err = await run(
        _portail, settings, "publish", "--as", town.staff_email, "--title", "Fête",
        "--text", str(body), "--audience", "facility:nowhere",
    )  # fmt: skip
    assert status == 2 and "no facility" in err
    status, out, _ = await run(
        _portail, settings, "publish", "--as", town.staff_email, "--title", "Fête",
        "--text", str(body), "--audience", "facility:fac", "--attach", str(pdf),
    )  # fmt: skip
    assert status == 0 and "published to 2 family(ies); 3 message(s) queued" in out
    status, out, _ = await run(
        _portail, settings, "publish", "--as", town.staff_email, "--title", "Fête",
        "--text", str(body), "--audience", "facility:fac", "--attach", str(pdf),
    )  # fmt: skip
    assert status == 0 and "published already; 0 missing" in out
    status, out, _ = await run(_portail, settings, "list")
    assert "Fête  [facility:fac]  families 2, sent 0/3" in out
    status, out, _ = await run(_portail, settings, "withdraw", "1", "--as", town.staff_email)
    assert status == 0 and "3 message(s) not sent were stopped" in out
    status, out, _ = await run(
        _portail, settings, "closure", "--as", town.staff_email, "--activity", "act",
        "--date", WED.isoformat(), "--title", "Grève", "--text", str(body),
    )  # fmt: skip
    assert status == 0 and "1 booking(s) cancelled without billing" in out
    status, out, _ = await run(
        _portail, settings, "closure", "--as", town.staff_email, "--activity", "act",
        "--date", WED.isoformat(), "--title", "Grève", "--text", str(body),
    )  # fmt: skip
    assert status == 0 and "closed on 2026-12-09 already" in out
    status, out, _ = await run(_portail, settings, "list")
    assert "WITHDRAWN" in out and "Grève  [booked:act:2026-12-09] urgent" in out
    status, out, _ = await run(_portail, settings, "list", "--json")
    listed = json.loads(out)
    assert [(n["title"], n["urgent"], n["withdrawn"]) for n in listed] == [
        ("Grève", True, False),
        ("Fête", False, True),
    ]
