"""Toasts and alerts (answers to a tapped button) are plain text, never HTML.

Found black-box: a toast showed "jusqu&#x27;au lundi": catalog texts are HTML, values escaped
by `text()`, and Telegram shows a callback's answer as it is.
"""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ExtBot

from conversations.kit.live import answer, toast
from conversations.kit.texts import text


async def _answered(telegram, notice: str, *, alert: bool = False):
    """What the phone shows when a tap is answered with `notice` by the kit's `answer`."""
    user = telegram.add_user()
    query_id, answered = telegram.new_callback_query(user)
    raw = {
        "update_id": 1,
        "callback_query": {
            "id": query_id,
            "from": user.user_dict,
            "chat_instance": "toast",
            "data": "bk:day:2026-12-07",
        },
    }
    async with ExtBot(telegram.token, base_url=telegram.base_url) as bot:
        await answer(Update.de_json(raw, bot), notice, alert=alert)
    async with asyncio.timeout(5):
        return await answered


async def test_a_toast_reads_apostrophes_and_ampersands_as_typed(telegram):
    notice = text(
        "calendar.not_selectable",
        "fr",
        day="lun. 7 déc.",
        why="Réservable jusqu'au lundi <12 h> & pas après",
    )
    assert "&#x27;" in notice  # the catalog text is HTML
    shown = await _answered(telegram, notice)
    assert shown.text == "lun. 7 déc. : Réservable jusqu'au lundi <12 h> & pas après"
    assert not shown.show_alert


async def test_an_alert_is_plain_text_too(telegram):
    shown = await _answered(telegram, "<b>Lucas</b> : l&#x27;accueil est complet", alert=True)
    assert (shown.text, shown.show_alert) == ("Lucas : l'accueil est complet", True)


def test_toast_drops_tags_and_reads_entities_back():
    assert toast("<b>Solde</b> &amp; <i>factures</i>") == "Solde & factures"
    assert toast(text("stale", "fr")) == "Ce bouton n'est plus valide. Voici le menu."
    typed = text("calendar.not_selectable", "en", day="<b>", why="a&b")
    assert toast(typed) == "<b>: a&b"  # typed angle brackets are text, not tags
