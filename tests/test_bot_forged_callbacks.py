"""Forged callback data with impossible values is answered like a stale button, never an error.

Found black-box: a callback carrying a 20-digit thread id overflowed the database's integer
("msg:hist:…"), "lang:fr\\n" (a `$` matches before a final newline) was read as a language;
both ended in the error handler, an "erreur" message and an ERROR log line.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from conversations.kit.callback_data import MAX_RECORD_ID, choice, record_id
from tests.chat_helpers import forge_tap, linked_parent
from tests.helpers import build_town
from tests.messaging_helpers import add_services

HUGE = "9" * 20
GARBAGE = [
    f"msg:hist:{HUGE}",
    f"msg:reply:{HUGE}",
    f"msg:hist:{MAX_RECORD_ID + 1}",
    f"msg:reply:{MAX_RECORD_ID + 1}",
    "msg:hist:0",
    "msg:hist:-1",
    "msg:hist:+7",
    "msg:hist: 7",
    "msg:hist:7\n",
    "msg:hist:\u0661",  # an Arabic-Indic digit: int() would read it
    f"bl:inv:{HUGE}",
    f"bl:pdf:{MAX_RECORD_ID + 1}",
    "bl:inv:1\n",
    "lang:fr\n",
    "lang:de",
    f"dc:owner:{HUGE}",
    "dc:type:nope",
    "menu:balance\x00",
]
ERROR_WORDS = ("erreur", "error")


@pytest.fixture
async def town(portal):
    town = await build_town(portal.sessions, [])
    await add_services(portal.sessions)
    return town


def _no_error_logged(caplog) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def test_garbage_outside_any_flow_is_a_stale_button(portal, telegram, bot, town, caplog):
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    menu = parent.last_message
    for data in GARBAGE:
        answer = await forge_tap(telegram, parent, menu, data)
        assert answer is not None, data
        said = (await parent.next_message()).text
        assert "plus valide" in said, (data, said)
        assert not any(word in said.lower() for word in ERROR_WORDS), (data, said)
    await parent.assert_no_message(0.1)
    _no_error_logged(caplog)


async def test_garbage_in_a_flow_is_a_stale_button_and_the_flow_goes_on(
    portal, telegram, bot, town, caplog
):
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await parent.send_command("/documents")
    await parent.next_message()
    await parent.tap("➕ Envoyer un document")
    await parent.next_message()
    await parent.tap("Certificat médical")
    owners = await parent.next_message()
    for data in (f"dc:owner:{HUGE}", "dc:owner:family\n", "dc:type:medical"):
        answer = await forge_tap(telegram, parent, owners, data)
        assert answer is not None and "plus valide" in (answer.text or ""), data
    await parent.assert_no_message(0.1)
    # Not one of the flow's buttons: the stale-button answer, with the menu; the flow stays.
    await forge_tap(telegram, parent, owners, f"msg:hist:{HUGE}")
    assert "plus valide" in (await parent.next_message()).text
    await parent.tap("Lucas", message=owners)
    assert "Certificat médical" in (await parent.next_message()).text

    await parent.send_command("/message")
    await parent.next_message()  # the documents flow, closed
    picker = await parent.next_message()
    for data in (f"msg:svc:{HUGE}", f"msg:reply:{HUGE}", f"msg:hist:{MAX_RECORD_ID + 1}"):
        answer = await forge_tap(telegram, parent, picker, data)
        assert answer is not None and answer.text, data
        assert not any(word in answer.text.lower() for word in ERROR_WORDS)
    await parent.tap("Centres de loisirs", message=picker)
    assert "Écrivez votre message" in (await parent.next_message()).text
    _no_error_logged(caplog)


async def test_a_callback_without_data_is_answered_in_plain_text(
    portal, telegram, bot, town, caplog
):
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    for data in (None, ""):
        query_id, answered = telegram.new_callback_query(parent)
        query = {
            "id": query_id,
            "from": parent.user_dict,
            "message": telegram.message_dict(parent.last_message),
            "chat_instance": "forged",
        }
        if data is not None:
            query["data"] = data
        parent.mark()
        telegram.enqueue_update({"callback_query": query})
        async with asyncio.timeout(5):
            answer = await answered
        assert answer.text == "Ce bouton n'est plus valide"
    await parent.assert_no_message(0.1)
    _no_error_logged(caplog)


def test_record_ids_and_choices_are_read_strictly():
    assert record_id("bl:inv:42", "bl:inv:") == 42
    assert record_id(f"bl:inv:{MAX_RECORD_ID}", "bl:inv:") == MAX_RECORD_ID
    for data in ("bl:inv:", f"bl:inv:{MAX_RECORD_ID + 1}", "bl:inv:042", "bl:inv:4_2", None, 42):
        assert record_id(data, "bl:inv:") is None, data
    assert choice("lang:en", "lang:", ("fr", "en")) == "en"
    assert choice("lang:en\n", "lang:", ("fr", "en")) is None
    assert choice("other:en", "lang:", ("fr", "en")) is None
