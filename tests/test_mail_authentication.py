"""Whether a mail's sender is authenticated: our MTA's Authentication-Results, read strictly.

A corpus of header blocks written for these tests (the shapes Postfix with OpenDKIM/OpenDMARC
and rspamd write, and what a forger writes), each with the verdict it must give.
"""

from __future__ import annotations

import pytest

from mail.auth import authenticating_method, parse_field, strip_comments
from mail.parsing import parse_mail

OURS = "mx.ville.example"
FROM = "anne.martin@famille-martin.fr"


def _mail(header_block: str, from_address: str = FROM) -> bytes:
    head = header_block.strip("\n").replace("\n", "\r\n")
    return (
        f"{head}\r\nFrom: Anne Martin <{from_address}>\r\nTo: documents@ville.example\r\n"
        "Subject: Attestation\r\nMessage-ID: <a1@famille-martin.fr>\r\n\r\nBonjour\r\n"
    ).encode()


# (name, header block above the sender's own fields, authenticating method or None)
CORPUS: list[tuple[str, str, str | None]] = [
    (
        "opendmarc_pass",
        f"""
Authentication-Results: {OURS}; dmarc=pass (p=none dis=none) header.from=famille-martin.fr
Received: from smtp.famille-martin.fr by {OURS} (Postfix) with ESMTPS id 4F2
""",
        "dmarc",
    ),
    (
        "rspamd_all_methods_folded",
        f"""
Authentication-Results: {OURS};
\tdkim=pass header.d=famille-martin.fr header.s=mail header.b=Ab3+/x9=;
\tspf=pass (mx.ville.example: domain of anne@famille-martin.fr designates
\t 192.0.2.7 as permitted sender) smtp.mailfrom=anne@famille-martin.fr;
\tdmarc=pass (policy=reject) header.from=famille-martin.fr
Received: from smtp.famille-martin.fr by {OURS}
""",
        "dkim",
    ),
    (
        "dkim_parent_domain_aligned",
        f"""
Authentication-Results: {OURS}; dkim=pass header.d=famille-martin.fr
Received: from relay by {OURS}
""",
        "dkim",
    ),
    (
        "dkim_of_another_domain",
        f"""
Authentication-Results: {OURS}; dkim=pass header.d=mailer.example.net; dmarc=fail
 header.from=famille-martin.fr
Received: from relay by {OURS}
""",
        None,
    ),
    (
        "dkim_of_a_subdomain_is_not_the_parent",
        f"""
Authentication-Results: {OURS}; dkim=pass header.d=news.famille-martin.fr
Received: from relay by {OURS}
""",
        None,
    ),
    (
        "dkim_top_level_only",
        f"""
Authentication-Results: {OURS}; dkim=pass header.d=fr
Received: from relay by {OURS}
""",
        None,
    ),
    (
        "dkim_from_header_i_only",
        f"""
Authentication-Results: {OURS}; dkim=pass header.i=@famille-martin.fr
Received: from relay by {OURS}
""",
        "dkim",
    ),
    (
        "spf_bounce_subdomain_aligned",
        f"""
Authentication-Results: {OURS}; spf=pass smtp.mailfrom=bounce+x=y@mail.famille-martin.fr
Received: from relay by {OURS}
""",
        "spf",
    ),
    (
        "spf_pass_other_domain",
        f"""
Authentication-Results: {OURS}; spf=pass smtp.mailfrom=list@lists.example.org
Received: from relay by {OURS}
""",
        None,
    ),
    (
        "fail_none_neutral_softfail",
        f"""
Authentication-Results: {OURS}; dkim=fail header.d=famille-martin.fr;
 spf=softfail smtp.mailfrom=famille-martin.fr; dmarc=none header.from=famille-martin.fr
Authentication-Results: {OURS}; spf=neutral smtp.mailfrom=famille-martin.fr;
 dkim=temperror header.d=famille-martin.fr; dmarc=permerror header.from=famille-martin.fr
Received: from relay by {OURS}
""",
        None,
    ),
    (
        "no_result",
        f"""
Authentication-Results: {OURS}; none
Received: from relay by {OURS}
""",
        None,
    ),
    (
        "another_authserv_id",
        """
Authentication-Results: mx.google.com; dmarc=pass header.from=famille-martin.fr
Received: from relay by mx.ville.example
""",
        None,
    ),
    (
        "our_id_as_a_prefix_of_another",
        f"""
Authentication-Results: {OURS}.attacker.test; dmarc=pass header.from=famille-martin.fr
Received: from relay by {OURS}
""",
        None,
    ),
    (
        "forged_below_ours",
        f"""
Authentication-Results: {OURS}; dmarc=fail header.from=famille-martin.fr; spf=fail
 smtp.mailfrom=evil.test
Received: from evil.test by {OURS} (Postfix)
Authentication-Results: {OURS}; dmarc=pass header.from=famille-martin.fr
""",
        None,
    ),
    (
        "forged_with_no_header_of_ours",
        f"""
Received: from evil.test by {OURS} (Postfix)
Authentication-Results: {OURS}; dkim=pass header.d=famille-martin.fr
Received: from evil.test by evil.test
""",
        None,
    ),
    (
        "case_differences",
        """
authentication-results: MX.Ville.Example; DMARC=Pass header.From=Famille-Martin.FR
Received: from relay by mx.ville.example
""",
        "dmarc",
    ),
    (
        "comments_everywhere",
        f"""
Authentication-Results: {OURS} (our (nested) scanner) 1;
 dkim (signature ok) = pass (good) header.d (signer) = famille-martin.fr (2048 bits)
Received: from relay by {OURS}
""",
        "dkim",
    ),
    (
        "result_hidden_in_a_comment",
        f"""
Authentication-Results: {OURS}; dkim=fail (dmarc=pass header.from=famille-martin.fr)
 header.d=famille-martin.fr
Received: from relay by {OURS}
""",
        None,
    ),
    (
        "quoted_values_and_version",
        f"""
Authentication-Results: "{OURS}" 1; dkim/1=pass header.d="famille-martin.fr";
 dmarc=fail header.from=famille-martin.fr
Received: from relay by {OURS}
""",
        "dkim",
    ),
    (
        "semicolon_in_a_quoted_reason",
        f"""
Authentication-Results: {OURS}; dmarc=fail reason="x; dmarc=pass"
 header.from=famille-martin.fr
Received: from relay by {OURS}
""",
        None,
    ),
    (
        "dmarc_pass_for_another_from",
        f"""
Authentication-Results: {OURS}; dmarc=pass header.from=mairie.example
Received: from relay by {OURS}
""",
        None,
    ),
]


