"""The framework's floor: a minimal python-telegram-bot echo bot, polled like the product.

`python -m bench.echo_bot --api http://127.0.0.1:PORT --token TOKEN` answers every text
message with the same text, through the same HTTP stack (httpx), long-polling settings and
`ApplicationBuilder` defaults as the product, with no store, no persistence and no flow.
"""

from __future__ import annotations

import argparse
import logging

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back."""
    assert update.effective_chat is not None and update.message is not None
    await update.effective_chat.send_message(update.message.text or "?")


def main() -> None:
    """Run until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", required=True, help="root URL of the Bot API")
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    api = args.api.rstrip("/")
    application = (
        ApplicationBuilder()
        .token(args.token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling(timeout=10, poll_interval=0.0, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
