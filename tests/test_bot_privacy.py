"""Mes données and the information notice in the chat, end to end through the local Bot API:
the download of the family's data as a ZIP (paced), the erasure request (in Mes demandes, mailed
to the family-file service, applied by staff on the command line), and /confidentialite in
French and English from the town's settings."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import zipfile
from datetime import timedelta

from sqlalchemy import select

from bot.privacy_cli import add_privacy_command
from bot.settings import Settings
from store.actors import Actor
from store.models import Child, ErasureRequest, Family, Guardian
from store.models.enums import RequestStatus
from tests.chat_helpers import linked_parent
from tests.enrolment_helpers import FILE_STAFF, build_enrolment_town
from tests.family_file_helpers import speak_english
from tests.family_file_setup import ALLERGY, set_health
from tests.mail_helpers import wait_for_mails

HOME_BUTTONS = [
    "📦 Télécharger nos données",
    "🗑 Demander l'effacement",
    "🔎 Qui a consulté nos données",
    "ℹ️ Confidentialité",
    "✖ Fermer",
]


def privacy_command(settings: Settings, *argv: str) -> tuple[int, str, str]:
    """`portail privacy ARGV...` as staff run it: status, stdout, stderr."""
    parser = argparse.ArgumentParser(prog="portail")
    add_privacy_command(parser.add_subparsers(dest="command", required=True))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = parser.parse_args(["privacy", *argv])
            status = args.handler(settings, args)
        except SystemExit as exit_:
            status = int(exit_.code or 0)
    return status, out.getvalue(), err.getvalue()


async def _lucas(portal) -> Child:
    async with portal.sessions() as session:
        return (await session.scalars(select(Child).where(Child.first_name == "Lucas"))).one()


async def _open(parent):
    await parent.send_command("/mesdonnees")
    home = await parent.wait_for_message(lambda m: "Mes données" in (m.text or ""))
    assert home.buttons == HOME_BUTTONS
    return home


async def test_download_our_data_then_too_soon_then_again(portal, telegram, clock, bot):
    await build_enrolment_town(portal.sessions)
    await set_health(portal.sessions, (await _lucas(portal)).id)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _open(parent)
    await parent.tap("📦 Télécharger nos données")
    confirm = await parent.next_message()
    assert "fichier ZIP" in confirm.text
    assert confirm.buttons == ["✅ Recevoir le fichier", "↩ Retour"]
    await parent.tap("✅ Recevoir le fichier")
    sent = await parent.wait_for_message(lambda m: m.document is not None)
    assert sent.document_name.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(sent.document_bytes)) as archive:
        assert "LISEZMOI.txt" in archive.namelist()
        household = json.loads(archive.read("famille.json"))
    assert [c["first_name"] for c in household["children"]] == ["Lucas"]
    assert household["children"][0]["allergies"] == ALLERGY
    assert "Jade" not in json.dumps(household, ensure_ascii=False)
    await parent.wait_for_message(lambda m: "vous a été envoyé" in (m.text or ""))

    # Tapped again at once (the old confirm, or a new one): too soon, said plainly.
    await parent.tap("↩ Retour")
    await parent.next_message()
    await parent.tap("📦 Télécharger nos données")
    await parent.next_message()
    await parent.tap("✅ Recevoir le fichier")
    soon = await parent.next_message()
    assert "déjà été téléchargées" in soon.text
    assert soon.document is None

    clock.set(clock.now + timedelta(minutes=61))
    await parent.tap("↩ Retour")
    await parent.next_message()
    await parent.tap("📦 Télécharger nos données")
    await parent.next_message()
    await parent.tap("✅ Recevoir le fichier")
    again = await parent.wait_for_message(lambda m: m.document is not None)
    assert again.document_name.endswith(".zip")


async def test_erasure_request_mailed_listed_then_applied_by_staff(
    portal, telegram, bot, smtp_sink
):
    await build_enrolment_town(portal.sessions)
    await set_health(portal.sessions, (await _lucas(portal)).id)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await _open(parent)
    await parent.tap("🗑 Demander l'effacement")
    explained = await parent.next_message()
    assert "10 ans" in explained.text and "informations de santé" in explained.text
    assert explained.buttons == ["✅ Envoyer la demande", "↩ Retour"]
    await parent.tap("✅ Envoyer la demande")
    sent = await parent.next_message()
    assert "demande d'effacement a été envoyée" in sent.text

    [mail] = await wait_for_mails(smtp_sink)
    assert mail["To"] == "dossier@ville.fr"
    assert mail["Subject"] == "Demande d'effacement des données : Famille F1"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "portail privacy erase F1" in body and ALLERGY not in body

    # Asked twice: one request.
    await parent.tap("↩ Retour")
    await parent.next_message()
    await parent.tap("🗑 Demander l'effacement")
    await parent.next_message()
    await parent.tap("✅ Envoyer la demande")
    assert "déjà en cours" in (await parent.next_message()).text

    await parent.send_command("/demandes")
    listing = await parent.wait_for_message(lambda m: "Effacement des données" in (m.text or ""))
    assert "toutes les données de la famille" in listing.text

    status, out, _ = await asyncio.to_thread(privacy_command, portal.settings, "requests")
    assert status == 0 and "F1" in out
    status, out, err = await asyncio.to_thread(
        privacy_command, portal.settings, "erase", "F1", "--yes", "--as", FILE_STAFF
    )
    assert status == 0, err
    assert "erased" in out
    lucas = await _lucas(portal)
    assert lucas.allergies is None and lucas.doctor is None and not lucas.pai
    async with portal.sessions() as session:
        [request] = await session.scalars(select(ErasureRequest))
        guardian = (
            await session.scalars(select(Guardian).where(Guardian.email == "parent.f1@exemple.fr"))
        ).one()
    assert request.status is RequestStatus.ACCEPTED
    assert guardian.telegram_user_id is None
    parent.mark()
    await parent.send_command("/menu")
    assert "pas relié" in (await parent.next_message()).text


async def test_notice_in_french_with_the_towns_settings(portal, telegram, bot):
    portal.settings.privacy_controller = "Mairie de Montclar"
    portal.settings.privacy_dpo_contact = "dpo@montclar.example"
    await build_enrolment_town(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    assert any("/confidentialite" in (m.text or "") for m in parent.messages)
    await parent.send_command("/confidentialite")
    notice = await parent.wait_for_message(lambda m: "Confidentialité" in (m.text or ""))
    assert "Mairie de Montclar" in notice.text
    assert "dpo@montclar.example" in notice.text
    assert "CNIL" in notice.text and "effacement" in notice.text and "10 ans" in notice.text
    assert notice.buttons == ["↩ Retour", "✖ Fermer"]
    await parent.tap("✖ Fermer")
    closed = await parent.next_message()
    assert "Mairie de Montclar" in closed.text


async def test_notice_in_english_without_settings(portal, telegram, bot):
    await build_enrolment_town(portal.sessions)
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")
    await speak_english(portal, parent)
    await parent.send_command("/confidentialite")
    notice = await parent.wait_for_message(lambda m: "Privacy" in (m.text or ""))
    assert "has not filled in its name" in notice.text
    assert "not filled in by the town yet" in notice.text
    assert "CNIL" in notice.text and "erasure" in notice.text


async def test_staff_export_writes_a_private_zip_and_refuses_an_unknown_family(portal, tmp_path):
    await build_enrolment_town(portal.sessions)
    out = tmp_path / "f1.zip"
    status, printed, err = await asyncio.to_thread(
        privacy_command, portal.settings, "export", "F1", "--out", str(out), "--as", FILE_STAFF
    )
    assert status == 0, err
    assert "exported" in printed and oct(out.stat().st_mode & 0o777) == "0o600"
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("famille.json"))["family"]["code"] == "F1"
    # The export by staff is in the family's access log, with who made it.
    async with portal.sessions() as session:
        family_id = await session.scalar(select(Family.id).where(Family.code == "F1"))
    [read] = await portal.access_log.for_family(Actor.system(), family_id)
    assert (read.what, read.why, read.reader_name) == ("export", "export", "Agent dossier")
    status, _, err = await asyncio.to_thread(
        privacy_command, portal.settings, "export", "NOPE", "--out", str(out)
    )
    assert (status, err) == (2, "No family has the code or number NOPE.\n")
