"""What the bot's workers share at run time: the Telegram updates already taken, the
outbound send schedule (one rate for the whole bot, whatever the number of workers), and the
leases on work done once per cluster."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base


class HandledUpdate(Base):
    """A Telegram update some worker took (`store.runtime.UpdateLedger`): any later delivery
    of the same `update_id` is dropped. Purged after a retention of days."""

    __tablename__ = "handled_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    taken_at: Mapped[datetime] = mapped_column(index=True)


class SendSchedule(Base):
    """The one row of the bot's outbound schedule (`store.runtime.SendSlots`): the first
    send slot nobody holds yet, in Unix seconds. A worker reserves the next slots for a batch
    by moving it forward; slots are `1 / rate` apart, whoever holds them."""

    __tablename__ = "send_schedule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_free: Mapped[float] = mapped_column(Float)


class ChatSend(Base):
    """The earliest time (Unix seconds) any worker may write to a chat again."""

    __tablename__ = "chat_send"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    next_at: Mapped[float] = mapped_column(Float, index=True)


class ClusterLease(Base):
    """Work done once per cluster (a purge, a scheduled job), claimed by `name` for a period
    (`store.leases.ClusterLeases`): `owner`, a worker's id, holds it until `until`; another
    worker may take it once that time is past."""

    __tablename__ = "cluster_lease"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    until: Mapped[datetime]
