"""Mon dossier: the family file, a change asked from the chat, and the yearly check.

"🗂 Mon dossier" (or `/dossier`) is a one-shot view: the household screen (guardians with phones
and emails, address, tariff band and quotient, changes awaiting the service), and one screen per
child (birth date, school, doctor, allergies and PAI, diet, pick-up persons, consents,
vaccinations). Every button carries what it needs; the store re-checks on each tap that the
child is the family's.

"✏️ Demander une modification" starts the flow: the household or a child → what to change → the
new value (typed, or tapped) → a recap, old → new → sent: applied at once for the fields so
configured, else pending until the family-file service decides (the parent is told through
the outbox). From the yearly check day, the menu asks once a day whether the file is still right.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, TypedDict

from babel.dates import format_date
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from conversations.kit.callback_data import choice, either, one_of, record_id, with_record_id
from conversations.kit.context import PortalContext
from conversations.kit.drafts import Drafts, State, Tap
from conversations.kit.flows import Flow, flow
from conversations.kit.formatting import BABEL_LOCALES
from conversations.kit.language import chat_language, keep_language
from conversations.kit.live import FlowDraft, answer, reply, show, show_step, typed_text
from conversations.kit.menu import MENU_FAMILY_FILE, MENU_SHOW, abort_row
from conversations.kit.notices import renders
from conversations.kit.texts import text
from conversations.kit.who import Who, linked_parent, who
from store.actors import AccessDenied, NotFound
from store.family_records import (
    ADDRESS,
    ALLERGIES,
    CONSENT,
    DIET,
    DOCTOR,
    EMAIL,
    HEALTH_FIELDS,
    MAX_LENGTH,
    PAI,
    PHONE,
    PICKUP_ADD,
    PICKUP_REMOVE,
    ChangeView,
    ChildFile,
    InvalidChange,
    change_facts,
    clean_phone,
    clean_text,
    clean_value,
)
from store.models.enums import ConsentKind, GuardianVisibility, RequestStatus
from store.visibility import VISIBILITY_NOTICE, health_visible_to_chat

if TYPE_CHECKING:
    from bot.portal import Portal

SUBJECT, FIELD, VALUE, PICKUP_PHONE, PICKUP_RELATIONSHIP, CONFIRM = (
    "file:subject",
    "file:field",
    "file:value",
    "file:pickup_phone",
    "file:pickup_relationship",
    "file:confirm",
)

# One-shot view buttons.
CHILD = "ff:child:"
# The flow's entries start with "menu:" so that other flows let them through.
MENU_CHANGE = "menu:file:change"
MENU_CHANGE_CHILD = "menu:file:edit:"
# The flow's buttons.
WHO = "fc:who:"
FAMILY = "family"
OPTION = "fc:opt:"
VALUE_BUTTON = "fc:val:"
YES, NO = "yes", "no"
SKIP = "fc:skip"
SEND = "fc:send"
# The yearly check.
CHECK_OK = "filecheck:ok"
CHECK_EDIT = "menu:file:check"
FILE_CHECK_GROUP = 1
TEXT_FIELDS = (ADDRESS, PHONE, EMAIL, DOCTOR, ALLERGIES, DIET)
CHOICE_FIELDS = (PAI,)


class Option(TypedDict):
    """Something the parent may change: the field, the row it is on, its label."""

    field: str
    target: int | None
    label: str


class PickupDraft(TypedDict, total=False):
    name: str
    phone: str
    relationship: str | None


class FileDraft(FlowDraft, total=False):
    """The change flow's draft (saved as JSON between updates)."""

    names: dict[str, str]
    subject: str
    options: list[Option]
    option: Option
    value: Any
    pickup: PickupDraft


DRAFTS = Drafts[FileDraft]("family_file")


# Words -----------------------------------------------------------------------------------


def long_day(day: date, language: str) -> str:
    """A date of the file, with its year and no weekday: "1 mai 2019" / "1 May 2019"."""
    return format_date(day, "long", locale=BABEL_LOCALES.get(language, "fr_FR"))


def field_label(name: str, language: str) -> str:
    """What a field is called: "adresse", "droit à l'image"."""
    return text(f"file.field.{name}", language)


