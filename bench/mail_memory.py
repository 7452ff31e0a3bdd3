"""8. Mail memory: the inbound server's peak memory while ten clients send 25 MB at once.

The product runs exactly as `portail smtp` (`python -m bot.cli smtp`, its own process, a fresh
copy of the 1,000-family town), with its cap on concurrent messages (`MAIL_MAX_CONCURRENT_DATA`,
4 by default) and, for comparison, with the cap raised to 10 (as before the cap: every
client's message in memory at once); the floor is `bench/raw_smtp.py`, an aiosmtpd server that
only counts. Ten smtplib clients (one thread each) start together, each with one message of
just under 25 MiB from a different parent to the documents address; a client told 452 tries
again a second later, as a sending server would (later). The baseline is each server's own
peak resident memory (VmHWM) once started and idle, measured in the same run; the figure is its
peak once every message was accepted and (product) processed.
"""

from __future__ import annotations

import asyncio
import os
import smtplib
import sys
import threading
import time
from dataclasses import dataclass
from email.utils import make_msgid

from bench.chat_sections import prepared_town
from bench.common import WORK_DIR, Section
from bench.mail import DOMAIN, STAFF_DOMAIN, ServerProcess, _big, _free_port, _guardian_emails
from bench.mail import _processed as processed

CLIENTS = 10
DEFAULT_CAP = 4
# The memory bound stated in `mail/inbound.py`: peak growth over the idle server
# ≤ (PER_MESSAGE × MAIL_MAX_CONCURRENT_DATA + FIXED) × MAX_MAIL_BYTES.
PER_MESSAGE = 2
FIXED = 14
RETRY_SECONDS = 1.0
GIVE_UP_SECONDS = 300.0
MiB = 1024 * 1024


@dataclass
class _Outcome:
    """One server's figures for one burst."""

    label: str
    idle_mb: float
    peak_mb: float
    accepted: int
    refused_452: int
    other_errors: list[str]
    seconds: float
    message_mb: float

    @property
    def growth(self) -> float:
        return self.peak_mb - self.idle_mb


def _messages(emails: list[str]) -> list[tuple[str, bytes]]:
    """Ten messages of just under 25 MiB, each from its own parent, each its own Message-ID
    (built once, then given each sender and Message-ID)."""
    first, _, raw = _big(emails[0])
    old_id = raw.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0]
    messages = []
    for email in emails:
        new_id = make_msgid(domain="exemple.fr").encode()
        message = raw.replace(old_id, new_id, 1).replace(first.encode(), email.encode(), 1)
        messages.append((email, message))
    return messages


def _send_burst(port: int, messages: list[tuple[str, bytes]]) -> tuple[int, int, list[str]]:
    """Every client starts at once; a 452 is retried after `RETRY_SECONDS`. (accepted, 452s,
    other errors)."""
    start = threading.Barrier(len(messages))
    lock = threading.Lock()
    counts = {"accepted": 0, "452": 0}
    errors: list[str] = []

    def client(sender: str, raw: bytes) -> None:
        start.wait()
        deadline = time.perf_counter() + GIVE_UP_SECONDS
        while time.perf_counter() < deadline:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
                    smtp.ehlo("bench.example")
                    smtp.sendmail(sender, [f"documents@{DOMAIN}"], raw)
                with lock:
                    counts["accepted"] += 1
                return
            except smtplib.SMTPDataError as error:
                if error.smtp_code != 452:
                    with lock:
                        errors.append(f"{error.smtp_code} {error.smtp_error[:60]!r}")
                    return
                with lock:
                    counts["452"] += 1
            except (smtplib.SMTPException, OSError) as error:
                with lock:
                    errors.append(f"{type(error).__name__}: {error}"[:120])
                return
            time.sleep(RETRY_SECONDS)
        with lock:
            errors.append("gave up after repeated 452")

    threads = [threading.Thread(target=client, args=message) for message in messages]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts["accepted"], counts["452"], errors


async def _burst(
    label: str, server: ServerProcess, messages: list[tuple[str, bytes]], database: object
) -> _Outcome:
    await server.start()
    try:
        await asyncio.sleep(2.0)  # start-up done (the product settles its memory)
        idle = server.peak_mb()
        started = time.perf_counter()
        accepted, refused, errors = await asyncio.to_thread(_send_burst, server.port, messages)
        if database is not None:
            await processed(database, 300)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        peak = server.peak_mb()
    finally:
        await server.stop()
    size = len(messages[0][1]) / MiB
    return _Outcome(label, idle, peak, accepted, refused, errors, seconds, size)


