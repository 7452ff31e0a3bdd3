"""Email codes cannot be used to mail-bomb a guardian: requests are limited per Telegram account,
per address and in all, in the store (across processes); a guardian has one live code; the
guardian is warned, once a day, when codes are requested repeatedly; and the answers never
tell whether an address is known."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from sqlalchemy import func, select

from mail.email_delivery import deliver_due_emails
from store.database import create_engine, create_sessionmaker
from store.linking import (
    EMAIL_CODE_WINDOW,
    LINK_CODE_MAIL,
    LINK_WARNING_MAIL,
    CodeLimits,
    CodeRequest,
    LinkingService,
    LinkStatus,
)
from store.models import LinkCodeRequest, LinkToken, OutboxItem
from tests.helpers import build_town

KNOWN = "parent.f1@exemple.fr"
OTHER_KNOWN = "parent.f2@exemple.fr"
UNKNOWN = "personne@exemple.fr"
SENT, TOO_MANY = CodeRequest.SENT, CodeRequest.TOO_MANY


def _code(message) -> str:
    return re.search(r"\b(\d{6})\b", message.get_content()).group(1)


async def _kinds(portal) -> list[str]:
    async with portal.sessions() as session:
        return list(await session.scalars(select(OutboxItem.kind).order_by(OutboxItem.id)))


async def test_one_account_gets_three_requests_an_hour_whatever_the_addresses(portal, clock):
    await build_town(portal.sessions, [])
    linking = portal.linking
    answers = []
    for email in (KNOWN, UNKNOWN, OTHER_KNOWN, "autre@exemple.fr", KNOWN):
        answers.append(await linking.request_email_code(email, 42))
        clock.set(clock.now + timedelta(minutes=2))
    assert answers == [SENT, SENT, SENT, TOO_MANY, TOO_MANY]
    assert await _kinds(portal) == [LINK_CODE_MAIL, LINK_CODE_MAIL]

    # Another account is not held back; the first one is again an hour later.
    assert await linking.request_email_code("x@exemple.fr", 43) is SENT
    clock.set(clock.now + EMAIL_CODE_WINDOW)
    assert await linking.request_email_code(KNOWN, 42) is SENT


async def test_many_accounts_get_three_codes_an_hour_mailed_to_an_address_and_one_warning(
    portal, clock, smtp_sink
):
    """The mail bomb: 10 accounts ask 5 times each for one address."""
    await build_town(portal.sessions, [])
    answers = []
    for _ in range(5):
        for account in range(100, 110):
            answers.append(await portal.linking.request_email_code(KNOWN, account))
        clock.set(clock.now + timedelta(minutes=2))
    assert answers.count(SENT) == 3 and answers[:3] == [SENT] * 3
    assert await deliver_due_emails(portal) == 2  # the last code, and one warning
    codes = [mail for mail in smtp_sink.messages if re.search(r"\b\d{6}\b", mail["Subject"])]
    [warning] = [mail for mail in smtp_sink.messages if mail not in codes]
    assert len(codes) == 1 and warning["To"] == KNOWN
    assert "demandes répétées" in warning["Subject"]
    assert not re.search(r"\b\d{6}\b", warning.get_content())
    assert "Bonjour Parent" in warning.get_content()

    # One live code: those of the first two accounts were replaced, and their mails not sent.
    code = _code(codes[0])
    assert (await portal.linking.verify_email_code(100, code, 100)).status is LinkStatus.WRONG_CODE
    assert (await portal.linking.verify_email_code(102, code, 102)).status is LinkStatus.LINKED

    # An hour later the address may have codes again; the same day, no second warning.
    clock.set(clock.now + EMAIL_CODE_WINDOW)
    for account in range(200, 210):
        await portal.linking.request_email_code(KNOWN, account)
    assert (await _kinds(portal)).count(LINK_WARNING_MAIL) == 1
    # The next day, a warning again.
    clock.set(clock.now + timedelta(days=1))
    for account in range(300, 310):
        await portal.linking.request_email_code(KNOWN, account)
    kinds = await _kinds(portal)
    assert kinds.count(LINK_WARNING_MAIL) == 2 and kinds.count(LINK_CODE_MAIL) == 9


async def test_a_known_and_an_unknown_address_get_the_same_answers(portal, clock):
    await build_town(portal.sessions, [])

    async def answers(email: str, first_account: int) -> list[CodeRequest]:
        said = []
        for step in range(6):
            account = first_account + step % 4  # accounts asking again, and new ones
            said.append(await portal.linking.request_email_code(email, account))
            clock.set(clock.now + timedelta(minutes=2))
        return said

    known = await answers(KNOWN, 500)
    unknown = await answers(UNKNOWN, 600)
    assert known == unknown == [SENT, SENT, SENT, TOO_MANY, TOO_MANY, TOO_MANY]
    kinds = await _kinds(portal)
    assert sorted(kinds) == [LINK_CODE_MAIL] * 3 + [LINK_WARNING_MAIL]


async def test_requests_in_all_are_limited(portal):
    await build_town(portal.sessions, [])
    limits = CodeLimits(in_all=4)
    said = [
        await portal.linking.request_email_code(f"p{n}@exemple.fr", 700 + n, limits)
        for n in range(6)
    ]
    assert said == [SENT] * 4 + [TOO_MANY] * 2


async def test_a_request_repeated_at_once_is_not_counted(portal, clock):
    await build_town(portal.sessions, [])
    for _ in range(5):  # a double tap, retried updates
        assert await portal.linking.request_email_code(KNOWN, 42) is SENT
    assert await _kinds(portal) == [LINK_CODE_MAIL]
    clock.set(clock.now + timedelta(minutes=2))
    assert await portal.linking.request_email_code(KNOWN, 42) is SENT
    assert await portal.linking.request_email_code(KNOWN, 42) is SENT  # repeated: not counted
    clock.set(clock.now + timedelta(minutes=2))
    assert await portal.linking.request_email_code(KNOWN, 42) is SENT
    clock.set(clock.now + timedelta(minutes=2))
    assert await portal.linking.request_email_code(KNOWN, 42) is TOO_MANY


async def test_old_requests_are_forgotten(portal, clock):
    await build_town(portal.sessions, [])
    await portal.linking.request_email_code(KNOWN, 42)
    await portal.linking.request_email_code(UNKNOWN, 43)
    clock.set(clock.now + EMAIL_CODE_WINDOW + timedelta(minutes=1))
    await portal.linking.request_email_code(OTHER_KNOWN, 44)
    async with portal.sessions() as session:
        rows = list(await session.scalars(select(LinkCodeRequest)))
    assert [row.telegram_user_id for row in rows] == [44]
    assert all(len(row.address_hash) == 64 and "@" not in row.address_hash for row in rows)


async def test_the_limits_hold_across_processes(database_url, clock):
    """Accounts racing from six engines (six worker processes): three codes, no more."""
    engines = [create_engine(database_url) for _ in range(6)]
    try:
        await build_town(create_sessionmaker(engines[0]), [])
        services = [LinkingService(create_sessionmaker(engine), clock) for engine in engines]
        start = asyncio.Event()

        async def account(number: int) -> CodeRequest:
            await start.wait()
            return await services[number % 6].request_email_code(KNOWN, 900 + number)

        tasks = [asyncio.create_task(account(number)) for number in range(12)]
        await asyncio.sleep(0)
        start.set()
        said = await asyncio.gather(*tasks)
        async with create_sessionmaker(engines[0])() as session:
            live = await session.scalar(
                select(func.count(LinkToken.id)).where(LinkToken.used_at.is_(None))
            )
            codes = await session.scalar(
                select(func.count(OutboxItem.id)).where(OutboxItem.kind == LINK_CODE_MAIL)
            )
            warnings = await session.scalar(
                select(func.count(OutboxItem.id)).where(OutboxItem.kind == LINK_WARNING_MAIL)
            )
    finally:
        for engine in engines:
            await engine.dispose()
    assert said.count(SENT) == 3 and said.count(TOO_MANY) == 9
    assert (live, codes, warnings) == (1, 3, 1)


# In the chat ---------------------------------------------------------------------------------


async def _ask(telegram, email: str):
    user = telegram.add_user(first_name="Zoé")
    await user.send_command("/start")
    await user.next_message()
    await user.tap("✉️ Relier avec mon adresse e-mail")
    await user.next_message()
    await user.send_text(email)
    return user, await user.next_message()


async def test_the_chat_says_too_many_requests_alike_for_known_and_unknown_addresses(
    portal, telegram, bot
):
    await build_town(portal.sessions, [])
    portal.settings.email_codes_per_address_per_hour = 1
    _, known_first = await _ask(telegram, KNOWN)
    known_user, known_again = await _ask(telegram, KNOWN)
    _, unknown_first = await _ask(telegram, UNKNOWN)
    unknown_user, unknown_again = await _ask(telegram, UNKNOWN)
    assert "Si cette adresse est connue" in known_first.text
    assert known_first.text == unknown_first.text
    assert "Trop de demandes" in known_again.text and "réessayez plus tard" in known_again.text
    assert known_again.text == unknown_again.text
    assert known_again.reply_markup == unknown_again.reply_markup
    # The flow stays open, for a code received before.
    for user in (known_user, unknown_user):
        await user.send_text("123456")
        assert "Code incorrect" in (await user.next_message()).text
