"""Relevé de compte: the family's account by school year — the balance carried over, invoices
as debits, credit notes and payments (with their method) as credits, the balance after each,
the final balance — as a message a page at a time, and as a PDF.

A read-only view, so one-shot handlers like `conversations.balance`: every button carries the
school year and page it shows, the store re-checks the family on each tap, nothing is kept
between taps. Register `HANDLERS` before the conversations.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from conversations.kit.context import PortalContext
from conversations.kit.formatting import amount, day_label, long_day, month_title
from conversations.kit.live import answer, show
from conversations.kit.menu import MENU_STATEMENT
from conversations.kit.texts import CATALOG, text
from conversations.kit.views import close_view
from conversations.kit.who import Who, who
from store.actors import AccessDenied, NotFound
from store.billing import month_bounds
from store.invoice_pdf import Issuer, unicode_font
from store.statement import Operation, OperationKind, Statement, StatementService
from store.statement_pdf import LABELS, render_statement

logger = logging.getLogger(__name__)

VIEW = "st:v:"
PDF = "st:pdf:"
CLOSE = "st:x"

# Operations a page: about 120 characters each, well within a message's 4096.
PAGE_SIZE = 15
SHOWN_YEARS = 4
_YEAR = r"(20[0-9]{2})"
_VIEW_DATA = re.compile(rf"{_YEAR}\.(0|[1-9][0-9]?)")
_PDF_DATA = re.compile(_YEAR)


def _service(context: PortalContext) -> StatementService:
    return context.portal.statement


def parse_view(data: object) -> tuple[int, int] | None:
    """(school year, page) of a "st:v:2026.0" button, or None."""
    if not isinstance(data, str) or not data.startswith(VIEW):
        return None
    found = _VIEW_DATA.fullmatch(data[len(VIEW) :])
    return (int(found[1]), int(found[2])) if found else None


def parse_pdf(data: object) -> int | None:
    """The school year of a "st:pdf:2026" button, or None."""
    if not isinstance(data, str) or not data.startswith(PDF):
        return None
    found = _PDF_DATA.fullmatch(data[len(PDF) :])
    return int(found[1]) if found else None


# --- Pure rendering ---------------------------------------------------------------------------


def school_year_label(year: int) -> str:
    return f"{year}-{year + 1}"


def method_words(method: str | None, language: str) -> str:
    """A payment method in words ("chèque", "carte bancaire en ligne"); unknown: as stored."""
    if not method:
        return text("statement.method.unknown", language)
    key = f"statement.method.{re.sub(r'[^a-z0-9]+', '_', method.strip().lower()).strip('_')}"
    return text(key, language) if key in CATALOG else method


def balance_words(cents: int, language: str) -> str:
    """ "20,80 € à payer", "5,00 € en votre faveur", "0,00 €"."""
    if cents > 0:
        return text("statement.owed", language, amount=amount(cents, language))
    if cents < 0:
        return text("statement.in_credit", language, amount=amount(-cents, language))
    return amount(0, language)


def _period(operation: Operation, language: str) -> str:
    start, end = operation.period_start, operation.period_end
    if start is None or end is None:
        return ""
    if (start, end) == month_bounds(start):
        return month_title(start, language)
    return f"{day_label(start, language)} – {day_label(end, language)}"


def describe(operation: Operation, language: str) -> str:
    """An operation in words: "Facture FAC-… (octobre 2026)", "Règlement par chèque"."""
    if operation.kind is OperationKind.PAYMENT:
        method = method_words(operation.method, language)
        if operation.invoice_number:
            return text(
                "statement.payment_for",
                language,
                method=method,
                invoice=operation.invoice_number,
            )
        return text("statement.payment", language, method=method)
    key = (
        "statement.credit_note"
        if operation.kind is OperationKind.CREDIT_NOTE
        else "statement.invoice"
    )
    period = _period(operation, language)
    sentence = text(key, language, number=operation.number)
    return f"{sentence} ({html.escape(period)})" if period else sentence


def operation_line(operation: Operation, language: str) -> str:
    if operation.debit_cents:
        movement = text(
            "statement.debit", language, amount=amount(operation.debit_cents, language)
        )
    else:
        movement = text(
            "statement.credit", language, amount=amount(operation.credit_cents, language)
        )
    return text(
        "statement.line",
        language,
        day=day_label(operation.day, language),
        what_html=describe(operation, language),
        movement_html=movement,
        balance=amount(operation.balance_cents, language),
    )


def pages_of(statement: Statement) -> int:
    return max(1, -(-len(statement.operations) // PAGE_SIZE))


def statement_text(statement: Statement, page: int, language: str) -> str:
    """One page of the statement: carried-over balance, operations, final balance."""
    lines = [
        text("statement.title", language, year=school_year_label(statement.year)),
        text(
            "statement.span",
            language,
            start=long_day(statement.first_day, language),
            end=long_day(statement.last_day, language),
        ),
        "",
    ]
    start = page * PAGE_SIZE
    shown = statement.operations[start : start + PAGE_SIZE]
    if page == 0:
        lines.append(
            text(
                "statement.opening",
                language,
                day=day_label(statement.first_day, language),
                balance_html=balance_words(statement.opening_cents, language),
            )
        )
    else:
        carried = statement.operations[start - 1].balance_cents
        lines.append(
            text("statement.carried", language, balance_html=balance_words(carried, language))
        )
    if not statement.operations:
        lines.append(text("statement.no_operations", language))
    lines += [operation_line(operation, language) for operation in shown]
    pages = pages_of(statement)
    if page == pages - 1:
        lines += [
            "",
            text(
                "statement.totals",
                language,
                debits=amount(statement.debits_cents, language),
                credits=amount(statement.credits_cents, language),
            ),
            text(
                "statement.closing",
                language,
                balance_html=balance_words(statement.closing_cents, language),
            ),
        ]
    if pages > 1:
        lines += ["", text("statement.page", language, page=page + 1, pages=pages)]
    return "\n".join(lines)


def statement_keyboard(statement: Statement, page: int, language: str) -> InlineKeyboardMarkup:
    """Pages, the PDF, earlier (or later) school years with operations, close."""
    rows = []
    paging = []
    if page > 0:
        paging.append(
            InlineKeyboardButton(
                text("statement.btn.previous", language),
                callback_data=f"{VIEW}{statement.year}.{page - 1}",
            )
        )
    if page < pages_of(statement) - 1:
        paging.append(
            InlineKeyboardButton(
                text("statement.btn.next", language),
                callback_data=f"{VIEW}{statement.year}.{page + 1}",
            )
        )
    if paging:
        rows.append(paging)
    rows.append(
        [
            InlineKeyboardButton(
                text("statement.btn.pdf", language), callback_data=f"{PDF}{statement.year}"
            )
        ]
    )
    others = [year for year in statement.years if year != statement.year][:SHOWN_YEARS]
    if others:
        rows.append(
            [
                InlineKeyboardButton(
                    text("statement.btn.year", language, year=school_year_label(year)),
                    callback_data=f"{VIEW}{year}.0",
                )
                for year in others
            ]
        )
    rows.append([InlineKeyboardButton(text("statement.btn.close", language), callback_data=CLOSE)])
    return InlineKeyboardMarkup(rows)


def pdf_labels(language: str) -> dict[str, str]:
    """The words of the PDF, from the catalog."""
    return {key: text(f"statement_pdf.{key}", language) for key in LABELS}


def pdf_filename(statement: Statement) -> str:
    code = re.sub(r"[^A-Za-z0-9._-]", "_", statement.family_code)
    return f"releve-{code}-{school_year_label(statement.year)}.pdf"


# --- Handlers ---------------------------------------------------------------------------------


async def _statement(
    update: Update, context: PortalContext, year: int | None
) -> tuple[Who, Statement] | None:
    """The family's statement of `year` (None: this school year); a refusal is answered."""
    parent = await who(update, context)
    if parent is None or parent.actor.family_id is None:
        await answer(update)
        return None
    try:
        found = await _service(context).statement(
            parent.actor, parent.actor.family_id, context.portal.today(), year
        )
    except (AccessDenied, NotFound) as refusal:
        logger.info("statement %s refused to %s: %s", year, parent.actor.label, refusal)
        await answer(update, text("statement.unavailable", parent.language))
        return None
    await answer(update)
    return parent, found


