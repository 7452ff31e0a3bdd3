"""Under faults the parent is told the truth, and nothing is done twice (end to end).

Telegram failing on the message that shows a confirm's outcome, the process killed between the
store's commit and the chat's saved state, the same absence reported twice, and forged buttons
with impossible values.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from sqlalchemy import func, select

from bot.runner import running_bot
from conversations.absence import REVIEW as ABSENCE_REVIEW
from conversations.receipts import EDIT_ATTEMPTS
from store.bookings import BookingService
from store.models import Absence, Booking, Document, OutboxItem, Service
from store.models.enums import AbsenceReason, BookingState
from tests.chat_helpers import forge_tap, linked_parent
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town, paris
from tests.mail_helpers import wait_for_mails

WEDNESDAYS = [date(2026, 12, d) for d in (2, 9, 16)]
DAY_OF_ABSENCE = date(2026, 12, 9)
BAD_GATEWAY = 502
EDIT = frozenset({"editMessageText"})
SEND = frozenset({"sendMessage"})
UNKNOWN_KEY = "A" * 16


async def _count(portal, model, *where) -> int:
    async with portal.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


def _apologies(parent) -> list[str]:
    """The bot's messages saying an error happened ("Désolé, une erreur est survenue")."""
    return [m.text for m in parent.messages if "erreur" in (m.text or "")]


async def _booking_recap(parent):
    """Lucas, Wednesday 9 December, up to the recap."""
    await parent.tap("📅 Réserver des jours")
    await parent.next_message()
    await parent.tap("Lucas")
    await parent.next_message()
    await parent.tap("9")
    await parent.next_message()
    await parent.tap("Valider (1)")
    return await parent.next_message()


async def _absence_recap(parent, certificate: bool = True):
    """Lucas, today (9 December), ill, with a PDF certificate (or to be emailed later)."""
    await parent.send_command("/absence")
    await parent.next_message()
    await parent.tap("Lucas")
    await parent.next_message()
    await parent.send_text("aujourd'hui")
    await parent.next_message()
    await parent.tap("🤒 Maladie")
    await parent.next_message()
    if certificate:
        await parent.send_document(tiny_pdf(), "certificat.pdf", "application/pdf")
    else:
        await parent.tap("Je l'enverrai plus tard")
    return await parent.next_message()


async def _town_with_bookings(portal, clock):
    """Lucas booked on 2 and 9 December; the clock on the morning of the 9th; the family file
    service reachable by email."""
    town = await build_town(portal.sessions, WEDNESDAYS)
    await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, WEDNESDAYS[:2]
    )
    async with portal.sessions.begin() as session:
        session.add(
            Service(code="family_file", name="Dossier famille", email="dossier@montclar.example")
        )
    clock.set(paris(DAY_OF_ABSENCE, "08:00"))
    return town


# 1. The parent is told what was recorded ------------------------------------------------------


async def test_a_booking_whose_result_edit_fails_is_told_and_a_tap_again_says_so(
    portal, telegram, bot, caplog
):
    await build_town(portal.sessions, WEDNESDAYS)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    recap = await _booking_recap(parent)
    again_data = recap.button("✅ Confirmer")["callback_data"]
    # Every try of the edit that shows the result meets a 502 Bad Gateway.
    telegram.fail_next(parent.id, times=EDIT_ATTEMPTS, error_code=BAD_GATEWAY, methods=EDIT)
    await parent.tap("✅ Confirmer")
    result = await parent.next_message()
    assert result.message_id != recap.message_id  # a new message says it
    assert "✅ mer. 9 déc. — Lucas : réservé (4,10\u00a0€)" in result.text
    # The recap, never edited, still shows its confirm: tapped again, it says it is booked.
    assert "✅ Confirmer" in parent.get_message(recap.message_id).buttons
    await parent.tap("✅ Confirmer", message=recap)
    again = await parent.next_message()
    assert "Déjà enregistré" in again.text
    assert "✅ mer. 9 déc. — Lucas : réservé (4,10\u00a0€)" in again.text
    assert "❌" not in again.text
    # Tapped during another booking: what it gave, and the new booking goes on.
    await parent.send_command("/reserver")
    await parent.next_message()
    await parent.tap("Lucas")
    calendar = await parent.next_message()
    answer = await forge_tap(telegram, parent, recap, again_data)
    assert answer is not None and "Déjà enregistré" in answer.text
    await parent.tap("16", message=calendar)
    assert "☑️16" in (await parent.next_message()).buttons
    assert _apologies(parent) == []
    assert await _count(portal, Booking) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_cancellation_shown_after_a_502_and_tapped_again(portal, telegram, bot, clock):
    town = await build_town(portal.sessions, WEDNESDAYS)
    clock.set(paris(date(2026, 11, 24)))
    await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, WEDNESDAYS[1:2]
    )
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("🗑 Annuler des jours")
    await parent.next_message()
    await parent.tap("Lucas")
    await parent.next_message()
    await parent.tap("mer. 9 déc. · Lucas · CL Mercredis")
    await parent.next_message()
    await parent.tap("Valider (1)")
    recap = await parent.next_message()
    confirm = recap.button("✅ Confirmer")["callback_data"]
    telegram.fail_next(parent.id, times=1, error_code=BAD_GATEWAY, methods=EDIT)
    await parent.tap("✅ Confirmer")
    result = await parent.next_message()  # the edit, tried again
    assert result.message_id == recap.message_id
    assert "mer. 9 déc. — Lucas : annulé" in result.text
    await forge_tap(telegram, parent, recap, confirm)  # the old screen of another phone
    again = await parent.next_message()
    assert "Déjà enregistré" in again.text and "mer. 9 déc. — Lucas : annulé" in again.text
    assert "❌" not in again.text
    assert _apologies(parent) == []
    assert await _count(portal, Booking, Booking.state == BookingState.CANCELLED) == 1


