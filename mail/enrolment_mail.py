"""The services' emails for enrolment requests and pre-registrations of a new child.

Queued by `store.enrolments` with each request: an enrolment goes to the activity's service, a
new child to the family-file service. Each says the least that lets staff decide: the child's
first name, the activity, the start date and weekdays (or the new child's identity), the family,
and the command that decides. No health data. A request decided before its email goes is not
mailed any more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from babel.dates import get_day_names

from conversations.kit.formatting import long_day
from mail.staff_mail import (
    LANGUAGE,
    NotNeeded,
    StaffMail,
    _join,
    decision_how,
    decision_reply,
    family_lines,
    message_id,
    words,
    writes,
)
from store.decide_by_mail import RequestKind
from store.enrolments import (
    NOT_AT_SCHOOL,
    OPEN,
    activity_place,
    enrolment_facts,
    registration_facts,
)
from store.models.enums import RequestStatus
from store.staff_notices import FamilyFacts, family_facts

if TYPE_CHECKING:
    from bot.portal import Portal


def _weekdays(weekdays: tuple[int, ...]) -> str:
    names = get_day_names("wide", locale="fr_FR")
    return ", ".join(str(names[day]) for day in sorted(weekdays)) or "—"


async def _family(portal: Portal, family_id: int) -> FamilyFacts | None:
    async with portal.sessions() as session:
        return await family_facts(session, family_id)


@writes("enrolment_to_decide")
async def enrolment_to_decide(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """An enrolment request for the activity's service to decide."""
    view = await enrolment_facts(portal.sessions, int(payload["request_id"]))
    if view is None or view.status not in OPEN:
        return NotNeeded("the enrolment request was decided already")
    place = await activity_place(portal.sessions, view.activity_id)
    facility = place[1] if place else ""
    start = long_day(view.starts_on, LANGUAGE)
    intro = [
        words(
            "staffmail.enrolment.intro",
            child=view.child_name,
            activity=view.activity_name,
            facility=facility,
            year=view.school_year,
        ),
        *words(
            "staffmail.enrolment.details", start=start, weekdays=_weekdays(view.weekdays)
        ).split("\n"),
    ]
    if view.status is RequestStatus.WAITLISTED:
        intro.append(words("staffmail.enrolment.waitlisted", position=view.position))
    family = await _family(portal, view.family_id)
    body = _join(
        decision_how(RequestKind.ENROLMENT),
        intro,
        family_lines(family) if family else [],
        [words("staffmail.enrolment.decide", id=view.id)],
    )
    subject = words(
        "staffmail.enrolment.subject",
        child=view.child_name,
        activity=view.activity_name,
        start=start,
    )
    reply_to = await decision_reply(portal, RequestKind.ENROLMENT, [view.id])
    return StaffMail(
        subject, body, message_id(portal, f"enrolment-{view.id}.to-decide"), reply_to=reply_to
    )


@writes("registration_to_decide")
async def registration_to_decide(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """A new child for the family-file service to check."""
    view = await registration_facts(portal.sessions, int(payload["registration_id"]))
    if view is None or view.status is not RequestStatus.PENDING:
        return NotNeeded("the pre-registration was decided already")
    level = (
        words("enrolment.level_none") if view.school_level == NOT_AT_SCHOOL else view.school_level
    )
    intro = words(
        "staffmail.registration.intro",
        first_name=view.first_name,
        last_name=view.last_name,
        birth=long_day(view.birth_date, LANGUAGE),
        level=level,
    ).split("\n")
    family = await _family(portal, view.family_id)
    body = _join(
        decision_how(RequestKind.REGISTRATION),
        intro,
        family_lines(family) if family else [],
        [words("staffmail.registration.decide", id=view.id)],
    )
    subject = words(
        "staffmail.registration.subject", first_name=view.first_name, last_name=view.last_name
    )
    reply_to = await decision_reply(portal, RequestKind.REGISTRATION, [view.id])
    return StaffMail(
        subject,
        body,
        message_id(portal, f"registration-{view.id}.to-decide"),
        reply_to=reply_to,
    )
