"""Attendance end to end: staff mark an absence nobody announced from the command line, and the
parent reads it in the chat (through the local Bot API), sees the day absent and billed on "Mon
planning" (in words and in the picture's colour), and the amount in the balance."""

from __future__ import annotations

import io
from datetime import date
from html import unescape

from PIL import Image

from bot.settings import Settings
from conversations.kit.month_picture import STYLES, draw_month
from store.bookings import BookingService
from store.month_view import CellState, MonthViewService
from store.planning import PlanningService
from tests.chat_helpers import linked_parent
from tests.helpers import build_town, paris
from tests.staff_helpers import staff_command_aside

WEDNESDAYS = [date(2026, 12, d) for d in (2, 9, 16)]
RULES = {
    "booking": {"rule": "days_before", "days": 3, "count": "calendar", "time": "12:00"},
    "unannounced_absence": {"mode": "surcharge", "fixed": "1,00"},
}


def _plain(words: str | None) -> str:
    return unescape(words or "").replace("\u00a0", " ").replace("\u202f", " ")


async def test_an_unannounced_absence_reaches_the_parent_the_planning_and_the_balance(
    portal, telegram, bot, clock, database_url, tmp_path
):
    town = await build_town(portal.sessions, WEDNESDAYS, rules=RULES)
    clock.set(paris(date(2026, 11, 20)))
    lucas = town.child_ids[0]
    await BookingService(portal.sessions, clock).book(
        town.guardian, [lucas], town.activity_id, WEDNESDAYS[:2]
    )
    clock.set(paris(date(2026, 12, 3)))
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")

    # Staff, from another terminal, on the same store: Lucas was not there on the 2nd.
    settings = Settings(
        database_url=database_url, documents_dir=tmp_path / "documents", _env_file=None
    )
    status, out, err = await staff_command_aside(
        settings, "attendance", "act", "2026-12-02", "--absent", "Lucas F1"
    )
    assert (status, err) == (0, "")
    assert "absent unannounced 1 billed 5,10 €" in out

    notice = await parent.wait_for_message(lambda m: "Absence non signalée" in (m.text or ""))
    words = _plain(notice.text)
    assert words.startswith(
        "⚠️ Absence non signalée : Lucas, CL Mercredis du mercredi 2 décembre — facturée "
        "5,10 € (dont 1,00 € de majoration)."
    )
    assert "certificat médical daté de ce jour" in words
    assert notice.buttons == ["🤒 Signaler une absence"]
    await parent.assert_no_message()  # one message, not one per attempt

    # Mon planning: the 2nd absent and billed, in words and in the picture.
    await parent.send_command("/planning")
    picture = await parent.wait_for_message(lambda message: message.photo is not None)
    await parent.tap("📝 Version texte", message=picture)
    month_words = _plain((await parent.next_message()).text)
    assert "Lucas · CL Mercredis — " in month_words
    lucas_line = next(line for line in month_words.split("\n") if line.startswith("Lucas"))
    assert "absent, facturé : 2" in lucas_line
    views = MonthViewService(portal.sessions, PlanningService(portal.sessions, clock))
    month = await views.family_month(town.guardian, WEDNESDAYS[0], date(2026, 12, 3))
    row = next(i for i, r in enumerate(month.rows) if r.child_id == lucas)
    box = draw_month(month, "fr").cells[(row, WEDNESDAYS[0])]
    assert picture.photo_bytes is not None
    image = Image.open(io.BytesIO(picture.photo_bytes)).convert("RGB")
    assert image.getpixel((box[0] + 3, box[1] + 3)) == STYLES[CellState.ABSENT_BILLED].fill

    # The balance: the 2nd (4,10 € and 1,00 €) and the 9th (4,10 €), not invoiced yet.
    await parent.send_command("/solde")
    balance = await parent.wait_for_message(lambda m: "pas encore facturé" in (m.text or ""))
    assert "pas encore facturé : 9,20 €" in _plain(balance.text)

    # The notice's button opens the absence report, to send the certificate.
    await parent.tap("🤒 Signaler une absence", message=notice)
    asked = await parent.next_message()
    assert "Lucas" in " ".join(asked.buttons) or "Lucas" in _plain(asked.text)
