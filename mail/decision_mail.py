"""The answer a staff member gets to a decision sent by replying (kind `decision_answer`, queued
by `store.decide_by_mail`): the one-line confirmation ("Accepté : certificat de Lucas M.,
3–5 déc."), or why nothing changed. It names the request by a child's first name and initial,
dates, an activity or a file's field: never a health detail.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from babel.dates import format_date

from conversations.kit.texts import CATALOG
from mail.staff_mail import NotNeeded, StaffMail, _join, message_id, words, writes
from store.decide_by_mail import DECISION_ANSWER, Outcome, RequestKind

if TYPE_CHECKING:
    from bot.portal import Portal

# Days named in a bookings' answer before "…".
SHOWN_DAYS = 3


def _short(day: date) -> str:
    """ "3 déc."."""
    return format_date(day, "d MMM", locale="fr_FR")


def _closed(line: str) -> str:
    """A line ending with one full stop ("… 3 déc." stays as it is)."""
    return line if line.endswith((".", "…")) else line + "."


def short_span(start: date, end: date) -> str:
    """ "3 déc.", "3–5 déc.", "30 nov. – 2 déc."."""
    if start == end:
        return _short(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{_short(end)}"
    return f"{_short(start)} – {_short(end)}"


def _doc_type(value: str | None) -> str:
    entry = CATALOG.get(f"doc.{value}")
    return entry["fr"] if entry else words("staffmail.unnamed")


def what(kind: RequestKind, details: dict[str, Any]) -> str:
    """The request, in a few words."""
    child = details.get("child") or ""
    if kind is RequestKind.CERTIFICATE:
        span = short_span(date.fromisoformat(details["start"]), date.fromisoformat(details["end"]))
        return words("decidemail.what.certificate", child=child, dates=span)
    if kind is RequestKind.DOCUMENT:
        if int(details.get("count") or 1) > 1:
            return words("decidemail.what.documents", count=details["count"])
        doc_type = _doc_type(details.get("doc_type"))
        if child:
            return words("decidemail.what.document", doc_type=doc_type, child=child)
        return words("decidemail.what.document_family", doc_type=doc_type)
    if kind is RequestKind.BOOKINGS:
        days = [date.fromisoformat(day) for day in details.get("days", [])]
        shown = ", ".join(_short(day) for day in days[:SHOWN_DAYS])
        if len(days) > SHOWN_DAYS:
            shown += "…"
        return words(
            "decidemail.what.bookings", child=child, activity=details["activity"], days=shown
        )
    if kind is RequestKind.FILE_CHANGE:
        field = words(f"file.field.{details['field']}")
        if child:
            return words("decidemail.what.file_change_child", field=field, child=child)
        return words("decidemail.what.file_change", field=field)
    if kind is RequestKind.ENROLMENT:
        start = _short(date.fromisoformat(details["start"]))
        return words(
            "decidemail.what.enrolment", child=child, activity=details["activity"], start=start
        )
    return words("decidemail.what.registration", child=child)


def answer_lines(outcome: Outcome, kind: RequestKind, details: dict[str, Any]) -> list[str]:
    """The answer's lines: the first one is its subject too."""
    if outcome in (Outcome.NOT_AUTHENTICATED, Outcome.NOT_STAFF, Outcome.GONE):
        return [words(f"decidemail.{outcome.value}")]
    request = what(kind, details)
    if outcome is Outcome.DECIDED:
        if details.get("accept"):
            lines = [_closed(words("decidemail.accepted", what=request))]
            if details.get("filed_as"):
                lines.append(words("decidemail.filed_as", doc_type=_doc_type(details["filed_as"])))
        else:
            lines = [_closed(words("decidemail.refused", what=request))]
            lines.append(words("decidemail.refused_reason", reason=details.get("reason", "")))
        return [*lines, words("decidemail.told")]
    if outcome is Outcome.NOT_UNDERSTOOD:
        word = details.get("first_word")
        if not word:  # nothing left once the signature and the quoted history are cut
            return [words("decidemail.empty", what=request)]
        return [words("decidemail.not_understood", word=word, what=request)]
    if outcome is Outcome.ALREADY_DECIDED:
        by = words("decidemail.by", name=details["by"]) if details.get("by") else ""
        key = (
            "decidemail.already_accepted"
            if details.get("accept")
            else "decidemail.already_refused"
        )
        return [words(key, what=request, by=by)]
    if outcome is Outcome.NOT_APPLIED:
        why_key = f"decidemail.why.{details.get('why')}"
        why = words(why_key) if why_key in CATALOG else ""
        return [words("decidemail.not_applied", what=request, why=why)]
    return [words(f"decidemail.{outcome.value}", what=request)]


@writes(DECISION_ANSWER)
async def decision_answer(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """The answer to one decision reply."""
    outcome = Outcome(payload["outcome"])
    kind = RequestKind(payload["request"])
    lines = answer_lines(outcome, kind, payload)
    subject_line = lines[0]
    if outcome in (Outcome.NOT_AUTHENTICATED, Outcome.NOT_STAFF, Outcome.GONE):
        # Nothing of the request is named: the sender may not be who they say.
        subject_line = words("decidemail.unchanged", what="").rstrip(" :")
    elif outcome is not Outcome.DECIDED:
        subject_line = words("decidemail.unchanged", what=what(kind, payload))
    return StaffMail(
        words("decidemail.subject", line=subject_line),
        _join(lines),
        message_id(portal, f"decision-answer-{int(payload['mail_id'])}"),
        auto_submitted="auto-replied",
    )
