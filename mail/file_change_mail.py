"""The family-file service's email for each change of a family file waiting for its decision
(kind `file_change_to_review`, queued by `store.family_records`).

A health detail (doctor, allergies, PAI) is never written in the email: it only says that one
changed, and how to read it with the staff command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conversations.kit.formatting import format_moment
from mail.staff_mail import (
    LANGUAGE,
    NotNeeded,
    StaffMail,
    _join,
    decision_how,
    decision_reply,
    message_id,
    words,
    writes,
)
from store.decide_by_mail import RequestKind
from store.family_records import PICKUP_REMOVE, ChangeView, staff_change_facts
from store.models.enums import RequestStatus

if TYPE_CHECKING:
    from bot.portal import Portal


def _value(change: ChangeView, value: Any) -> str:
    if isinstance(value, dict):
        words_ = f"{value.get('name', '')}, {value.get('phone', '')}"
        relationship = value.get("relationship")
        return f"{words_} ({relationship})" if relationship else words_
    if isinstance(value, bool):
        if change.field.startswith("consent."):
            return words("file.consent.given" if value else "file.consent.refused")
        return words("file.yes" if value else "file.no")
    if value is None or value == "":
        return words("file.empty")
    return str(value)


@writes("file_change_to_review")
async def file_change_to_review(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """A change of a family file waiting for the family-file service."""
    change = await staff_change_facts(portal.sessions, int(payload["change_id"]))
    if change is None:
        return NotNeeded("the change no longer exists")
    if change.status is not RequestStatus.PENDING:
        return NotNeeded(f"the change is {change.status.value} already")
    field = words(f"file.field.{change.field}")
    if change.target_name and change.field != PICKUP_REMOVE:
        field = f"{field} ({change.target_name})"
    if not change.health_shown:
        what = words("staffmail.file_change.health", field=field, change_id=change.id)
    elif change.field == PICKUP_REMOVE:
        what = words(
            "staffmail.file_change.removed", field=field, old=_value(change, change.old_value)
        )
    else:
        what = words(
            "staffmail.file_change.change",
            field=field,
            old=_value(change, change.old_value),
            new=_value(change, change.new_value),
        )
    intro = words(
        "staffmail.file_change.intro",
        who=change.requested_by or words("staffmail.file_change.guardian"),
        when=format_moment(change.requested_at, LANGUAGE),
    )
    details = [what]
    if change.child_name:
        details.append(words("staffmail.file_change.child", child=change.child_name))
    body = _join(
        decision_how(RequestKind.FILE_CHANGE),
        [intro],
        details,
        [words("staffmail.family", family=change.family_name, code=change.family_code)],
        [words("staffmail.file_change.decide", change_id=change.id)],
    )
    subject = words("staffmail.file_change.subject", family=change.family_name, field=field)
    reply_to = await decision_reply(portal, RequestKind.FILE_CHANGE, [change.id])
    return StaffMail(
        subject, body, message_id(portal, f"file-change-{change.id}"), reply_to=reply_to
    )
