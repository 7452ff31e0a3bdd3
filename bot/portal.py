"""The store's services, assembled once per process and shared by every handler."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.privacy_keys import install_keyring
from bot.settings import Settings
from store.absences import AbsenceService
from store.access_log import AccessLogService
from store.billing import BillingService
from store.bookings import BookingService
from store.chat_state import ChatStateStore
from store.clock import Clock, system_clock
from store.database import create_engine, create_sessionmaker
from store.deadlines import PARIS
from store.document_storage import S3Location, make_storage
from store.documents import DocumentService
from store.enrolments import EnrolmentService
from store.families import FamilyService
from store.family_export import FamilyExport
from store.family_records import FamilyFileService, FileSettings
from store.family_rights import FamilyRights
from store.linking import LinkingService
from store.messaging import MessagingService
from store.planning import PlanningService
from store.reminders import ReminderService, ReminderSettings
from store.requests_list import RequestsListService
from store.retention import RetentionRules
from store.staff import StaffService
from store.statement import StatementService
from store.tariffs import TariffService


@dataclass
class Portal:
    """Everything a handler may call; handlers never touch the database themselves."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock = system_clock
    bookings: BookingService = field(init=False)
    billing: BillingService = field(init=False)
    planning: PlanningService = field(init=False)
    linking: LinkingService = field(init=False)
    families: FamilyService = field(init=False)
    chat_states: ChatStateStore = field(init=False)
    absences: AbsenceService = field(init=False)
    messaging: MessagingService = field(init=False)
    staff: StaffService = field(init=False)
    enrolments: EnrolmentService = field(init=False)
    requests_list: RequestsListService = field(init=False)
    statement: StatementService = field(init=False)
    tariffs: TariffService = field(init=False)
    family_file: FamilyFileService = field(init=False)
    reminders: ReminderService = field(init=False)
    access_log: AccessLogService = field(init=False)
    _documents: DocumentService | None = field(init=False, default=None, repr=False)
    _documents_on: tuple[object, int] | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.bookings = BookingService(self.sessions, self.clock)
        self.billing = BillingService(self.sessions)
        self.planning = PlanningService(self.sessions, self.clock)
        self.linking = LinkingService(self.sessions, self.clock)
        self.families = FamilyService(self.sessions)
        self.chat_states = ChatStateStore(self.sessions)
        self.absences = AbsenceService(self.sessions)
        self.messaging = MessagingService(self.sessions, self.clock)
        self.staff = StaffService(self.sessions)
        self.enrolments = EnrolmentService(self.sessions, self.clock)
        self.requests_list = RequestsListService(self.sessions)
        self.statement = StatementService(self.sessions)
        self.tariffs = TariffService(self.sessions)
        self.family_file = FamilyFileService(
            self.sessions,
            self.clock,
            FileSettings(self.settings.file_fields_applied_at_once, self.settings.file_check_day),
        )
        self.access_log = AccessLogService(
            self.sessions, self.settings.access_log_shows_staff_names
        )
        self.reminders = ReminderService(
            self.sessions,
            self.clock,
            ReminderSettings.parse(
                self.settings.reminder_days_before,
                self.settings.reminder_quiet_hours,
                self.settings.reminder_on_opening,
            ),
        )

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock = system_clock) -> Portal:
        """The services on the settings' database; the settings' encryption keyring made the
        process's first (`KeyringError` when no key is set on PostgreSQL)."""
        install_keyring(settings)
        engine = create_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        return cls(settings, engine, create_sessionmaker(engine), clock)

    @property
    def retention_rules(self) -> RetentionRules:
        """How long children's data are kept, from the settings (`store.retention`)."""
        return RetentionRules.parse(
            self.settings.retention_certificate_months,
            self.settings.retention_document_months,
            self.settings.retention_audit_months,
        )

    @property
    def documents(self) -> DocumentService:
        """The document service on the settings' storage (the folder, or the S3 bucket) and
        size limit, built once and built again only when those settings change (the settings
        may be edited at run time)."""
        settings, limit = self.settings, self.settings.max_document_bytes
        bucket = (
            S3Location(
                bucket=settings.documents_s3_bucket,
                prefix=settings.documents_s3_prefix,
                endpoint_url=settings.documents_s3_endpoint_url,
                region=settings.documents_s3_region,
                access_key_id=settings.documents_s3_access_key_id,
                secret_access_key=settings.documents_s3_secret_access_key,
            )
            if settings.documents_storage == "s3"
            else None
        )
        where = (settings.documents_storage, settings.documents_dir, bucket)
        if self._documents is None or self._documents_on != (where, limit):
            storage = make_storage(settings.documents_storage, settings.documents_dir, bucket)
            self._documents = DocumentService(self.sessions, storage, limit)
            self._documents_on = (where, limit)
        return self._documents

    @property
    def family_export(self) -> FamilyExport:
        """A family's data as a ZIP (`store.family_export`), its documents read through the
        document service."""
        return FamilyExport(self.sessions, self.documents, self.clock)

    @property
    def family_rights(self) -> FamilyRights:
        """Export pacing, erasure requests and erasure (`store.family_rights`)."""
        interval = timedelta(minutes=self.settings.privacy_export_interval_minutes)
        return FamilyRights(self.sessions, self.documents, self.clock, interval)

    def today(self) -> date:
        """Today in Paris, by the portal's clock."""
        return self.clock().astimezone(PARIS).date()

    async def close(self) -> None:
        await self.engine.dispose()
