"""The date engine: the days a parent means in a French or English phrase (pure text: no
Telegram, no store); `understand` is the one entry point, `format_days` reads days back."""

from dates.understanding import (
    MAX_DAYS,
    AskBack,
    Intent,
    Understood,
    format_days,
    understand,
    warm_up,
)

__all__ = ["MAX_DAYS", "AskBack", "Intent", "Understood", "format_days", "understand", "warm_up"]
