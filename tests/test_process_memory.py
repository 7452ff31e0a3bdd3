"""Process-wide memory settings applied by the entry points."""

from __future__ import annotations

import gc

from bot.process_memory import settle_memory


def test_settling_memory_freezes_what_start_up_built():
    try:
        settle_memory()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