@pytest.mark.parametrize(
    ("block", "expected"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS]
)
def test_the_corpus(block, expected):
    mail = parse_mail(_mail(block), authserv_id=OURS)
    assert mail.authenticated_by == expected
    assert mail.authenticated is (expected is not None)


@pytest.mark.parametrize(
    "block", [c[1] for c in CORPUS if c[2]], ids=[c[0] for c in CORPUS if c[2]]
)
def test_nothing_is_authenticated_without_a_configured_id(block):
    assert parse_mail(_mail(block)).authenticated is False
    assert parse_mail(_mail(block), authserv_id="  ").authenticated is False


def test_a_pass_for_another_from_domain_does_not_carry_over():
    block = CORPUS[0][1]
    mail = parse_mail(_mail(block, from_address="maire@ville.example"), authserv_id=OURS)
    assert mail.authenticated is False


def test_without_received_the_topmost_fields_are_read():
    block = f"Authentication-Results: {OURS}; dmarc=pass header.from=famille-martin.fr"
    assert parse_mail(_mail(block), authserv_id=OURS).authenticated is True


def test_a_forged_field_of_ours_above_a_received_of_the_sender_is_below_ours():
    # The forger's own `Received` and result, under the `Received` our MTA wrote.
    headers = [
        ("Received", f"from evil.test by {OURS}"),
        ("Authentication-Results", f"{OURS}; dmarc=pass header.from=famille-martin.fr"),
    ]
    assert authenticating_method(headers, OURS, FROM) is None
    assert authenticating_method(headers[::-1], OURS, FROM) == "dmarc"


def test_parse_field_reads_methods_and_properties():
    parsed = parse_field(
        f"{OURS} 1; spf=pass smtp.mailfrom=a@b.example; dkim=pass header.d=b.example header.s=s1"
    )
    assert parsed is not None
    assert parsed.authserv_id == OURS
    assert [(r.method, r.result) for r in parsed.results] == [("spf", "pass"), ("dkim", "pass")]
    assert parsed.results[1].properties == {"header.d": "b.example", "header.s": "s1"}
    assert parse_field("   ") is None


def test_strip_comments_keeps_quoted_parentheses():
    assert " ".join(strip_comments('a (b (c) d) "x (y)" e').split()) == 'a "x (y)" e'
    assert " ".join(strip_comments("a (b \\) c) d").split()) == "a d"
