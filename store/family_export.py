"""A family's own data, all of it, as one ZIP: the right of access and portability.

`FamilyExport.build(actor, family_id)` gives the ZIP's bytes, for a guardian of that family or
staff: one JSON per section (`famille.json` holds the household, guardians, children with their
health fields as stored, consents and pick-up persons; then enrolments, bookings, absences,
invoices and payments, messages, requests), a `LISEZMOI.txt` in French, and the family's
documents under `documents/`, read through the document service (folder or S3, never around it).

Only rows of that family are read: every query is filtered by its family id, its children's ids,
its invoices' or threads' ids. A guardian whose account does not see health details
(`store.visibility`) gets the ZIP without them: no doctor, allergies, PAI nor vaccination day, no
absence reason nor certificate, no health document, no health value of a file change; its
`LISEZMOI.txt` says so. Dates are ISO 8601; an amount `..._cents` comes with its euros.
Secrets that are not the family's data (storage keys, tokens) are left out.
"""

from __future__ import annotations

import enum
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import FromClause, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.access_log import EXPORT, record_staff_read
from store.actors import Actor, NotFound
from store.clock import Clock
from store.document_storage import StoredFileMissing
from store.documents import DocumentService
from store.family_records import HEALTH_FIELDS
from store.models import (
    Absence,
    Booking,
    Child,
    ChildConsent,
    ChildRegistration,
    Document,
    Enrollment,
    EnrolmentRequest,
    Family,
    FileChange,
    Guardian,
    Invoice,
    InvoiceLine,
    Message,
    Payment,
    PickupPerson,
    Thread,
)
from store.models.enums import ActorKind
from store.visibility import HEALTH_DOCUMENT_TYPES, sees_health

TELEGRAM_UPLOAD_LIMIT = 50 * 1024 * 1024
"""What a bot may send as one document (Telegram's Bot API limit)."""

# Columns that are ours, not the family's data: never exported.
_HIDDEN = frozenset(
    {"storage_key", "token", "token_hash", "code_hash", "secret", "reply_token_hash"}
)

README = """Données de votre famille — Portail Famille
==========================================

Ce fichier ZIP contient toutes les données que le portail conserve sur votre famille, au
{moment} :

- famille.json : le foyer, les responsables, les enfants (dont les informations de santé telles
  qu'enregistrées : allergies, PAI, médecin, régime), les autorisations et les personnes
  autorisées à venir chercher les enfants ;
- inscriptions.json : les inscriptions aux activités ;
- reservations.json : les réservations (cantine, périscolaire, centre de loisirs) ;
- absences.json : les absences signalées ;
- factures.json : les factures, leurs lignes et les paiements (montants en centimes et en
  euros) ;
- messages.json : les échanges avec les services ;
- demandes.json : vos demandes (modifications du dossier, inscriptions, nouveaux enfants) et
  leur état ;
- documents.json et le dossier documents/ : les documents envoyés (certificats, attestations…).

Les dates sont au format AAAA-MM-JJ. Pour rectifier une donnée, utilisez « Mon dossier » dans
le portail ; pour en demander l'effacement, /mesdonnees.
"""

README_HEALTH_HIDDEN = """
Informations de santé : non visibles pour votre compte — voir avec le service Famille. Ce
fichier ne contient donc ni les informations de santé des enfants (médecin, allergies, PAI,
vaccinations), ni le motif des absences et leurs certificats, ni les documents de santé
(certificats médicaux, fiches sanitaires, carnets de vaccination).
"""

# What a guardian who does not see health details does not get, table by table.
_CHILD_HEALTH = ("doctor", "allergies", "pai", "vaccinations_on")
_ABSENCE_HEALTH = ("reason", "reason_detail", "certificate_id")


class ExportTooLarge(Exception):
    """The ZIP is larger than what a bot may send: staff export it (`portail privacy export`)."""

    def __init__(self, size: int):
        super().__init__(f"{size} bytes")
        self.size = size


@dataclass(frozen=True)
class FamilyArchive:
    file_name: str
    content: bytes
    documents: int
    missing_documents: int
    # The children's health details were left out (a guardian who does not see them).
    health_hidden: bool = False


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return None
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    return value


