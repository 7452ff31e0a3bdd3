"""Links in a mail's text, and whether they point inside the domains we allow.

A staff reply that is not authenticated (no `Authentication-Results` of our MTA vouching for
its From domain) may be a forgery: one with a link to a site outside the allowed domains
("payez 50 EUR sur http://…") is held for the service instead of reaching a family. Links are
what a reader would follow: `http://` and `https://` addresses, and `www.` ones written without
a scheme; an HTML body's `href`s are in its text (the HTML reader writes each link's address
after its words).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

LINK = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'()\[\]{}]+")


def link_hosts(text: str) -> list[str]:
    """The host of every link in `text`, lower-cased, in order, once each ('' when a link has
    no readable host)."""
    hosts: dict[str, None] = {}
    for match in LINK.finditer(text or ""):
        link = match.group(0).rstrip(".,;:!?»")
        if not re.match(r"(?i)https?://", link):
            link = "http://" + link
        try:
            host = urlsplit(link).hostname or ""
        except ValueError:
            host = ""
        hosts[host.strip(".").lower()] = None
    return list(hosts)


def allowed_host(host: str, domains: Iterable[str]) -> bool:
    """Whether `host` is one of `domains` or a subdomain of one."""
    if not host:
        return False
    return any(
        host == domain or host.endswith("." + domain)
        for domain in (d.strip().lower().strip(".") for d in domains)
        if domain
    )


def outside_hosts(text: str, domains: Iterable[str]) -> list[str]:
    """The hosts of the links of `text` outside `domains` (a link without a host counts)."""
    allowed = tuple(domains)
    return [host or "?" for host in link_hosts(text) if not allowed_host(host, allowed)]
