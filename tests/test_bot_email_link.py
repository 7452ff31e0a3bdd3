"""Linking by email code: a real SMTP conversation delivers the code the parent types."""

from __future__ import annotations

import re

from tests.helpers import build_town


def _code(sink) -> str:
    [message] = sink.messages
    return re.search(r"\b(\d{6})\b", message.get_content()).group(1)


async def _ask_code(telegram, email: str):
    user = telegram.add_user(first_name="Camille")
    await user.send_command("/start")
    await user.next_message()
    await user.tap("✉️ Relier avec mon adresse e-mail")
    assert "adresse e-mail" in (await user.next_message()).text
    await user.send_text("pas-une-adresse")
    assert "ne semble pas valide" in (await user.next_message()).text
    await user.send_text(email)
    assert "Si cette adresse est connue" in (await user.next_message()).text
    return user


async def test_the_code_sent_by_email_links_the_account(portal, telegram, bot, smtp_sink):
    await build_town(portal.sessions, [])
    user = await _ask_code(telegram, "Parent.F1@exemple.fr")
    [mail] = smtp_sink.messages
    assert mail["To"] == "parent.f1@exemple.fr"
    code = _code(smtp_sink)
    await user.send_text("000000" if code != "000000" else "111111")
    assert "Code incorrect" in (await user.next_message()).text
    await user.send_text(code)
    assert "relié" in (await user.next_message()).text
    assert await portal.linking.actor_for_telegram_user(user.id) is not None


async def test_an_unknown_email_gets_the_same_answer_and_no_mail(portal, telegram, bot, smtp_sink):
    await build_town(portal.sessions, [])
    user = await _ask_code(telegram, "inconnu@exemple.fr")
    assert smtp_sink.messages == []
    for _ in range(4):
        await user.send_text("123456")
        assert "Code incorrect" in (await user.next_message()).text
    await user.send_text("123456")
    assert "Trop d'essais" in (await user.next_message()).text
    assert await portal.linking.actor_for_telegram_user(user.id) is None


async def test_too_many_wrong_codes_burn_the_code(portal, telegram, bot, smtp_sink):
    await build_town(portal.sessions, [])
    user = await _ask_code(telegram, "parent.f1@exemple.fr")
    code = _code(smtp_sink)
    wrong = "999999" if code != "999999" else "888888"
    for _ in range(4):
        await user.send_text(wrong)
        await user.next_message()
    await user.send_text(wrong)
    assert "Trop d'essais" in (await user.next_message()).text
    result = await portal.linking.verify_email_code(user.id, code, user.id)
    assert result.status.value == "too_many_tries"
