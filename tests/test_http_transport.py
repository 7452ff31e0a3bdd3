"""The bot's aiohttp transport: form fields, file uploads, and Telegram's errors on failures."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.http_transport import AiohttpRequest


@pytest.fixture
async def echo_server():
    """A loopback server answering with what it received, or sleeping on /slow."""

    async def echo(request: web.Request) -> web.Response:
        received = {}
        if request.content_type.startswith("multipart/"):
            async for part in await request.multipart():
                body = await part.read()
                received[part.name] = [part.filename, body.decode(errors="replace")]
        else:
            received = {key: value for key, value in (await request.post()).items()}
        return web.json_response({"ok": True, "result": received})

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({"ok": True, "result": True})

    app = web.Application()
    app.router.add_post("/echo", echo)
    app.router.add_post("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


def _param(key: str, value: object) -> RequestParameter:
    return RequestParameter.from_input(key, value)


@pytest.fixture
async def transport():
    request = AiohttpRequest()
    await request.initialize()
    yield request
    await request.shutdown()


async def test_fields_are_sent_as_a_form(echo_server, transport):
    data = RequestData(
        [
            _param("chat_id", 42),
            _param("text", "Bonjour é"),
        ]
    )
    answer = await transport.post(f"{echo_server}/echo", data)
    assert answer == {"chat_id": "42", "text": "Bonjour é"}


async def test_a_file_is_uploaded_with_the_fields(echo_server, transport):
    document = InputFile(b"%PDF-1.4 facture", filename="facture.pdf", attach=True)
    data = RequestData(
        [
            _param("chat_id", 42),
            _param("document", document),
        ]
    )
    answer = await transport.post(f"{echo_server}/echo", data)
    assert answer["chat_id"] == [None, "42"]
    [name] = [key for key in answer if key != "chat_id" and key != "document"]
    assert answer[name] == ["facture.pdf", "%PDF-1.4 facture"]


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        ("facture rectifiée.pdf", "facture rectifiée.pdf"),
        ('relevé "décembre".pdf', 'relevé "décembre".pdf'),
        ("deux\r\nX-Injected: oui.pdf", "deux X-Injected: oui.pdf"),
    ],
)
async def test_file_names_arrive_as_written(echo_server, transport, sent, received):
    """Found: "facture rectifiée.pdf" reached Telegram as "facture%20rectifi%C3%A9e.pdf"."""
    document = InputFile(b"%PDF-1.4 facture", filename=sent, attach=True)
    answer = await transport.post(
        f"{echo_server}/echo", RequestData([_param("chat_id", 42), _param("document", document)])
    )
    [name] = [key for key in answer if key not in ("chat_id", "document")]
    assert answer[name][0] == received
    assert "X-Injected" not in [key for key in answer]


async def test_a_slow_answer_is_a_timeout(echo_server, transport):
    with pytest.raises(TimedOut):
        await transport.post(f"{echo_server}/slow", read_timeout=0.2, write_timeout=0.0)


async def test_an_unreachable_server_is_a_network_error(transport):
    with pytest.raises(NetworkError):
        await transport.post("http://127.0.0.1:9/bot/getMe")


async def test_it_must_be_initialized_first():
    with pytest.raises(RuntimeError):
        await AiohttpRequest().do_request("http://127.0.0.1:9/", "POST")