def as_button(label: str) -> str:
    """A label as a button starts: capital first letter, the rest as written ("PAI (…)")."""
    return label[:1].upper() + label[1:]


def consent_label(kind: str, language: str) -> str:
    return text(f"consent.{kind}", language)


def value_text(name: str, value: Any, language: str) -> str:
    """A field's value in words (plain text: `text()` escapes it where it is shown)."""
    if name.startswith(CONSENT):
        state = "none" if value is None else ("given" if value else "refused")
        return text(f"file.consent.{state}", language)
    if name == PAI:
        return text("file.yes" if value else "file.no", language)
    if isinstance(value, dict):
        return _pickup_words(value, language)
    if value is None or value == "":
        return text("file.empty", language)
    return str(value)


def _pickup_words(person: dict[str, Any], language: str) -> str:
    relationship = person.get("relationship")
    words = f"{person.get('name', '')}, {person.get('phone', '')}"
    return f"{words} ({relationship})" if relationship else words


def change_line(change: ChangeView, language: str) -> str:
    """One change: what, whose, old → new (health values only where shown; for a guardian
    who does not see health details, not even which one)."""
    label = field_label(change.field, language)
    whose = change.target_name if change.field in (PHONE, EMAIL) else None
    whose = whose or (change.child_name.split(" ")[0] if change.child_name else None)
    if not change.health_shown:
        return text("file.change_line_hidden", language, field=whose or "")
    if whose:
        label = f"{label} ({whose})"
    if change.field in (PICKUP_ADD, PICKUP_REMOVE):
        person = change.new_value if change.field == PICKUP_ADD else change.old_value
        return text(
            "file.change_line_person",
            language,
            field=label,
            person=value_text(change.field, person, language),
        )
    return text(
        "file.change_line",
        language,
        field=label,
        old=value_text(change.field, change.old_value, language),
        new=value_text(change.field, change.new_value, language),
    )


def refusal_words(error: InvalidChange, language: str) -> str:
    return text(f"file.invalid.{error.code}", language, limit=error.limit)


# The file --------------------------------------------------------------------------------


async def show_file(update: Update, context: PortalContext) -> None:
    """The household screen, a button per child (in place of the tapped message)."""
    await _file_screen(update, context, in_place=True)


async def file_from_check(update: Update, context: PortalContext) -> None:
    """ "✏️ Modifier" under the yearly question: the file in a new message, the question
    kept with its "✅ Tout est à jour" for when the file is right."""
    await _file_screen(update, context, in_place=False)


async def _file_screen(update: Update, context: PortalContext, *, in_place: bool) -> None:
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return
    family_id = parent.actor.family_id
    assert family_id is not None
    service = context.portal.family_file
    try:
        household = await service.household(parent.actor, family_id)
        pending = await service.family_changes(parent.actor, family_id)
    except (NotFound, AccessDenied):
        await reply(update, text("forbidden", parent.language))
        return
    children = await context.portal.families.children(parent.actor)
    language = parent.language
    lines = [text("file.title", language, family=household.name)]
    lines.append(
        text("file.address", language, address=household.address or text("file.empty", language))
    )
    band = household.band_label or household.tariff_band
    if household.quotient is not None:
        quotient_on = (
            text("file.quotient_on", language, day=long_day(household.quotient_on, language))
            if household.quotient_on
            else ""
        )
        lines.append(
            text(
                "file.band_quotient",
                language,
                band=band,
                quotient=household.quotient,
                on_html=quotient_on,
            )
        )
    else:
        lines.append(text("file.band", language, band=band))
    lines.append("\n" + text("file.guardians", language))
    for guardian in household.guardians:
        lines.append(
            text(
                "file.guardian",
                language,
                name=f"{guardian.first_name} {guardian.last_name}",
                phone=guardian.phone or text("file.empty", language),
                email=guardian.email,
            )
        )
    if pending:
        lines.append("\n" + text("file.pending_title", language))
        lines += ["• " + change_line(change, language) for change in pending]
    if children:
        lines.append("\n" + text("file.children_hint", language))
    rows = [
        [InlineKeyboardButton(f"👧 {child.first_name}", callback_data=f"{CHILD}{child.id}")]
        for child in children
    ]
    rows.append(
        [InlineKeyboardButton(text("file.btn_change", language), callback_data=MENU_CHANGE)]
    )
    rows.append([InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW)])
    await (show if in_place else reply)(update, "\n".join(lines), InlineKeyboardMarkup(rows))


