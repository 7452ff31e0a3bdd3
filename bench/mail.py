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
    body = (f"%PDF-1.4\n% certificat {seed}\n").encode()
    filler = os.urandom(max(0, size - len(body) - 6))
    return body + filler + b"\n%%EOF"


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

    mix = new_mix()
    total_bytes = sum(len(raw) for _, _, raw in mix)
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
    rows = []
    figures = {}
    for server in (floor, product):
        await server.start()
        try:
            cpu = server.cpu()
            send_started = time.perf_counter()
            seconds, problems = await _send(server.port, mix, connections)
            processed_seconds = None
            if server is not floor:
                await _processed(database, 300)
                processed_seconds = time.perf_counter() - send_started
            used = server.cpu() - cpu
            before = after = server.peak_mb()
            big_seconds, big_problems = await _send(server.port, [big], 1)
            if server is not floor:
                await _processed(database, 120)
            after = server.peak_mb()
        finally:
            await server.stop()
        figures[server.name] = (seconds, used, before, after)
        label = {
            floor.name: "floor (counting aiosmtpd)",
            product.name: "product (`portail smtp`)",
        }[server.name]
        rows.append(
            [
                label,
                f"{len(mix)}",
                f"{len(mix) / seconds:.1f}",
                f"{total_bytes / seconds / 1e6:.1f}",
                f"{used / len(mix) * 1000:.1f}",
                f"{len(mix) / processed_seconds:.1f}" if processed_seconds else "",
                str(len(problems)),
                f"{before:.0f}",
                f"{after:.0f} (+{after - before:.0f})",
                f"{big_seconds:.1f}" + (f", {big_problems[0]}" if big_problems else ""),
            ]
        )
    section.setup = [
        f"Store (product): SQLite, {facts.families:,} families, 50 threads with reply tokens.",
        f"Mix: {len(mix)} messages, 7 in 10 staff replies to `reply+<token>@{DOMAIN}` "
        f"(~2 KB), 3 in 10 parents' certificates to `documents@{DOMAIN}` (a 300 KB PDF, "
        f"~410 KB on the wire); {total_bytes / 1e6:.1f} MB in all, over {connections} SMTP "
        "connections (smtplib, one thread each).",
        f"Then one message of {len(big[2]) / 2**20:.1f} MiB (a PDF) to the documents "
        "address, and each server's peak resident memory (VmHWM) before and after.",
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
    floor_rate = len(mix) / figures["smtp-floor"][0]
    product_rate = len(mix) / figures["smtp-product"][0]
    section.goal(
        "accepted rate ≥ half the raw aiosmtpd server's",
        f"{product_rate:.1f} vs {floor_rate:.1f} messages/s = {product_rate / floor_rate:.2f}×",
        product_rate >= floor_rate / 2,
    )
    growth = figures["smtp-product"][3] - figures["smtp-product"][2]
    floor_growth = figures["smtp-floor"][3] - figures["smtp-floor"][2]
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