async def test_an_absence_whose_result_cannot_be_shown_reaches_the_parent_through_the_outbox(
    portal, telegram, bot, clock, caplog
):
    await _town_with_bookings(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    recap = await _absence_recap(parent)
    # The edits fail, and so does the new message: the outbox delivers it.
    telegram.fail_next(parent.id, times=EDIT_ATTEMPTS, error_code=BAD_GATEWAY, methods=EDIT)
    telegram.fail_next(parent.id, times=1, error_code=BAD_GATEWAY, methods=SEND)
    await parent.tap("✅ Confirmer")
    result = await parent.wait_for_message(lambda m: "Absence de Lucas" in (m.text or ""))
    [absence] = await portal_absences(portal)
    assert f"Absence de Lucas enregistrée (mer. 9 déc.) — référence {absence.reference}" in (
        result.text
    )
    assert "1 jour réservé est marqué absent" in result.text
    assert "☰ Menu" in result.buttons
    # Tapped again (the recap was never edited): already recorded, nothing more is stored.
    await parent.tap("✅ Confirmer", message=recap)
    again = await parent.wait_for_message(lambda m: "Déjà enregistré" in (m.text or ""))
    assert absence.reference in again.text and "❌" not in again.text
    assert _apologies(parent) == []
    assert await _count(portal, Absence) == 1
    assert await _count(portal, Document) == 1
    assert await _count(portal, OutboxItem, OutboxItem.kind == "confirm_outcome") == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def portal_absences(portal) -> list[Absence]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(Absence).order_by(Absence.id)))


# 2. Nothing is recorded twice -------------------------------------------------------------------


async def _step_saved(portal, flow: str, step: str) -> None:
    """Wait until the store holds the parent's flow at `step` (saved after the update)."""
    for _ in range(100):
        if step in (await portal.chat_states.load_kind(f"conversation:{flow}")).values():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the {flow} flow was never saved at {step}")


async def test_a_restart_between_the_record_and_the_chat_state_records_nothing_twice(
    portal, telegram, clock, smtp_sink, monkeypatch
):
    await _town_with_bookings(portal, clock)
    async with running_bot(portal, poll_timeout=1):
        parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
        recap = await _absence_recap(parent)
        confirm = recap.button("✅ Confirmer")["callback_data"]
        await _step_saved(portal, "absence", ABSENCE_REVIEW)

        # "kill -9" once the absence is committed: the process dies before it saves the chat's
        # state. Saving the chat's state is what the store would have lost: every save from
        # now on is dropped (none reaches the store, as none would from a dead process), and
        # the application is then stopped and a new one started on the same store, which
        # loads the chat's state as a restarted process does — the flow still at the recap,
        # its draft as it was, though the absence, its certificate and the staff's email
        # are committed.
        async def dropped(entries) -> None:
            return None

        monkeypatch.setattr(portal.chat_states, "save_many", dropped)
        await parent.tap("✅ Confirmer")
        await parent.wait_for_message(lambda m: "Absence de Lucas enregistrée" in (m.text or ""))
        await wait_for_mails(smtp_sink, 1)
    monkeypatch.undo()
    async with running_bot(portal, poll_timeout=1):
        # The recap's button, as the phone still shows it after the kill, tapped again.
        await forge_tap(telegram, parent, recap, confirm)
        again = await parent.next_message()
        await asyncio.sleep(1.5)  # the staff's mail worker has had rounds to send a second one
    [absence] = await portal_absences(portal)
    assert absence.certificate_id is not None
    assert await _count(portal, Document) == 1
    assert len(list((portal.settings.documents_dir).iterdir())) == 1
    assert await _count(portal, OutboxItem, OutboxItem.kind == "certificate_to_review") == 1
    assert len(smtp_sink.messages) == 1
    assert "Déjà enregistré" in again.text
    assert f"Absence de Lucas enregistrée (mer. 9 déc.) — référence {absence.reference}" in (
        again.text
    )
    assert _apologies(parent) == []


