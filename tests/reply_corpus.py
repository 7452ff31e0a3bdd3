"""The corpus of staff replies (tests/data/replies): its cases, the notification each one
answers, and what the store hands the reducer for it (shared by the tests and the bench)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from mail.parsing import parse_mail
from mail.reply import Sent
from store.staff_notices import FamilyFacts, notice_texts

CORPUS = Path(__file__).parent / "data" / "replies"
DOMAIN = "portail-famille.example"


@dataclass(frozen=True)
class Reply:
    """One case: the mail's file, its client and language, and the thread it answers."""

    file: str
    expected_file: str
    client: str
    language: str
    form: str
    layout: str
    thread: dict[str, Any]

    @property
    def name(self) -> str:
        return self.file.removesuffix(".eml")

    @property
    def token(self) -> str:
        return str(self.thread["token"])

    @property
    def reply_address(self) -> str:
        return f"reply+{self.token}@{DOMAIN}"

    @property
    def expected(self) -> str:
        return (CORPUS / self.expected_file).read_text("utf-8").rstrip("\n")

    @property
    def body(self) -> str:
        """The mail's text as the parser gives it to the reducer."""
        return _body(self.file)

    @property
    def sent(self) -> Sent:
        """What the store hands the reducer (`store.staff_notices.notice_texts`)."""
        thread = self.thread
        family = FamilyFacts(
            0,
            thread["family"]["code"],
            thread["family"]["name"],
            tuple(thread["guardians"]),
            tuple(thread["children"]),
        )
        messages = [
            (message["body"], message["author"], _moment(message["at"]))
            for message in thread["messages"]
        ]
        texts = notice_texts(thread["subject"], thread["service"], messages, family)
        return Sent.of(texts.written, texts.names, [self.reply_address])


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@cache
def _body(file: str) -> str:
    return parse_mail((CORPUS / file).read_bytes()).body_text


@cache
def threads() -> dict[str, dict[str, Any]]:
    listed = yaml.safe_load((CORPUS / "threads.yaml").read_text("utf-8"))
    return {thread["id"]: thread for thread in listed}


@cache
def replies() -> tuple[Reply, ...]:
    index = yaml.safe_load((CORPUS / "index.yaml").read_text("utf-8"))
    return tuple(
        Reply(
            entry["file"],
            entry["expected"],
            entry["client"],
            entry["language"],
            entry["form"],
            entry["layout"],
            threads()[entry["thread"]],
        )
        for entry in index
    )