async def show_child(update: Update, context: PortalContext) -> None:
    """One child's screen (only a child of the family: the store says)."""
    await answer(update)
    parent = await who(update, context)
    query = update.callback_query
    if parent is None or query is None:
        return
    child_id = record_id(query.data, CHILD)
    assert child_id is not None  # the handler's pattern lets nothing else through
    try:
        child = await context.portal.family_file.child_file(parent.actor, child_id)
    except (NotFound, AccessDenied):
        await reply(update, text("forbidden", parent.language))
        return
    language = parent.language
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text("file.btn_change_child", language, name=child.first_name),
                    callback_data=f"{MENU_CHANGE_CHILD}{child.id}",
                )
            ],
            [
                InlineKeyboardButton(
                    text("file.btn_household", language), callback_data=MENU_FAMILY_FILE
                )
            ],
            [InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW)],
        ]
    )
    await show(update, child_text(child, language), keyboard)


def child_text(child: ChildFile, language: str) -> str:
    """A child's file in words."""
    empty = text("file.empty", language)
    lines = [
        text("file.child_title", language, name=f"{child.first_name} {child.last_name}"),
        text("file.birth", language, day=long_day(child.birth_date, language)),
        text("file.school", language, school=child.school or empty, level=child.school_level),
        text("file.diet", language, diet=child.diet or empty),
    ]
    if child.health_shown:
        lines += [
            text("file.doctor", language, doctor=child.doctor or empty),
            text("file.allergies", language, allergies=child.allergies or empty),
            text("file.pai", language, pai=text("file.yes" if child.pai else "file.no", language)),
            text(
                "file.vaccinations",
                language,
                day=long_day(child.vaccinations_on, language) if child.vaccinations_on else empty,
            ),
        ]
    else:
        lines.append(text("visibility.health_hidden", language))
    lines.append("\n" + text("file.pickups", language))
    if not child.pickups:
        lines.append(text("file.no_pickup", language))
    for person in child.pickups:
        lines.append(
            "• "
            + text(
                "file.pickup",
                language,
                name=person.name,
                phone=person.phone,
                relationship=person.relationship or "—",
            )
        )
    lines.append("\n" + text("file.consents", language))
    for kind, granted in child.consents.items():
        lines.append(
            text(
                "file.consent_line",
                language,
                consent=consent_label(kind.value, language),
                state=value_text(CONSENT + kind.value, granted, language),
            )
        )
    return "\n".join(lines)


# Asking for a change ---------------------------------------------------------------------


async def start(update: Update, context: PortalContext) -> State:
    """Entry: "✏️ Demander une modification" — the household, or which child?"""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return ConversationHandler.END
    children = await context.portal.families.children(parent.actor)
    keep_language(context, parent.language)
    draft = DRAFTS.start(context, {"names": {str(c.id): c.first_name for c in children}})
    query = update.callback_query
    tapped = record_id(query.data, MENU_CHANGE_CHILD) if query is not None else None
    if tapped is not None:
        if str(tapped) not in draft["names"]:
            await reply(update, text("forbidden", parent.language))
            DRAFTS.drop(context)
            return ConversationHandler.END
        return await _ask_field(update, context, parent, str(tapped))
    language = parent.language
    rows = [
        [
            InlineKeyboardButton(
                text("file.btn_household", language), callback_data=f"{WHO}{FAMILY}"
            )
        ]
    ]
    rows += [
        [InlineKeyboardButton(f"👧 {name}", callback_data=f"{WHO}{child_id}")]
        for child_id, name in draft["names"].items()
    ]
    rows.append(abort_row(language))
    await show_step(update, draft, text("file.ask_subject", language), InlineKeyboardMarkup(rows))
    return SUBJECT


