"""`portail staff ... --json`: every listing as one JSON document, with what the text hides
hidden the same way; every listing of `portail staff`, `news` and `privacy` has it (read from
the parser itself)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
from datetime import date

from bot.cli import build_parser
from bot.settings import Settings
from mail.staff_digest_mail import digest_service
from store.bookings import BookingService
from store.enrolments import EnrolmentService
from store.messaging import MessagingService
from store.models.enums import BookingState
from tests.enrolment_helpers import build_enrolment_town
from tests.family_file_setup import ALLERGY, FILE_STAFF, add_file_staff, set_health
from tests.helpers import FakeClock, build_town, paris
from tests.messaging_helpers import LEISURE, add_services
from tests.staff_helpers import staff_command_aside
from tests.test_daily_list import _setup as daily_list_town
from tests.test_decide_by_reply import add_decision_services
from tests.test_staff_digest import three_requests

WEDNESDAYS = [date(2026, 12, 2), date(2026, 12, 9)]


async def _json(portal, *argv: str):
    status, out, err = await staff_command_aside(portal.settings, *argv, "--json")
    assert (status, err) == (0, ""), (argv, err)
    return json.loads(out)


async def test_each_listing_prints_one_json_document(portal, clock):
    town = await build_town(portal.sessions, WEDNESDAYS, requires_validation=True)
    await add_services(portal.sessions)
    clock.set(paris(date(2026, 11, 24)))
    [pending] = await BookingService(portal.sessions, clock).book(
        town.guardian, town.child_ids[:1], town.activity_id, WEDNESDAYS[1:]
    )
    thread = await MessagingService(portal.sessions, FakeClock()).write(
        town.guardian, LEISURE, "Bonjour,\nLucas sera absent mercredi."
    )

    [entry] = await _json(portal, "inbox")
    assert entry["thread"]["id"] == thread.id and entry["last_at"].startswith("2026-11-24T")
    assert entry["thread"]["service_name"] == "Centres de loisirs"
    shown = await _json(portal, "show", str(thread.id))
    assert [m["body"] for m in shown["messages"]] == ["Bonjour,\nLucas sera absent mercredi."]
    assert shown["messages"][0]["direction"] == "from_parent"

    work = await _json(portal, "pending")
    assert [b["booking_id"] for b in work["bookings"]] == [pending.booking_id]
    assert work["bookings"][0]["day"] == "2026-12-09"
    assert (work["certificates"], work["documents"], work["changes"]) == ([], [], 0)

    day = await _json(portal, "day", "act", "2026-12-09")
    assert (day["activity_code"], day["day"]) == ("act", "2026-12-09")
    assert [e["state"] for e in day["entries"]] == [BookingState.PENDING.value]

    assert await _json(portal, "quarantine", "list") == []
    assert await _json(portal, "enrolments", "list") == []


async def test_health_values_stay_hidden_in_json_as_in_text(portal, clock):
    town = await build_town(portal.sessions, [])
    await add_file_staff(portal.sessions, town.activity_id)
    await set_health(portal.sessions, town.child_ids[0])
    change = await portal.family_file.request_change(
        town.guardian, "child.allergies", "Kiwi", child_id=town.child_ids[0]
    )
    registration = await EnrolmentService(portal.sessions, clock).register_child(
        town.guardian, "Léa", "Martin", date(2022, 3, 12), "MS"
    )

    listed = await _json(portal, "changes", "list")
    hidden = await _json(portal, "changes", "show", str(change.id))
    for view in (*listed, hidden):
        assert (view["old_value"], view["new_value"], view["health_shown"]) == (None, None, False)
        assert ALLERGY not in json.dumps(view) and "Kiwi" not in json.dumps(view)
    shown = await _json(portal, "changes", "show", str(change.id), "--as", FILE_STAFF)
    assert (shown["old_value"], shown["new_value"]) == (ALLERGY, "Kiwi")

    [waiting] = await _json(portal, "registrations", "list")
    assert (waiting["id"], waiting["birth_date"], waiting["status"]) == (
        registration.id,
        "2022-03-12",
        "pending",
    )
    one = await _json(portal, "registrations", "show", str(registration.id))
    assert one == waiting


async def test_json_and_another_output_are_refused_together(portal):
    await build_town(portal.sessions, [])
    status, out, err = await staff_command_aside(
        portal.settings, "day", "act", "2026-12-09", "--pdf", "x.pdf", "--json"
    )
    assert (status, out) == (2, "") and "choose one" in err
    status, out, err = await staff_command_aside(
        portal.settings, "quarantine", "show", "1", "--raw", "--json"
    )
    assert (status, out) == (2, "") and "choose one" in err


# Every listing has --json ----------------------------------------------------------------------

# The commands that do something (decide, send, write a file, change a key) rather than list:
# each prints one sentence saying what it did, which --json would not make more useful.
NOT_LISTINGS = {
    "staff reply",  # answers a thread
    "staff accept",  # decides a certificate or a document
    "staff refuse",
    "staff reclassify",  # files a document under another type
    "staff validate",  # decides a booking
    "staff reject",
    "staff quarantine release",  # hands a mail set aside over
    "staff attendance",  # marks a day's attendance
    "staff changes accept",  # decides a change of a family file
    "staff changes refuse",
    "staff enrolments accept",  # decides an enrolment request
    "staff enrolments refuse",
    "staff registrations accept",  # decides a new child
    "staff registrations refuse",
    "news publish",  # sends news
    "news withdraw",
    "news closure",  # closes a day, cancels its bookings
    "privacy export",  # writes a ZIP file
    "privacy erase",  # erases a family's data
    "privacy refuse",  # refuses an erasure request
    "privacy new-key",  # prints a key, for a setting
    "privacy rotate-key",  # writes encrypted values again
    "privacy purge",  # deletes the access log past its retention
}
FAMILIES_OF_COMMANDS = ("staff", "news", "privacy")


def _leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> dict[str, argparse.ArgumentParser]:
    """Every command that runs (a parser without sub-commands), by its words."""
    found: dict[str, argparse.ArgumentParser] = {}
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        return {" ".join(path): parser}
    for group in groups:
        for name, sub in group.choices.items():
            found.update(_leaves(sub, (*path, name)))
    return found


def test_every_listing_of_staff_news_and_privacy_has_json():
    leaves = {
        path: parser
        for path, parser in _leaves(build_parser()).items()
        if path.split()[0] in FAMILIES_OF_COMMANDS
    }
    assert set(leaves) >= NOT_LISTINGS, "an exclusion names no command any more"
    listings = {path: parser for path, parser in leaves.items() if path not in NOT_LISTINGS}
    without = [
        path
        for path, parser in listings.items()
        if "--json" not in {o for action in parser._actions for o in action.option_strings}
    ]
    assert without == []
    # The listings this pass gave --json to are among those checked.
    assert {
        "staff file visibility",
        "staff digest",
        "staff daily-list",
        "privacy requests",
        "privacy access-log",
        "news list",
    } <= set(listings)


def portail(settings: Settings, *argv: str) -> tuple[int, str, str]:
    """`portail ARGV...` from the whole command line's parser: status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = build_parser().parse_args(list(argv))
            status = args.handler(settings, args)
        except SystemExit as exit_:
            status = int(exit_.code or 0)
    return status, out.getvalue(), err.getvalue()


