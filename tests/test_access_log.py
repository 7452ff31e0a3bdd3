"""The access log: each staff read of a child's health details is recorded (who, when, why),
the family's own reads and refused reads are not; a guardian reads the log of their family
only, with the service (names only when the town says so); the chat shows it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json

import pytest

from bot.access_log_cli import add_access_log_commands
from bot.privacy_cli import add_privacy_command
from store.access_log import HEALTH, AccessLogService
from store.actors import AccessDenied, Actor
from tests.chat_helpers import linked_parent
from tests.family_file_setup import add_file_staff, set_health
from tests.helpers import build_town


async def test_each_staff_read_of_health_details_is_recorded(portal):
    town = await build_town(portal.sessions, [])
    staff = await add_file_staff(portal.sessions, town.activity_id)
    child = town.child_ids[0]
    await set_health(portal.sessions, child)
    service = portal.family_file

    await service.child_file(town.guardian, child)  # the family's own read
    await service.child_file(staff.other_staff, child)  # no health shown: nothing read
    await service.child_file(staff.file_staff, child)
    await service.child_file(staff.leisure_staff, child)
    change = await service.request_change(
        town.guardian, "child.allergies", "Aucune", child_id=child
    )
    await service.change(staff.file_staff, change.id)
    await service.change(staff.other_staff, change.id)  # hidden from them: not a read

    log = AccessLogService(portal.sessions, shows_staff_names=False)
    for_staff = await log.for_family(Actor.system(), town.family_id)
    assert [(v.reader_name, v.service_name, v.what, v.why) for v in for_staff] == [
        ("Sophie Martin", "Dossier famille", HEALTH, f"file_change:{change.id}"),
        ("Nadia Belkacem", "Centres de loisirs", HEALTH, "family_file"),
        ("Sophie Martin", "Dossier famille", HEALTH, "family_file"),
    ]
    assert {v.subject for v in for_staff} == {"Lucas"}

    for_family = await log.for_family(town.guardian, town.family_id)
    assert [(v.reader_name, v.service_name) for v in for_family] == [
        (None, "Dossier famille"),
        (None, "Centres de loisirs"),
        (None, "Dossier famille"),
    ]
    named = AccessLogService(portal.sessions, shows_staff_names=True)
    assert (await named.for_family(town.guardian, town.family_id))[0].reader_name == (
        "Sophie Martin"
    )
    with pytest.raises(AccessDenied):
        await log.for_family(town.other_guardian, town.family_id)
    assert await log.for_family(town.other_guardian, town.other_family_id) == []


async def test_a_parent_reads_who_looked_in_the_chat(portal, telegram, bot):
    town = await build_town(portal.sessions, [])
    staff = await add_file_staff(portal.sessions, town.activity_id)
    await set_health(portal.sessions, town.child_ids[0])
    parent = await linked_parent(portal, telegram, "parent.f1@exemple.fr")

    await parent.send_command("/consultations")
    empty = await parent.next_message()
    assert "Personne en dehors de votre famille" in empty.text
    assert empty.buttons == ["✖ Fermer"]

    await portal.family_file.child_file(staff.file_staff, town.child_ids[0])
    await parent.send_command("/consultations")
    shown = await parent.next_message()
    assert "Qui a consulté vos données" in shown.text
    assert "Dossier famille : les informations de santé de Lucas" in shown.text
    assert "Sophie Martin" not in shown.text
    await parent.tap("✖ Fermer")
    closed = await parent.next_message()
    assert "✖ Fermer" not in closed.buttons


def _privacy(settings, *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="portail")
    add_access_log_commands(add_privacy_command(parser.add_subparsers(dest="command")))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        args = parser.parse_args(["privacy", *argv])
        status = args.handler(settings, args)
    return status, out.getvalue(), err.getvalue()


async def test_staff_list_a_familys_reads_and_run_the_purge(portal):
    town = await build_town(portal.sessions, [])
    staff = await add_file_staff(portal.sessions, town.activity_id)
    await set_health(portal.sessions, town.child_ids[0])
    await portal.family_file.child_file(staff.leisure_staff, town.child_ids[0])

    status, out, _ = await asyncio.to_thread(_privacy, portal.settings, "access-log", "F1")
    assert status == 0
    assert (
        "Centres de loisirs  Nadia Belkacem  health #" in out and "(Lucas)  for family_file" in out
    )
    status, out, _ = await asyncio.to_thread(
        _privacy, portal.settings, "access-log", str(town.family_id), "--json"
    )
    [entry] = json.loads(out)
    assert (entry["reader_name"], entry["what"], entry["subject"]) == (
        "Nadia Belkacem",
        "health",
        "Lucas",
    )
    status, _, err = await asyncio.to_thread(_privacy, portal.settings, "access-log", "F99")
    assert status == 2 and "No family has the code or number F99." in err
    status, out, _ = await asyncio.to_thread(_privacy, portal.settings, "purge")
    assert status == 0 and "0 certificate(s), 0 document(s)" in out
