"""`portail staff ... --json`: every listing as one JSON document, with what the text hides
hidden the same way."""

from __future__ import annotations

import json
from datetime import date

from store.bookings import BookingService
from store.enrolments import EnrolmentService
from store.messaging import MessagingService
from store.models.enums import BookingState
from tests.family_file_setup import ALLERGY, FILE_STAFF, add_file_staff, set_health
from tests.helpers import FakeClock, build_town, paris
from tests.messaging_helpers import LEISURE, add_services
from tests.staff_helpers import staff_command_aside

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
