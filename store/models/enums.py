"""The closed vocabularies of the portal: kinds, states and sources."""

from enum import StrEnum


class Language(StrEnum):
    FR = "fr"
    EN = "en"


class ActivityKind(StrEnum):
    CANTEEN = "canteen"
    AFTER_SCHOOL = "after_school"
    LEISURE_CENTRE = "leisure_centre"


class BookingState(StrEnum):
    """The life of a booking; see `store.booking_states` for the allowed moves."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    LATE_CANCELLED = "late_cancelled"
    REFUSED = "refused"


class Attendance(StrEnum):
    PRESENT = "present"
    ABSENT = "absent"


class AbsenceReason(StrEnum):
    ILLNESS = "illness"
    FAMILY = "family"
    OTHER = "other"


class AbsenceStatus(StrEnum):
    REPORTED = "reported"
    EXCUSED = "excused"
    REFUSED = "refused"


class DocumentType(StrEnum):
    PROOF_OF_ADDRESS = "proof_of_address"
    CAF_QUOTIENT = "caf_quotient"
    VACCINATION_RECORD = "vaccination_record"
    INSURANCE = "insurance"
    MEDICAL_CERTIFICATE = "medical_certificate"
    HEALTH_FORM = "health_form"
    OTHER = "other"
    TO_CLASSIFY = "to_classify"


class DocumentStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class DocumentSource(StrEnum):
    TELEGRAM = "telegram"
    EMAIL = "email"
    STAFF = "staff"
    IMPORT = "import"


class ActorKind(StrEnum):
    GUARDIAN = "guardian"
    STAFF = "staff"
    SYSTEM = "system"


class MessageDirection(StrEnum):
    FROM_PARENT = "from_parent"
    TO_PARENT = "to_parent"


class Channel(StrEnum):
    TELEGRAM = "telegram"
    EMAIL = "email"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class TokenPurpose(StrEnum):
    INVITE = "invite"
    EMAIL_CODE = "email_code"


class ConsentKind(StrEnum):
    """An authorisation the guardians give (or refuse) for a child; activities may require some."""

    IMAGE_RIGHTS = "image_rights"
    OUTINGS = "outings"
    TRANSPORT = "transport"
    SWIMMING = "swimming"


class RequestStatus(StrEnum):
    """Where a family's request to staff stands (file change, enrolment, pre-registration)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    WAITLISTED = "waitlisted"
    WITHDRAWN = "withdrawn"


class InvoiceKind(StrEnum):
    """An invoice (a debit) or a credit note (a credit; its lines and total are negative)."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class PaymentMethod(StrEnum):
    """How a family paid (the import file's `method`)."""

    PAYFIP = "payfip"
    ONLINE = "online"
    CARD = "card"
    CHEQUE = "cheque"
    CASH = "cash"
    TRANSFER = "transfer"
    DIRECT_DEBIT = "direct_debit"
    CESU = "cesu"
    ANCV = "ancv"


class GuardianVisibility(StrEnum):
    """What a guardian sees of the family file (separated parents): everything, or everything
    but the children's health details (allergies, PAI, doctor, vaccinations, the medical side of
    absences, medical certificates and health documents)."""

    FULL = "full"
    LIMITED = "limited"
