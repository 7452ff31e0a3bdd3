"""Families (foyers), their guardians and their children."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.encryption import EncryptedText
from store.models.base import Base, str_enum, utcnow
from store.models.enums import GuardianVisibility, Language


class Family(Base):
    """A household account: one tariff band, one balance."""

    __tablename__ = "family"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tariff_band: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(300))
    # The quotient familial (CAF) in euros, and the day it was established.
    quotient: Mapped[int | None]
    quotient_on: Mapped[date | None] = mapped_column(Date)
    # When a guardian last confirmed the file was still right (yearly check).
    file_checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    guardians: Mapped[list[Guardian]] = relationship(back_populates="family")
    children: Mapped[list[Child]] = relationship(back_populates="family")


class Guardian(Base):
    """An adult who may act for the family; links one Telegram account."""

    __tablename__ = "guardian"
    # Emails are compared case-insensitively (linking, inbound mail): index what is compared.
    __table_args__ = (Index("ix_guardian_email_lower", func.lower(text("email"))),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[Language] = mapped_column(str_enum(Language), default=Language.FR)
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    telegram_linked_at: Mapped[datetime | None]
    # The day this guardian was last asked to confirm the family file (the yearly check).
    file_check_asked_on: Mapped[date | None] = mapped_column(Date)
    # What this guardian sees of the family (set by the family-file service, e.g. for separated
    # parents): `limited` hides the children's health details (store.visibility).
    visibility: Mapped[GuardianVisibility] = mapped_column(
        str_enum(GuardianVisibility), default=GuardianVisibility.FULL, server_default="full"
    )

    family: Mapped[Family] = relationship(back_populates="guardians")


class Child(Base):
    """A child of one family."""

    __tablename__ = "child"

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date] = mapped_column(Date)
    school_level: Mapped[str] = mapped_column(String(10))
    school: Mapped[str | None] = mapped_column(String(200))
    # Health details: shown only to the guardians (whose account sees them: store.visibility),
    # the family-file service and the staff of the child's activities; never logged, never in
    # an email body.
    # Encrypted at rest (`store.encryption`); the PAI flag and the diet stay clear.
    doctor: Mapped[str | None] = mapped_column(EncryptedText)
    allergies: Mapped[str | None] = mapped_column(EncryptedText)
    pai: Mapped[bool] = mapped_column(default=False)
    diet: Mapped[str | None] = mapped_column(String(100))
    vaccinations_on: Mapped[date | None] = mapped_column(Date)

    family: Mapped[Family] = relationship(back_populates="children")
