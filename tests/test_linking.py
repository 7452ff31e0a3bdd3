"""Invite links: single use, expiry, hashed storage, and the `portail invite` command."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import cli
from bot.settings import Settings
from store.actors import NotFound
from store.linking import LinkingService, LinkStatus, hash_token
from store.models import LinkToken
from tests.helpers import build_town


async def test_invite_links_once_and_is_stored_hashed(sessions, clock):
    town = await build_town(sessions, [])
    service = LinkingService(sessions, clock)
    token = await service.create_invite("PARENT.F1@exemple.fr ", timedelta(hours=1))
    async with sessions() as session:
        stored = await session.scalar(select(LinkToken.token_hash))
    assert stored == hash_token(token) and token not in stored
    result = await service.redeem_invite(token, telegram_user_id=42, chat_id=42)
    assert result.status is LinkStatus.LINKED and result.family_id == town.family_id
    assert await service.actor_for_telegram_user(42) == town.guardian
    assert (await service.redeem_invite(token, 43, 43)).status is LinkStatus.USED
    assert (await service.redeem_invite("nonsense", 43, 43)).status is LinkStatus.INVALID
    await service.unlink(town.guardian)
    assert await service.actor_for_telegram_user(42) is None


async def test_expired_invite_is_refused(sessions, clock):
    await build_town(sessions, [])
    service = LinkingService(sessions, clock)
    token = await service.create_invite("parent.f1@exemple.fr", timedelta(minutes=30))
    clock.set(clock.now + timedelta(minutes=30))
    assert (await service.redeem_invite(token, 42, 42)).status is LinkStatus.EXPIRED


async def test_unknown_email_gets_no_invite(sessions, clock):
    await build_town(sessions, [])
    with pytest.raises(NotFound):
        await LinkingService(sessions, clock).create_invite(
            "nobody@exemple.fr", timedelta(hours=1)
        )


def test_portail_invite_prints_a_working_deep_link(database_url, capsys):
    settings = Settings(database_url=database_url, telegram_bot_username="MontclarBot")

    async def setup_and_redeem(token: str | None) -> LinkStatus | None:
        from store.database import create_engine, create_sessionmaker

        engine = create_engine(database_url)
        try:
            sessions = create_sessionmaker(engine)
            if token is None:
                await build_town(sessions, [])
                return None
            return (await LinkingService(sessions).redeem_invite(token, 5, 5)).status
        finally:
            await engine.dispose()

    asyncio.run(setup_and_redeem(None))
    args = cli.build_parser().parse_args(["invite", "parent.f1@exemple.fr"])
    assert cli.cmd_invite(settings, args) == 0
    link = capsys.readouterr().out.strip()
    assert link.startswith("https://t.me/MontclarBot?start=")
    token = link.split("start=", 1)[1]
    assert 1 <= len(token) <= 64
    assert asyncio.run(setup_and_redeem(token)) is LinkStatus.LINKED
    args = cli.build_parser().parse_args(["invite", "nobody@exemple.fr"])
    assert cli.cmd_invite(settings, args) == 2
