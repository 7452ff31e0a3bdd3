"""Writing the audit log: one entry per action, inside the action's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.actors import Actor
from store.models import AuditEntry


def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int | None,
    **details: Any,
) -> None:
    """Add an audit entry. Never pass document contents or medical reasons in `details`."""
    session.add(
        AuditEntry(
            actor=actor.label, action=action, entity=entity, entity_id=entity_id, details=details
        )
    )
