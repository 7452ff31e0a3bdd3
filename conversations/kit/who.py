"""Who is talking: the linked guardian behind an update, read once per handler call."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update

from conversations.kit.callback_data import record_id
from conversations.kit.context import PortalContext
from conversations.kit.live import answer, reply
from conversations.kit.texts import language_of, text
from store.actors import Actor

WHO_KEY = "_who"


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
    # A context lives for one handler call: a step asking twice reads the guardian once.
    known: Who | None = context.__dict__.get(WHO_KEY)
    if known is not None:
        return known
    profile = await context.portal.families.profile(user.id)
    if profile is None:
        await reply(update, text("not_linked", language_of(user.language_code)))
        return None
    parent = Who(profile.actor, profile.first_name, profile.language.value)
    context.__dict__[WHO_KEY] = parent
    return parent


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
    parent = await who(update, context)
    if parent is None:
        return None
    family_id = parent.actor.family_id
    assert family_id is not None
    names = {
        child.id: child.first_name
        for child in await context.portal.families.children(parent.actor)
    }
    return parent, family_id, names