def _row(table: FromClause, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in table.columns:
        name = column.name
        if name in _HIDDEN:
            continue
        value = getattr(row, column.key)
        out[name] = _value(value)
        if name.endswith("_cents") and isinstance(value, int):
            out[name[: -len("_cents")] + "_euros"] = f"{value / 100:.2f}"
    return out


async def _rows(session: AsyncSession, model: Any, *where: Any) -> list[dict[str, Any]]:
    table: FromClause = model.__table__
    found = await session.scalars(select(model).where(*where).order_by(model.id))
    return [_row(table, row) for row in found]


class FamilyExport:
    """Builds a family's ZIP for its guardians and staff (see the module's doc)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        documents: DocumentService,
        clock: Clock,
        limit: int = TELEGRAM_UPLOAD_LIMIT,
    ):
        self._sessions = sessions
        self._documents = documents
        self._clock = clock
        self.limit = limit

    async def sections(self, actor: Actor, family_id: int) -> dict[str, Any]:
        """Every section's data, as the JSON files of the ZIP hold them."""
        data, _ = await self._sections(actor, family_id)
        return data

    async def _sections(self, actor: Actor, family_id: int) -> tuple[dict[str, Any], bool]:
        """The sections, and whether the actor sees health details (else left out)."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            family = await session.get(Family, family_id)
            if family is None:
                raise NotFound("unknown family")
            shown = await sees_health(session, actor)
            children = await _rows(session, Child, Child.family_id == family_id)
            child_ids = [c["id"] for c in children]
            for child in children:
                cid = child["id"]
                child["consents"] = await _rows(
                    session, ChildConsent, ChildConsent.child_id == cid
                )
                child["pickup_persons"] = await _rows(
                    session, PickupPerson, PickupPerson.child_id == cid
                )
            household = {
                "family": _row(Family.__table__, family),
                "guardians": await _rows(session, Guardian, Guardian.family_id == family_id),
                "children": children,
            }
            invoices = await _rows(session, Invoice, Invoice.family_id == family_id)
            for invoice in invoices:
                invoice["lines"] = await _rows(
                    session, InvoiceLine, InvoiceLine.invoice_id == invoice["id"]
                )
            threads = await _rows(session, Thread, Thread.family_id == family_id)
            for thread in threads:
                thread["messages"] = await _rows(
                    session, Message, Message.thread_id == thread["id"]
                )
            data = {
                "famille.json": household,
                "inscriptions.json": await _rows(
                    session, Enrollment, Enrollment.child_id.in_(child_ids)
                ),
                "reservations.json": await _rows(session, Booking, Booking.family_id == family_id),
                "absences.json": await _rows(session, Absence, Absence.family_id == family_id),
                "factures.json": {
                    "invoices": invoices,
                    "payments": await _rows(session, Payment, Payment.family_id == family_id),
                },
                "messages.json": threads,
                "demandes.json": {
                    "file_changes": await _rows(
                        session, FileChange, FileChange.family_id == family_id
                    ),
                    "enrolment_requests": await _rows(
                        session, EnrolmentRequest, EnrolmentRequest.family_id == family_id
                    ),
                    "child_registrations": await _rows(
                        session, ChildRegistration, ChildRegistration.family_id == family_id
                    ),
                },
                "documents.json": await _rows(session, Document, Document.family_id == family_id),
            }
            if not shown:
                _leave_health_out(data)
            return data, shown

    async def build(
        self, actor: Actor, family_id: int, *, check_size: bool = True
    ) -> FamilyArchive:
        """The family's ZIP; `ExportTooLarge` past `limit` when `check_size`."""
        sections, shown = await self._sections(actor, family_id)
        buffer = io.BytesIO()
        documents = missing = 0
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            moment = self._clock().date().isoformat()
            readme = README.format(moment=moment) + ("" if shown else README_HEALTH_HIDDEN)
            archive.writestr("LISEZMOI.txt", readme)
            for name, data in sections.items():
                archive.writestr(name, json.dumps(data, ensure_ascii=False, indent=2))
            for row in sections["documents.json"]:
                try:
                    view, content = await self._documents.read(actor, row["id"])
                except (StoredFileMissing, NotFound):
                    missing += 1
                    continue
                archive.writestr(f"documents/{row['id']}-{view.file_name}", content)
                documents += 1
                if check_size and buffer.tell() > self.limit:
                    raise ExportTooLarge(buffer.tell())
        content = buffer.getvalue()
        if check_size and len(content) > self.limit:
            raise ExportTooLarge(len(content))
        if actor.kind is not ActorKind.GUARDIAN:
            async with self._sessions.begin() as session:
                await record_staff_read(session, actor, family_id, EXPORT, family_id, "export")
        return FamilyArchive(
            f"donnees-famille-{family_id}.zip", content, documents, missing, not shown
        )


def _leave_health_out(data: dict[str, Any]) -> None:
    """Take the health details out of the sections (a guardian who does not see them)."""
    for child in data["famille.json"]["children"]:
        for name in _CHILD_HEALTH:
            child.pop(name, None)
    for absence in data["absences.json"]:
        for name in _ABSENCE_HEALTH:
            absence.pop(name, None)
    for change in data["demandes.json"]["file_changes"]:
        if change.get("field") in HEALTH_FIELDS:
            change.pop("old_value", None)
            change.pop("new_value", None)
    health_types = {doc_type.value for doc_type in HEALTH_DOCUMENT_TYPES}
    data["documents.json"] = [
        row for row in data["documents.json"] if row.get("doc_type") not in health_types
    ]