@DRAFTS.tap(SUBJECT, linked=True)
async def choose_subject(
    update: Update, context: PortalContext, tap: Tap[FileDraft, str]
) -> State:
    """The household or a child of the family was tapped."""
    subject = choice(tap.value, WHO, [FAMILY, *tap.draft.get("names", {})])
    if subject is None:
        await reply(update, text("forbidden", tap.language))
        return SUBJECT
    return await _ask_field(update, context, tap.parent, subject)


async def _ask_field(update: Update, context: PortalContext, parent: Who, subject: str) -> State:
    """What to change, for the household or the child."""
    draft = DRAFTS(context)
    language = parent.language
    draft["subject"] = subject
    options: list[Option] = []
    family_id = parent.actor.family_id
    assert family_id is not None
    try:
        if subject == FAMILY:
            household = await context.portal.family_file.household(parent.actor, family_id)
            options.append(
                Option(field=ADDRESS, target=None, label=as_button(field_label(ADDRESS, language)))
            )
            for guardian in household.guardians:
                for name in (PHONE, EMAIL):
                    label = text(f"file.option.{name}", language, name=guardian.first_name)
                    options.append(Option(field=name, target=guardian.id, label=label))
            title = text("file.ask_field_family", language)
        else:
            child = await context.portal.family_file.child_file(parent.actor, int(subject))
            options.append(
                Option(
                    field=PICKUP_ADD, target=None, label=text("file.option.pickup.add", language)
                )
            )
            for person in child.pickups:
                label = text("file.option.pickup.remove", language, name=person.name)
                options.append(Option(field=PICKUP_REMOVE, target=person.id, label=label))
            for kind in ConsentKind:
                options.append(
                    Option(
                        field=CONSENT + kind.value,
                        target=None,
                        label=as_button(consent_label(kind.value, language)),
                    )
                )
            # A guardian who does not see the health details does not change them.
            names = (ALLERGIES, PAI, DIET, DOCTOR) if child.health_shown else (DIET,)
            for name in names:
                options.append(
                    Option(field=name, target=None, label=as_button(field_label(name, language)))
                )
            title = text("file.ask_field_child", language, name=child.first_name)
    except (NotFound, AccessDenied):
        await reply(update, text("forbidden", language))
        DRAFTS.drop(context)
        return ConversationHandler.END
    draft["options"] = options
    buttons = [
        InlineKeyboardButton(option["label"], callback_data=f"{OPTION}{number}")
        for number, option in enumerate(options, 1)
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(abort_row(language))
    await show_step(update, draft, title, InlineKeyboardMarkup(rows))
    return FIELD


@DRAFTS.tap(FIELD, needs=lambda draft: "options" in draft)
async def choose_field(update: Update, context: PortalContext, tap: Tap[FileDraft, str]) -> State:
    """A field was tapped: ask for its new value (typed, or tapped for a yes/no)."""
    draft = tap.draft
    options = draft["options"]
    picked = choice(tap.value, OPTION, [str(n) for n in range(1, len(options) + 1)])
    if picked is None:
        await reply(update, text("forbidden", tap.language))
        return FIELD
    option = options[int(picked) - 1]
    draft["option"] = option
    language = tap.language
    name = option["field"]
    if name == PICKUP_REMOVE:
        draft["value"] = None
        return await _recap(update, context)
    if name.startswith(CONSENT) or name in CHOICE_FIELDS:
        kind = "consent" if name.startswith(CONSENT) else "pai"
        rows = [
            [
                InlineKeyboardButton(
                    text(f"file.btn_{kind}_yes", language), callback_data=f"{VALUE_BUTTON}{YES}"
                )
            ],
            [
                InlineKeyboardButton(
                    text(f"file.btn_{kind}_no", language), callback_data=f"{VALUE_BUTTON}{NO}"
                )
            ],
            abort_row(language),
        ]
        message = text(f"file.ask_{kind}", language, consent=option["label"])
        await show_step(update, draft, message, InlineKeyboardMarkup(rows))
        return VALUE
    key = "file.ask_pickup_name" if name == PICKUP_ADD else f"file.ask.{name}"
    await show_step(
        update, draft, text(key, language), InlineKeyboardMarkup([abort_row(language)])
    )
    return VALUE


@DRAFTS.tap(VALUE, needs=lambda draft: "option" in draft)
async def choose_value(update: Update, context: PortalContext, tap: Tap[FileDraft, str]) -> State:
    """Yes or no tapped (a consent, a PAI)."""
    picked = choice(tap.value, VALUE_BUTTON, [YES, NO])
    if picked is None:
        await reply(update, text("forbidden", tap.language))
        return VALUE
    tap.draft["value"] = picked == YES
    return await _recap(update, context)


async def typed_value(update: Update, context: PortalContext) -> State:
    """The new value typed: checked now (the store checks again when it is sent)."""
    draft = DRAFTS(context)
    language = chat_language(context)
    option = draft.get("option")
    if option is None or option["field"].startswith(CONSENT) or option["field"] in CHOICE_FIELDS:
        await reply(update, text("use_buttons", language))
        return VALUE
    typed = typed_text(update)
    if option["field"] == PICKUP_ADD:
        try:
            name = clean_text(typed, "pickup.name")
        except InvalidChange as error:
            await reply(update, refusal_words(error, language))
            return VALUE
        draft["pickup"] = {"name": name}
        keyboard = InlineKeyboardMarkup([abort_row(language)])
        await show_step(
            update, draft, text("file.ask_pickup_phone", language, name=name), keyboard
        )
        return PICKUP_PHONE
    try:
        draft["value"] = clean_value(option["field"], typed)
    except InvalidChange as error:
        await reply(update, refusal_words(error, language))
        return VALUE
    return await _recap(update, context)


async def typed_pickup_phone(update: Update, context: PortalContext) -> State:
    """The pick-up person's phone: required, and a real number."""
    draft = DRAFTS(context)
    language = chat_language(context)
    try:
        phone = clean_phone(typed_text(update))
    except InvalidChange as error:
        await reply(update, refusal_words(error, language))
        return PICKUP_PHONE
    pickup = draft.get("pickup", {})
    pickup["phone"] = phone
    draft["pickup"] = pickup
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text("file.btn_skip", language), callback_data=SKIP)],
            abort_row(language),
        ]
    )
    await show_step(update, draft, text("file.ask_pickup_relationship", language), keyboard)
    return PICKUP_RELATIONSHIP


