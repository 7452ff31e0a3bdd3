"""`portail news ...`: the services publish news to families, and close a day.

portail news publish --as EMAIL --title "..." --text FILE.md [--title-en "..." --text-en FILE.md]
                     [--attach FILE] --audience AUDIENCE [--urgent]
    AUDIENCE: all | facility:CODE | activity:CODE | booked:ACTIVITY:YYYY-MM-DD[,YYYY-MM-DD...]
    The text is Markdown: **bold**, *italics*, [links](https://...), "- " lists. The file
    attached is an image (JPEG, PNG) or a PDF, checked as parents' documents are. Each guardian
    of the audience with a linked chat gets it once, in English when translated and they read
    English; a guardian who muted news gets urgent items only. Publishing the same item twice
    publishes it once.
portail news withdraw ID --as EMAIL   hidden from the families; messages not sent are stopped
portail news list                     the latest items, with their messages sent
portail news closure --as EMAIL --activity CODE --date YYYY-MM-DD --title "..." --text FILE.md
                     [--title-en "..." --text-en FILE.md]
    The day is closed, its bookings cancelled without billing, and an urgent item tells the
    families that were booked. Closing a day twice closes it once.

Only a staff member of the store publishes (`--as`, required).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from pathlib import Path

from bot.portal import Portal
from bot.staff_commands import Refused, moment, on_store
from bot.staff_json import add_json_option, print_json
from store.actors import AccessDenied, Actor, NotFound
from store.news import Attachment, InvalidNews, NewsDraft, NewsService, parse_audience
from store.safe_files import UnsafeFile, display_label, file_name, inspect


def _service(portal: Portal) -> NewsService:
    return NewsService(portal.sessions, portal.clock)


async def _staff(portal: Portal, email: str) -> Actor:
    try:
        return (await portal.staff.by_email(email)).actor
    except NotFound:
        raise Refused(f"No staff member has the email {email}.") from None


def _read_text(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise Refused(f"Cannot read {path}: {error}.") from None


async def _attachment(portal: Portal, path: str | None) -> Attachment | None:
    """The file, refused unless a real image or PDF within the documents' size limit."""
    if path is None:
        return None
    limit = portal.settings.max_document_bytes
    try:
        content = await asyncio.to_thread(Path(path).read_bytes)
    except OSError as error:
        raise Refused(f"Cannot read {path}: {error}.") from None
    if not content:
        raise Refused(f"{path} is empty.")
    if len(content) > limit:
        raise Refused(f"{path} is larger than {limit} bytes (MAX_DOCUMENT_BYTES).")
    try:
        checked = await asyncio.to_thread(inspect, content)
    except UnsafeFile as unsafe:
        raise Refused(f"{path} is not attached: {unsafe.reason.value}.") from None
    label = display_label(Path(path).stem) or "actualite"
    return Attachment(
        file_name(label, checked.content_type), checked.content_type, checked.content
    )


def _translation(args: argparse.Namespace) -> tuple[str | None, str | None]:
    if (args.title_en is None) != (args.text_en is None):
        raise Refused("An English translation needs both --title-en and --text-en.")
    return args.title_en, _read_text(args.text_en)


@on_store
async def cmd_publish(portal: Portal, args: argparse.Namespace) -> int:
    actor = await _staff(portal, args.as_email)
    title_en, body_en = _translation(args)
    try:
        draft = NewsDraft(
            title=args.title,
            body=_read_text(args.text) or "",
            audience=parse_audience(args.audience),
            title_en=title_en,
            body_en=body_en,
            urgent=args.urgent,
            attachment=await _attachment(portal, args.attach),
        )
        published = await _service(portal).publish(actor, draft)
    except InvalidNews as error:
        raise Refused(f"Not published: {error}.") from None
    except AccessDenied:
        raise Refused("Only a staff member publishes news.") from None
    if published.already:
        print(
            f"News #{published.news_id} was published already; {published.queued} missing "
            "message(s) queued."
        )
    else:
        print(
            f"News #{published.news_id} published to {published.families} family(ies); "
            f"{published.queued} message(s) queued."
        )
    return 0


