"""The framework's floor: a minimal python-telegram-bot echo bot, polled like the product.

`python -m bench.echo_bot --api http://127.0.0.1:PORT --token TOKEN` answers every text
message with the same text, through the same HTTP stack (httpx), long-polling settings and
`ApplicationBuilder` defaults as the product, with no store, no persistence and no flow.

A second floor, for taps: `/grid` is answered with a month-like keyboard (a header row, five
weeks of seven days, a navigation row), and a tap on a button is answered the way every tap
of a flow must be — the callback query answered, then the message edited with the tapped
button marked — which is two Bot API calls per update where the echo makes one.

With `--aiohttp` the bot sends through the product's transport (`bot/http_transport.py`)
instead of the library's default (httpx): the same floor, like for like.
"""

from __future__ import annotations

import argparse
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

TAP = "t:"


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back."""
    assert update.effective_chat is not None and update.message is not None
    await update.effective_chat.send_message(update.message.text or "?")


def grid(marked: int | None = None) -> InlineKeyboardMarkup:
    """Seven header buttons, 35 numbered days, three navigation buttons."""
    rows = [[InlineKeyboardButton(letter, callback_data="-") for letter in "LMMJVSD"]]
    for week in range(5):
        rows.append(
            [
                InlineKeyboardButton(f"☑️{n}" if n == marked else str(n), callback_data=f"{TAP}{n}")
                for n in range(week * 7 + 1, week * 7 + 8)
            ]
        )
    rows.append([InlineKeyboardButton(label, callback_data="-") for label in ("◀", "mois", "▶")])
    return InlineKeyboardMarkup(rows)


async def show_grid(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`/grid`: a message with the keyboard."""
    assert update.effective_chat is not None
    await update.effective_chat.send_message("grille", reply_markup=grid())


async def tapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tap: answer it, then edit the message with the tapped day marked."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    number = int(query.data.removeprefix(TAP))
    await query.edit_message_text(f"grille {number}", reply_markup=grid(number))


def main() -> None:
    """Run until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", required=True, help="root URL of the Bot API")
    parser.add_argument("--token", required=True)
    parser.add_argument(
        "--aiohttp",
        action="store_true",
        help="send through the product's aiohttp transport instead of the library's httpx",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    api = args.api.rstrip("/")
    builder = (
        ApplicationBuilder()
        .token(args.token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
    )
    if args.aiohttp:
        from bot.http_transport import AiohttpRequest

        builder.request(AiohttpRequest()).get_updates_request(
            AiohttpRequest(connection_pool_size=1)
        )
    application = builder.build()
    application.add_handler(CommandHandler("grid", show_grid))
    application.add_handler(CallbackQueryHandler(tapped, pattern=f"^{TAP}"))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.run_polling(timeout=10, poll_interval=0.0, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
