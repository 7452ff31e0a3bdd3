"""Who is talking: the linked guardian behind an update, read once per handler call."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from conversations.kit.callback_data import record_id
from conversations.kit.context import PortalContext
from conversations.kit.live import answer, reply
from conversations.kit.texts import language_of, text
from store.actors import Actor
from store.families import ChildView, FamilyService

WHO_KEY = "_who"

# The guardian read in the transaction opening the update's turn (`read_in`): (update id,
# Telegram user id, the guardian or None if not linked). Each update runs in its own task; the
# ids make sure a value that reached another update's context is never taken for its own.
_read_first: ContextVar[tuple[int, int, Who | None] | None] = ContextVar(
    "who_read_first", default=None
)


@dataclass(frozen=True)
class Who:
    """The parent behind an update: their actor for the store, name and language."""

    actor: Actor
    first_name: str
    language: str


async def who(update: Update, context: PortalContext) -> Who | None:
    """The linked guardian of this update, or None (after telling the user how to link)."""
    user = update.effective_user
    if user is None:
        return None
    parent = await linked_parent(update, context)
    if parent is None:
        await reply(update, text("not_linked", language_of(user.language_code)))
    return parent


async def linked_parent(update: Update, context: PortalContext) -> Who | None:
    """The linked guardian of this update, or None (nothing said): read once per update.

    python-telegram-bot hands one context to every handler an update reaches (the menu, then
    the yearly check's offer, say), and a context lives for one update: a step asking twice,
    or two handlers of one update, read the guardian once. Never across updates: a guardian
    unlinked or moved meanwhile is seen at the next update."""
    user = update.effective_user
    if user is None:
        return None
    known: Who | None = context.__dict__.get(WHO_KEY)
    if known is not None:
        return known
    first = _read_first.get()
    if first is not None and first[:2] == (update.update_id, user.id) and first[2] is not None:
        context.__dict__[WHO_KEY] = first[2]
        return first[2]
    profile = await context.portal.families.profile(user.id)
    if profile is None:
        return None
    parent = Who(profile.actor, profile.first_name, profile.language.value)
    context.__dict__[WHO_KEY] = parent
    return parent


async def read_in(session: AsyncSession, update: Update, families: FamilyService) -> None:
    """Read the update's guardian (or that the account is not linked) in the caller's
    transaction, the one opening the update's turn: `linked_parent` and `who_and_children`
    take a linked guardian from it for this update only, instead of a transaction of their own
    (most updates name the parent). Read per update, never kept across updates; an account not
    linked then is read again when asked (a flow of this update may have just linked it)."""
    _read_first.set(None)
    user = update.effective_user
    if user is None:
        return
    profile = await families.profile_in(session, user.id)
    parent = (
        None if profile is None else Who(profile.actor, profile.first_name, profile.language.value)
    )
    _read_first.set((update.update_id, user.id, parent))


async def who_and_children(
    update: Update, context: PortalContext
) -> tuple[Who, list[ChildView]] | None:
    """`who` and the children of the parent's family (`FamilyService.children`), read in one
    statement when the parent was not read yet in this update."""
    user = update.effective_user
    if user is None:
        return None
    known: Who | None = context.__dict__.get(WHO_KEY)
    first = _read_first.get()
    if known is None and first is not None and first[:2] == (update.update_id, user.id):
        known = first[2]
        if known is not None:
            context.__dict__[WHO_KEY] = known
    if known is not None:
        return known, await context.portal.families.children(known.actor)
    found = await context.portal.families.profile_and_children(user.id)
    if found is None:
        await reply(update, text("not_linked", language_of(user.language_code)))
        return None
    profile, children = found
    parent = Who(profile.actor, profile.first_name, profile.language.value)
    context.__dict__[WHO_KEY] = parent
    return parent, children


async def tapped_record(
    update: Update, context: PortalContext, prefix: str
) -> tuple[Who, int] | None:
    """The linked parent and the record id after `prefix` on the tapped button (its handler's
    pattern, `with_record_id`, lets no other through); None, the tap answered, for a parent
    not linked (told how to link). Whether the record is the family's is the store's to say."""
    parent = await who(update, context)
    query = update.callback_query
    if parent is None or query is None:
        await answer(update)
        return None
    tapped = record_id(query.data, prefix)
    assert tapped is not None, "a handler of tapped records has a `with_record_id` pattern"
    return parent, tapped


async def family_screen(
    update: Update, context: PortalContext
) -> tuple[Who, int, dict[int, str]] | None:
    """For a screen about the family: the tap answered, the linked parent, their family's id and
    their children's first names by id; None for a parent not linked (told how to link)."""
    await answer(update)
    found = await who_and_children(update, context)
    if found is None:
        return None
    parent, children = found
    family_id = parent.actor.family_id
    assert family_id is not None
    return parent, family_id, {child.id: child.first_name for child in children}
