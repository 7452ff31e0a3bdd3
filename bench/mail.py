"""4. Mail intake: the inbound server (`portail smtp`) against an aiosmtpd server that only counts.

Both servers run in their own process: the product exactly as `portail smtp` (`python -m
bot.cli smtp`, settings from the environment, a prepared SQLite store with services, threads
and reply tokens), the floor as `bench/raw_smtp.py`. The harness sends the same realistic mix
to each over SMTP (`smtplib`, a few connections in threads, messages built beforehand): staff
replies to `reply+<token>@` addresses (a short text), and parents' medical certificates to the
documents address (a 300 KB PDF attached). "Accepted" is the client's view: the 250 after DATA
(the product commits the raw mail before answering); "processed" is the product's worker
having filed or relayed every mail (its status leaves `received`).

Memory: the peak resident memory (VmHWM) of each server before and after one 25 MB message.
"""

from __future__ import annotations

import asyncio
import os
import smtplib
import socket
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import make_msgid
from pathlib import Path

from sqlalchemy import insert, select

from bench.chat_sections import prepared_town
from bench.common import WORK_DIR, ChildProcess, Section
from store.actors import Actor
from store.database import create_engine, create_sessionmaker
from store.messaging import MessagingService
from store.models import Guardian, Service
from tests.family_file_helpers import PDF_CATALOG, PDF_HEADER, PDF_PAGES, pdf_file

DOMAIN = "portail-famille.example"
STAFF_DOMAIN = "mairie.example"
CERTIFICATE_BYTES = 300 * 1024
BIG_MESSAGE_BYTES = 25 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess(ChildProcess):
    """A mail server in its own process, ready when its port answers."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int):
        super().__init__(name, argv, env)
        self.port = port

    async def start(self) -> None:
        await self.launch()
        deadline = time.perf_counter() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.exited or time.perf_counter() > deadline:
                    raise self.not_started() from None
                await asyncio.sleep(0.1)


def _pdf(size: int, seed: int) -> bytes:
    """A real one-page PDF of `size` bytes, different for each `seed` (files are checked by
    parsing them: random bytes would be refused as damaged)."""
    header = PDF_HEADER + f"% certificat {seed}\n".encode()
    return pdf_file(PDF_CATALOG, *PDF_PAGES, pad_to=size, header=header)


def _staff_reply(token: str, number: int) -> tuple[str, str, bytes]:
    message = EmailMessage()
    message["From"] = f"Agent cantine <agent{number % 5}@{STAFF_DOMAIN}>"
    message["To"] = f"reply+{token}@{DOMAIN}"
    message["Subject"] = "Re: Question sur la cantine"
    message["Message-ID"] = make_msgid(domain=STAFF_DOMAIN)
    message.set_content(
        "Bonjour,\n\nNous avons bien pris en compte votre demande : le repas sans porc est "
        "noté pour la semaine prochaine. N'hésitez pas à revenir vers nous.\n\n"
        "Bien cordialement,\nLe service Restauration scolaire\n\n"
        + "> Bonjour, mon fils ne mange pas de porc, pouvez-vous le noter ? Merci.\n"
        * 8
    )
    return (
        message["From"].addresses[0].addr_spec,
        message["To"],
        message.as_bytes(policy=SMTP_POLICY),
    )


def _certificate(email: str, number: int) -> tuple[str, str, bytes]:
    message = EmailMessage()
    message["From"] = email
    message["To"] = f"documents@{DOMAIN}"
    message["Subject"] = "Certificat médical"
    message["Message-ID"] = make_msgid(domain="exemple.fr")
    message.set_content("Bonjour, voici le certificat médical de mon enfant. Cordialement.")
    message.add_attachment(
        _pdf(CERTIFICATE_BYTES, number),
        maintype="application",
        subtype="pdf",
        filename="certificat.pdf",
    )
    return email, message["To"], message.as_bytes(policy=SMTP_POLICY)


def _big(email: str) -> tuple[str, str, bytes]:
    message = EmailMessage()
    message["From"] = email
    message["To"] = f"documents@{DOMAIN}"
    message["Subject"] = "Dossier complet"
    message["Message-ID"] = make_msgid(domain="exemple.fr")
    message.set_content("Voici tout le dossier.")
    # Base64 lines carry 57 bytes in 78 (76 characters and CRLF): the whole message stays
    # just under the 25 MiB limit.
    message.add_attachment(
        _pdf((BIG_MESSAGE_BYTES - 100_000) * 57 // 78, 0),
        maintype="application",
        subtype="pdf",
        filename="dossier.pdf",
    )
    return email, message["To"], message.as_bytes(policy=SMTP_POLICY)


def _send_all(port: int, messages: list[tuple[str, str, bytes]]) -> list[str]:
    """Send on one connection; the reply codes that were not 250."""
    problems = []
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as client:
        client.ehlo("bench.example")
        for sender, recipient, raw in messages:
            try:
                refused = client.sendmail(sender, [recipient], raw)
                if refused:
                    problems.append(str(refused))
            except smtplib.SMTPException as error:
                problems.append(f"{type(error).__name__}: {error}"[:160])
                client.rset()
    return problems


async def _send(
    port: int, messages: list[tuple[str, str, bytes]], connections: int
) -> tuple[float, list[str]]:
    shares = [messages[n::connections] for n in range(connections)]
    started = time.perf_counter()
    results = await asyncio.gather(
        *(asyncio.to_thread(_send_all, port, share) for share in shares)
    )
    return time.perf_counter() - started, [p for problems in results for p in problems]


async def _prepare(url: str, threads: int) -> list[str]:
    """A service, `threads` parents' threads and one reply token each."""
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions.begin() as session:
            await session.execute(
                insert(Service),
                [
                    {
                        "code": "cantine",
                        "name": "Restauration scolaire",
                        "email": "c@mairie.example",
                    }
                ],
            )
        async with sessions() as session:
            guardians = (
                await session.execute(
                    select(Guardian.id, Guardian.family_id).order_by(Guardian.id).limit(threads)
                )
            ).all()
        messaging = MessagingService(sessions)
        tokens = []
        for guardian_id, family_id in guardians:
            thread = await messaging.write(
                Actor.guardian(guardian_id, family_id),
                "cantine",
                "Bonjour, mon fils ne mange pas de porc, pouvez-vous le noter ? Merci.",
            )
            tokens.append(await messaging.new_reply_token(thread.id))
    finally:
        await engine.dispose()
    return tokens


