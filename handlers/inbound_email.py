"""The inbound mail server (aiosmtpd), on the application's own event loop.

`start_smtp_server` listens with `loop.create_server` (not aiosmtpd's threaded `Controller`:
python-telegram-bot is not thread-safe and an SQLAlchemy engine must not cross event loops).
The SMTP dialogue refuses early what we will never take: an address that is not ours (550 at
RCPT), too many recipients (452), a message larger than `MAX_MAIL_BYTES` (552, announced in
EHLO's SIZE). At the end of DATA the raw message is committed to the store *before* the server
answers 250; if that fails the answer is 451 and the sender retries later. What to do with
the mail is decided after 250, by one background worker; on start-up every mail accepted but
not yet processed (a crash after 250) is processed again. Several `portail smtp` may share one
database: a mail is leased to one worker at a time, and taken over once its worker's lease
expired (see `store.inbound`). A malformed message never crashes
anything: it is kept raw and flagged.

Accepting comes first: the worker shares the loop (and, on SQLite, the one connection) with
the SMTP sessions, so it starts on a mail once no session is between its first recipient and
its 250 and the dialogue has been quiet for a moment (`ACCEPT_QUIET_SECONDS`), or when that
mail has waited `MAX_DEFER_SECONDS` (a steady flow is then processed as it comes). A mail
the worker gets soon after its 250 comes with its bytes, not read again from the store; an
attachment over the documents' size limit is refused from its encoded size, never decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import signal
import weakref
from collections.abc import AsyncIterator, Callable

from aiosmtpd.smtp import SMTP, Envelope, Session

from bot.portal import Portal
from bot.process_memory import map_large_blocks, settle_memory
from bot.settings import Settings
from handlers.email_parsing import message_id_of, parse_mail
from store.absences import AbsenceService
from store.documents import DocumentFolder, DocumentService
from store.inbound import InboundConfig, InboundMailService, route_of
from store.messaging import MessagingService

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2525
DEFAULT_MAX_MAIL_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_RECIPIENTS = 20
# How often mails left unprocessed (a failed attempt) are tried again.
SWEEP_SECONDS = 60.0
# A client that stays silent this long is disconnected.
IDLE_TIMEOUT_SECONDS = 120.0
# The worker waits until no recipient or message came in for this long...
ACCEPT_QUIET_SECONDS = 0.02
# ... but never keeps an accepted mail waiting longer than this.
MAX_DEFER_SECONDS = 2.0


def inbound_service(portal: Portal, config: InboundConfig | None = None) -> InboundMailService:
    """The inbound mail service on the portal's store, documents folder and messaging."""
    settings = portal.settings
    documents = DocumentService(
        portal.sessions, DocumentFolder(settings.documents_dir), settings.max_document_bytes
    )
    absences = AbsenceService(portal.sessions)
    messaging = MessagingService(portal.sessions, portal.clock)
    return InboundMailService(
        portal.sessions,
        config or InboundConfig.from_settings(settings),
        functools.partial(parse_mail, max_attachment_bytes=documents.max_bytes),
        documents,
        absences,
        messaging,
    )


