"""The mail floor: an aiosmtpd server whose handler only counts messages.

`python -m bench.raw_smtp --port PORT` listens like the product's inbound server (same
`SMTP` protocol class, on the loop with `loop.create_server`, same size limit) and answers 250
to every message without looking at it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from aiosmtpd.smtp import SMTP

MAX_BYTES = 25 * 1024 * 1024


class CountingHandler:
    """Accept everything, keep nothing but a count."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


async def serve(port: int) -> None:
    handler = CountingHandler()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, data_size_limit=MAX_BYTES, enable_SMTPUTF8=True),
        "127.0.0.1",
        port,
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("listening", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