async def _portail_json(settings: Settings, *argv: str):
    status, out, err = await asyncio.to_thread(portail, settings, *argv, "--json")
    assert (status, err) == (0, ""), (argv, err)
    return json.loads(out)


async def test_guardians_sight_and_erasure_requests_as_json(portal):
    town = await build_enrolment_town(portal.sessions)
    [sight] = await _json(portal, "file", "visibility", "F1")
    assert sight == {
        "guardian_id": town.guardian.id,
        "family_id": town.family_id,
        "name": sight["name"],
        "email": "parent.f1@exemple.fr",
        "visibility": "full",
        "linked": False,
    }
    status, out, err = await staff_command_aside(
        portal.settings, "file", "visibility", "F1", "parent.f1@exemple.fr", "limited", "--json"
    )
    assert (status, out) == (2, "") and "--json lists what each guardian sees" in err

    assert await _portail_json(portal.settings, "privacy", "requests") == []
    asked = await portal.family_rights.ask_erasure(town.guardian, town.family_id)
    [request] = await _portail_json(portal.settings, "privacy", "requests")
    assert (request["request_id"], request["family_code"]) == (asked.request_id, "F1")
    assert request["requested_at"][:4] == "2026" and request["requested_at"][10] == "T"


async def test_digest_preview_and_sending_as_json(portal, clock):
    town = await build_town(portal.sessions, [date(2026, 12, 9)])
    await add_decision_services(portal, town.activity_id)
    await set_health(portal.sessions, town.child_ids[0])
    await three_requests(portal, town, clock)
    [dossier] = await _json(portal, "digest", "--dry-run")
    assert dossier["service_code"] == "family_file"
    assert dossier["recipient"] == "dossier@montclar.example"
    assert [r["number"] for r in dossier["requests"]] == [1, 2, 3]
    assert [r["kind"] for r in dossier["requests"]] == [
        "certificate",
        "file_change",
        "registration",
    ]
    assert dossier["subject"].startswith("[Portail Famille] Dossier famille")
    assert "OK 12 15 18" in dossier["body"] and dossier["mails"] == []
    words = json.dumps(dossier, ensure_ascii=False)
    assert ALLERGY not in words and "Lefèvre" not in words
    assert await digest_service(portal).preview() != []  # a preview keeps nothing
    sent = await _json(portal, "digest", "--service", "family_file")
    assert len(sent["queued"]) == 1
    status, out, err = await staff_command_aside(portal.settings, "digest", "--service", "nope")
    assert (status, out) == (2, "") and "nope" in err


async def test_daily_list_preview_and_queuing_as_json(portal):
    await daily_list_town(portal.sessions, portal.clock)
    [preview] = await _json(portal, "daily-list", "--date", "2026-12-09", "--dry-run")
    assert preview["subject"] == "Liste du jour — CL Mercredis — mercredi 9 décembre 2026"
    assert preview["lines"][1] == "Enfants attendus : 3."
    assert preview["queued_at"] is None
    sheet = preview["sheet"]
    assert (sheet["activity_code"], sheet["day"], sheet["health_shown"]) == (
        "act",
        "2026-12-09",
        False,
    )
    assert len(sheet["entries"]) == 3
    assert all(e["allergies"] is None and e["pai"] is None for e in sheet["entries"])
    assert "arachide" not in json.dumps(preview, ensure_ascii=False)
    [queued] = await _json(portal, "daily-list", "act", "--date", "2026-12-09")
    assert (queued["activity_code"], queued["outcome"], queued["expected"]) == ("act", "queued", 3)
    [again] = await _json(portal, "daily-list", "act", "--date", "2026-12-09", "--dry-run")
    assert again["queued_at"] is not None and again["queued_at"][10] == "T"