async def typed_relationship(update: Update, context: PortalContext) -> State:
    """The relationship to the child ("grand-mère", "voisin")."""
    draft = DRAFTS(context)
    typed = " ".join(typed_text(update).split())
    limit = MAX_LENGTH["pickup.relationship"]
    if len(typed) > limit:
        await reply(update, text("file.invalid.too_long", chat_language(context), limit=limit))
        return PICKUP_RELATIONSHIP
    pickup = draft.get("pickup", {})
    pickup["relationship"] = typed or None
    draft["value"] = dict(pickup)
    return await _recap(update, context)


@DRAFTS.tap(PICKUP_RELATIONSHIP, needs=lambda draft: "pickup" in draft)
async def skip_relationship(
    update: Update, context: PortalContext, tap: Tap[FileDraft, str]
) -> State:
    """No relationship given."""
    pickup = tap.draft.get("pickup", {})
    pickup["relationship"] = None
    tap.draft["value"] = dict(pickup)
    return await _recap(update, context)


async def _recap(update: Update, context: PortalContext) -> State:
    """Old → new, and whether it applies at once or waits for the service."""
    draft = DRAFTS(context)
    language = chat_language(context)
    option = draft["option"]
    name = option["field"]
    old = await _old_value(update, context, draft)
    label = option["label"]
    subject = draft.get("subject", FAMILY)
    if subject != FAMILY:
        label = f"{label} ({draft['names'].get(subject, '')})"
    if name == PICKUP_REMOVE:
        what = text("file.recap_remove", language, field=label)
    elif name == PICKUP_ADD:
        what = text("file.recap_add", language, person=value_text(name, draft["value"], language))
    else:
        what = text(
            "file.recap",
            language,
            field=label,
            old=value_text(name, old, language),
            new=value_text(name, draft["value"], language),
        )
    at_once = context.portal.family_file.settings.at_once(name)
    what += "\n\n" + text("file.recap_at_once" if at_once else "file.recap_review", language)
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text("file.btn_send", language), callback_data=SEND)],
            abort_row(language),
        ]
    )
    await show_step(update, draft, what, keyboard)
    return CONFIRM