async def test_the_same_absence_reported_twice_is_one_absence_said_so(
    portal, telegram, bot, clock
):
    await _town_with_bookings(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _absence_recap(parent, certificate=False)
    await parent.tap("✅ Confirmer")
    first = await parent.next_message()
    [absence] = await portal_absences(portal)
    assert f"Absence de Lucas enregistrée (mer. 9 déc.) — référence {absence.reference}" in (
        first.text
    )
    # The same child and day again: the absence is there already, nothing changes.
    await _absence_recap(parent, certificate=False)
    await parent.tap("✅ Confirmer")
    second = await parent.next_message()
    assert (
        f"Absence de Lucas déjà signalée (mer. 9 déc.) — référence {absence.reference} : "
        "rien n'a changé" in second.text
    )
    assert "1 jour réservé est marqué absent" in second.text
    # Over more days, for another reason: the same absence, extended and updated.
    await parent.send_command("/absence")
    await parent.next_message()
    await parent.tap("Lucas")
    await parent.next_message()
    await parent.send_text("du 9 au 11 décembre")
    await parent.next_message()
    await parent.tap("👪 Raison familiale")
    await parent.next_message()
    await parent.tap("✅ Confirmer")
    third = await parent.next_message()
    assert (
        "Absence de Lucas déjà signalée, prolongée : du mer. 9 déc. au ven. 11 déc. — "
        f"référence {absence.reference}" in third.text
    )
    [extended] = await portal_absences(portal)
    assert (extended.id, extended.start, extended.end, extended.reason) == (
        absence.id,
        date(2026, 12, 9),
        date(2026, 12, 11),
        AbsenceReason.FAMILY,
    )


# 3. Forged buttons with impossible values are stale buttons ----------------------------------


async def _answered_as_stale(telegram, parent, message, data: str) -> None:
    """A forged tap is answered as a stale button: in a flow by a notice on the button, else
    by a message with the menu."""
    answer = await forge_tap(telegram, parent, message, data)
    assert answer is not None, data
    if answer.text is not None:
        assert "plus valide" in answer.text, (data, answer.text)
        return
    assert "plus valide" in (await parent.next_message()).text, data


GARBAGE_IDS = ["99999999999999999999", "2147483648", "0", "-1", "+7", "１", "\u0661", "1\n", ""]


async def test_forged_booking_buttons_with_impossible_values_are_stale(
    portal, telegram, bot, caplog
):
    await build_town(portal.sessions, WEDNESDAYS)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("📅 Réserver des jours")
    question = await parent.next_message()
    for value in GARBAGE_IDS:
        await _answered_as_stale(telegram, parent, question, f"bk:child:{value}")
    await parent.tap("Lucas")
    calendar = await parent.next_message()
    for data in (
        "bk:month:2026-13",
        "bk:month:2026-00",
        "bk:month:0000-01",
        "bk:month:99999-01",
        "bk:day:2026-02-30",
        "bk:day:2026-13-01",
        "bk:day:0000-01-01",
        "bk:day:２０２６-１２-０９",
        "bk:day:2026-12-09x",
        "bk:day:2026-12-09\n",
        "bk:month:2026-12\n",
        "bk:act:99999999999999999999",
        "bk:confirm:x",
        f"bk:confirm:{UNKNOWN_KEY}",
        "bk:confirm:" + "A" * 60,
    ):
        await _answered_as_stale(telegram, parent, calendar, data)
    await parent.tap("9")  # the flow goes on
    await parent.next_message()
    await parent.tap("Valider (1)")
    recap = await parent.next_message()
    for data in (
        "bk:day:2026-02-30",
        f"bk:confirm:{UNKNOWN_KEY}",
        f"bk:confirm:{UNKNOWN_KEY}\n",
        "bk:confirm:../../x",
    ):
        await _answered_as_stale(telegram, parent, recap, data)
    await parent.tap("✖ Abandonner")
    await parent.next_message()
    for data in ("bk:month:2026-13", f"bk:confirm:{UNKNOWN_KEY}", "bk:day:2026-02-30"):
        await _answered_as_stale(telegram, parent, recap, data)  # no flow any more
    assert _apologies(parent) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await _count(portal, Booking) == 0


async def test_forged_cancelling_buttons_with_impossible_values_are_stale(
    portal, telegram, bot, clock, caplog
):
    town = await build_town(portal.sessions, WEDNESDAYS)
    clock.set(paris(date(2026, 11, 24)))
    await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, WEDNESDAYS
    )
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/annuler")
    question = await parent.next_message()
    for value in GARBAGE_IDS:
        await _answered_as_stale(telegram, parent, question, f"cx:child:{value}")
    await parent.tap("Lucas")
    listing = await parent.next_message()
    for value in GARBAGE_IDS:
        await _answered_as_stale(telegram, parent, listing, f"cx:b:{value}")
    for data in (f"cx:confirm:{UNKNOWN_KEY}", "cx:confirm:x", "cx:confirm:"):
        await _answered_as_stale(telegram, parent, listing, data)
    await parent.tap("mer. 9 déc. · Lucas · CL Mercredis")  # the flow goes on
    toggled = await parent.next_message()
    assert "☑️ mer. 9 déc. · Lucas · CL Mercredis" in toggled.buttons
    assert _apologies(parent) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await _count(portal, Booking, Booking.state == BookingState.CONFIRMED) == 3