class InboundHandler:
    """The aiosmtpd handler: refuse early, commit before 250, hand over for processing."""

    def __init__(
        self,
        service: InboundMailService,
        max_recipients: int,
        accepted: Callable[[int, bytes], None],
        active: Callable[[], None] = lambda: None,
    ):
        self._service = service
        self._max_recipients = max_recipients
        self._accepted = accepted
        self._active = active

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        """Take only our addresses, and not too many of them."""
        self._active()
        if len(envelope.rcpt_tos) >= self._max_recipients:
            return "452 4.5.3 Too many recipients"
        if route_of(address, self._service.config) is None:
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Commit the raw mail, then answer 250; 451 (retry later) if it cannot be kept.

        Nothing else happens before 250: no parsing (the Message-ID is read from the headers
        alone), one short transaction. aiosmtpd (`decode_data` off) gives the bytes once:
        `content` and `original_content` are the same object."""
        self._active()
        raw = envelope.original_content or b""
        if isinstance(envelope.content, bytes) and not raw:
            raw = envelope.content
        try:
            accepted = await self._service.accept_raw(
                envelope.mail_from or "", list(envelope.rcpt_tos), raw, message_id_of(raw)
            )
        except Exception:
            logger.exception("could not store an inbound mail; the sender will retry")
            return "451 4.3.0 Temporary failure, please try again later"
        if not accepted.duplicate:
            self._accepted(accepted.mail_id, raw)
        return f"250 2.0.0 Accepted as {accepted.mail_id}"


class InboundMailServer:
    """The listening server and the worker processing what it accepted."""

    def __init__(
        self,
        service: InboundMailService,
        *,
        max_mail_bytes: int = DEFAULT_MAX_MAIL_BYTES,
        max_recipients: int = DEFAULT_MAX_RECIPIENTS,
        hostname: str | None = None,
        sweep_seconds: float = SWEEP_SECONDS,
        quiet_seconds: float = ACCEPT_QUIET_SECONDS,
        max_defer_seconds: float = MAX_DEFER_SECONDS,
    ):
        self.service = service
        self.max_mail_bytes = max_mail_bytes
        self._queue: asyncio.Queue[tuple[int, float]] = asyncio.Queue()
        self._queued: set[int] = set()
        # Bytes of mails just accepted, handed to the worker (only while it has no backlog).
        self._held: dict[int, bytes] = {}
        self.handler = InboundHandler(service, max_recipients, self._accept, self._touch)
        self._hostname = hostname or service.config.mail_domain
        self._sweep_seconds = sweep_seconds
        self._quiet_seconds = quiet_seconds
        self._max_defer_seconds = max_defer_seconds
        self._last_activity = -math.inf
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self.server: asyncio.Server | None = None
        self._worker: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The port listened on (useful when asked for port 0)."""
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    def _protocol(self) -> SMTP:
        session = SMTP(
            self.handler,
            data_size_limit=self.max_mail_bytes,
            hostname=self._hostname,
            ident="Portail Famille ESMTP",
            enable_SMTPUTF8=True,
            timeout=IDLE_TIMEOUT_SECONDS,
        )
        self._sessions.add(session)
        return session

    def _mid_transaction(self) -> bool:
        """Some client has given a recipient and not yet had its answer to DATA (its message
        may be arriving): aiosmtpd resets the envelope after DATA, on RSET, and drops the
        transport when the connection is lost."""
        return any(
            session.transport is not None and session.envelope.rcpt_tos
            for session in self._sessions
        )

    async def start(self, host: str, port: int) -> asyncio.Server:
        """Listen, and process what an earlier run accepted but did not finish."""
        loop = asyncio.get_running_loop()
        self._worker = asyncio.create_task(self._work(), name="inbound-mail-worker")
        try:
            await self._requeue_pending()
            self.server = await loop.create_server(self._protocol, host, port)
        except BaseException:
            await self.close()
            raise
        self._sweeper = asyncio.create_task(self._sweep(), name="inbound-mail-sweeper")
        logger.info("inbound mail server listening on %s:%s", host, self.port)
        return self.server

    def _touch(self) -> None:
        """An SMTP client is giving a recipient or a message: the worker waits."""
        self._last_activity = asyncio.get_running_loop().time()

    def _accept(self, mail_id: int, raw: bytes) -> None:
        """A mail was committed: hand it to the worker, with its bytes if it has no backlog
        (so that at most a mail or two are held in memory, never a burst)."""
        self._touch()
        if self._queue.empty() and mail_id not in self._queued:
            self._held[mail_id] = raw
        self._enqueue(mail_id)

    def _enqueue(self, mail_id: int) -> None:
        """Hand a mail to the worker, unless it is already waiting or being processed."""
        if mail_id not in self._queued:
            self._queued.add(mail_id)
            self._queue.put_nowait((mail_id, asyncio.get_running_loop().time()))

    async def _requeue_pending(self) -> None:
        for mail_id in await self.service.pending():
            self._enqueue(mail_id)

    async def _yield_to_accepts(self, queued_at: float) -> None:
        """Wait until no message is arriving and the SMTP dialogue has been quiet for a
        moment, or until the mail has waited long enough."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            quiet_for = now - self._last_activity
            left = self._max_defer_seconds - (now - queued_at)
            if left <= 0:
                return
            if self._mid_transaction():
                await asyncio.sleep(min(self._quiet_seconds, left))
            elif quiet_for >= self._quiet_seconds:
                return
            else:
                await asyncio.sleep(min(self._quiet_seconds - quiet_for, left))

    async def _work(self) -> None:
        """Process accepted mails one at a time; a failure leaves the mail for a retry."""
        while True:
            mail_id, queued_at = await self._queue.get()
            try:
                await self._yield_to_accepts(queued_at)
                view = await self.service.process(mail_id, self._held.pop(mail_id, None))
                logger.info("inbound mail %s: %s (%s)", mail_id, view.status, view.reason)
            except Exception:
                logger.exception("inbound mail %s could not be processed; will retry", mail_id)
            finally:
                self._held.pop(mail_id, None)
                self._queued.discard(mail_id)
                self._queue.task_done()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_seconds)
            try:
                await self._requeue_pending()
            except Exception:
                logger.exception("could not list pending inbound mails")

    async def drain(self) -> None:
        """Wait until every accepted mail was processed (or failed this attempt)."""
        await self._queue.join()

    async def close(self) -> None:
        """Stop listening, let the mail being processed finish, stop the worker."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        if self._worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout=10)
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker


async def start_smtp_server(
    portal: Portal, host: str | None = None, port: int | None = None
) -> InboundMailServer:
    """Start the inbound mail server on the running loop; `.server` is the asyncio.Server."""
    settings = portal.settings
    server = InboundMailServer(
        inbound_service(portal),
        max_mail_bytes=settings.max_mail_bytes,
        max_recipients=settings.max_recipients,
    )
    await server.start(
        host if host is not None else settings.smtp_listen_host,
        port if port is not None else settings.smtp_listen_port,
    )
    return server


@contextlib.asynccontextmanager
async def running_smtp(
    portal: Portal, host: str | None = None, port: int | None = None
) -> AsyncIterator[InboundMailServer]:
    """The inbound mail server running until the block exits."""
    server = await start_smtp_server(portal, host, port)
    try:
        yield server
    finally:
        await server.close()


async def serve_smtp(settings: Settings) -> None:
    """`portail smtp`: the inbound mail server alone, until SIGINT or SIGTERM."""
    portal = Portal.from_settings(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    map_large_blocks()
    try:
        async with running_smtp(portal):
            settle_memory()
            await stop.wait()
    finally:
        await portal.close()
