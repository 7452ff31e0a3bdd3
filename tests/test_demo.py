"""`portail demo`: a newcomer chats with the real bot through the terminal demo."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import smtplib
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import date
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.demo import DemoSession, add_demo_command, cmd_demo, format_keyboard, numbered_buttons
from bot.settings import Settings
from fake_telegram import ChatMessage
from store.models import Booking
from store.models.enums import BookingState

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 11, 24)  # a Tuesday: Wednesday 2 December is still bookable on time
ACTIVITY = "CL Élémentaire Mercredis – Journée avec repas"
BUTTON = re.compile(r"\[(\d+)\] ?(.+?)(?=\s+\[\d+\]|\s{2,}|$)")


def number_of(lines: list[str], label: str, *, prefix: bool = False) -> str:
    """The number printed before the button `label` (the latest one printed)."""
    for line in reversed(lines):
        for number, shown in BUTTON.findall(line):
            shown = shown.strip()
            if shown == label or (prefix and shown.startswith(label)):
                return number
    raise AssertionError(f"no button {label!r} in:\n" + "\n".join(lines))


@pytest.fixture
async def demo(database_url: str, tmp_path: Path) -> AsyncIterator[DemoSession]:
    settings = Settings(conversation_timeout_seconds=30, _env_file=None)  # type: ignore[call-arg]
    session = DemoSession(
        database_url,
        documents_dir=tmp_path / "documents",
        today=TODAY,
        settings=settings,
        settle=0.2,
    )
    yield session
    await session.close()


async def test_a_newcomer_books_a_day_then_cancels_it(demo: DemoSession) -> None:
    screen = await demo.start()
    joined = "\n".join(screen)
    assert "Bonjour Camille" in joined
    assert "Que souhaitez-vous faire ?" in joined
    assert "   [1] 📅 Réserver des jours" in screen

    screen = await demo.handle_line(number_of(screen, "📅 Réserver des jours"))
    assert screen[0] == "👆 📅 Réserver des jours"
    # Famille Martin has one child, Lucas: the bot goes straight to his activities.
    assert any(line.startswith("🤖 (modifié) Quelle activité") for line in screen)
    screen = await demo.handle_line(number_of(screen, ACTIVITY))
    assert "novembre 2026" in "\n".join(screen)
    screen = await demo.handle_line(number_of(screen, "▶"))
    assert "décembre 2026" in "\n".join(screen)
    screen = await demo.handle_line(number_of(screen, "2"))
    screen = await demo.handle_line(number_of(screen, "Valider (1)"))
    assert any("Lucas" in line and "4,80 €" in line for line in screen)
    screen = await demo.handle_line(number_of(screen, "✅ Confirmer"))
    assert "réservé" in "\n".join(screen)

    screen = await demo.handle_line(number_of(screen, "☰ Menu"))
    screen = await demo.handle_line(number_of(screen, "🗑 Annuler des jours"))
    screen = await demo.handle_line(number_of(screen, "mer. 2 déc. · Lucas", prefix=True))
    screen = await demo.handle_line(number_of(screen, "Valider (1)"))
    assert "annulation gratuite" in "\n".join(screen)
    screen = await demo.handle_line(number_of(screen, "✅ Confirmer"))
    assert "annulé" in "\n".join(screen)

    assert demo.portal is not None
    async with demo.portal.sessions() as session:
        [booking] = await session.scalars(select(Booking))
    assert (booking.day, booking.state) == (date(2026, 12, 2), BookingState.CANCELLED)

    assert await demo.handle_line("/quit") == ["Au revoir !"]
    assert demo.done


async def test_typed_lines_that_are_not_taps(demo: DemoSession) -> None:
    await demo.start()
    assert (await demo.handle_line("42"))[0].startswith("(Pas de bouton n°42")
    assert any("/quit" in line for line in await demo.handle_line("/aide"))
    again = await demo.handle_line("")
    assert "   [1] 📅 Réserver des jours" in again
    answer = await demo.handle_line("bonjour")
    assert "🤖 Que souhaitez-vous faire ?" in answer


def test_calendar_keyboards_print_one_compact_line_per_row() -> None:
    def button(label: str, data: str) -> dict[str, str]:
        return {"text": label, "callback_data": data}

    noop = "bk:noop"
    message = ChatMessage(
        message_id=1,
        chat_id=1,
        from_bot=True,
        date=0,
        text="Calendrier",
        reply_markup={
            "inline_keyboard": [
                [button(letter, noop) for letter in "LMMJVSD"],
                [button(" ", noop)] * 7,
                [button(" ", noop), button(" ", noop), button("2", "d:2"), button("⛔3", "d:3")]
                + [button(" ", noop)] * 3,
                [button("◀", "m:11"), button("décembre 2026", noop), button("▶", "m:01")],
                [button("Valider (0)", "review"), button("✖ Abandonner", "abort")],
            ]
        },
    )
    numbers = [n for row in numbered_buttons(message) for n, _ in row if n]
    assert numbers == [1, 2, 3, 4, 5, 6]
    assert format_keyboard(message) == [
        "   L      M      M      J      V      S      D",
        "                 [1]2   [2]⛔3",
        "   [3] ◀   décembre 2026   [4] ▶",
        "   [5] Valider (0)   [6] ✖ Abandonner",
    ]


def test_the_demo_subcommand_and_its_options() -> None:
    parser = argparse.ArgumentParser(prog="portail")
    add_demo_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["demo", "--today", "2026-11-24", "--database", "x.sqlite3"])
    assert args.handler is cmd_demo
    assert (args.today, args.database, args.reset) == (TODAY, "x.sqlite3", False)
    assert parser.parse_args(["demo"]).database == "var/demo.sqlite3"


def test_the_command_runs_end_to_end_with_piped_input(tmp_path: Path) -> None:
    database = tmp_path / "var" / "demo.sqlite3"
    result = subprocess.run(
        [sys.executable, "-m", "bot.demo", "--database", str(database), "--today", "2026-11-24"],
        input="1\n/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1] 📅 Réserver des jours" in out
    assert out.index("Que souhaitez-vous faire ?") < out.index("Quelle activité ?")
    assert out.rstrip().endswith("Au revoir !")
    assert "Traceback" not in result.stderr
    assert database.exists() and (database.parent / "demo-documents").is_dir()


async def test_an_absence_with_a_certificate_the_balance_and_a_staff_reply(
    demo: DemoSession, tmp_path: Path, database_url: str
) -> None:
    screen = await demo.start()
    screen = await demo.handle_line(number_of(screen, "🤒 Signaler une absence"))
    screen = await demo.handle_line("mercredi 2 décembre")
    screen = await demo.handle_line(number_of(screen, "🤒 Maladie"))
    certificate = tmp_path / "certificat.pdf"
    certificate.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n")
    screen = await demo.handle_line(f"/fichier {certificate}")
    assert screen[0] == "📎 certificat.pdf"
    screen = await demo.handle_line(number_of(screen, "✅ Confirmer"))
    assert "ABS-" in "\n".join(screen)

    screen = await demo.handle_line("/solde")
    assert "FAC-2026-10-001" in "\n".join(screen)
    screen = await demo.handle_line(number_of(screen, "FAC-2026-10-001", prefix=True))
    assert "Restauration scolaire" in "\n".join(screen)

    screen = await demo.handle_line("/message")
    screen = await demo.handle_line(number_of(screen, "Centres de loisirs"))
    screen = await demo.handle_line("Bonjour, Lucas peut-il venir avec son vélo ?")
    screen = await demo.handle_line(number_of(screen, "📨 Envoyer", prefix=True))
    assert "envoyé" in "\n".join(screen)

    from bot.cli import build_parser
    from store.models import Thread

    async with demo.portal.sessions() as session:
        thread_id = await session.scalar(select(Thread.id))
    settings = Settings(database_url=database_url, _env_file=None)  # type: ignore[call-arg]
    args = build_parser().parse_args(
        [
            "staff",
            "reply",
            str(thread_id),
            "Oui, avec un casque.",
            "--as",
            "j.roux@montclar.example",
        ]
    )
    assert await asyncio.to_thread(args.handler, settings, args) == 0
    screen = await demo.wait_for("Oui, avec un casque.", 10)
    assert "Oui, avec un casque." in "\n".join(screen)


def _send_as_staff(port: int, notification: EmailMessage, text: str) -> None:
    """A staff member answers the notification from their mail client (as swaks would)."""
    answer = EmailMessage()
    answer["From"] = "Julien Roux <j.roux@montclar.example>"
    answer["To"] = notification["Reply-To"]
    answer["Subject"] = "RE: " + notification["Subject"]
    answer["Message-ID"] = make_msgid(domain="montclar.example")
    answer["In-Reply-To"] = notification["Message-ID"]
    answer.set_content(
        f"{text}\n\nJulien\n\nLe mar. 24 nov. 2026 à 10:00, Portail Famille a écrit :\n"
        "> Bonjour, Lucas peut-il venir avec son vélo ?\n"
    )
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.sendmail(
            "j.roux@montclar.example",
            [notification["Reply-To"]],
            answer.as_bytes(policy=SMTP_POLICY),
        )


async def test_a_message_emails_the_service_and_its_email_answer_reaches_the_chat(
    demo: DemoSession,
) -> None:
    screen = await demo.start()
    assert f"127.0.0.1:{demo.mail_port}" in "\n".join(screen)
    screen = await demo.handle_line("/message")
    screen = await demo.handle_line(number_of(screen, "Centres de loisirs"))
    screen = await demo.handle_line("Bonjour, Lucas peut-il venir avec son vélo ?")
    screen = await demo.handle_line(number_of(screen, "📨 Envoyer", prefix=True))
    screen += await demo.wait_for("📧 ", 10)
    shown = "\n".join(screen)
    assert "📧 À centres-loisirs@montclar.example : [Portail Famille] Famille Martin" in shown
    [mail] = demo.mails
    assert mail["To"] == "centres-loisirs@montclar.example"
    assert f"--from j.roux@montclar.example --to {mail['Reply-To']}" in shown

    await asyncio.to_thread(_send_as_staff, demo.mail_port, mail, "Oui, avec un casque.")
    screen = await demo.wait_for("Oui, avec un casque.", 10)
    assert "Oui, avec un casque." in "\n".join(screen)
    assert "a écrit" not in "\n".join(screen)

    screen = await demo.handle_line("/repondre Et une gourde, merci.")
    assert screen[0].startswith("✉ j.roux@montclar.example répond par email")
    assert "Et une gourde, merci." in "\n".join(screen[1:])
    screen = await demo.handle_line("/mails")
    assert "── Email n° 1" in screen[1] and f"Reply-To: {mail['Reply-To']}" in screen
