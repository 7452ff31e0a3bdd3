"""Balance (mon solde): invoiced, paid, due, not yet invoiced; the latest invoices; one invoice's
lines; its PDF; a link to pay it online.

A read-only view, so one-shot handlers rather than a conversation: every button carries what it
needs (an invoice id), the store re-checks on each tap that the invoice is the family's, and
nothing is kept between taps. There is no draft to abandon or to time out, a view survives a
restart, and looking at the balance in the middle of a booking leaves the booking as it was.
Register `HANDLERS` before the conversations, so that their stale-button fallbacks (which take
any callback but `menu:`) never swallow a tap on this view.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import date
from urllib.parse import quote

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from conversations.kit.callback_data import with_record_id
from conversations.kit.context import PortalContext
from conversations.kit.formatting import amount, day_label, month_title
from conversations.kit.live import answer, show
from conversations.kit.menu import MENU_BALANCE
from conversations.kit.texts import counted, text
from conversations.kit.views import close_view
from conversations.kit.who import Who, tapped_record, who
from store.actors import AccessDenied, NotFound
from store.billing import (
    Balance,
    BillingService,
    InvoiceDetail,
    InvoiceStatus,
    InvoiceSummary,
    month_bounds,
)
from store.invoice_pdf import LABELS, Issuer, render_invoice, unicode_font

logger = logging.getLogger(__name__)

OPEN_INVOICE = "bl:inv:"
INVOICE_PDF = "bl:pdf:"
BACK = "bl:home"
CLOSE = "bl:close"

LATEST_INVOICES = 6
SHOWN_LINES = 40
SEPARATOR = " · "


def _billing(context: PortalContext) -> BillingService:
    return context.portal.billing


# --- Pure rendering ---------------------------------------------------------------------------


def status_label(summary: InvoiceSummary, language: str) -> str:
    return text(f"balance.status.{summary.status.value}", language)


def invoice_button_label(summary: InvoiceSummary, language: str) -> str:
    """ "FAC-2026-10-001 · 20,80 € · impayée" (a button: plain text, not HTML)."""
    return SEPARATOR.join(
        (summary.number, amount(summary.total_cents, language), status_label(summary, language))
    )


def period_label(start: date, end: date, language: str) -> str:
    """ "octobre 2026" for a whole month, else "du jeu. 1 oct. au jeu. 15 oct."."""
    if (start, end) == month_bounds(start):
        return month_title(start, language)
    return text(
        "balance.period_range",
        language,
        start=day_label(start, language),
        end=day_label(end, language),
    )


def balance_text(
    balance: Balance, invoices: list[InvoiceSummary], today: date, language: str
) -> str:
    """The balance screen: figures, what this month will add, and the invoices' heading."""
    lines = [
        text("balance.title", language),
        "",
        text("balance.invoiced", language, amount=amount(balance.invoiced_cents, language)),
        text("balance.paid", language, amount=amount(balance.paid_cents, language)),
    ]
    if balance.due_cents > 0:
        lines.append(text("balance.due", language, amount=amount(balance.due_cents, language)))
    elif balance.due_cents < 0:
        lines.append(text("balance.credit", language, amount=amount(-balance.due_cents, language)))
    else:
        lines.append(text("balance.up_to_date", language))
    lines += [
        "",
        text(
            "balance.uninvoiced",
            language,
            month=month_title(today, language),
            amount=amount(balance.uninvoiced_cents, language),
        ),
        "",
        text("balance.invoices" if invoices else "balance.no_invoices", language),
    ]
    return "\n".join(lines)


def balance_keyboard(invoices: list[InvoiceSummary], language: str) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                invoice_button_label(summary, language),
                callback_data=f"{OPEN_INVOICE}{summary.id}",
            )
        ]
        for summary in invoices
    ]
    rows.append([InlineKeyboardButton(text("balance.btn.close", language), callback_data=CLOSE)])
    return InlineKeyboardMarkup(rows)


def invoice_text(detail: InvoiceDetail, language: str) -> str:
    """One invoice: period, dates, status, its lines (designation, quantity, price, amount)."""
    summary = detail.summary
    lines = [
        text(
            "balance.credit_note_title"
            if summary.status is InvoiceStatus.CREDIT_NOTE
            else "balance.invoice_title",
            language,
            number=summary.number,
        ),
        text(
            "balance.invoice_period",
            language,
            period=period_label(summary.period_start, summary.period_end, language),
        ),
        text(
            "balance.invoice_dates",
            language,
            issued=day_label(summary.issued_on, language),
            due_on=day_label(summary.due_on, language),
        ),
        text("balance.invoice_status", language, status=status_label(summary, language)),
        "",
    ]
    for line in detail.lines[:SHOWN_LINES]:
        lines.append(
            text(
                "balance.line",
                language,
                label=line.label,
                quantity=line.quantity,
                unit_price=amount(line.unit_price_cents, language),
                amount=amount(line.amount_cents, language),
            )
        )
    if not detail.lines:
        lines.append(text("balance.no_lines", language))
    if len(detail.lines) > SHOWN_LINES:
        lines.append(counted("balance.more_lines", len(detail.lines) - SHOWN_LINES, language))
    lines += [
        "",
        text("balance.total", language, amount=amount(summary.total_cents, language)),
        text("balance.paid", language, amount=amount(summary.paid_cents, language)),
        text("balance.due", language, amount=amount(summary.due_cents, language)),
    ]
    return "\n".join(lines)


