"""The digest a service gets each morning (kind `staff_digest`) and the answer to a reply to it
(kind `staff_digest_answer`), queued by `store.staff_digest`.

The digest, in French like every staff email, says first how to answer ("OK 12 15 18",
"REFUS 13 complet", "LIBÉRER 21", "SUPPRIMER 22"), then lists the requests still waiting,
oldest first (code, what it is: a child's first name and initial, dates, an activity; never a
health detail), then the mails set aside for the service (code, sender, subject shortened,
when). Its reply address is a fresh token bound to that digest. A digest whose requests and
mails were all dealt with before it left is not sent. The answer sums a reply up, one line per
code: what was accepted, refused, released, dropped, or why not.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from babel.dates import format_date

from conversations.kit.formatting import format_moment
from conversations.kit.texts import CATALOG, counted_key
from mail.decision_mail import what
from mail.inbound import decision_replies
from mail.staff_mail import NotNeeded, StaffMail, _join, message_id, words, writes
from store.decide_by_mail import Outcome, RequestKind
from store.staff_digest import (
    CODE_DAYS,
    STAFF_DIGEST_ANSWER,
    STAFF_DIGEST_MAIL,
    DigestContent,
    DigestSchedule,
    DigestService,
    LineOutcome,
)

if TYPE_CHECKING:
    from bot.portal import Portal

LANGUAGE = "fr"
# Whole-reply outcomes answered with the single decision's sentence.
SHARED_ANSWERS = (Outcome.NOT_AUTHENTICATED, Outcome.NOT_STAFF)


def digest_service(portal: Portal) -> DigestService:
    """The digests on the portal's store, clock and settings."""
    return DigestService(
        portal.sessions,
        decision_replies(portal),
        clock=portal.clock,
        schedule=DigestSchedule.from_settings(portal.settings),
    )


def digest_text(content: DigestContent, day: date) -> tuple[str, str]:
    """(subject, body) of a digest."""
    how = [
        words("digest.how"),
        words("digest.how.accept"),
        words("digest.how.refuse"),
        *([words("digest.how.release"), words("digest.how.drop")] if content.mails else []),
        words("digest.how.valid", days=CODE_DAYS),
    ]
    requests = []
    if content.requests:
        requests.append(words("digest.requests", count=len(content.requests)))
        requests += [
            words("digest.request", code=item.number, what=what(item.kind, item.details))
            for item in content.requests
        ]
    mails = []
    if content.mails:
        mails.append(words("digest.mails", count=len(content.mails)))
        for mail in content.mails:
            mails.append(
                words(
                    "digest.mail",
                    code=mail.number,
                    sender=mail.sender or "?",
                    subject=mail.subject or words("digest.no_subject"),
                    when=format_moment(mail.received_at, LANGUAGE),
                )
            )
    subject = words(
        "digest.subject",
        service=content.service_name,
        day=format_moment_day(day),
        requests=_counted("digest.subject.requests", len(content.requests)),
        mails=_counted("digest.subject.mails", len(content.mails)),
    )
    return subject, _join(how, requests, mails)


def _counted(key: str, count: int) -> str:
    """ "3 demandes à décider", "1 demande à décider": the noun agrees with the count."""
    return words(counted_key(key, count, LANGUAGE), count=count)


def format_moment_day(day: date) -> str:
    """ "4 déc."."""
    return format_date(day, "d MMM", locale="fr_FR")