async def show_statement(update: Update, context: PortalContext) -> None:
    """Menu button and /releve: this school year's statement, first page."""
    found = await _statement(update, context, None)
    if found is None:
        return
    parent, statement = found
    await show(
        update,
        statement_text(statement, 0, parent.language),
        statement_keyboard(statement, 0, parent.language),
    )


async def show_page(update: Update, context: PortalContext) -> None:
    """A school year or a page tapped."""
    query = update.callback_query
    tapped = parse_view(query.data if query else None)
    assert tapped is not None, "the handler's pattern lets only views through"
    year, page = tapped
    found = await _statement(update, context, year)
    if found is None:
        return
    parent, statement = found
    page = min(page, pages_of(statement) - 1)
    await show(
        update,
        statement_text(statement, page, parent.language),
        statement_keyboard(statement, page, parent.language),
    )


async def send_pdf(update: Update, context: PortalContext) -> None:
    """📄 PDF: the school year's statement as a PDF document, sent as a new message."""
    query = update.callback_query
    year = parse_pdf(query.data if query else None)
    assert year is not None
    found = await _statement(update, context, year)
    chat = update.effective_chat
    if found is None or chat is None:
        return
    parent, statement = found
    language = parent.language
    settings = context.portal.settings
    issuer = Issuer(
        town=settings.town_name,
        office=settings.billing_office_name,
        address=settings.billing_office_address,
    )
    font_path = settings.invoice_font_path
    descriptions = [html.unescape(describe(o, language)) for o in statement.operations]
    await chat.send_chat_action(ChatAction.UPLOAD_DOCUMENT)
    created_at = context.portal.clock()

    def render() -> bytes:
        return render_statement(
            statement,
            descriptions,
            issuer=issuer,
            labels=pdf_labels(language),
            language=language,
            font=unicode_font(font_path),
            created_at=created_at,
        )

    document = await asyncio.to_thread(render)
    await chat.send_document(
        document,
        filename=pdf_filename(statement),
        caption=text("statement.pdf_caption", language, year=school_year_label(statement.year)),
        parse_mode=ParseMode.HTML,
    )


HANDLERS: list[BaseHandler[Update, PortalContext, None]] = [
    CommandHandler("releve", show_statement),
    CallbackQueryHandler(show_statement, pattern=f"^{MENU_STATEMENT}$"),
    CallbackQueryHandler(show_page, pattern=lambda data: parse_view(data) is not None),
    CallbackQueryHandler(send_pdf, pattern=lambda data: parse_pdf(data) is not None),
    CallbackQueryHandler(close_view, pattern=f"^{CLOSE}$"),
]
"""The statement view's handlers, to register before the conversations."""