async def test_forged_absence_buttons_with_impossible_values_are_stale(
    portal, telegram, bot, clock, caplog
):
    await _town_with_bookings(portal, clock)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/absence")
    question = await parent.next_message()
    for value in GARBAGE_IDS:
        await _answered_as_stale(telegram, parent, question, f"ab:child:{value}")
    for data in (
        "ab:reason:plague",
        "ab:reason:family\n",
        f"ab:confirm:{UNKNOWN_KEY}",
        f"ab:cancelfree:{UNKNOWN_KEY}",
    ):
        await _answered_as_stale(telegram, parent, question, data)
    await parent.tap("Lucas", message=question)
    await parent.next_message()
    await parent.tap("Aujourd'hui")
    reasons = await parent.next_message()
    for data in ("ab:reason:family\n", "ab:reason:", "ab:reason:ILLNESS"):
        await _answered_as_stale(telegram, parent, reasons, data)
    await parent.tap("👪 Raison familiale")
    recap = await parent.next_message()
    for data in (
        f"ab:confirm:{UNKNOWN_KEY}",
        f"ab:cancelfree:{UNKNOWN_KEY}",
        "ab:confirm:x",
        "ab:cancelfree:" + "Z" * 40,
    ):
        await _answered_as_stale(telegram, parent, recap, data)
    assert _apologies(parent) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await _count(portal, Absence) == 0


async def test_a_day_booked_already_is_said_booked_never_refused(portal, telegram, bot, clock):
    town = await build_town(portal.sessions, WEDNESDAYS)
    clock.set(paris(date(2026, 11, 24)))
    await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, WEDNESDAYS[1:2]
    )
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.tap("📅 Réserver des jours")
    await parent.next_message()
    await parent.tap("Tous mes enfants")
    await parent.next_message()
    await parent.send_text("mercredi 9 décembre")  # Emma's day to book; Lucas's booked
    recap = await parent.next_message()
    assert "✅ mer. 9 déc. — Lucas : déjà réservé" in recap.text
    assert "mer. 9 déc. — Emma : 4,10\u00a0€" in recap.text and "❌" not in recap.text
    await parent.tap("✅ Confirmer")
    result = await parent.next_message()
    assert "✅ mer. 9 déc. — Lucas : déjà réservé" in result.text
    assert "✅ mer. 9 déc. — Emma : réservé (4,10\u00a0€)" in result.text
    assert "❌" not in result.text
    assert await _count(portal, Booking) == 2