async def _old_value(update: Update, context: PortalContext, draft: FileDraft) -> Any:
    """The value the file holds now, as the recap shows it."""
    parent = await who(update, context)
    if parent is None:
        return None
    option = draft["option"]
    name = option["field"]
    subject = draft.get("subject", FAMILY)
    service = context.portal.family_file
    try:
        if subject == FAMILY:
            assert parent.actor.family_id is not None
            household = await service.household(parent.actor, parent.actor.family_id)
            if name == ADDRESS:
                return household.address
            for guardian in household.guardians:
                if guardian.id == option["target"]:
                    return guardian.phone if name == PHONE else guardian.email
            return None
        child = await service.child_file(parent.actor, int(subject))
    except (NotFound, AccessDenied):
        return None
    if name.startswith(CONSENT):
        return child.consents.get(ConsentKind(name.removeprefix(CONSENT)))
    if name == PICKUP_REMOVE:
        for person in child.pickups:
            if person.id == option["target"]:
                return {
                    "name": person.name,
                    "phone": person.phone,
                    "relationship": person.relationship,
                }
        return None
    return {
        DOCTOR: child.doctor,
        ALLERGIES: child.allergies,
        PAI: child.pai,
        DIET: child.diet,
    }.get(name)


@DRAFTS.tap(CONFIRM, needs=lambda draft: "option" in draft, linked=True)
async def send(update: Update, context: PortalContext, tap: Tap[FileDraft, str]) -> State:
    """Sent: the store checks it all again, then applies it or keeps it for the service."""
    draft = tap.draft
    language = tap.language
    option = draft["option"]
    subject = draft.get("subject", FAMILY)
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    text("btn.family_file", language), callback_data=MENU_FAMILY_FILE
                )
            ],
            [InlineKeyboardButton(text("btn.menu", language), callback_data=MENU_SHOW)],
        ]
    )
    try:
        change = await context.portal.family_file.request_change(
            tap.parent.actor,
            option["field"],
            draft.get("value"),
            child_id=None if subject == FAMILY else int(subject),
            target_id=option["target"],
        )
    except InvalidChange as error:
        DRAFTS.drop(context)
        await show(update, refusal_words(error, language), keyboard)
        return ConversationHandler.END
    except (NotFound, AccessDenied):
        DRAFTS.drop(context)
        await show(update, text("forbidden", language), keyboard)
        return ConversationHandler.END
    DRAFTS.drop(context)
    done = "file.done_applied" if change.status is RequestStatus.ACCEPTED else "file.done_pending"
    await show(update, text(done, language, change_html=change_line(change, language)), keyboard)
    return ConversationHandler.END


async def not_text(update: Update, context: PortalContext) -> State | None:
    """A sticker, a photo... where a typed answer is expected."""
    await reply(update, text("file.type_text", chat_language(context)))
    return None


# The yearly check --------------------------------------------------------------------------


async def offer_check(update: Update, context: PortalContext) -> None:
    """At the menu or /start, once a day at most: is the file still right?"""
    parent = await linked_parent(update, context)
    if parent is None:
        return
    if not await context.portal.family_file.ask_check_today(parent.actor):
        return
    language = parent.language
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(text("file.btn_check_ok", language), callback_data=CHECK_OK)],
            [
                InlineKeyboardButton(
                    text("file.btn_check_edit", language), callback_data=CHECK_EDIT
                )
            ],
        ]
    )
    await reply(update, text("file.check_ask", language), keyboard)


async def check_ok(update: Update, context: PortalContext) -> None:
    """ "✅ Tout est à jour": recorded."""
    await answer(update)
    parent = await who(update, context)
    if parent is None:
        return
    await context.portal.family_file.confirm_checked(parent.actor)
    await show(update, text("file.check_done", parent.language))