@writes(STAFF_DIGEST_MAIL)
async def staff_digest(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """A service's digest, with its own reply address."""
    digest_id = int(payload["digest_id"])
    service = digest_service(portal)
    content = await service.contents(digest_id)
    if content is None:
        return NotNeeded("the digest no longer exists")
    if content.empty:
        return NotNeeded("everything the digest listed was dealt with meanwhile")
    subject, body = digest_text(content, portal.today())
    token = await service.new_reply_token(digest_id)
    return StaffMail(
        subject,
        body,
        message_id(portal, f"staff-digest-{digest_id}"),
        reply_to=f"reply+{token}@{portal.settings.mail_domain}",
    )


def _why(details: dict[str, Any]) -> str:
    for key in (f"decidemail.why.{details.get('why')}", f"digest.why.{details.get('why')}"):
        if key in CATALOG:
            return words(key)
    return ""


def result_line(result: dict[str, Any]) -> str:
    """One code's outcome, in a sentence."""
    outcome = LineOutcome(result["outcome"])
    code = result.get("code")
    details = dict(result.get("details") or {})
    kind = result.get("kind")
    request = (
        what(RequestKind(kind), details)
        if kind and kind != "mail" and details
        else words("digest.a_request")
    )
    if outcome is LineOutcome.ACCEPTED:
        line = words("digest.answer.accepted", what=request, code=code)
        if details.get("filed_as"):
            entry = CATALOG.get(f"doc.{details['filed_as']}")
            if entry:
                line += " " + words("decidemail.filed_as", doc_type=entry["fr"])
        return line
    if outcome is LineOutcome.REFUSED:
        return words(
            "digest.answer.refused", what=request, code=code, reason=details.get("reason", "")
        )
    if outcome is LineOutcome.ALREADY_DECIDED:
        by = words("decidemail.by", name=details["by"]) if details.get("by") else ""
        key = (
            "digest.answer.already_accepted"
            if details.get("accept")
            else ("digest.answer.already_refused")
        )
        return words(key, what=request, code=code, by=by)
    if outcome is LineOutcome.NOT_APPLIED:
        return words("digest.answer.not_applied", what=request, code=code, why=_why(details))
    if outcome in (LineOutcome.NOT_UNDERSTOOD, LineOutcome.NO_CODE):
        return words(f"digest.answer.{outcome.value}", line=result.get("line", ""))
    if outcome is LineOutcome.NOT_RELEASABLE:
        return words("digest.answer.not_releasable", code=code, mail_id=result.get("mail_id"))
    if outcome in (LineOutcome.RELEASED, LineOutcome.DROPPED):
        return words(f"digest.answer.{outcome.value}", code=code, sender=result.get("sender"))
    return words(f"digest.answer.{outcome.value}", code=code, what=request)


@writes(STAFF_DIGEST_ANSWER)
async def staff_digest_answer(portal: Portal, payload: dict[str, Any]) -> StaffMail | NotNeeded:
    """The answer to one reply to a digest: one line per code, or why nothing changed."""
    outcome = str(payload["outcome"])
    mail_id = int(payload["mail_id"])
    local = message_id(portal, f"digest-answer-{mail_id}")
    if outcome in {o.value for o in SHARED_ANSWERS}:
        line = words(f"decidemail.{outcome}")
        subject = words("decidemail.subject", line=words("digest.answer.unchanged"))
        return StaffMail(subject, _join([line]), local, auto_submitted="auto-replied")
    if outcome != "answered":
        written = payload.get("line", "")
        # Nothing left once the signature and the quoted digest are cut: said so.
        key = "empty" if outcome == "not_understood" and not written else outcome
        line = words(f"digest.answer.reply_{key}", line=written, days=CODE_DAYS)
        subject = words("decidemail.subject", line=words("digest.answer.unchanged"))
        return StaffMail(subject, _join([line]), local, auto_submitted="auto-replied")
    results = list(payload.get("results") or [])
    applied = sum(
        1
        for r in results
        if r.get("outcome")
        in (LineOutcome.ACCEPTED, LineOutcome.REFUSED, LineOutcome.RELEASED, LineOutcome.DROPPED)
    )
    decided = any(r.get("outcome") in (LineOutcome.ACCEPTED, LineOutcome.REFUSED) for r in results)
    lines = [result_line(r) for r in results]
    told = [words("decidemail.told")] if decided else []
    subject = words(
        "decidemail.subject",
        line=words("digest.answer.summary", applied=applied, lines=len(results)),
    )
    return StaffMail(subject, _join(lines, told), local, auto_submitted="auto-replied")
