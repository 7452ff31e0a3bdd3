"""End-to-end tests of the fake Bot API with the real python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, TypeAlias

import httpx
import pytest
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from fake_telegram import EntityParseError, FakeTelegram, RateLimits, parse_text

if TYPE_CHECKING:
    App: TypeAlias = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to timedelta durations: PTB 22 otherwise warns when building RetryAfter."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply to /start with an inline keyboard, echoing the deep-link payload."""
    assert update.message is not None
    payload = " ".join(context.args or [])
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Réserver", callback_data="book")],
            [InlineKeyboardButton("Factures", callback_data="invoices")],
        ]
    )
    await update.message.reply_text(f"Bonjour ! {payload}".strip(), reply_markup=keyboard)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the callback query and edit the message."""
    query = update.callback_query
    assert query is not None
    await query.answer(text=f"ok {query.data}")
    await query.edit_message_text(f"Choix : <b>{query.data}</b>", parse_mode=ParseMode.HTML)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo text, as a reply."""
    assert update.message is not None and update.message.text is not None
    if update.message.text == "clavier":
        await update.message.reply_text("Choisir", reply_markup=ReplyKeyboardMarkup([["Oui"]]))
    elif update.message.text == "Oui":
        await update.message.reply_text("Merci", reply_markup=ReplyKeyboardRemove())
    elif update.message.reply_to_message is not None:
        await update.message.reply_text(f"re:{update.message.reply_to_message.message_id}")
    else:
        await update.message.reply_text(f"echo: {update.message.text}", do_quote=True)


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Download the largest photo size and reply with its size, then send it back."""
    assert update.message is not None
    data = await (await update.message.photo[-1].get_file()).download_as_bytearray()
    await update.message.reply_text(f"{len(data)} octets")
    await update.message.reply_document(bytes(data), filename="retour.bin")


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Download a document and reply with its name and content."""
    assert update.message is not None and update.message.document is not None
    data = await (await update.message.document.get_file()).download_as_bytearray()
    await update.message.reply_text(f"{update.message.document.file_name}: {data.decode()}")


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram()
    await fake.start()
    yield fake
    await fake.stop()
    assert not fake.internal_errors
    leftovers = asyncio.all_tasks() - {asyncio.current_task()}
    assert not leftovers, f"tasks left running: {leftovers!r}"


@pytest.fixture
async def app(server: FakeTelegram) -> AsyncIterator[App]:
    application = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(MessageHandler(filters.PHOTO, on_photo))
    application.add_handler(MessageHandler(filters.Document.ALL, on_document))
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()


async def test_start_keyboard_tap_and_edit(server: FakeTelegram, app: App) -> None:
    parent = server.add_user(first_name="Camille", language_code="fr")
    await parent.send_command("/start abc")
    reply = await parent.next_message()
    assert reply.text == "Bonjour ! abc"
    assert reply.buttons == ["Réserver", "Factures"]
    assert reply.button_rows == [["Réserver"], ["Factures"]]

    answer = await parent.tap("Réserver")
    assert answer is not None and answer.text == "ok book"
    edited = await parent.next_message()
    assert edited is reply and edited.edited
    assert edited.text == "Choix : book"
    assert edited.entities == [{"type": "bold", "offset": 8, "length": 4}]
    assert edited.buttons == []  # editMessageText without reply_markup drops the keyboard
    assert edited.history[0].text == "Bonjour ! abc"
    assert [call["callback_query_id"] for call in server.calls_to("answerCallbackQuery")] == [
        answer.callback_query_id
    ]


async def test_tap_unknown_label_lists_available(server: FakeTelegram, app: App) -> None:
    parent = server.add_user()
    await parent.send_command("/start")
    await parent.next_message()
    with pytest.raises(AssertionError, match=r"'Réserver', 'Factures'"):
        await parent.tap("Annuler")


async def test_echo_reply_and_reply_keyboard(server: FakeTelegram, app: App) -> None:
    parent = server.add_user(first_name="Lou")
    first = await parent.send_text("bonjour")
    echoed = await parent.next_message()
    assert echoed.text == "echo: bonjour"
    assert echoed.reply_to_message_id == first.message_id

    await parent.reply_to(echoed, "répondu")
    assert (await parent.next_message()).text == f"re:{echoed.message_id}"

    await parent.send_text("clavier")
    await parent.next_message()
    assert parent.reply_keyboard == [["Oui"]]
    await parent.press("Oui")
    assert (await parent.next_message()).text == "Merci"
    assert parent.reply_keyboard is None
    await parent.assert_no_message(wait=0.05)


