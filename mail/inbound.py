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

Floods and bounds. A sender (the envelope sender, and the address of the From header, each
lower-cased) gets at most `MAIL_MAX_PER_SENDER_PER_HOUR` mails accepted in an hour, counted in
the store over every worker (`MAIL_MAX_PER_STAFF_SENDER_PER_HOUR` for staff addresses and the
allowed domains: an agent may answer many parents in an hour); past it, `450 4.7.1` at the
end of DATA (counted in the transaction that would keep the mail: no query more on the way of
a mail taken), then at RCPT, before its message, for `OVER_MEMORY_SECONDS`; nothing of a flood
is stored, and a real sender's server retries later. At most `MAIL_MAX_CONCURRENT_DATA` messages
are received at once: a client starting one more DATA gets `452 4.3.1 Too many concurrent
messages, try again later`. That bounds the server's memory: each message being received costs
about 1.9 x its size (aiosmtpd keeps its lines, then joins them at the end of DATA), and a part
does not grow with the cap: one large mail at a time is sealed (encrypted at rest: its token is
4/3 of its size) and written (the store's driver copies the token), and the worker reads one
mail at a time (its token opened, then the mail, its text, the parser's parts: 6 to 9 x its
size measured). Peak growth over the idle server stays under

    (2 x MAIL_MAX_CONCURRENT_DATA + 14) x MAX_MAIL_BYTES   (550 MiB with the defaults: 4, 25 MiB)

measured by `bench/` section 8: ten clients sending 25 MiB at once, +441 to +457 MiB with the
cap of 4 over two runs (+329 to +375 MiB over five runs before raw mails were encrypted; the
others told 452, accepted on their retry), +652 to +657 MiB with a cap of 10 (+596 to +634
before; as before the cap: the issue measured 726 MB).

Raw mails are emptied after their retention period (`store.mail_retention`), by a purge run
every `PURGE_SECONDS`, once per cluster: each mail server asks for the lease `purge:raw_mail`
(`store.leases`) for the period and purges only if it got it; the rows, without their bytes,
stay for staff.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import itertools
import logging
import math
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import getaddresses
from typing import TYPE_CHECKING

from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

from mail.parsing import message_id_of, parse_mail, raw_headers
from store.clock import Clock, system_clock
from store.decide_by_mail import DecisionReplies
from store.inbound import InboundConfig, InboundMailService, Route, address_parts, route_of
from store.leases import PURGE_RAW_MAIL, ClusterLeases
from store.mail_retention import Retention
from store.models.base import utcnow
from store.staff_digest import DigestReplies

if TYPE_CHECKING:
    from bot.portal import Portal

logger = logging.getLogger(__name__)
# aiosmtpd's own logger: at DEBUG it writes every line of every message received (children's
# certificates, in base64). Never below INFO, whatever LOG_LEVEL says; at INFO it writes the
# peers and envelope addresses only.
logging.getLogger("mail.log").setLevel(logging.INFO)

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
DEFAULT_MAX_PER_SENDER_PER_HOUR = 30
DEFAULT_MAX_PER_STAFF_SENDER_PER_HOUR = 120
DEFAULT_MAX_CONCURRENT_DATA = 4
# How often raw mails past their retention are emptied.
PURGE_SECONDS = 3600.0
RATE_WINDOW = timedelta(hours=1)
# Staff addresses (and not) remembered this long, this many at most.
STAFF_MEMORY_SECONDS = 300.0
STAFF_MEMORY = 10_000
# A sender refused for its count at DATA is refused at RCPT (before its message) this long.
OVER_MEMORY_SECONDS = 60.0
TOO_MANY_FROM_SENDER = "450 4.7.1 Too many messages from this sender, try again later"
TOO_MANY_AT_ONCE = "452 4.3.1 Too many concurrent messages, try again later"
# An address of our domain that is none of ours: most often the sender of our notifications
# (SMTP_FROM), which a staff member answered (e.g. "OK" to a daily list, which asks nothing).
# Refused at RCPT, nothing kept, nothing sent back (no loop): the staff member's own server
# tells them, with these words, in both languages (SMTP replies are ASCII).
NO_REPLY_HERE = (
    "550 5.1.1 This address takes no replies: our notices are automatic, the daily list "
    "asks nothing. To decide or answer a family, reply to the email of that request or "
    "message. / Adresse sans reponse : nos envois sont automatiques, la liste du jour ne "
    "demande rien. Pour decider ou repondre a une famille, repondez au mail de la demande."
)
# The worker's order: staff replies, then the others, each in the order they came.
URGENT, NORMAL = 0, 1


class CannotListen(RuntimeError):
    """The mail server's address cannot be listened on (in use by another process...)."""


@dataclass(frozen=True)
class SenderLimits:
    """Mails accepted per sender and hour (staff addresses have their own limit)."""

    per_hour: int = DEFAULT_MAX_PER_SENDER_PER_HOUR
    staff_per_hour: int = DEFAULT_MAX_PER_STAFF_SENDER_PER_HOUR


class DataSlots:
    """How many messages are being received at once, and how many may be."""

    def __init__(self, cap: int):
        self.cap = cap
        self.busy = 0
        self.refused = 0

    def take(self) -> bool:
        """A slot for one more message, or False when all are taken."""
        if self.busy >= self.cap:
            self.refused += 1
            return False
        self.busy += 1
        return True

    def give_back(self) -> None:
        self.busy -= 1


class CappedSMTP(SMTP):
    """aiosmtpd's SMTP session, with DATA refused (452) while `slots` are all taken."""

    def __init__(self, handler: object, *, slots: DataSlots, **kwargs: object):
        super().__init__(handler, **kwargs)  # type: ignore[arg-type]
        self._slots = slots

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        # Only a DATA that will read a message takes a slot; aiosmtpd answers the others
        # (no HELO, no recipient, an argument) as usual.
        receives = bool(
            self.session is not None
            and self.session.host_name
            and self.envelope is not None
            and self.envelope.rcpt_tos
            and not arg
        )
        if receives and not self._slots.take():
            await self.push(TOO_MANY_AT_ONCE)
            return
        try:
            await super().smtp_DATA(arg)
        finally:
            if receives:
                self._slots.give_back()


def header_from_of(raw: bytes) -> str | None:
    """The address of a raw message's From header, lower-cased, read from its headers only."""
    try:
        message = raw_headers(raw)
        values = message.get_all("From") or []
        addresses = [address for _, address in getaddresses([str(v) for v in values])]
    except Exception:
        return None
    found = next((a.strip().lower() for a in addresses if "@" in a), None)
    return found[:254] if found else None


def inbound_service(portal: Portal, config: InboundConfig | None = None) -> InboundMailService:
    """The inbound mail service on the portal's store and its document, absence and messaging
    services."""
    settings = portal.settings
    documents = portal.documents
    decisions = decision_replies(portal)
    return InboundMailService(
        portal.sessions,
        config or InboundConfig.from_settings(settings),
        functools.partial(
            parse_mail,
            max_attachment_bytes=documents.max_bytes,
            authserv_id=settings.mail_authserv_id,
        ),
        documents,
        portal.absences,
        portal.messaging,
        decisions=decisions,
        digests=DigestReplies(portal.sessions, decisions, portal.clock),
    )


def decision_replies(portal: Portal) -> DecisionReplies:
    """Decisions by reply (`store.decide_by_mail`) on the portal's services."""
    return DecisionReplies(
        portal.sessions,
        absences=portal.absences,
        documents=portal.documents,
        bookings=portal.bookings,
        family_file=portal.family_file,
        enrolments=portal.enrolments,
        clock=portal.clock,
    )


class InboundHandler:
    """The aiosmtpd handler: refuse early, commit before 250, hand over for processing."""

    def __init__(
        self,
        service: InboundMailService,
        max_recipients: int,
        accepted: Callable[[int, bytes, bool], None],
        active: Callable[[], None] = lambda: None,
        limits: SenderLimits | None = None,
    ):
        self._service = service
        self._max_recipients = max_recipients
        self._accepted = accepted
        self._active = active
        self._limits = limits or SenderLimits()
        # Whether an address is a staff one, remembered a while (asked at every mail).
        self._staff: dict[str, tuple[bool, float]] = {}
        # Senders refused for their count, until when they are refused at RCPT already.
        self._over: dict[str, float] = {}

    async def _is_staff(self, address: str) -> bool:
        now = asyncio.get_running_loop().time()
        known = self._staff.get(address)
        if known is not None and known[1] > now:
            return known[0]
        staff = await self._service.is_staff_address(address)
        if len(self._staff) >= STAFF_MEMORY:
            self._staff.clear()
        self._staff[address] = (staff, now + STAFF_MEMORY_SECONDS)
        return staff

    async def _limits_of(self, *addresses: str | None) -> dict[str, int]:
        """Each distinct sender address (lower-cased) and its hourly limit."""
        found = {}
        for address in {a.strip().lower() for a in addresses if a and a.strip()}:
            staff = await self._is_staff(address)
            found[address] = self._limits.staff_per_hour if staff else self._limits.per_hour
        return found

    def _refused_lately(self, address: str | None) -> bool:
        """Was this sender refused at DATA for its count a moment ago (in this process)?"""
        if not address:
            return False
        until = self._over.get(address.strip().lower())
        return until is not None and until > asyncio.get_running_loop().time()

    def _remember_over(self, *addresses: str | None) -> None:
        now = asyncio.get_running_loop().time()
        if len(self._over) >= STAFF_MEMORY:
            self._over = {a: t for a, t in self._over.items() if t > now}
        for address in addresses:
            if address and address.strip():
                self._over[address.strip().lower()] = now + OVER_MEMORY_SECONDS

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
            if address_parts(address)[1] == self._service.config.mail_domain:
                return NO_REPLY_HERE
            return "550 5.1.1 No such recipient here"
        if self._refused_lately(envelope.mail_from):
            return TOO_MANY_FROM_SENDER
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
        header_from = header_from_of(raw)
        try:
            # Counted with the insert, in its transaction: the From header's sender, and the
            # envelope's again (other mails may have come since its RCPT).
            accepted = await self._service.accept_raw(
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                raw,
                message_id_of(raw),
                header_from,
                limits=await self._limits_of(envelope.mail_from, header_from),
                since=utcnow() - RATE_WINDOW,
            )
        except Exception:
            logger.exception("could not store an inbound mail; the sender will retry")
            return "451 4.3.0 Temporary failure, please try again later"
        if accepted.over_limit:
            logger.info("mail refused: a sender is over its hourly limit")
            self._remember_over(envelope.mail_from, header_from)
            return TOO_MANY_FROM_SENDER
        if not accepted.duplicate:
            staff_reply = any(
                route_of(address, self._service.config) is Route.STAFF_REPLY
                for address in envelope.rcpt_tos
            )
            self._accepted(accepted.mail_id, raw, staff_reply)
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
        limits: SenderLimits | None = None,
        max_concurrent_data: int = DEFAULT_MAX_CONCURRENT_DATA,
        retention: Retention | None = None,
        clock: Clock = system_clock,
        purge_seconds: float = PURGE_SECONDS,
        leases: ClusterLeases | None = None,
    ):
        self.service = service
        self.max_mail_bytes = max_mail_bytes
        self.data_slots = DataSlots(max_concurrent_data)
        self._retention = retention or Retention()
        self._clock = clock
        self._purge_seconds = purge_seconds
        # The cluster's purge is claimed here (None: this server purges on its own).
        self._leases = leases
        self._purger: asyncio.Task[None] | None = None
        # (priority, order, mail id, queued at): staff replies first (see `_accept`).
        self._queue: asyncio.PriorityQueue[tuple[int, int, int, float]] = asyncio.PriorityQueue()
        self._order = itertools.count()
        self._queued: set[int] = set()
        # Bytes of mails just accepted, handed to the worker (only while it has no backlog).
        self._held: dict[int, bytes] = {}
        self.handler = InboundHandler(
            service, max_recipients, self._accept, self._touch, limits or SenderLimits()
        )
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
        session = CappedSMTP(
            self.handler,
            slots=self.data_slots,
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
            session.transport is not None
            and session.envelope is not None
            and session.envelope.rcpt_tos
            for session in self._sessions
        )

    async def start(self, host: str, port: int) -> asyncio.Server:
        """Listen, and process what an earlier run accepted but did not finish."""
        loop = asyncio.get_running_loop()
        self._worker = asyncio.create_task(self._work(), name="inbound-mail-worker")
        try:
            await self._requeue_pending()
            try:
                self.server = await loop.create_server(self._protocol, host, port)
            except OSError as error:
                raise CannotListen(_listen_problem(host, port, error)) from error
        except BaseException:
            await self.close()
            raise
        self._sweeper = asyncio.create_task(self._sweep(), name="inbound-mail-sweeper")
        self._purger = asyncio.create_task(self._purge(), name="inbound-mail-purge")
        logger.info("inbound mail server listening on %s:%s", host, self.port)
        return self.server

    def _touch(self) -> None:
        """An SMTP client is giving a recipient or a message: the worker waits."""
        self._last_activity = asyncio.get_running_loop().time()

    def _accept(self, mail_id: int, raw: bytes, staff_reply: bool = False) -> None:
        """A mail was committed: hand it to the worker, with its bytes if it has no backlog
        (so that at most a mail or two are held in memory, never a burst). A staff reply goes
        before the mails waiting: a flood of parents' (or forged) mail never delays an
        answer to a family."""
        self._touch()
        if self._queue.empty() and mail_id not in self._queued:
            self._held[mail_id] = raw
        self._enqueue(mail_id, URGENT if staff_reply else NORMAL)

    def _enqueue(self, mail_id: int, priority: int = NORMAL) -> None:
        """Hand a mail to the worker, unless it is already waiting or being processed."""
        if mail_id not in self._queued:
            self._queued.add(mail_id)
            now = asyncio.get_running_loop().time()
            self._queue.put_nowait((priority, next(self._order), mail_id, now))

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
            first = await self._queue.get()
            await self._yield_to_accepts(first[3])
            # What came in while the worker waited may go first (a staff reply): put the
            # mail back and take the first in order now.
            self._queue.put_nowait(first)
            self._queue.task_done()
            _, _, mail_id, _ = self._queue.get_nowait()
            try:
                # The service logs what it decided; a mail another worker holds or finished
                # is only looked at.
                await self.service.process(mail_id, self._held.pop(mail_id, None))
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

    async def purge_once(self) -> int:
        """Empty the raw mails past their retention now; how many were emptied."""
        purged = await self.service.purge_raw(self._clock(), self._retention)
        if purged:
            logger.info("emptied %s raw inbound mail(s) past their retention", purged)
        return purged

    async def purge_for_cluster(self) -> int | None:
        """Purge if this server gets the cluster's raw-mail purge for the next period: how
        many were emptied, None when another mail server holds it."""
        if self._leases is not None and not await self._leases.take(
            PURGE_RAW_MAIL,
            self.service.worker_id,
            self._clock(),
            timedelta(seconds=self._purge_seconds),
        ):
            return None
        return await self.purge_once()

    async def _purge(self) -> None:
        """At start, then every `purge_seconds`, when this server gets the lease (the purge
        is idempotent all the same: two servers at once would empty each mail once)."""
        while True:
            try:
                await self.purge_for_cluster()
            except Exception:
                logger.exception("could not purge raw inbound mails; will try again")
            await asyncio.sleep(self._purge_seconds)

    async def drain(self) -> None:
        """Wait until every accepted mail was processed (or failed this attempt)."""
        await self._queue.join()

    async def close(self) -> None:
        """Stop listening, let the mail being processed finish, stop the worker."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for task in (self._sweeper, self._purger):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._purger is not None and self._leases is not None:
            # The next mail server to start, or the next to ask, purges without waiting.
            try:
                await self._leases.release(PURGE_RAW_MAIL, self.service.worker_id)
            except Exception:
                logger.exception("could not give the raw-mail purge's lease up")
        if self._worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), timeout=10)
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker


def _listen_problem(host: str, port: int, error: OSError) -> str:
    """What to tell whoever started the server, in one sentence or two."""
    if error.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {host}:{port}: the address is already in use (is `portail run` "
            "or another `portail smtp` running on this host? `portail run` includes the mail "
            "server: next to `portail smtp`, run `portail bot`; or give each its own "
            "SMTP_LISTEN_PORT)"
        )
    return f"cannot listen on {host}:{port}: {error.strerror or error}"


async def start_smtp_server(
    portal: Portal, host: str | None = None, port: int | None = None
) -> InboundMailServer:
    """Start the inbound mail server on the running loop; `.server` is the asyncio.Server."""
    settings = portal.settings
    server = InboundMailServer(
        inbound_service(portal),
        max_mail_bytes=settings.max_mail_bytes,
        max_recipients=settings.max_recipients,
        limits=SenderLimits(
            settings.mail_max_per_sender_per_hour, settings.mail_max_per_staff_sender_per_hour
        ),
        max_concurrent_data=settings.mail_max_concurrent_data,
        retention=Retention.from_settings(settings),
        clock=portal.clock,
        leases=ClusterLeases(portal.sessions),
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
