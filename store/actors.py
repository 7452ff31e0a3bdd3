"""Who acts: every service call takes an `Actor` and checks it may touch the data asked for."""

from __future__ import annotations

from dataclasses import dataclass

from store.models.enums import ActorKind


class StoreError(Exception):
    """Base of the errors the services raise for the chat and mail layers to translate."""


class AccessDenied(StoreError):
    """The actor may not read or change this data (another family's, or staff only)."""


class NotFound(StoreError):
    """The thing asked for does not exist (or is not visible to the actor)."""


@dataclass(frozen=True)
class Actor:
    """A guardian acting for their family, a staff member, or the system itself."""

    kind: ActorKind
    id: int | None = None
    family_id: int | None = None

    @classmethod
    def guardian(cls, guardian_id: int, family_id: int) -> Actor:
        return cls(ActorKind.GUARDIAN, guardian_id, family_id)

    @classmethod
    def staff(cls, staff_id: int) -> Actor:
        return cls(ActorKind.STAFF, staff_id)

    @classmethod
    def system(cls) -> Actor:
        return cls(ActorKind.SYSTEM)

    @property
    def label(self) -> str:
        """How the actor is written in the audit log, e.g. `guardian:12`."""
        return self.kind.value if self.id is None else f"{self.kind.value}:{self.id}"

    @property
    def staff_id(self) -> int | None:
        """The staff member acting, or None (a guardian, or the system)."""
        return self.id if self.kind is ActorKind.STAFF else None

    @property
    def is_staff(self) -> bool:
        return self.kind in (ActorKind.STAFF, ActorKind.SYSTEM)

    def check_family(self, family_id: int) -> None:
        """Refuse a guardian who is not of `family_id`; staff and system may act for anyone."""
        if self.kind is ActorKind.GUARDIAN and self.family_id != family_id:
            raise AccessDenied("this belongs to another family")

    def check_staff(self) -> None:
        """Refuse anyone but staff (or the system)."""
        if not self.is_staff:
            raise AccessDenied("staff only")
