"""Tarifs: the activities, then one activity's price of a day per tariff band with the band's
quotient familial limits, the family's own band highlighted, and the activity's rules in words
(booking and cancellation deadlines, late booking surcharge, late cancellation billing).

A read-only view, so one-shot handlers like `conversations.balance`: a button carries the
activity it opens, the store re-reads the family's band on each tap. Register `HANDLERS` before
the conversations.
"""

from __future__ import annotations

import logging

from babel.numbers import format_decimal
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from conversations.kit.callback_data import with_record_id
from conversations.kit.context import PortalContext
from conversations.kit.deadlines import rule_words
from conversations.kit.formatting import BABEL_LOCALES, amount, format_moment, long_day
from conversations.kit.live import answer, show
from conversations.kit.menu import MENU_TARIFFS
from conversations.kit.texts import text
from conversations.kit.views import close_view
from conversations.kit.who import Who, tapped_record, who
from store.actors import AccessDenied, NotFound
from store.policies import (
    ActivityRules,
    LateBookingMode,
    LateCancellationMode,
)
from store.tariffs import ActivityEntry, ActivityTariff, BandPrice, TariffService

logger = logging.getLogger(__name__)

OPEN = "tf:a:"
BACK = "tf:home"
CLOSE = "tf:x"
SEPARATOR = " · "


def _service(context: PortalContext) -> TariffService:
    return context.portal.tariffs


# --- Pure rendering ---------------------------------------------------------------------------


def rules_lines(rules: ActivityRules, language: str) -> list[str]:
    """The activity's rules in words, one a line."""
    lines = [
        text("tariffs.booking_deadline", language, rule_html=rule_words(rules.booking, language)),
        text(
            "tariffs.cancellation_deadline",
            language,
            rule_html=rule_words(rules.cancellation, language),
        ),
    ]
    late = rules.late_booking
    if late.mode is LateBookingMode.SURCHARGE and late.percent is not None:
        lines.append(text("tariffs.late_booking.percent", language, percent=late.percent))
    elif late.mode is LateBookingMode.SURCHARGE and late.fixed_cents is not None:
        lines.append(
            text(
                "tariffs.late_booking.fixed",
                language,
                amount=amount(late.fixed_cents, language),
            )
        )
    else:
        lines.append(text("tariffs.late_booking.refuse", language))
    cancel = rules.late_cancellation
    if cancel.mode is LateCancellationMode.BILL_REDUCED and cancel.percent is not None:
        lines.append(text("tariffs.late_cancellation.reduced", language, percent=cancel.percent))
    elif cancel.mode is LateCancellationMode.REFUSE:
        lines.append(text("tariffs.late_cancellation.refuse", language))
    else:
        lines.append(text("tariffs.late_cancellation.full", language))
    unannounced = rules.unannounced_absence
    if unannounced.percent is not None:
        lines.append(text("attendance.rule.percent", language, percent=unannounced.percent))
    elif unannounced.fixed_cents is not None:
        amount_text = amount(unannounced.fixed_cents, language)
        lines.append(text("attendance.rule.fixed", language, amount=amount_text))
    for window in rules.windows:
        lines.append(
            text(
                "tariffs.window",
                language,
                label=window.label or "—",
                start=long_day(window.start, language),
                end=long_day(window.end, language),
                opens=format_moment(window.opens, language),
                closes=format_moment(window.closes, language),
            )
        )
    return lines


def euros(value: int, language: str) -> str:
    """Whole euros, as quotient limits are written: "1 200 €" / "€1,200"."""
    number = format_decimal(value, locale=BABEL_LOCALES.get(language, "fr_FR"))
    return f"€{number}" if language == "en" else f"{number}\u00a0€"


def band_limits(band: BandPrice, language: str) -> str:
    """ "QF de 601 € à 1 200 €", "QF jusqu'à 600 €", "QF à partir de 1 201 €", or ""."""
    low, high = band.quotient_min, band.quotient_max
    if low is not None and high is not None:
        return text(
            "tariffs.limits.between",
            language,
            low=euros(low, language),
            high=euros(high, language),
        )
    if high is not None:
        return text("tariffs.limits.up_to", language, high=euros(high, language))
    if low is not None:
        return text("tariffs.limits.from", language, low=euros(low, language))
    return ""


