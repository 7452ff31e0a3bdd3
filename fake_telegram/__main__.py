"""Run the fake Telegram Bot API standalone: ``python -m fake_telegram --port 8081``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from fake_telegram.server import DEFAULT_TOKEN, FakeTelegram, RateLimits


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m fake_telegram", description="Serve a fake Telegram Bot API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument(
        "--user", action="append", default=[], metavar="FIRST_NAME", help="pre-create a user"
    )
    parser.add_argument(
        "--rate-limit", action="store_true", help="enforce 30 sends/s overall and 1/s per chat"
    )
    return parser


async def serve(args: argparse.Namespace) -> None:
    """Start the server and wait forever."""
    server = FakeTelegram(
        args.token,
        host=args.host,
        port=args.port,
        rate_limits=RateLimits() if args.rate_limit else None,
    )
    await server.start()
    print(f"Fake Telegram Bot API on {server.url}")
    print(f"  base_url      = {server.base_url}")
    print(f"  base_file_url = {server.base_file_url}")
    print(f"  token         = {server.token}")
    for name in args.user:
        user = server.add_user(first_name=name)
        print(f"  user {name!r}: id/chat_id {user.id}")
    stopping = asyncio.Event()
    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    try:
        await stopping.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = build_parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