async def test_photo_and_document_round_trip(server: FakeTelegram, app: App) -> None:
    parent = server.add_user()
    picture = bytes(range(256)) * 10
    await parent.send_photo(picture, caption="bulletin")
    assert (await parent.next_message()).text == f"{len(picture)} octets"
    returned = await parent.next_message()
    assert returned.document_bytes == picture
    assert returned.document_name == "retour.bin"
    assert [f.data for f in server.documents_sent(parent.chat_id)] == [picture]

    await parent.send_document(b"certificat", "certificat.txt", "text/plain")
    assert (await parent.next_message()).text == "certificat.txt: certificat"


async def test_commands_per_language_and_scope(server: FakeTelegram, app: App) -> None:
    await app.bot.set_my_commands([BotCommand("start", "Démarrer")], language_code="fr")
    await app.bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    await app.bot.set_my_commands(
        [BotCommand("aide", "Aide")], scope=BotCommandScopeAllPrivateChats()
    )
    assert server.commands("fr") == [("start", "Démarrer")]
    assert server.commands("en") == [("start", "Start")]
    assert server.commands() == []
    assert server.commands(scope={"type": "all_private_chats"}) == [("aide", "Aide")]
    fetched = await app.bot.get_my_commands(language_code="en")
    assert [(c.command, c.description) for c in fetched] == [("start", "Start")]
    with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
        await app.bot.set_my_commands([BotCommand("Start!", "x")])
    assert await app.bot.set_chat_menu_button()
    assert await app.bot.set_my_description("Portail Famille")


async def test_telegram_checks(server: FakeTelegram, app: App) -> None:
    parent = server.add_user()
    bot = app.bot
    too_long_data = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="a" * 65)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(parent.chat_id, "hello", reply_markup=too_long_data)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(parent.chat_id, "x" * 4097)
    assert (await bot.send_message(parent.chat_id, "é" * 4096)).text == "é" * 4096
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(parent.chat_id, "")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(1, "hello")
    with pytest.raises(BadRequest, match="(?i)can't parse entities: character '.' is reserved"):
        await bot.send_message(parent.chat_id, "Fin.", parse_mode=ParseMode.MARKDOWN_V2)

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(parent.chat_id, "Menu", reply_markup=keyboard)
    with pytest.raises(BadRequest, match="Message is not modified: specified new message"):
        await bot.edit_message_text("Menu", parent.chat_id, sent.message_id, reply_markup=keyboard)
    await bot.edit_message_reply_markup(parent.chat_id, sent.message_id)
    assert parent.last_message.buttons == []
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", parent.chat_id, 999)
    assert await bot.delete_message(parent.chat_id, sent.message_id)
    assert sent.message_id not in [m.message_id for m in parent.messages if not m.deleted]
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(parent.chat_id, sent.message_id)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("nope")


async def test_http_level_errors(server: FakeTelegram) -> None:
    async with httpx.AsyncClient() as client:
        unauthorized = await client.post(f"{server.url}/bot1:wrong/getMe")
        assert unauthorized.status_code == 401
        assert unauthorized.json() == {
            "ok": False,
            "error_code": 401,
            "description": "Unauthorized",
        }
        missing = await client.post(f"{server.base_url}{server.token}/noSuchMethod")
        assert missing.status_code == 404
        assert missing.json()["description"] == "Not Found"
        as_json = await client.post(
            f"{server.base_url}{server.token}/sendMessage", json={"chat_id": 1, "text": "x"}
        )
        assert as_json.json()["description"] == "Bad Request: chat not found"
    assert [call.method for call in server.calls] == ["sendMessage"]