async def measure() -> Section:
    started = time.perf_counter()
    section = Section(8, "Mail memory: ten clients sending 25 MB at once")
    outcomes = []
    port = _free_port()
    floor = ServerProcess(
        "smtp-memory-floor",
        [sys.executable, "-m", "bench.raw_smtp", "--port", str(port)],
        dict(os.environ),
        port,
    )
    messages: list[tuple[str, bytes]] = []
    facts = None
    for label, cap in (
        ("floor (counting aiosmtpd, no cap)", None),
        (f"product, cap {CLIENTS} (as before the cap)", CLIENTS),
        (f"product, cap {DEFAULT_CAP} (the default)", DEFAULT_CAP),
    ):
        # A fresh copy of the town for each product run (each its own store and counts).
        url, database, facts = await prepared_town(1000)
        if not messages:
            messages = _messages(_guardian_emails(database, CLIENTS))
        if cap is None:
            outcomes.append(await _burst(label, floor, messages, None))
            continue
        port = _free_port()
        env = dict(
            os.environ,
            DATABASE_URL=url,
            SMTP_LISTEN_PORT=str(port),
            MAIL_DOMAIN=DOMAIN,
            STAFF_ALLOWED_DOMAINS=STAFF_DOMAIN,
            DOCUMENTS_DIR=str(WORK_DIR / "mail-memory-documents"),
            MAIL_MAX_CONCURRENT_DATA=str(cap),
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        product = ServerProcess(
            f"smtp-memory-cap{cap}", [sys.executable, "-m", "bot.cli", "smtp"], env, port
        )
        outcomes.append(await _burst(label, product, messages, database))
    size = outcomes[0].message_mb
    section.setup = [
        f"{CLIENTS} smtplib clients (one thread each) start together, each with one message "
        f"of {size:.1f} MiB (a PDF attachment, base64) from its own parent to "
        f"`documents@{DOMAIN}`; a client told 452 tries again {RETRY_SECONDS:.0f} s later, "
        "until accepted.",
        "Product: `portail smtp` (`python -m bot.cli smtp`), its own process, on a fresh copy "
        f"of the {facts.families if facts else 1000:,}-family town (SQLite), "
        "`MAIL_MAX_CONCURRENT_DATA` as said; its figures include processing every message "
        "(the attachment is over the documents' limit: refused from its size, never decoded). "
        "Floor: `bench/raw_smtp.py`, an aiosmtpd server that only counts, no cap.",
        "Baseline: each server's peak resident memory (VmHWM) started and idle, in the same "
        "run; peak: its VmHWM once every message was accepted (and processed).",
    ]
    section.table(
        [
            "server",
            "idle peak MiB (baseline)",
            "peak MiB",
            "growth MiB",
            "growth ÷ one message",
            "peak ÷ idle",
            "accepted",
            "452s",
            "other errors",
            "seconds",
        ],
        [
            [
                o.label,
                f"{o.idle_mb:.0f}",
                f"{o.peak_mb:.0f}",
                f"+{o.growth:.0f}",
                f"{o.growth / o.message_mb:.1f}×",
                f"{o.peak_mb / o.idle_mb:.2f}×",
                f"{o.accepted}/{CLIENTS}",
                str(o.refused_452),
                "; ".join(o.other_errors[:2]) or "0",
                f"{o.seconds:.1f}",
            ]
            for o in outcomes
        ],
    )
    floor_run, uncapped, capped = outcomes
    for outcome, cap in ((capped, DEFAULT_CAP), (uncapped, CLIENTS)):
        bound = (PER_MESSAGE * cap + FIXED) * size
        section.goal(
            f"cap {cap}: peak growth ≤ ({PER_MESSAGE} × cap + {FIXED}) × 25 MiB = "
            f"{bound:.0f} MiB (the bound stated in `mail/inbound.py`)",
            f"+{outcome.growth:.0f} MiB",
            outcome.growth <= bound,
        )
    # Two caps, two peaks: what each message received at once costs, and what does not grow
    # with the cap (the worker's one mail), in messages' sizes.
    per_message = (uncapped.growth - capped.growth) / (CLIENTS - DEFAULT_CAP) / size
    fixed = capped.growth / size - per_message * DEFAULT_CAP
    section.goal(
        "the cap bounds memory: growth with the default cap ÷ growth with 10 at once",
        f"{capped.growth / uncapped.growth:.2f}× (each message received at once: "
        f"{per_message:.1f}× its size; the part the cap does not change: {fixed:.1f}× one "
        "message)",
        capped.growth < uncapped.growth,
    )
    section.goal(
        "every message accepted in the end (a 452 is a 'later', never a loss)",
        f"{capped.accepted}/{CLIENTS}, {capped.refused_452} × 452 on the way",
        capped.accepted == CLIENTS and not capped.other_errors,
    )
    section.notes.append(
        "- Before the cap, the issue measured 726 MB peak for 10 × 25 MB on its machine; the "
        "same product with the cap raised to 10 is that case here. Where the memory goes: "
        "aiosmtpd alone (the floor) holds "
        f"{floor_run.growth / size / CLIENTS:.1f}× each message received at once (its lines, "
        "then their join at the end of DATA); the product seals one large mail at a time "
        "(encrypted at rest: AES-256-GCM, its sealed copy as large as the mail) while the "
        "store's driver copies the sealed mail, and its worker reads one mail at a time (the "
        "sealed mail opened, then the mail, its "
        "text, the parser's parts) — the part of the bound that does not grow with the cap."
    )
    section.seconds = time.perf_counter() - started
    return section


def run() -> Section:
    return asyncio.run(measure())


if __name__ == "__main__":
    print(run().markdown())