def _guardian_emails(database: Path, count: int) -> list[str]:
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute(
            "SELECT email FROM guardian ORDER BY id DESC LIMIT ?", (count,)
        ).fetchall()
    finally:
        connection.close()
    return [row[0] for row in rows]


def _pending(database: Path) -> int:
    connection = sqlite3.connect(database, timeout=30)
    try:
        return int(
            connection.execute(
                "SELECT count(*) FROM inbound_mail WHERE status = 'received'"
            ).fetchone()[0]
        )
    finally:
        connection.close()


async def _processed(database: Path, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until the product's worker has processed every accepted mail."""
    for _ in range(int(timeout * 10)):
        if not _pending(database):
            return
        await asyncio.sleep(0.1)


@dataclass
class _Run:
    """One server's figures for one run of the mix (and, in its first run, the big message)."""

    messages: int
    bytes: int
    seconds: float
    cpu: float
    problems: list[str]
    processed_seconds: float | None = None
    peak_before: float = 0.0
    peak_after: float = 0.0
    big_seconds: float = 0.0
    big_problems: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @staticmethod
    def pooled(runs: list[_Run]) -> _Run:
        """Totals over the runs; the big message's figures from the first run, which sent
        it."""
        big = runs[0]
        processed = [run.processed_seconds for run in runs if run.processed_seconds is not None]
        return _Run(
            messages=sum(run.messages for run in runs),
            bytes=sum(run.bytes for run in runs),
            seconds=sum(run.seconds for run in runs),
            cpu=sum(run.cpu for run in runs),
            problems=[problem for run in runs for problem in run.problems],
            processed_seconds=sum(processed) if len(processed) == len(runs) else None,
            peak_before=big.peak_before,
            peak_after=big.peak_after,
            big_seconds=big.big_seconds,
            big_problems=big.big_problems,
        )


async def _measure_run(
    server: ServerProcess,
    mix: list[tuple[str, str, bytes]],
    connections: int,
    big: tuple[str, str, bytes] | None,
    database: Path | None,
) -> _Run:
    """Start the server, send the mix (and then `big`), stop it. With the product's
    `database`, also wait until its worker has processed what it accepted."""
    await server.start()
    try:
        cpu = server.cpu()
        send_started = time.perf_counter()
        seconds, problems = await _send(server.port, mix, connections)
        run = _Run(len(mix), sum(len(raw) for _, _, raw in mix), seconds, 0.0, problems)
        if database is not None:
            await _processed(database, 300)
            run.processed_seconds = time.perf_counter() - send_started
        run.cpu = server.cpu() - cpu
        if big is not None:
            run.peak_before = server.peak_mb()
            run.big_seconds, run.big_problems = await _send(server.port, [big], 1)
            if database is not None:
                await _processed(database, 120)
            run.peak_after = server.peak_mb()
    finally:
        await server.stop()
    return run


async def measure(messages_count: int, connections: int) -> Section:
    started = time.perf_counter()
    section = Section(4, "Mail intake")
    url, database, facts = await prepared_town(1000)
    tokens = await _prepare(url, 50)
    emails = _guardian_emails(database, 200)

    def new_mix() -> list[tuple[str, str, bytes]]:
        """The mix, with fresh Message-IDs (a known one is only acknowledged)."""
        return [
            _staff_reply(tokens[n % len(tokens)], n)
            if n % 10 < 7
            else _certificate(emails[n % len(emails)], n)
            for n in range(messages_count)
        ]

    big = _big(emails[-1])
    product_port, raw_port = _free_port(), _free_port()
    documents = WORK_DIR / "mail-documents"
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SMTP_LISTEN_PORT=str(product_port),
        MAIL_DOMAIN=DOMAIN,
        STAFF_ALLOWED_DOMAINS=STAFF_DOMAIN,
        DOCUMENTS_DIR=str(documents),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    product = ServerProcess(
        "smtp-product", [sys.executable, "-m", "bot.cli", "smtp"], env, product_port
    )
    floor = ServerProcess(
        "smtp-floor",
        [sys.executable, "-m", "bench.raw_smtp", "--port", str(raw_port)],
        dict(os.environ),
        raw_port,
    )
    # Floor, product, product, floor: a drift of the machine during the section (another
    # process, a PostgreSQL checkpoint after section 2) weighs on both alike; the runs of
    # each server are pooled. The 25 MB message goes to each server's first run.
    runs: dict[str, list[_Run]] = {floor.name: [], product.name: []}
    for server in (floor, product, product, floor):
        runs[server.name].append(
            await _measure_run(
                server,
                new_mix(),
                connections,
                big if not runs[server.name] else None,
                database if server is product else None,
            )
        )
    pooled = {name: _Run.pooled(server_runs) for name, server_runs in runs.items()}
    rows = []
    for server, label in (
        (floor, "floor (counting aiosmtpd)"),
        (product, "product (`portail smtp`)"),
    ):
        figures = pooled[server.name]
        rows.append(
            [
                label,
                f"{figures.messages} ({len(runs[server.name])} runs)",
                f"{figures.rate:.1f}",
                f"{figures.bytes / figures.seconds / 1e6:.1f}",
                f"{figures.cpu / figures.messages * 1000:.1f}",
                f"{figures.messages / figures.processed_seconds:.1f}"
                if figures.processed_seconds
                else "",
                str(len(figures.problems)),
                f"{figures.peak_before:.0f}",
                f"{figures.peak_after:.0f} (+{figures.peak_after - figures.peak_before:.0f})",
                f"{figures.big_seconds:.1f}"
                + (f", {figures.big_problems[0]}" if figures.big_problems else ""),
            ]
        )
    section.setup = [
        f"Store (product): SQLite, {facts.families:,} families, 50 threads with reply tokens.",
        f"Mix: {messages_count} messages per run, 7 in 10 staff replies to "
        f"`reply+<token>@{DOMAIN}` "
        f"(~2 KB), 3 in 10 parents' certificates to `documents@{DOMAIN}` (a 300 KB PDF, "
        f"~410 KB on the wire); {pooled[floor.name].bytes / 2 / 1e6:.1f} MB per run, over "
        f"{connections} SMTP connections (smtplib, one thread each), fresh Message-IDs each "
        "run. Runs in the order floor, product, product, floor (each server started afresh), "
        "pooled per server.",
        f"After each server's first run, one message of {len(big[2]) / 2**20:.1f} MiB (a PDF) "
        "to the documents address, and that server's peak resident memory (VmHWM) before "
        "and after.",
    ]
    section.table(
        [
            "server",
            "messages",
            "accepted/s",
            "MB/s",
            "server CPU ms/message",
            "processed/s (product)",
            "errors",
            "peak MiB before the 25 MB message",
            "peak MiB after it",
            "25 MB message: seconds",
        ],
        rows,
    )
    floor_rate, product_rate = pooled[floor.name].rate, pooled[product.name].rate
    section.goal(
        "accepted rate ≥ half the raw aiosmtpd server's",
        f"{product_rate:.1f} vs {floor_rate:.1f} messages/s = {product_rate / floor_rate:.2f}×",
        product_rate >= floor_rate / 2,
    )
    growth = pooled[product.name].peak_after - pooled[product.name].peak_before
    floor_growth = pooled[floor.name].peak_after - pooled[floor.name].peak_before
    size_mb = len(big[2]) / 1024 / 1024
    section.goal(
        "memory bounded while a 25 MB message arrives (here: peak growth ≤ 6× its size)",
        f"peak +{growth:.0f} MiB for a {size_mb:.0f} MiB message ({growth / size_mb:.1f}× its "
        f"size; the counting server: +{floor_growth:.0f} MiB, {floor_growth / size_mb:.1f}×)",
        growth <= 6 * size_mb,
    )
    section.seconds = time.perf_counter() - started
    return section


def run(messages: int = 150, connections: int = 4) -> Section:
    return asyncio.run(measure(messages, connections))


if __name__ == "__main__":
    print(run(60, 4).markdown())
    print((WORK_DIR / "smtp-product.log").read_text()[-3000:])