async def test_invalid_token_raises_in_ptb(server: FakeTelegram) -> None:
    application = (
        ApplicationBuilder()
        .token("1:wrong")
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    with pytest.raises(InvalidToken, match="rejected by the server"):
        await application.initialize()
    await application.bot.shutdown()  # initialize() failed half-way: close the HTTP clients


async def test_forced_failures(server: FakeTelegram, app: App) -> None:
    parent = server.add_user()
    parent.fail_next_sends(2, error_code=429, retry_after=7)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await app.bot.send_message(parent.chat_id, "hello")
        assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert (await app.bot.send_message(parent.chat_id, "hello")).text == "hello"

    server.fail_next(parent.chat_id, error_code=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await app.bot.send_message(parent.chat_id, "hello")
    parent.fail_next_sends(error_code=403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_document(parent.chat_id, b"pdf", filename="f.pdf")
    parent.block_bot()
    with pytest.raises(Forbidden):
        await app.bot.send_message(parent.chat_id, "hello")
    parent.unblock_bot()
    assert [m.text for m in parent.messages] == ["hello"]


async def test_rate_limits(server: FakeTelegram, app: App) -> None:
    first, second, third = (server.add_user() for _ in range(3))
    server.rate_limits = RateLimits(global_max=None, per_chat_max=1)
    await app.bot.send_message(first.chat_id, "1")
    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(first.chat_id, "2")
    assert caught.value.retry_after == dtm.timedelta(seconds=1)
    await app.bot.send_message(second.chat_id, "1")  # other chats are not limited

    server.rate_limits = RateLimits(global_max=2, per_chat_max=None, window=0.2)
    await asyncio.sleep(0.2)
    results = await asyncio.gather(
        *(app.bot.send_message(third.chat_id, str(n)) for n in range(4)), return_exceptions=True
    )
    assert sum(isinstance(result, RetryAfter) for result in results) == 2
    assert server.throttled == 3
    await asyncio.sleep(0.2)
    await app.bot.send_message(third.chat_id, "again")


async def test_get_updates_confirms_by_offset(server: FakeTelegram) -> None:
    user = server.add_user()
    await user.send_text("a")
    await user.send_text("b")
    url = f"{server.base_url}{server.token}/getUpdates"
    async with httpx.AsyncClient() as client:
        updates = (await client.post(url, data={"limit": "1"})).json()["result"]
        assert [u["message"]["text"] for u in updates] == ["a"]
        next_id = updates[0]["update_id"] + 1
        updates = (await client.post(url, data={"offset": str(next_id)})).json()["result"]
        assert [u["message"]["text"] for u in updates] == ["b"]
        assert server.pending_updates == 1
        waiting = asyncio.create_task(
            client.post(url, data={"offset": str(next_id + 1), "timeout": "5"})
        )
        await asyncio.sleep(0.05)
        assert server.pending_updates == 0
        await user.send_command("/aide")
        result = (await asyncio.wait_for(waiting, 1)).json()["result"]
        assert result[0]["message"]["entities"] == [
            {"type": "bot_command", "offset": 0, "length": 5}
        ]


async def test_waiting_helpers(server: FakeTelegram, app: App) -> None:
    parent = server.add_user()
    for word in ("un", "deux", "trois"):
        await app.bot.send_message(parent.chat_id, word)
    parent.mark()
    with pytest.raises(AssertionError, match="no matching new bot message within 0.05s"):
        await parent.next_message(timeout=0.05)
    await parent.send_text("quatre")
    await parent.send_text("cinq")
    found = await parent.wait_for_message(lambda m: m.text == "echo: cinq")
    assert found.text == "echo: cinq"
    assert [m.text for m in parent.messages][-2:] == ["echo: quatre", "echo: cinq"]

    photo = await app.bot.send_photo(
        parent.chat_id, b"\x89PNG...", caption="<i>vue</i>", parse_mode=ParseMode.HTML
    )
    again = await app.bot.send_photo(parent.chat_id, photo.photo[-1].file_id)
    assert again.photo[-1].file_id == photo.photo[-1].file_id
    assert parent.last_message.photo_bytes == b"\x89PNG..."
    assert parent.messages[-2].caption == "vue"
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await app.bot.send_document(parent.chat_id, "unknown-file-id")
    await app.bot.send_chat_action(parent.chat_id, "typing")
    assert parent.chat_actions == ["typing"]


def test_parse_modes() -> None:
    assert parse_text("<b>Gras</b> &amp; <a href='https://x.fr'>lien</a>", "HTML") == (
        "Gras & lien",
        [
            {"type": "bold", "offset": 0, "length": 4},
            {"type": "text_link", "offset": 7, "length": 4, "url": "https://x.fr"},
        ],
    )
    assert parse_text("*Total* : 12\\,50 €\\.", "MarkdownV2")[0] == "Total : 12,50 €."
    assert parse_text("_a_ `b`", "Markdown") == (
        "a b",
        [{"type": "italic", "offset": 0, "length": 1}, {"type": "code", "offset": 2, "length": 1}],
    )
    with pytest.raises(EntityParseError, match='Unsupported start tag "br"'):
        parse_text("a<br>b", "HTML")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity at byte offset 0"):
        parse_text("*ouvert", "MarkdownV2")