@on_store
async def cmd_withdraw(portal: Portal, args: argparse.Namespace) -> int:
    actor = await _staff(portal, args.as_email)
    try:
        stopped = await _service(portal).withdraw(actor, args.id)
    except NotFound:
        raise Refused(f"No news #{args.id}.") from None
    except AccessDenied:
        raise Refused("Only a staff member withdraws news.") from None
    print(f"News #{args.id} withdrawn; {stopped} message(s) not sent were stopped.")
    return 0


@on_store
async def cmd_list(portal: Portal, args: argparse.Namespace) -> int:
    summaries = await _service(portal).summaries(Actor.system(), args.limit)
    if args.json:
        print_json(summaries)
        return 0
    if not summaries:
        print("No news was published.")
    for item in summaries:
        flags = "".join((" urgent" if item.urgent else "", " WITHDRAWN" if item.withdrawn else ""))
        print(
            f"#{item.id}  {moment(item.published_at)}  {item.title}  [{item.audience}]{flags}  "
            f"families {item.families}, sent {item.sent}/{item.queued}"
        )
    return 0


@on_store
async def cmd_closure(portal: Portal, args: argparse.Namespace) -> int:
    actor = await _staff(portal, args.as_email)
    title_en, body_en = _translation(args)
    try:
        closed = await _service(portal).close_day(
            actor,
            args.activity,
            args.date,
            args.title,
            _read_text(args.text) or "",
            title_en,
            body_en,
        )
    except InvalidNews as error:
        raise Refused(f"Not closed: {error}.") from None
    except AccessDenied:
        raise Refused("Only a staff member closes a day.") from None
    if closed.already:
        print(f"{args.activity} was closed on {args.date} already (news #{closed.news_id}).")
    else:
        print(
            f"{args.activity} closed on {args.date}: {closed.cancelled} booking(s) cancelled "
            f"without billing; news #{closed.news_id} to {closed.families} family(ies), "
            f"{closed.queued} message(s) queued."
        )
    return 0


def _add_text_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="as_email", required=True, metavar="STAFF_EMAIL")
    parser.add_argument("--title", required=True)
    parser.add_argument("--text", required=True, metavar="FILE.md", help="Markdown subset")
    parser.add_argument("--title-en", dest="title_en")
    parser.add_argument("--text-en", dest="text_en", metavar="FILE.md")


def add_news_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `portail news`."""
    news = commands.add_parser("news", help="news to families: publish, withdraw, list, closure")
    verbs = news.add_subparsers(dest="news_command", required=True)
    publish = verbs.add_parser("publish", help="publish a news item to an audience")
    _add_text_options(publish)
    publish.add_argument(
        "--audience",
        required=True,
        help="all | facility:CODE | activity:CODE | booked:ACTIVITY:YYYY-MM-DD[,...]",
    )
    publish.add_argument("--attach", metavar="FILE", help="an image (JPEG, PNG) or a PDF")
    publish.add_argument("--urgent", action="store_true", help="sent to those who muted news too")
    publish.set_defaults(handler=cmd_publish)
    withdraw = verbs.add_parser("withdraw", help="hide an item, stop its unsent messages")
    withdraw.add_argument("id", type=int)
    withdraw.add_argument("--as", dest="as_email", required=True, metavar="STAFF_EMAIL")
    withdraw.set_defaults(handler=cmd_withdraw)
    listing = verbs.add_parser("list", help="the latest items, with their messages sent")
    listing.add_argument("--limit", type=int, default=50)
    add_json_option(listing)
    listing.set_defaults(handler=cmd_list)
    closure = verbs.add_parser(
        "closure", help="close a day: bookings cancelled without billing, families told"
    )
    _add_text_options(closure)
    closure.add_argument("--activity", required=True, metavar="CODE")
    closure.add_argument("--date", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
    closure.set_defaults(handler=cmd_closure)
