"""Every table of the shared store, importable from one place."""

from store.models.access_log import AccessEntry
from store.models.audit import AuditEntry, LinkToken
from store.models.base import Base
from store.models.billing import Invoice, InvoiceLine, Payment
from store.models.booking import Absence, Booking
from store.models.catalog import (
    Activity,
    ActivityPrice,
    Enrollment,
    Facility,
    OpeningDay,
    SchoolHoliday,
    TariffBand,
)
from store.models.chat_state import ChatState
from store.models.confirmed_action import ConfirmedAction
from store.models.daily_list import DailyList
from store.models.decision_replies import DecisionClaim, DecisionToken
from store.models.document import Document
from store.models.erasure import ErasureRequest
from store.models.family import Child, Family, Guardian
from store.models.inbound import InboundMail
from store.models.link_request import LinkCodeRequest
from store.models.mail_replies import ReplyToken, SenderNotice
from store.models.message_links import ChatCopy, MessageAttachment
from store.models.messaging import Message, OutboxItem, Service, StaffMember, Thread
from store.models.news import NewsAudience, NewsItem, NewsMute
from store.models.reminders import ReminderMute, ReminderSkip, ReminderWave
from store.models.requests import (
    ChildConsent,
    ChildRegistration,
    EnrolmentRequest,
    FileChange,
    PickupPerson,
)
from store.models.runtime import ChatSend, HandledUpdate, SendSchedule
from store.models.staff_digest import DigestCode, StaffDigest, StaffDigestToken

__all__ = [
    "AccessEntry",
    "ErasureRequest",
    "TariffBand",
    "PickupPerson",
    "FileChange",
    "EnrolmentRequest",
    "ChildRegistration",
    "ChildConsent",
    "Absence",
    "Activity",
    "ActivityPrice",
    "AuditEntry",
    "Base",
    "Booking",
    "ChatCopy",
    "ChatSend",
    "ChatState",
    "ConfirmedAction",
    "DailyList",
    "DecisionClaim",
    "DecisionToken",
    "DigestCode",
    "StaffDigest",
    "StaffDigestToken",
    "Child",
    "Document",
    "Enrollment",
    "Facility",
    "Family",
    "Guardian",
    "HandledUpdate",
    "InboundMail",
    "Invoice",
    "InvoiceLine",
    "LinkCodeRequest",
    "LinkToken",
    "Message",
    "MessageAttachment",
    "NewsAudience",
    "NewsItem",
    "NewsMute",
    "OpeningDay",
    "OutboxItem",
    "Payment",
    "ReminderMute",
    "ReminderSkip",
    "ReminderWave",
    "ReplyToken",
    "SchoolHoliday",
    "SendSchedule",
    "SenderNotice",
    "Service",
    "StaffMember",
    "Thread",
]
