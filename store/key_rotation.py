"""Key rotation: every encrypted value and document file written again under the first key.

`rotate(sessions, documents)` is what `portail privacy rotate-key` runs once a new key was put
first in PRIVACY_KEYS (the old ones kept after it) and every worker restarted with it:

- every column of an encrypted type (`EncryptedText`, `EncryptedJSON`: found in the models'
  metadata, so that a column made encrypted later is rotated too) is read raw, by batches of
  rows in id order, each batch its own short transaction; a value that is not a token of the
  first key is written again under it (a clear value is encrypted), only if it did not change
  meanwhile (the UPDATE compares the raw value it read);
- every raw inbound mail still kept (`inbound_mail.raw`, up to 25 MB each): the ids by batches,
  then each mail in its own short transaction (one mail in memory at a time), sealed again
  under the first key unless it already is (its MAC checked, nothing decrypted); written only
  if its bytes were not emptied meanwhile (retention, `raw_deleted_at`);
- every document's file, and the files held for a parent's confirmation of an inbound mail,
  are read, and written again under the first key when they were not already
  (`DocumentService.reencrypt`: the storage's `replace`, whole at once for readers).

Running workers keep working throughout: they read both keys, and write under the first. Run
it again at will: what is already under the first key is left as it is (counted as current).
Only counts are reported, never a value; a value no key opens is counted as unreadable (with
the table and row, or the document, in the log), the others rotated all the same.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Integer, TableClause, Text, column, func, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.database import changed_rows
from store.document_storage import StoredFileMissing
from store.documents import DocumentService
from store.encryption import EncryptedJSON, EncryptedText, Undecryptable, current
from store.models import Base, Document, InboundMail
from store.models.inbound import InboundStatus

logger = logging.getLogger(__name__)

BATCH_ROWS = 200


@dataclass
class RotationReport:
    """How many values and files were written again, were already current, or could not be
    read; by table (values) and for documents (files)."""

    rotated: Counter[str] = field(default_factory=Counter)
    current: Counter[str] = field(default_factory=Counter)
    unreadable: Counter[str] = field(default_factory=Counter)
    missing_files: int = 0

    @property
    def complete(self) -> bool:
        """Whether everything is now under the first key (nothing left unreadable)."""
        return not self.unreadable


def encrypted_columns() -> dict[str, list[str]]:
    """The encrypted columns of the store, by table name."""
    found: dict[str, list[str]] = {}
    for mapped in Base.metadata.sorted_tables:
        for col in mapped.columns:
            if isinstance(col.type, EncryptedText | EncryptedJSON):
                found.setdefault(mapped.name, []).append(col.name)
    return found


async def rotate(
    sessions: async_sessionmaker[AsyncSession],
    documents: DocumentService,
    batch: int = BATCH_ROWS,
) -> RotationReport:
    """Write every encrypted value and document file again under the first key."""
    report = RotationReport()
    for name, columns in encrypted_columns().items():
        await _rotate_table(sessions, name, columns, batch, report)
    await _rotate_raw_mails(sessions, batch, report)
    await _rotate_documents(sessions, documents, batch, report)
    return report


RAW_MAILS = "inbound_mail.raw"


async def _rotate_raw_mails(
    sessions: async_sessionmaker[AsyncSession], batch: int, report: RotationReport
) -> None:
    """Every raw mail still kept, sealed again under the first key (see the module's text)."""
    keyring = current()
    kept = (InboundMail.raw_deleted_at.is_(None), func.length(InboundMail.raw) > 0)
    after = 0
    while True:
        async with sessions() as session:
            ids = list(
                await session.scalars(
                    select(InboundMail.id)
                    .where(InboundMail.id > after, *kept)
                    .order_by(InboundMail.id)
                    .limit(batch)
                )
            )
        if not ids:
            return
        for mail_id in ids:
            async with sessions.begin() as session:
                stored = await session.scalar(
                    select(InboundMail.raw).where(InboundMail.id == mail_id, *kept)
                )
                if not stored:
                    continue  # emptied meanwhile
                if keyring.is_current_large(stored):
                    report.current[RAW_MAILS] += 1
                    continue
                try:
                    sealed = keyring.rotate_large(stored)
                except Undecryptable:
                    report.unreadable[RAW_MAILS] += 1
                    logger.error("raw of inbound mail %s: no key opens it", mail_id)
                    continue
                del stored
                statement = (
                    update(InboundMail)
                    .where(InboundMail.id == mail_id, *kept)
                    .values(raw=sealed)
                    .execution_options(synchronize_session=False)
                )
                if await changed_rows(session, statement):
                    report.rotated[RAW_MAILS] += 1
        after = ids[-1]


async def _rotate_table(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    columns: list[str],
    batch: int,
    report: RotationReport,
) -> None:
    keyring = current()
    # The raw table: plain text columns, so that tokens are read and written as they are.
    raw: TableClause = table(name, column("id", Integer), *(column(c, Text) for c in columns))
    after = 0
    while True:
        async with sessions.begin() as session:
            rows = (
                await session.execute(
                    select(raw).where(raw.c.id > after).order_by(raw.c.id).limit(batch)
                )
            ).all()
            if not rows:
                return
            for row in rows:
                values: dict[str, str] = {}
                for name_of in columns:
                    stored = row._mapping[name_of]
                    if stored is None:
                        continue
                    stored = str(stored)  # a clear JSON number reads as a number on SQLite
                    if keyring.is_current(stored):
                        report.current[name] += 1
                        continue
                    try:
                        values[name_of] = keyring.rotate_text(stored)
                    except Undecryptable:
                        report.unreadable[name] += 1
                        logger.error("%s.%s of row %s: no key opens it", name, name_of, row.id)
                if values:
                    unchanged = [raw.c[c] == row._mapping[c] for c in values]
                    statement = update(raw).where(raw.c.id == row.id, *unchanged).values(**values)
                    if await changed_rows(session, statement):
                        report.rotated[name] += len(values)
            after = rows[-1].id


async def _rotate_documents(
    sessions: async_sessionmaker[AsyncSession],
    documents: DocumentService,
    batch: int,
    report: RotationReport,
) -> None:
    after = 0
    while True:
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(Document.id, Document.storage_key)
                    .where(Document.id > after)
                    .order_by(Document.id)
                    .limit(batch)
                )
            ).all()
        if not rows:
            break
        for row in rows:
            await _rotate_file(documents, row.storage_key, f"document {row.id}", report)
        after = rows[-1].id
    async with sessions() as session:
        awaiting = await session.scalars(
            select(InboundMail).where(InboundMail.status == InboundStatus.AWAITING_CONFIRMATION)
        )
        held: list[tuple[int, Any]] = [
            (mail.id, item["key"])
            for mail in awaiting
            for item in (mail.outcome or {}).get("held") or []
        ]
    for mail_id, key in held:
        await _rotate_file(documents, str(key), f"held file of mail {mail_id}", report)


async def _rotate_file(
    documents: DocumentService, key: str, what: str, report: RotationReport
) -> None:
    try:
        if await documents.reencrypt(key):
            report.rotated["document files"] += 1
        else:
            report.current["document files"] += 1
    except StoredFileMissing:
        report.missing_files += 1  # removed meanwhile (retention, erasure), or lost
    except Undecryptable:
        report.unreadable["document files"] += 1
        logger.error("%s: no key opens its file", what)
