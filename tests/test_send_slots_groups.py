"""A group chat (negative id) gets at most 20 messages a minute from the whole bot: two send
slots to one group are 3 s apart, whichever workers hold them; a private chat keeps its 1 s.
"""

from __future__ import annotations

from bot.portal import Portal
from bot.settings import Settings
from store.runtime import SendSlots

GROUP, OTHER_GROUP, PARENT = -1001234, -1005678, 42
NOW = 1_000.0


async def test_a_group_is_written_to_every_three_seconds_across_workers(portal, clock):
    other = Portal.from_settings(portal.settings, clock)
    try:
        one = SendSlots(portal.sessions, per_second=10, chat_spacing=1.0, group_per_minute=20)
        two = SendSlots(other.sessions, per_second=10, chat_spacing=1.0, group_per_minute=20)
        first = await one.reserve([GROUP, PARENT, OTHER_GROUP], NOW)
        assert set(first) == {GROUP, PARENT, OTHER_GROUP}
        # 1.5 s on: the parent may be written to again, neither group (on any worker).
        assert set(await two.reserve([GROUP, PARENT, OTHER_GROUP], NOW + 1.5)) == {PARENT}
        # Just before 3 s after its slot the group still rests; just after, it has a slot.
        assert await two.reserve([GROUP], first[GROUP] + 2.95) == {}
        later = await one.reserve([GROUP], first[GROUP] + 3.05)
        assert GROUP in later and later[GROUP] - first[GROUP] >= 3.0
    finally:
        await other.close()


async def test_the_group_rate_is_a_setting(portal):
    slots = SendSlots(portal.sessions, per_second=10, chat_spacing=1.0, group_per_minute=6)
    assert slots.spacing(GROUP) == 10.0
    assert slots.spacing(PARENT) == 1.0
    # A group rate above one a second never writes faster than a private chat's spacing.
    fast = SendSlots(portal.sessions, per_second=10, chat_spacing=1.0, group_per_minute=120)
    assert fast.spacing(GROUP) == 1.0
    first = await slots.reserve([GROUP], NOW)
    assert await slots.reserve([GROUP], first[GROUP] + 9.9) == {}
    assert GROUP in await slots.reserve([GROUP], first[GROUP] + 10.05)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.telegram_group_messages_per_minute == 20
