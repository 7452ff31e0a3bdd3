"""`portail privacy new-key` and `portail privacy rotate-key`: the keys of encryption at rest.

portail privacy new-key
    Print a fresh key (Fernet: 32 random bytes, URL-safe base64) for PRIVACY_KEYS or the key
    file; needs no key and touches nothing.
portail privacy rotate-key
    Write every encrypted value and document file again under the first key of the keyring
    (`store.key_rotation`), by small batches, beside running workers; prints counts only.
    Exit 1 when something no configured key opens was found (the rest is rotated all the same).

Rotating a key (README, "Privacy"): 1) `portail privacy new-key`; 2) put it first in
PRIVACY_KEYS, the old key kept after it, and restart the workers one by one; 3) `portail privacy
rotate-key`; 4) remove the old key, and restart the workers again.
"""

from __future__ import annotations

import argparse

from bot.portal import Portal
from bot.settings import Settings
from bot.staff_commands import on_store
from store.encryption import current, new_key
from store.key_rotation import rotate


def cmd_new_key(settings: Settings, args: argparse.Namespace) -> int:
    print(new_key())
    return 0


@on_store
async def cmd_rotate_key(portal: Portal, args: argparse.Namespace) -> int:
    keys = current().size
    report = await rotate(portal.sessions, portal.documents, batch=args.batch)
    print(f"Keyring: {keys} key(s); everything is written under the first.")
    for label, counts in (
        ("re-encrypted", report.rotated),
        ("already under the first key", report.current),
        ("unreadable with these keys", report.unreadable),
    ):
        for what, count in sorted(counts.items()):
            print(f"{label}: {count} {what}")
    if report.missing_files:
        print(f"missing from the storage: {report.missing_files} document file(s)")
    if not report.complete:
        print("Some values could not be decrypted: keep every old key until they are put right.")
        return 1
    if not report.rotated and not report.current:
        print("Nothing is encrypted yet.")
    return 0


def add_encryption_commands(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """Register `portail privacy new-key` and `portail privacy rotate-key`."""
    fresh = verbs.add_parser("new-key", help="print a fresh encryption key (PRIVACY_KEYS)")
    fresh.set_defaults(handler=cmd_new_key, needs_keyring=False)
    rotating = verbs.add_parser(
        "rotate-key",
        help="write every encrypted value and document again under the first key",
    )
    rotating.add_argument(
        "--batch", type=int, default=200, help="rows per transaction (default 200)"
    )
    rotating.set_defaults(handler=cmd_rotate_key)
