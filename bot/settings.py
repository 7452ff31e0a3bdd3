"""Settings of the product, read from the environment and from a `.env` file.

Every setting has a default that works on a fresh machine, and each one is listed, commented, in
`.env.example`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """What the bot, the mail server and the command line read at start-up."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/portail.sqlite3",
        description="SQLAlchemy async URL of the shared store.",
    )
    documents_dir: Path = Field(
        default=Path("var/documents"),
        description="Folder where uploaded documents are kept (owner-only permissions).",
    )
    max_document_bytes: int = 6 * 1024 * 1024
    telegram_token: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    telegram_bot_username: str = "PortailFamilleBot"
    invite_ttl_hours: int = 72
    conversation_timeout_seconds: float = 900
    max_concurrent_updates: int = 16
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_starttls: bool = False
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
    staff_fallback_email: str = Field(
        default="",
        description="Where staff notifications go when their service has no address in the store.",
    )
    max_mail_bytes: int = 25 * 1024 * 1024
    max_recipients: int = 20
    log_level: str = "INFO"

    @property
    def documents_email(self) -> str:
        """Where parents email documents and certificates (filed by the inbound server)."""
        return (self.documents_address or f"documents@{self.mail_domain}").lower()


@lru_cache
def get_settings() -> Settings:
    """Return the settings, read once per process."""
    return Settings()
