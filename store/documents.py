"""Documents of families: checked by content and size, kept for the service's eyes only.

A file is taken only if it really is a PDF, a JPEG or a PNG (`store.safe_files`: parsed in a
worker thread, a PDF that runs something refused, an image re-encoded without its metadata).
Its bytes are kept under a random key by the documents' storage (`store.document_storage`: a
folder, 0700 with 0600 files, or a private bucket of an S3-compatible store), always called in
a worker thread; the row is written only once the bytes are stored. Files are passed on under
a name we make (`DocumentView.file_name`), and the sender's file name, cleaned, is kept as a
label to show only. Contents are never logged. The bytes are encrypted before the storage gets
them and decrypted when read back (`store.encryption`: the process's keyring); a file stored in
clear before encryption came reads as it is, until `portail privacy rotate-key` encrypts it.
A file may also be held (checked and written, not yet a document: `hold`, then `file_held` or
`discard_held`) while a parent confirms that they sent the email it came with.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.actors import AccessDenied, Actor, NotFound, StoreError
from store.audit import record
from store.document_storage import DocumentFolder as DocumentFolder
from store.document_storage import DocumentStorage
from store.encryption import current as current_keyring
from store.models import Absence, Activity, Child, Document, Enrollment
from store.models.base import utcnow
from store.models.enums import ActorKind, DocumentSource, DocumentStatus, DocumentType
from store.outbox import notify_family
from store.safe_files import (
    EXTENSIONS,
    RejectionReason,
    SafeFile,
    UnsafeFile,
    display_label,
    file_name,
    inspect,
)
from store.staff_notices import notify_document_to_review
from store.visibility import HEALTH_DOCUMENT_TYPES, check_health, sees_health

logger = logging.getLogger(__name__)

# The first words of the names we give documents' files, by type (the others: "document").
FILE_STEMS = {
    DocumentType.MEDICAL_CERTIFICATE: "certificat-medical",
    DocumentType.PROOF_OF_ADDRESS: "justificatif-domicile",
    DocumentType.CAF_QUOTIENT: "quotient-familial",
    DocumentType.VACCINATION_RECORD: "carnet-vaccination",
    DocumentType.INSURANCE: "assurance",
    DocumentType.HEALTH_FORM: "fiche-sanitaire",
}


# What any family may send, whatever its activities require: the household's documents (address,
# CAF quotient), a medical certificate (absences) and "another document" for staff to file.
# The other types a family may send are those some activity requires (`sendable_types`).
GENERAL_TYPES = (
    DocumentType.PROOF_OF_ADDRESS,
    DocumentType.CAF_QUOTIENT,
    DocumentType.MEDICAL_CERTIFICATE,
    DocumentType.OTHER,
)


class DocumentRejected(StoreError):
    """The file is refused; nothing was stored."""

    def __init__(self, reason: RejectionReason, limit_bytes: int | None = None):
        super().__init__(reason.value)
        self.reason = reason
        self.limit_bytes = limit_bytes


@dataclass(frozen=True)
class HeldFile:
    """A file checked and written to the documents' storage, not yet a document: held until
    its sender is known to be who they claim (`DocumentService.hold`, `file_held`)."""

    storage_key: str
    content_type: str
    size: int
    # Of the bytes received (as a document's `sha256`).
    sha256: str


class InvalidReclassification(StoreError):
    """The document cannot be filed under that type (an absence's certificate stays one)."""


@dataclass(frozen=True)
class DocumentView:
    id: int
    family_id: int
    child_id: int | None
    doc_type: DocumentType
    status: DocumentStatus
    original_name: str | None
    content_type: str
    size: int
    created_at: datetime

    @property
    def file_name(self) -> str:
        """The name its file is passed on under: ours, never the sender's."""
        return document_file_name(self.doc_type, self.id, self.content_type)

    @property
    def labelled_file_name(self) -> str:
        """For a person who reads the sender's name (a staff file sent to a parent): the
        cleaned label with the extension of the content ("facture rectifiée.pdf"), or ours."""
        extension = "." + EXTENSIONS.get(self.content_type, "bin")
        label = self.original_name
        if not label:
            return self.file_name
        stem = label[: -len(extension)] if label.lower().endswith(extension) else label
        return f"{stem}{extension}"


@dataclass(frozen=True)
class MissingDocument:
    """A required document not yet accepted, and the activities it blocks.

    `pending`: the family sent one, awaiting validation (`pending_document_ids`); once it is
    accepted, the activities are no longer blocked.
    """

    doc_type: str
    child_id: int
    blocked_activities: list[str]
    pending: bool
    pending_document_ids: list[int] = field(default_factory=list)


def document_file_name(doc_type: DocumentType, tag: int | str, content_type: str) -> str:
    """A document's file name: its type, a number or reference, the extension of its content
    ("certificat-medical-ABS-7KQ9M2.pdf", "document-12.jpg")."""
    return file_name(f"{FILE_STEMS.get(doc_type, 'document')}-{tag}", content_type)


class DocumentService:
    """Receive, list, read and review documents.

    `storage` keeps the bytes (`DocumentFolder`, `S3Bucket`); its blocking calls run in a
    worker thread. Its errors pass through as they are: `StoredFileMissing` (a
    `FileNotFoundError`) on a read, `StorageUnavailable` or a folder's `OSError` on a write —
    then nothing is stored, the row included."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], storage: DocumentStorage, max_bytes: int
    ):
        self._sessions = sessions
        self._storage = storage
        self.max_bytes = max_bytes

    async def _write(self, content: bytes) -> str:
        """Store bytes, encrypted (off the loop: the encryption, a disk's fsync, an HTTP
        request); return their key."""
        keyring = current_keyring()

        def write() -> str:
            return self._storage.write(keyring.encrypt_bytes(content))

        return await asyncio.to_thread(write)

    async def _read(self, key: str) -> bytes:
        """The clear bytes under `key` (`Undecryptable` when no configured key opens them)."""
        keyring = current_keyring()

        def read() -> bytes:
            return keyring.decrypt_bytes(self._storage.read(key))

        return await asyncio.to_thread(read)

    async def reencrypt(self, key: str) -> bool:
        """Write the bytes under `key` again under the keyring's first key (clear bytes
        encrypted); False when they already were. `StoredFileMissing` when they are gone.
        Readers see the old bytes or the new ones, both readable: safe beside running
        workers that know both keys."""
        keyring = current_keyring()

        def rotate() -> bool:
            stored = self._storage.read(key)
            if keyring.is_current(stored):
                return False
            self._storage.replace(key, keyring.rotate_bytes(stored))
            return True

        return await asyncio.to_thread(rotate)

    async def _remove(self, keys: Iterable[str]) -> None:
        """Remove stored bytes no row points to; one that cannot be removed is logged and
        left (an orphan, never shown), as the caller's outcome stands."""
        for key in keys:
            try:
                await asyncio.to_thread(self._storage.remove, key)
            except Exception as error:
                logger.warning("stored document file %s left: %s", key, error)

    async def check(self, content: bytes) -> SafeFile:
        """Refuse an empty, oversized, unsupported, damaged or active file; return the file as
        it is kept (an image re-encoded) and its real content type.

        The content is parsed in a worker thread: decoding a photo takes a while, and the loop
        goes on serving other parents meanwhile."""
        if not content:
            raise DocumentRejected(RejectionReason.EMPTY)
        self.check_size(len(content))
        try:
            return await asyncio.to_thread(inspect, content)
        except UnsafeFile as unsafe:
            raise DocumentRejected(unsafe.reason) from None

    def check_size(self, size: int) -> None:
        """Refuse a file from its size alone (known before its bytes are, as for a mail's
        attachment that was not decoded)."""
        if size > self.max_bytes:
            raise DocumentRejected(RejectionReason.TOO_LARGE, self.max_bytes)

    async def add(
        self,
        actor: Actor,
        family_id: int,
        doc_type: DocumentType,
        content: bytes,
        *,
        child_id: int | None = None,
        original_name: str | None = None,
        source: DocumentSource = DocumentSource.TELEGRAM,
        review_notice: bool = True,
    ) -> DocumentView:
        """Store a document for a family (or one of its children), pending review; when the
        family sent it, the family file service is told by email — unless `review_notice` is
        false: the caller tells the service once for several documents (a mail's files).

        What is stored is the file as `check` keeps it; `original_name` is kept cleaned, as a
        label; `sha256` is that of the bytes received (a mail's attachment filed again after
        an interruption is known by it)."""
        actor.check_family(family_id)
        checked = await self.check(content)
        key = await self._write(checked.content)  # the bytes first, the row after
        try:
            async with self._sessions.begin() as session:
                if child_id is not None:
                    child = await session.get(Child, child_id)
                    if child is None or child.family_id != family_id:
                        raise AccessDenied("this child is not of the family")
                document = Document(
                    family_id=family_id,
                    child_id=child_id,
                    doc_type=doc_type,
                    status=DocumentStatus.PENDING,
                    source=source,
                    original_name=display_label(original_name),
                    content_type=checked.content_type,
                    size=len(checked.content),
                    sha256=hashlib.sha256(content).hexdigest(),
                    storage_key=key,
                    uploaded_by=actor.label,
                    created_at=utcnow(),
                )
                session.add(document)
                await session.flush()
                record(
                    session, actor, "add_document", "document", document.id, type=doc_type.value
                )
                if review_notice and actor.kind is ActorKind.GUARDIAN:
                    await notify_document_to_review(session, document, document.created_at)
                return _view(document)
        except BaseException:
            await self._remove([key])
            raise

    async def hold(self, content: bytes) -> HeldFile:
        """Check a file as `add` does and write it, without making it a document yet; raise
        `DocumentRejected` as `add` does. `file_held` files it, `discard_held` drops it."""
        checked = await self.check(content)
        key = await self._write(checked.content)
        return HeldFile(
            key, checked.content_type, len(checked.content), hashlib.sha256(content).hexdigest()
        )

    async def remove_files(self, storage_keys: list[str]) -> None:
        """Remove the files of documents whose rows were deleted (retention, erasure); a key
        already gone is no error, one that cannot be removed now is logged and left."""
        await self._remove(storage_keys)

    async def discard_held(self, storage_keys: list[str]) -> None:
        """Remove held files (never filed); a key already gone is no error, and one that
        cannot be removed now is logged and left."""
        await self._remove(storage_keys)

    async def read(self, actor: Actor, document_id: int) -> tuple[DocumentView, bytes]:
        """A document's metadata and bytes, for its family or staff (`StoredFileMissing`
        when its bytes are gone)."""
        view, key = await self._find(actor, document_id)
        return view, await self._read(key)

    async def view(self, actor: Actor, document_id: int) -> DocumentView:
        """A document's metadata, for its family or staff, without reading its bytes."""
        view, _ = await self._find(actor, document_id)
        return view

    async def _find(self, actor: Actor, document_id: int) -> tuple[DocumentView, str]:
        """The document's view and storage key, once the actor may see it."""
        async with self._sessions() as session:
            document = await session.get(Document, document_id)
            if document is None:
                raise NotFound("unknown document")
            actor.check_family(document.family_id)
            if document.doc_type in HEALTH_DOCUMENT_TYPES:
                await check_health(session, actor)
            return _view(document), document.storage_key

    async def family_documents(self, actor: Actor, family_id: int) -> list[DocumentView]:
        """The family's documents, newest first; without the health documents (certificates,
        health forms, vaccination records) for a guardian who does not see health details."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            query = (
                select(Document)
                .where(Document.family_id == family_id)
                .order_by(Document.created_at.desc(), Document.id.desc())
                .limit(100)
            )
            if not await sees_health(session, actor):
                query = query.where(Document.doc_type.not_in(HEALTH_DOCUMENT_TYPES))
            rows = await session.scalars(query)
            return [_view(d) for d in rows]

    async def sendable_types(self) -> list[DocumentType]:
        """The types a family may send: those the activities require, plus the general ones,
        in the vocabulary's order ("another document" last).

        Every activity's requirements count, not only the family's (a document may be sent
        before the enrollment it is needed for); no family's data is read.
        """
        async with self._sessions() as session:
            required = {
                doc_type
                for documents in await session.scalars(select(Activity.required_documents))
                for doc_type in documents or []
            }
        wanted = required | {doc_type.value for doc_type in GENERAL_TYPES}
        types = [doc_type for doc_type in DocumentType if doc_type.value in wanted]
        return sorted(types, key=lambda doc_type: doc_type is DocumentType.OTHER)

    async def missing_documents(self, actor: Actor, family_id: int) -> list[MissingDocument]:
        """Required documents not yet accepted, per child, with the activities they block (and
        the documents sent for them, awaiting validation)."""
        actor.check_family(family_id)
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(Child.id, Activity.name, Activity.required_documents)
                    .join(Enrollment, Enrollment.child_id == Child.id)
                    .join(Activity, Activity.id == Enrollment.activity_id)
                    .where(Child.family_id == family_id)
                    .order_by(Child.id, Activity.name)
                )
            ).all()
            documents = (
                await session.execute(
                    select(Document.id, Document.child_id, Document.doc_type, Document.status)
                    .where(
                        Document.family_id == family_id,
                        Document.status != DocumentStatus.REJECTED,
                    )
                    .order_by(Document.id)
                )
            ).all()
        missing: dict[tuple[int, str], MissingDocument] = {}
        for child_id, activity_name, required in rows:
            for doc_type in required or []:
                held = [
                    (document_id, status)
                    for document_id, doc_child, kind, status in documents
                    if kind == doc_type and doc_child in (None, child_id)
                ]
                if any(status is DocumentStatus.ACCEPTED for _, status in held):
                    continue
                pending = [d for d, status in held if status is DocumentStatus.PENDING]
                entry = missing.setdefault(
                    (child_id, doc_type),
                    MissingDocument(doc_type, child_id, [], bool(pending), pending),
                )
                if activity_name not in entry.blocked_activities:
                    entry.blocked_activities.append(activity_name)
        return list(missing.values())

    async def reclassify(
        self, actor: Actor, document_id: int, doc_type: DocumentType
    ) -> DocumentView:
        """Staff file a document under another type (an "autre document" that is the health
        form, say): once accepted, it counts as that type for the bookings it unblocks."""
        actor.check_staff()
        async with self._sessions.begin() as session:
            document = await _for_staff(session, document_id)
            await _reclassify(session, actor, document, doc_type)
            return _view(document)

    async def review(
        self,
        actor: Actor,
        document_id: int,
        accept: bool,
        note: str = "",
        doc_type: DocumentType | None = None,
    ) -> DocumentStatus:
        """Staff accept or reject a document (filed under `doc_type` first, when given); the
        family is told."""
        actor.check_staff()
        async with self._sessions.begin() as session:
            document = await _for_staff(session, document_id)
            if doc_type is not None:
                await _reclassify(session, actor, document, doc_type)
            document.status = DocumentStatus.ACCEPTED if accept else DocumentStatus.REJECTED
            document.reviewed_by = actor.label
            document.reviewed_at = datetime.now().astimezone()
            document.review_note = note or None
            record(session, actor, "review_document", "document", document.id, accepted=accept)
            await notify_family(
                session,
                document.family_id,
                "document_accepted" if accept else "document_rejected",
                {"document_id": document.id, "type": document.doc_type.value, "note": note},
                event_key=f"document:{document.id}:{document.status.value}",
            )
            return document.status


async def file_held(
    session: AsyncSession,
    actor: Actor,
    family_id: int,
    doc_type: DocumentType,
    held: HeldFile,
    *,
    original_name: str | None,
    source: DocumentSource,
) -> DocumentView:
    """Make a held file a document of the family, pending review, in the caller's transaction.

    No review notice is queued: the caller queues one for all the files it files together."""
    actor.check_family(family_id)
    document = Document(
        family_id=family_id,
        child_id=None,
        doc_type=doc_type,
        status=DocumentStatus.PENDING,
        source=source,
        original_name=display_label(original_name),
        content_type=held.content_type,
        size=held.size,
        sha256=held.sha256,
        storage_key=held.storage_key,
        uploaded_by=actor.label,
        created_at=utcnow(),
    )
    session.add(document)
    await session.flush()
    record(session, actor, "add_document", "document", document.id, type=doc_type.value)
    return _view(document)


async def _for_staff(session: AsyncSession, document_id: int) -> Document:
    """The document, locked for a staff decision; NotFound otherwise."""
    document = await session.get(Document, document_id, with_for_update=True)
    if document is None:
        raise NotFound("unknown document")
    return document


async def _reclassify(
    session: AsyncSession, actor: Actor, document: Document, doc_type: DocumentType
) -> None:
    """File the document under `doc_type` (audited); an absence's certificate stays one."""
    if document.doc_type is doc_type:
        return
    certifies = await session.scalar(
        select(Absence.id).where(Absence.certificate_id == document.id).limit(1)
    )
    if certifies is not None:
        raise InvalidReclassification("this document is the certificate of an absence")
    was = document.doc_type
    document.doc_type = doc_type
    record(
        session,
        actor,
        "reclassify_document",
        "document",
        document.id,
        was=was.value,
        type=doc_type.value,
    )


def _view(document: Document) -> DocumentView:
    return DocumentView(
        id=document.id,
        family_id=document.family_id,
        child_id=document.child_id,
        doc_type=document.doc_type,
        status=document.status,
        original_name=document.original_name,
        content_type=document.content_type,
        size=document.size,
        created_at=document.created_at,
    )