# Staff decisions, delivered through the outbox ----------------------------------------------


@renders("file_change_decided")
async def _decision_notice(portal: Portal, payload: dict[str, Any], language: str) -> str | None:
    """The parent's message when staff accept or refuse a change of the file."""
    facts = await change_facts(portal.sessions, int(payload["change_id"]))
    if facts is None or facts.status is RequestStatus.PENDING:
        return None
    # A guardian who does not see health details is not told which health detail changed,
    # nor the reason staff gave.
    health = facts.field not in HEALTH_FIELDS or await health_visible_to_chat(
        portal.sessions, payload.get("recipient")
    )
    label = (
        field_label(facts.field, language) if health else text("visibility.health_field", language)
    )
    whose = facts.target_name if facts.field != PICKUP_REMOVE else None
    whose = ", ".join(name for name in (facts.child_name, whose) if name)
    if whose:
        label = f"{label} ({whose})"
    if facts.status is RequestStatus.ACCEPTED:
        return text("file.notify_accepted", language, field=label)
    reason = (facts.reason or "") if health else text("visibility.reason_hidden", language)
    return text("file.notify_refused", language, field=label, reason=reason)


@renders(VISIBILITY_NOTICE)
async def _visibility_notice(portal: Portal, payload: dict[str, Any], language: str) -> str:
    """The guardian's message when the family-file service sets what their account sees."""
    full = payload.get("visibility") == GuardianVisibility.FULL.value
    return text("visibility.notice_full" if full else "visibility.notice_limited", language)


# Wiring ----------------------------------------------------------------------------------


def build(timeout_seconds: float) -> Flow:
    """The change flow, with abort, timeout and stale-button fallbacks."""
    typed = filters.TEXT & ~filters.COMMAND
    other = filters.UpdateType.MESSAGE & ~filters.COMMAND & ~filters.TEXT
    return flow(
        DRAFTS,
        [
            CallbackQueryHandler(start, pattern=f"^{MENU_CHANGE}$"),
            CallbackQueryHandler(start, pattern=with_record_id(MENU_CHANGE_CHILD)),
        ],
        {
            SUBJECT: [
                CallbackQueryHandler(
                    choose_subject, pattern=either(one_of(WHO, [FAMILY]), with_record_id(WHO))
                )
            ],
            FIELD: [CallbackQueryHandler(choose_field, pattern=with_record_id(OPTION))],
            VALUE: [
                CallbackQueryHandler(choose_value, pattern=one_of(VALUE_BUTTON, [YES, NO])),
                MessageHandler(typed, typed_value),
                MessageHandler(other, not_text),
            ],
            PICKUP_PHONE: [
                MessageHandler(typed, typed_pickup_phone),
                MessageHandler(other, not_text),
            ],
            PICKUP_RELATIONSHIP: [
                CallbackQueryHandler(skip_relationship, pattern=f"^{SKIP}$"),
                MessageHandler(typed, typed_relationship),
                MessageHandler(other, not_text),
            ],
            CONFIRM: [CallbackQueryHandler(send, pattern=f"^{SEND}$")],
        },
        timeout_seconds,
        stale_prefix="fc:",
        stray_input=filters.UpdateType.MESSAGE & ~filters.COMMAND,
    )


# One-shot handlers: "Mon dossier" by button or `/dossier`, a child's screen, the yearly check.
HANDLERS: list[BaseHandler[Update, Any, Any]] = [
    CommandHandler("dossier", show_file),
    CallbackQueryHandler(show_file, pattern=f"^{MENU_FAMILY_FILE}$"),
    CallbackQueryHandler(file_from_check, pattern=f"^{CHECK_EDIT}$"),
    CallbackQueryHandler(show_child, pattern=with_record_id(CHILD)),
    CallbackQueryHandler(check_ok, pattern=f"^{CHECK_OK}$"),
]
# In a group after the menu's own handlers: the menu first, then the question.
CHECK_HANDLERS: list[BaseHandler[Update, Any, Any]] = [
    CommandHandler(["start", "menu"], offer_check),
    CallbackQueryHandler(offer_check, pattern=f"^{MENU_SHOW}$"),
]
