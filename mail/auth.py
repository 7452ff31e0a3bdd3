"""Whether an inbound mail's sender is authenticated, from our MTA's Authentication-Results.

The MTA in front of the inbound server (Postfix with OpenDKIM/OpenDMARC, or rspamd) checks
SPF, DKIM and DMARC and writes its verdicts in `Authentication-Results` header fields
(RFC 8601) stamped with its *authserv-id* (`MAIL_AUTHSERV_ID`). Anyone can write such a field
in the mail they send, so only some are believed:

- only fields whose authserv-id is ours (compared without case); no configured id, no trust;
- only fields above the first `Received` field, read from the top. Our MTA writes its
  `Received` field when it takes the mail, and its checks put their results above it; every
  field below was written before the mail reached us, by the sender or on the way. A forged
  field with our authserv-id is therefore below ours and never read. (The MTA should also
  drop incoming fields that carry its id, RFC 8601 section 5: the README says how.)

The From domain is authenticated when one believed result says so:

- `dmarc=pass` with `header.from` equal to the From domain;
- `dkim=pass` with a signing domain (`header.d`, else the domain of `header.i`) equal to the
  From domain or a parent of it (DMARC's relaxed alignment);
- `spf=pass` with the `smtp.mailfrom` domain equal to the From domain, a parent or a child
  of it.

A parent domain must still have a dot (`example.com`, never `com`). Nothing here reads more
than header fields; nothing is logged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

HEADER = "authentication-results"
# A result reads `method[/version]=result`, a property `ptype.property=value`; a value is a
# token or a quoted string.
_PAIR = re.compile(
    r"""(?P<key>[A-Za-z0-9_-]+(?:\s*/\s*[0-9]+)?(?:\s*\.\s*[A-Za-z0-9_-]+)?)
        \s*=\s*
        (?P<value>(?:"(?:[^"\\]|\\.)*"|[^\s;"])+)""",
    re.VERBOSE,
)
_VERSION = re.compile(r"\s*/\s*[0-9]+")


@dataclass(frozen=True)
class Result:
    """One method's verdict in an Authentication-Results field (names lower-cased)."""

    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthResults:
    """One Authentication-Results field: who wrote it and what it says."""

    authserv_id: str
    results: tuple[Result, ...]


def strip_comments(value: str) -> str:
    """The field without its comments (nested parentheses, escapes), quoted strings kept."""
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\" and (quoted or depth):
            escaped = True
            if depth == 0:
                out.append(char)
            continue
        if quoted:
            out.append(char)
            if char == '"':
                quoted = False
            continue
        if char == "(":
            depth += 1
            continue
        if char == ")" and depth:
            depth -= 1
            if depth == 0:
                out.append(" ")
            continue
        if depth:
            continue
        if char == '"':
            quoted = True
        out.append(char)
    return "".join(out)


def _split_outside_quotes(value: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_field(value: str) -> AuthResults | None:
    """An Authentication-Results field's value read, or None when it has no authserv-id."""
    text = " ".join(strip_comments(value).split())  # folded lines unfolded
    head, *resinfos = _split_outside_quotes(text, ";")
    head_words = head.split()
    if not head_words:
        return None
    authserv_id = _unquote(head_words[0]).strip().lower().rstrip(".")
    if not authserv_id:
        return None
    results: list[Result] = []
    for resinfo in resinfos:
        pairs = [(m.group("key"), _unquote(m.group("value"))) for m in _PAIR.finditer(resinfo)]
        if not pairs:
            continue  # `none`: no result
        method_key, result = pairs[0]
        if "." in method_key:
            continue  # a property where the method should be: not a result
        method = _VERSION.sub("", method_key).strip().lower()
        properties: dict[str, str] = {}
        for key, pvalue in pairs[1:]:
            name = "".join(key.split()).lower()
            if "." in name and name not in properties:
                properties[name] = pvalue.strip()
        results.append(Result(method, result.strip().lower(), properties))
    return AuthResults(authserv_id, tuple(results))


def trusted_fields(headers: Iterable[tuple[str, str]], authserv_id: str) -> list[AuthResults]:
    """The Authentication-Results fields we believe, from (name, value) pairs in mail order:
    those with our authserv-id above the first Received field."""
    wanted = authserv_id.strip().lower().rstrip(".")
    if not wanted:
        return []
    found: list[AuthResults] = []
    for name, value in headers:
        lowered = name.strip().lower()
        if lowered == "received":
            break
        if lowered != HEADER:
            continue
        parsed = parse_field(str(value))
        if parsed is not None and parsed.authserv_id == wanted:
            found.append(parsed)
    return found


def _domain(value: str) -> str:
    """The domain of `user@domain`, `@domain` or `domain`, lower-cased, no final dot."""
    return value.rpartition("@")[2].strip().strip("<>").lower().rstrip(".")


def _parent_or_same(parent: str, child: str) -> bool:
    """`parent` is `child` or one of its parent domains (never a bare top-level name)."""
    if not parent or not child:
        return False
    if parent == child:
        return True
    return "." in parent and child.endswith("." + parent)


def authenticating_method(
    headers: Iterable[tuple[str, str]], authserv_id: str, from_address: str | None
) -> str | None:
    """The method (`dmarc`, `dkim`, `spf`) that authenticates the From domain, or None."""
    if not from_address or "@" not in from_address:
        return None
    from_domain = _domain(from_address)
    for auth in trusted_fields(headers, authserv_id):
        for result in auth.results:
            if result.result != "pass":
                continue
            props = result.properties
            if result.method == "dmarc":
                if _domain(props.get("header.from", "")) == from_domain:
                    return "dmarc"
            elif result.method == "dkim":
                signer = props.get("header.d") or _domain(props.get("header.i", ""))
                if _parent_or_same(_domain(signer), from_domain):
                    return "dkim"
            elif result.method == "spf":
                mailfrom = _domain(props.get("smtp.mailfrom", ""))
                if _parent_or_same(mailfrom, from_domain) or _parent_or_same(
                    from_domain, mailfrom
                ):
                    return "spf"
    return None