def band_line(band: BandPrice, language: str) -> str:
    name = (
        band.code if not band.label or band.label == band.code else f"{band.code} — {band.label}"
    )
    limits = band_limits(band, language)
    price = (
        amount(band.price_cents, language)
        if band.price_cents is not None
        else text("tariffs.no_price", language)
    )
    key = "tariffs.band_own" if band.is_family_band else "tariffs.band"
    return text(
        key, language, band=name, limits_html=f" ({limits})" if limits else "", price=price
    )


def tariff_text(tariff: ActivityTariff, language: str) -> str:
    """One activity: its prices per band, the family's highlighted, then its rules."""
    lines = [
        text(
            "tariffs.activity_title",
            language,
            activity=tariff.activity.name,
            facility=tariff.activity.facility,
        ),
        "",
    ]
    own = next((band for band in tariff.bands if band.is_family_band), None)
    if tariff.same_for_all and tariff.bands:
        price = tariff.bands[0].price_cents or 0
        lines.append(text("tariffs.same_for_all", language, price=amount(price, language)))
        if tariff.bands[0].code != "*":
            lines.append("")
            lines.append(text("tariffs.bands_heading", language))
            lines += [band_line(band, language) for band in tariff.bands]
    elif tariff.bands:
        lines.append(text("tariffs.bands_heading", language))
        lines += [band_line(band, language) for band in tariff.bands]
    else:
        lines.append(text("tariffs.no_prices", language))
    if own is None and not tariff.same_for_all:
        lines.append(text("tariffs.band_unknown", language, band=tariff.family_band))
    lines += ["", text("tariffs.rules_heading", language)]
    lines += rules_lines(tariff.rules, language)
    return "\n".join(lines)


def activity_label(entry: ActivityEntry) -> str:
    return SEPARATOR.join((entry.name, entry.facility))


def list_keyboard(entries: list[ActivityEntry], language: str) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(activity_label(entry), callback_data=f"{OPEN}{entry.id}")]
        for entry in entries
    ]
    rows.append([InlineKeyboardButton(text("tariffs.btn.close", language), callback_data=CLOSE)])
    return InlineKeyboardMarkup(rows)


def tariff_keyboard(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(text("tariffs.btn.back", language), callback_data=BACK),
                InlineKeyboardButton(text("tariffs.btn.close", language), callback_data=CLOSE),
            ]
        ]
    )


# --- Handlers ---------------------------------------------------------------------------------


async def show_tariffs(update: Update, context: PortalContext) -> None:
    """Menu button, /tarifs and ◀ Retour: the activities with a price, as buttons."""
    await answer(update)
    parent = await who(update, context)
    if parent is None or parent.actor.family_id is None:
        return
    entries = await _service(context).activities(parent.actor, parent.actor.family_id)
    key = "tariffs.pick" if entries else "tariffs.none"
    await show(
        update,
        "\n".join((text("tariffs.title", parent.language), "", text(key, parent.language))),
        list_keyboard(entries, parent.language),
    )


async def _tapped_tariff(
    update: Update, context: PortalContext
) -> tuple[Who, ActivityTariff] | None:
    tapped = await tapped_record(update, context, OPEN)
    if tapped is None:
        return None
    parent, activity_id = tapped
    assert parent.actor.family_id is not None
    try:
        tariff = await _service(context).tariff(parent.actor, parent.actor.family_id, activity_id)
    except (AccessDenied, NotFound) as refusal:
        logger.info("tariff %s refused to %s: %s", activity_id, parent.actor.label, refusal)
        await answer(update, text("tariffs.unavailable", parent.language))
        return None
    await answer(update)
    return parent, tariff


async def show_tariff(update: Update, context: PortalContext) -> None:
    """One activity's tariff screen, with back and close."""
    tapped = await _tapped_tariff(update, context)
    if tapped is None:
        return
    parent, tariff = tapped
    await show(update, tariff_text(tariff, parent.language), tariff_keyboard(parent.language))


HANDLERS: list[BaseHandler[Update, PortalContext, None]] = [
    CommandHandler("tarifs", show_tariffs),
    CallbackQueryHandler(show_tariffs, pattern=f"^(?:{MENU_TARIFFS}|{BACK})$"),
    CallbackQueryHandler(show_tariff, pattern=with_record_id(OPEN)),
    CallbackQueryHandler(close_view, pattern=f"^{CLOSE}$"),
]
"""The tariffs view's handlers, to register before the conversations."""