def payment_url(template: str, detail: InvoiceDetail) -> str | None:
    """The online payment link of an invoice with something due, from `template`, or None.

    Placeholders: {invoice_number}, {year} (of issue), {amount_cents} and {amount} ("20.80") of
    what is left to pay, {family_code}; values are URL-encoded.
    """
    summary = detail.summary
    if not template or summary.due_cents <= 0:
        return None
    values = {
        "invoice_number": summary.number,
        "year": summary.issued_on.year,
        "amount_cents": summary.due_cents,
        "amount": f"{summary.due_cents // 100}.{summary.due_cents % 100:02d}",
        "family_code": detail.family_code,
    }
    try:
        url = template.format(
            **{name: quote(str(value), safe="") for name, value in values.items()}
        )
    except (KeyError, IndexError, ValueError):
        logger.warning("PAYMENT_URL_TEMPLATE has an unknown placeholder: no pay button")
        return None
    return url if url.startswith(("https://", "http://")) else None


def invoice_keyboard(
    detail: InvoiceDetail, language: str, pay_url: str | None
) -> InlineKeyboardMarkup:
    actions = [
        InlineKeyboardButton(
            text("balance.btn.pdf", language),
            callback_data=f"{INVOICE_PDF}{detail.summary.id}",
        )
    ]
    if pay_url is not None:
        actions.append(InlineKeyboardButton(text("balance.btn.pay", language), url=pay_url))
    return InlineKeyboardMarkup(
        [
            actions,
            [
                InlineKeyboardButton(text("balance.btn.back", language), callback_data=BACK),
                InlineKeyboardButton(text("balance.btn.close", language), callback_data=CLOSE),
            ],
        ]
    )


def pdf_filename(number: str) -> str:
    """ "facture-FAC-2026-10-001.pdf", whatever the number holds."""
    return f"facture-{re.sub(r'[^A-Za-z0-9._-]', '_', number)}.pdf"


def pdf_labels(language: str) -> dict[str, str]:
    """The words of the PDF, from the catalog."""
    return {key: text(f"invoice_pdf.{key}", language) for key in LABELS}


# --- Handlers ---------------------------------------------------------------------------------


async def show_balance(update: Update, context: PortalContext) -> None:
    """Menu button, /solde and ◀ Retour: the balance and the latest invoices as buttons."""
    await answer(update)
    parent = await who(update, context)
    if parent is None or parent.actor.family_id is None:
        return
    today = context.portal.today()
    billing = _billing(context)
    family_id = parent.actor.family_id
    balance, invoices = await billing.overview(parent.actor, family_id, today, LATEST_INVOICES)
    await show(
        update,
        balance_text(balance, invoices, today, parent.language),
        balance_keyboard(invoices, parent.language),
    )


async def _tapped_invoice(
    update: Update, context: PortalContext, prefix: str
) -> tuple[Who, InvoiceDetail] | None:
    """The invoice of the tapped button, if it is the family's; else the tap is answered."""
    tapped = await tapped_record(update, context, prefix)
    if tapped is None:
        return None
    parent, invoice_id = tapped
    try:
        detail = await _billing(context).invoice_detail(
            parent.actor, invoice_id, context.portal.today()
        )
    except (AccessDenied, NotFound) as refusal:
        # The same answer for "not yours" and "no such invoice": ids are not probed this way.
        logger.info("invoice %s refused to %s: %s", invoice_id, parent.actor.label, refusal)
        await answer(update, text("balance.unavailable", parent.language))
        return None
    await answer(update)
    return parent, detail


async def show_invoice(update: Update, context: PortalContext) -> None:
    """An invoice's detail, in place of the balance, with PDF, pay, back and close buttons."""
    tapped = await _tapped_invoice(update, context, OPEN_INVOICE)
    if tapped is None:
        return
    parent, detail = tapped
    template = context.portal.settings.payment_url_template
    await show(
        update,
        invoice_text(detail, parent.language),
        invoice_keyboard(detail, parent.language, payment_url(template, detail)),
    )


async def send_pdf(update: Update, context: PortalContext) -> None:
    """📄 PDF: the invoice as a PDF document, sent as a new message."""
    tapped = await _tapped_invoice(update, context, INVOICE_PDF)
    chat = update.effective_chat
    if tapped is None or chat is None:
        return
    parent, detail = tapped
    language = parent.language
    settings = context.portal.settings
    issuer = Issuer(
        town=settings.town_name,
        office=settings.billing_office_name,
        address=settings.billing_office_address,
    )
    font_path = settings.invoice_font_path
    await chat.send_chat_action(ChatAction.UPLOAD_DOCUMENT)
    created_at = context.portal.clock()

    def render() -> bytes:
        return render_invoice(
            detail,
            issuer=issuer,
            labels=pdf_labels(language),
            status=status_label(detail.summary, language),
            language=language,
            font=unicode_font(font_path),
            created_at=created_at,
        )

    # Finding the font (once) and laying the pages out take a few dozen ms: off the event loop.
    document = await asyncio.to_thread(render)
    await chat.send_document(
        document,
        filename=pdf_filename(detail.summary.number),
        caption=text("balance.pdf_caption", language, number=detail.summary.number),
        parse_mode=ParseMode.HTML,
    )


HANDLERS: list[BaseHandler[Update, PortalContext, None]] = [
    CommandHandler("solde", show_balance),
    CallbackQueryHandler(show_balance, pattern=f"^(?:{MENU_BALANCE}|{BACK})$"),
    CallbackQueryHandler(show_invoice, pattern=with_record_id(OPEN_INVOICE)),
    CallbackQueryHandler(send_pdf, pattern=with_record_id(INVOICE_PDF)),
    CallbackQueryHandler(close_view, pattern=f"^{CLOSE}$"),
]
"""The balance view's handlers, to register before the conversations (see the module's doc)."""
