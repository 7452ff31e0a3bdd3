"""What the inbound mail service decided for one mail, before it is recorded (`_finish`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store.models.inbound import InboundStatus

# The family's notice kinds: what was filed, and the question asked before filing.
DOCUMENTS_RECEIVED = "documents_received"
MAIL_TO_CONFIRM = "mail_to_confirm"


@dataclass
class MailDecision:
    """Where a mail ends, why, and who is told what (all queued with the decision)."""

    status: InboundStatus
    reason: str
    family_id: int | None = None
    outcome: dict[str, Any] | None = None
    # The family's notice, of kind `notice_kind`: what was filed, or the question asked.
    notice: dict[str, Any] | None = None
    notice_kind: str = DOCUMENTS_RECEIVED
    # Why the sender is told their mail was not (wholly) taken: a reason code, rate-limited
    # and never sent to an automatic sender; None: the sender is not told.
    sender_notice: str | None = None
    sender_details: dict[str, Any] | None = None
    # A staff reply held for the service to release: what its email says.
    service_notice: dict[str, Any] | None = None
    # The documents filed from the mail: one review email for them to the family file service.
    review_documents: list[int] | None = None
