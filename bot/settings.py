"""Settings of the product, read from the environment and from a `.env` file.

Every setting has a default that works on a fresh machine, and each one is listed, commented, in
`.env.example`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from store.daily_lists import parse_weekdays
from store.retention import DEFAULT_AUDIT_MONTHS, DEFAULT_CERTIFICATE_MONTHS, RetentionRules
from store.staff_digest import parse_days


class Settings(BaseSettings):
    """What the bot, the mail server and the command line read at start-up."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/portail.sqlite3",
        description="SQLAlchemy async URL of the shared store.",
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        description="PostgreSQL connections each process keeps open (SQLite: one, always).",
    )
    database_max_overflow: int = Field(
        default=10,
        ge=0,
        description="PostgreSQL connections a process may open beyond the pool when busy.",
    )
    documents_dir: Path = Field(
        default=Path("var/documents"),
        description="Folder where uploaded documents are kept (owner-only permissions).",
    )
    documents_storage: Literal["folder", "s3"] = Field(
        default="folder",
        description="Where documents' bytes are kept: `folder` (DOCUMENTS_DIR, which several "
        "workers may share as a mounted volume) or `s3` (an S3-compatible bucket).",
    )
    documents_s3_bucket: str = ""
    documents_s3_prefix: str = "documents/"
    documents_s3_endpoint_url: str = Field(
        default="", description="Empty: AWS; set for MinIO or another S3-compatible store."
    )
    documents_s3_region: str = ""
    documents_s3_access_key_id: str = Field(
        default="", description="Empty (with the secret): boto3's usual credential chain."
    )
    documents_s3_secret_access_key: str = ""
    max_document_bytes: int = 6 * 1024 * 1024
    telegram_token: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    telegram_bot_username: str = "PortailFamilleBot"
    telegram_webhook_url: str = Field(
        default="",
        description="Public HTTPS URL Telegram POSTs updates to (webhook mode, any number of "
        "workers); empty: long polling, one bot process.",
    )
    telegram_webhook_secret: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_-]{0,256}$",
        description="Secret token Telegram sends with each webhook request; required with "
        "TELEGRAM_WEBHOOK_URL.",
    )
    telegram_webhook_max_connections: int = Field(default=40, ge=1, le=100)
    webhook_listen_host: str = "127.0.0.1"
    webhook_listen_port: int = Field(default=8080, ge=0, le=65535)
    invite_ttl_hours: int = 72
    conversation_timeout_seconds: float = 900
    max_concurrent_updates: int = 16
    handled_updates_retention_days: float = Field(
        default=2,
        gt=0,
        description="Days the ids of handled Telegram updates are kept, so that an update "
        "delivered again (restart, another worker) is handled once.",
    )
    telegram_messages_per_second: float = Field(
        default=25,
        gt=0,
        description="Messages the whole bot sends a second, over every worker (Telegram: ~30).",
    )
    telegram_group_messages_per_minute: float = Field(
        default=20,
        gt=0,
        description="Messages the bot sends a minute into one group chat (Telegram: ~20).",
    )
    health_max_outbox_lag_seconds: float = Field(
        default=300,
        gt=0,
        description="/healthz says degraded (503) when a due notice waited longer than this.",
    )
    health_max_mail_lag_seconds: float = Field(
        default=900,
        gt=0,
        description="/healthz says degraded (503) when an inbound mail waited longer than this.",
    )
    ops_listen_host: str = Field(
        default="127.0.0.1",
        description="Where /healthz and /metrics are served in long-polling mode.",
    )
    ops_listen_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port of /healthz and /metrics in long-polling mode; 0: not served.",
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_starttls: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="STARTTLS to the relay: auto (unless it is on loopback), always, never.",
    )
    smtp_tls_ca_file: Path | None = Field(
        default=None,
        description="CA certificates (PEM) the relay's certificate is checked against, "
        "instead of the system's.",
    )
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "Portail Famille <ne-pas-repondre@portail-famille.example>"
    mail_domain: str = "portail-famille.example"
    payment_url_template: str = ""
    town_name: str = "Portail Famille"
    billing_office_name: str = "Régie Enfance-Jeunesse"
    billing_office_address: str = ""
    invoice_font_path: Path | None = None
    smtp_listen_host: str = "127.0.0.1"
    smtp_listen_port: int = 2525
    documents_address: str = ""
    staff_allowed_domains: str = ""
    mail_allowed_link_domains: str = Field(
        default="",
        description="Domains (and their subdomains) an unauthenticated staff reply may link "
        "to, comma-separated; empty: the mail domain and the staff allowed domains.",
    )
    staff_fallback_email: str = Field(
        default="",
        description="Where staff notifications go when their service has no address in the store.",
    )
    email_codes_per_chat_per_hour: int = Field(default=3, ge=1)
    email_codes_per_address_per_hour: int = Field(default=3, ge=1)
    email_codes_per_hour: int = Field(default=200, ge=1)
    max_mail_bytes: int = 25 * 1024 * 1024
    mail_authserv_id: str = Field(
        default="",
        description="The authserv-id our MTA writes in Authentication-Results; empty: no "
        "inbound mail is taken as authenticated.",
    )
    mail_max_attachments: int = Field(
        default=10, ge=1, description="Attachments considered per inbound mail; the rest refused."
    )
    mail_confirm_days: int = Field(
        default=7, ge=1, description="Days a parent's unauthenticated mail waits for their word."
    )
    max_recipients: int = 20
    mail_max_per_sender_per_hour: int = Field(
        default=30, ge=1, description="Mails accepted per hour from one sender (450 past it)."
    )
    mail_max_per_staff_sender_per_hour: int = Field(
        default=120, ge=1, description="The same for staff addresses and allowed domains."
    )
    mail_max_concurrent_data: int = Field(
        default=4, ge=1, description="Messages received at once (452 past it): bounds memory."
    )
    mail_raw_retention_days: int = Field(
        default=30, ge=0, description="Days a processed mail's raw bytes are kept."
    )
    mail_quarantine_retention_days: int = Field(
        default=90, ge=0, description="Days a set-aside mail's raw bytes are kept."
    )
    access_log_shows_staff_names: bool = Field(
        default=False,
        description="Whether parents see the name of the staff member who read their data "
        "(else the service only).",
    )
    retention_certificate_months: int = Field(
        default=12,
        ge=0,
        description="Months after the end of its school year a medical certificate (and the "
        "medical side of an absence) is kept.",
    )
    retention_document_months: str = Field(
        default="24",
        description='Months after the end of their school year other documents are kept: "24", '
        'or per type "24,proof_of_address=12" (the newest of each kind is always kept).',
    )
    retention_audit_months: int = Field(
        default=24, ge=1, description="Months the audit log of decisions is kept."
    )
    file_fields_applied_at_once: str = Field(
        default="guardian.phone,consent.*",
        description="Family-file changes applied at once (still recorded as accepted), "
        "comma-separated field patterns; the others wait for the family-file service.",
    )
    file_check_day: str = Field(
        default="09-01",
        pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        description="MM-DD: from this day each year, parents are asked to confirm their file.",
    )
    reminders_enabled: bool = Field(
        default=True, description="Whether the bot plans and sends deadline reminders."
    )
    reminder_days_before: str = Field(
        default="3,1",
        pattern=r"^\s*\d{1,2}(\s*,\s*\d{1,2})*\s*$",
        description="Days before a booking deadline a reminder is sent (1: the eve).",
    )
    reminder_on_opening: bool = Field(
        default=True, description="Whether a reminder is sent when a holiday window opens."
    )
    reminder_quiet_hours: str = Field(
        default="20:00-08:00",
        pattern=r"^(\s*|\d{2}:\d{2}-\d{2}:\d{2})$",
        description="HH:MM-HH:MM, Europe/Paris: no reminder then (postponed to their end).",
    )
    reminder_tick_seconds: int = Field(
        default=60, ge=5, description="Seconds between two looks at the reminders due."
    )
    daily_list_enabled: bool = Field(
        default=True,
        description="Whether each activity's service gets the day's list by email each morning.",
    )
    daily_list_time: str = Field(
        default="07:00",
        pattern=r"^\s*([01]\d|2[0-3]):[0-5]\d\s*$",
        description="HH:MM, Europe/Paris: from when the day's lists are sent.",
    )
    daily_list_days: str = Field(
        default="",
        description="Weekdays the lists are sent (mon,tue,... or lun,mar,...); empty: every "
        "day an activity is open (a day without a booking sends nothing).",
    )
    daily_list_followup_minutes: int = Field(
        default=5, ge=1, description="Minutes between two looks for a day list's changes."
    )
    privacy_controller: str = Field(
        default="",
        description="Who is responsible for the families' data (the \"responsable de "
        'traitement"), e.g. "Mairie de Montclar"; shown by /confidentialite.',
    )
    privacy_dpo_contact: str = Field(
        default="",
        description="How to reach the data protection officer (email or postal address); "
        "shown by /confidentialite.",
    )
    privacy_retention_summary: str = Field(
        default="",
        description="Optional: how long data is kept, in the town's words (French); "
        "/confidentialite shows it instead of the general wording.",
    )
    privacy_export_interval_minutes: int = Field(
        default=60, ge=0, description="Minutes between two exports of one family from the chat."
    )
    privacy_keys: str = Field(
        default="",
        repr=False,
        description="Encryption keys of health details and documents at rest (Fernet, "
        "`portail privacy new-key`), comma-separated, newest first: the first encrypts, all "
        "decrypt.",
    )
    privacy_key_file: Path | None = Field(
        default=None,
        description="A file of such keys, one a line, newest first (after PRIVACY_KEYS' "
        "own). Neither set: var/privacy.key beside a SQLite store, made on first use; "
        "PostgreSQL refuses to start.",
    )
    staff_digest_enabled: bool = Field(
        default=True,
        description="Whether each service gets a morning digest of what waits for it, with "
        "codes to decide by reply.",
    )
    staff_digest_time: str = Field(
        default="08:00",
        pattern=r"^\s*([01]\d|2[0-3]):[0-5]\d\s*$",
        description="HH:MM, Europe/Paris: from when the day's digests are sent.",
    )
    staff_digest_days: str = Field(
        default="mon-fri",
        description="Weekdays the digests are sent: mon-fri, 1-5, mon,wed,fri...",
    )
    log_level: str = "INFO"

    @field_validator("smtp_starttls", mode="before")
    @classmethod
    def _starttls_mode(cls, value: Any) -> Any:
        """auto, always or never; the former true/false read as always/auto."""
        if isinstance(value, bool):
            return "always" if value else "auto"
        if isinstance(value, str):
            value = value.strip().lower()
            return {"true": "always", "false": "auto", "": "auto"}.get(value, value)
        return value

    @field_validator("daily_list_days")
    @classmethod
    def _daily_list_days(cls, value: str) -> str:
        """Read at start-up, so that a typo stops the bot rather than the lists."""
        parse_weekdays(value)
        return value

    @field_validator("retention_document_months")
    @classmethod
    def _document_months(cls, value: str) -> str:
        """Read at start-up, so that a typo stops the bot rather than the purge."""
        RetentionRules.parse(DEFAULT_CERTIFICATE_MONTHS, value, DEFAULT_AUDIT_MONTHS)
        return value

    @field_validator("smtp_tls_ca_file", "privacy_key_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        """An empty line in `.env` means "not set", not the current folder."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("staff_digest_days")
    @classmethod
    def _staff_digest_days(cls, value: str) -> str:
        parse_days(value)
        return value

    @model_validator(mode="after")
    def _documents_bucket(self) -> Settings:
        """A bucket is named when documents go to S3 (checked at start-up, not at the first
        upload), and its credentials are given both or not at all."""
        if self.documents_storage == "s3":
            if not self.documents_s3_bucket.strip():
                raise ValueError("DOCUMENTS_STORAGE=s3 needs DOCUMENTS_S3_BUCKET")
            if bool(self.documents_s3_access_key_id) != bool(self.documents_s3_secret_access_key):
                raise ValueError(
                    "set both DOCUMENTS_S3_ACCESS_KEY_ID and DOCUMENTS_S3_SECRET_ACCESS_KEY, "
                    "or neither (boto3's usual credential chain)"
                )
        return self

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        """A webhook without a secret would take updates from anyone who finds its URL."""
        if self.telegram_webhook_url and len(self.telegram_webhook_secret) < 16:
            raise ValueError(
                "TELEGRAM_WEBHOOK_SECRET (16 to 256 characters: letters, digits, _ and -) is "
                "required with TELEGRAM_WEBHOOK_URL"
            )
        return self

    @property
    def documents_email(self) -> str:
        """Where parents email documents and certificates (filed by the inbound server)."""
        return (self.documents_address or f"documents@{self.mail_domain}").lower()


@lru_cache
def get_settings() -> Settings:
    """Return the settings, read once per process."""
    return Settings()
