"""`portail smtp` as a real process: killed with SIGKILL right after answering 250, restarted,
and the mail is filed — nothing accepted is ever lost.

The first process cannot file the mail (its documents folder is unusable), so whatever the
timing of the kill, the mail is still to process when it dies: only the restart can file it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import socket
import sys
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

from sqlalchemy import select

from store.documents import DocumentFolder, DocumentService
from store.models import Document, InboundMail
from store.models.inbound import InboundStatus
from tests.family_file_helpers import tiny_pdf
from tests.helpers import build_town
from tests.mail_helpers import MTA_AUTHSERV_ID, vouched

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "portail-famille.example"
DOCUMENTS = f"documents@{DOMAIN}"
PARENT = "parent.f1@exemple.fr"
PDF = tiny_pdf()
START_TIMEOUT = 8.0
POLL_SECONDS = 0.05


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_smtp(
    name: str, database_url: str, port: int, documents_dir: Path, cwd: Path
) -> asyncio.subprocess.Process:
    """`portail smtp` in its own process (its log in `cwd`), once it listens on `port`."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": database_url,
        "SMTP_LISTEN_HOST": "127.0.0.1",
        "SMTP_LISTEN_PORT": str(port),
        "DOCUMENTS_DIR": str(documents_dir),
        "MAIL_DOMAIN": DOMAIN,
        "MAIL_AUTHSERV_ID": MTA_AUTHSERV_ID,
        "LOG_LEVEL": "WARNING",
        "PRIVACY_KEYS": os.environ["PRIVACY_KEYS"],  # the test's key (conftest)
    }
    log = cwd / f"{name}.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "smtp",
            cwd=cwd,  # no .env there
            env=env,
            stdout=output,
            stderr=output,
        )
    for _ in range(int(START_TIMEOUT / POLL_SECONDS)):
        if process.returncode is not None:
            break
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(POLL_SECONDS)
            continue
        writer.close()
        await writer.wait_closed()
        return process
    process.kill()
    await process.wait()
    raise AssertionError(f"portail smtp did not start:\n{log.read_text(errors='replace')}")


def deliver(port: int, raw: bytes) -> int:
    """The SMTP dialogue by hand: the code the server answers at the end of DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("client.example")
        assert client.mail(PARENT)[0] == 250
        assert client.rcpt(DOCUMENTS)[0] == 250
        code, _ = client.data(raw)
        return code


def parents_mail() -> bytes:
    message = EmailMessage()
    message["From"] = f"Camille <{PARENT}>"
    message["To"] = DOCUMENTS
    message["Subject"] = "assurance scolaire"
    message["Message-ID"] = "<killed-after-250@exemple.fr>"
    message.set_content("Bonjour, voici l'attestation.")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="assurance.pdf")
    return vouched(message.as_bytes(policy=SMTP_POLICY))


async def inbound_status(sessions) -> list[InboundStatus]:
    async with sessions() as session:
        return list(await session.scalars(select(InboundMail.status)))


async def test_a_mail_accepted_before_a_kill_is_filed_after_the_restart(
    sessions, database_url, tmp_path
):
    town = await build_town(sessions, [])
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    port = free_port()

    first = await start_smtp("first", database_url, port, blocker / "documents", tmp_path)
    try:
        assert await asyncio.to_thread(deliver, port, parents_mail()) == 250
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    assert first.returncode == -signal.SIGKILL
    assert await inbound_status(sessions) == [InboundStatus.RECEIVED]  # kept, not yet filed

    documents = tmp_path / "documents"
    second = await start_smtp("second", database_url, port, documents, tmp_path)
    try:
        for _ in range(int(START_TIMEOUT / POLL_SECONDS)):
            if await inbound_status(sessions) != [InboundStatus.RECEIVED]:
                break
            await asyncio.sleep(POLL_SECONDS)
    finally:
        second.send_signal(signal.SIGTERM)
        await second.wait()
    assert await inbound_status(sessions) == [InboundStatus.FILED]
    async with sessions() as session:
        [document] = await session.scalars(select(Document))
    assert (document.family_id, document.original_name) == (town.family_id, "assurance.pdf")
    [stored] = list(documents.iterdir())  # one file, encrypted; clear through the service
    assert PDF not in stored.read_bytes()
    service = DocumentService(sessions, DocumentFolder(documents), 10_000_000)
    assert (await service.read(town.guardian, document.id))[1] == PDF
