"""Encryption at rest of the raw inbound mails (issue 19 part 2: the certificates they carry),
and of the messages between parents and services (which may tell of a child's health).

`inbound_mail.raw` keeps its type (LargeBinary: `bytea`, a BLOB) and becomes the mail sealed
with AES-256-GCM (`store.encryption`, `seal_large`). Each raw mail still kept in clear is sealed in
place with the keyring's first key; one already sealed (the migration interrupted and run
again), and one emptied past its retention, are left as they are. Mails are up to 25 MB: the
ids are read by batches, then each mail alone, so that one mail at a time is in memory.

The messages' bodies (`message.body`, already TEXT) become Fernet tokens as the health fields
did in 0018 (`EncryptedText`): each clear body encrypted in place by batches of rows, a token
left as it is. Nothing searches or filters on them in SQL.

The keyring is the process's (`portail db upgrade` installs the settings' keys first); a store
that holds a clear mail and no key stops the upgrade with the message saying how to make one.
The downgrade opens every sealed mail again (the keys that sealed them needed).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 15:00:00.000000
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from store import encryption

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 200
TEXT_BATCH = 500


def upgrade() -> None:
    _rewrite(_sealed)
    _rewrite_bodies(_encrypted)


def downgrade() -> None:
    _rewrite_bodies(encryption.current().decrypt_text)
    _rewrite(_opened)


def _encrypted(value: str) -> str:
    if encryption.looks_encrypted(value):
        return value
    return encryption.current().encrypt_text(value)


def _rewrite_bodies(change: Callable[[str], str]) -> None:
    """Every message's body through `change`, by batches of rows in id order; a row is
    written only when its body changes."""
    connection = op.get_bind()
    message = sa.table("message", sa.column("id", sa.Integer), sa.column("body", sa.Text))
    after = 0
    while True:
        rows = connection.execute(
            sa.select(message.c.id, message.c.body)
            .where(message.c.id > after)
            .order_by(message.c.id)
            .limit(TEXT_BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            if row.body is None:
                continue
            new = change(row.body)
            if new != row.body:
                connection.execute(
                    sa.update(message).where(message.c.id == row.id).values(body=new)
                )
        after = rows[-1].id


def _sealed(stored: bytes) -> bytes | bytearray | None:
    if encryption.looks_sealed(stored):
        return None
    return encryption.current().seal_large(stored)


def _opened(stored: bytes) -> bytes | bytearray | None:
    if not encryption.looks_sealed(stored):
        return None
    return encryption.current().open_large(stored)


def _rewrite(change: Callable[[bytes], bytes | bytearray | None]) -> None:
    """Every non-empty raw mail through `change` (None: left as it is), one at a time."""
    connection = op.get_bind()
    mail = sa.table("inbound_mail", sa.column("id", sa.Integer), sa.column("raw", sa.LargeBinary))
    not_empty = sa.func.length(mail.c.raw) > 0
    after = 0
    while True:
        ids = connection.scalars(
            sa.select(mail.c.id)
            .where(mail.c.id > after, not_empty)
            .order_by(mail.c.id)
            .limit(BATCH)
        ).all()
        if not ids:
            return
        for mail_id in ids:
            stored = connection.scalar(sa.select(mail.c.raw).where(mail.c.id == mail_id))
            if not stored:
                continue
            new = change(bytes(stored))
            del stored
            if new is not None:
                connection.execute(sa.update(mail).where(mail.c.id == mail_id).values(raw=new))
            del new
        after = ids[-1]
