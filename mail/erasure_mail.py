"""The family-file service's email for a family's erasure request: which family, and the
commands that decide. No health data, no list of what the family holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mail.staff_mail import NotNeeded, StaffMail, _join, family_lines, message_id, words, writes
from store.family_rights import ERASURE_NOTICE, erasure_facts
from store.models.enums import RequestStatus
from store.staff_notices import family_facts

if TYPE_CHECKING:
    from bot.portal import Portal


@writes(ERASURE_NOTICE)
async def erasure_to_decide(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """An erasure request for the family-file service to apply or refuse."""
    request_id = int(payload["request_id"])
    facts = await erasure_facts(portal.sessions, request_id)
    if facts is None or facts.status is not RequestStatus.PENDING:
        return NotNeeded("the erasure request was decided already")
    async with portal.sessions() as session:
        family = await family_facts(session, facts.family_id)
    body = _join(
        [words("staffmail.erasure.intro")],
        family_lines(family) if family else [],
        words("staffmail.erasure.decide", id=request_id, family=facts.family_code).split("\n"),
    )
    subject = words("staffmail.erasure.subject", family=facts.family_name)
    return StaffMail(subject, body, message_id(portal, f"erasure-{request_id}.to-decide"))
