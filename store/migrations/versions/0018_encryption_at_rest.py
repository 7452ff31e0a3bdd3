"""Encryption at rest of health fields and documents (issue 19 part 2).

The children's doctor and allergies, an absence's words (`reason_detail`) and the values of
family-file changes (which carry those details) become Fernet tokens (`store.encryption`):
text columns, each clear value encrypted in place with the keyring's first key, a value that
already is a token left as it is (so the migration may run again after an interruption).
A JSON `null` of a change's value becomes SQL NULL (it reads back as None all the same).

The keyring is the process's (`portail db upgrade` installs the settings' keys first); a store
that holds values to encrypt and no key stops the upgrade with the message saying how to make
one. Document files are not touched here: files stored in clear read as they are, and
`portail privacy rotate-key` encrypts them.

On PostgreSQL the columns become TEXT (`varchar` to `text` is free; `json` to `text` keeps the
JSON's text). SQLite keeps the declared types: it does not enforce a VARCHAR's length, a token
is stored as text whatever the declaration, and changing a type there means copying the table,
which its foreign keys (ON DELETE CASCADE, enforced) forbid inside the upgrade's transaction.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from store import encryption

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The encrypted columns as this revision knows them (the models may add more later).
COLUMNS: dict[str, tuple[str, ...]] = {
    "child": ("doctor", "allergies"),
    "absence": ("reason_detail",),
    "file_change": ("old_value", "new_value"),
}
JSON_TABLE = "file_change"
BATCH = 500


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("child", "doctor", type_=sa.Text(), existing_type=sa.String(200))
        op.alter_column("absence", "reason_detail", type_=sa.Text(), existing_type=sa.String(500))
        for name in COLUMNS[JSON_TABLE]:
            op.alter_column(
                JSON_TABLE,
                name,
                type_=sa.Text(),
                existing_type=sa.JSON(),
                postgresql_using=f"{name}::text",
            )
    for table, columns in COLUMNS.items():
        _rewrite(table, columns, _encrypted)


def downgrade() -> None:
    for table, columns in COLUMNS.items():
        _rewrite(table, columns, _decrypted)
    if op.get_bind().dialect.name == "postgresql":
        for name in COLUMNS[JSON_TABLE]:
            op.alter_column(
                JSON_TABLE,
                name,
                type_=sa.JSON(),
                existing_type=sa.Text(),
                postgresql_using=f"{name}::json",
            )
        op.alter_column("absence", "reason_detail", type_=sa.String(500), existing_type=sa.Text())
        op.alter_column("child", "doctor", type_=sa.String(200), existing_type=sa.Text())


def _encrypted(value: str, is_json: bool) -> str | None:
    if encryption.looks_encrypted(value):
        return value
    if is_json and value.strip() == "null":
        return None
    return encryption.current().encrypt_text(value)


def _decrypted(value: str, is_json: bool) -> str | None:
    return encryption.current().decrypt_text(value)


def _rewrite(
    name: str, columns: tuple[str, ...], change: Callable[[str, bool], str | None]
) -> None:
    """Every non-null value of the columns through `change`, by batches of rows in id order;
    a row is written only when one of its values changes."""
    connection = op.get_bind()
    table = sa.table(name, sa.column("id", sa.Integer), *(sa.column(c, sa.Text) for c in columns))
    is_json = name == JSON_TABLE
    after = 0
    while True:
        rows = connection.execute(
            sa.select(table).where(table.c.id > after).order_by(table.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            values: dict[str, str | None] = {}
            for column in columns:
                stored = row._mapping[column]
                if stored is None:
                    continue
                # SQLite's JSON columns hand a JSON number back as a number.
                text = stored if isinstance(stored, str) else str(stored)
                new = change(text, is_json)
                if new != stored:
                    values[column] = new
            if values:
                connection.execute(sa.update(table).where(table.c.id == row.id).values(**values))
        after = rows[-1].id
