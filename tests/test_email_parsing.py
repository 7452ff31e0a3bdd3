"""Reading inbound mail: the corpus of realistic emails in tests/data/emails, and the edge cases.

Each mail of the corpus is listed in `index.yaml` with what it is (a staff reply, a parent's
documents, an automatic reply, a bounce, a malformed message), the text a staff member wrote
(`*.expected.txt`), and its attachments.
"""

from __future__ import annotations

import contextlib
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mail.html_text import html_to_text
from mail.parsing import (
    MalformedMail,
    find_absence_reference,
    guess_document_type,
    message_id_of,
    parse_mail,
    unflow,
)
from mail.reply import reduce_reply
from store.models.enums import DocumentType

CORPUS = Path(__file__).parent / "data" / "emails"
INDEX: list[dict[str, Any]] = yaml.safe_load((CORPUS / "index.yaml").read_text("utf-8"))


def _name(entry: dict[str, Any]) -> str:
    return entry["file"].removesuffix(".eml")


def _of_kind(*kinds: str) -> list[dict[str, Any]]:
    return [entry for entry in INDEX if entry["kind"] in kinds]


def test_the_corpus_covers_every_client_and_kind():
    assert len(INDEX) >= 25
    kinds = {entry["kind"] for entry in INDEX}
    assert kinds == {"staff_reply", "documents", "auto_reply", "bounce", "malformed"}
    clients = " ".join(entry["client"] for entry in INDEX)
    for client in ("Gmail", "Outlook", "Apple Mail", "Thunderbird", "English", "French"):
        assert client in clients
    for entry in INDEX:
        assert (CORPUS / entry["file"]).is_file()


@pytest.mark.parametrize("entry", _of_kind("staff_reply", "documents"), ids=_name)
def test_only_what_the_person_wrote_is_kept(entry):
    mail = parse_mail((CORPUS / entry["file"]).read_bytes())
    expected = (CORPUS / entry["expected"]).read_text("utf-8").rstrip("\n")
    assert mail.reply_text == expected
    assert mail.automatic is None


@pytest.mark.parametrize("entry", _of_kind("staff_reply", "documents"), ids=_name)
def test_attachments_are_found_with_their_decoded_names(entry):
    mail = parse_mail((CORPUS / entry["file"]).read_bytes())
    expected = entry.get("attachments", [])
    assert [(a.filename, a.content_type, a.inline) for a in mail.attachments] == [
        (e["name"], e["content_type"], e["inline"]) for e in expected
    ]
    for attachment, wanted in zip(mail.attachments, expected, strict=True):
        if "size" in wanted:
            assert attachment.size == wanted["size"]
        if "type" in wanted:
            assert attachment.guessed_type.value == wanted["type"]


@pytest.mark.parametrize("entry", _of_kind("auto_reply"), ids=_name)
def test_automatic_replies_are_recognised(entry):
    mail = parse_mail((CORPUS / entry["file"]).read_bytes())
    assert mail.auto_reply is not None and mail.bounce is None
    assert mail.automatic


@pytest.mark.parametrize("entry", _of_kind("bounce"), ids=_name)
def test_bounces_and_reports_are_recognised(entry):
    mail = parse_mail((CORPUS / entry["file"]).read_bytes())
    assert mail.bounce is not None
    assert mail.automatic


@pytest.mark.parametrize("entry", _of_kind("malformed"), ids=_name)
def test_malformed_mails_are_refused_with_a_reason(entry):
    with pytest.raises(MalformedMail) as refused:
        parse_mail((CORPUS / entry["file"]).read_bytes())
    assert str(refused.value)


def test_the_sender_is_lower_cased_and_the_reference_read_from_the_subject():
    mail = parse_mail((CORPUS / "29-parent-gmail-certificate-reference.eml").read_bytes())
    assert mail.from_address == "parent.f1@exemple.fr"
    assert mail.from_name == "Camille Dupont"
    assert mail.subject == "Certificat médical absence ABS-7kq9m2"
    assert mail.absence_reference == "ABS-7KQ9M2"
    assert mail.message_id == "<CAPaR3nT0xY7w2Lq9Zk4Vb1Nc6Md8Fs5Gh3Jt_Kr0Ey2Wu7Io9@mail.gmail.com>"


def test_a_null_envelope_sender_is_a_bounce():
    raw = b"From: someone@example.org\nSubject: hello\n\nhi\n"
    assert parse_mail(raw).bounce is None
    assert parse_mail(raw, envelope_from="").bounce == "null sender"
    assert parse_mail(raw, envelope_from="<>").bounce == "null sender"


@pytest.mark.parametrize(
    ("header", "automatic"),
    [
        ("Auto-Submitted: no", False),
        ("Auto-Submitted: auto-replied", True),
        ("Precedence: list", True),
        ("Precedence: first-class", False),
        ("X-Autorespond: yes", True),
        ("List-Unsubscribe: <mailto:x@example.org>", True),
        ("Subject: Re: Absence du bureau", True),
        ("Subject: Automatic reply: cantine", True),
        ("Subject: Réponse automatique : cantine", True),
        ("Subject: Re: absence de Lucas mercredi", False),
    ],
)
def test_auto_reply_headers(header, automatic):
    head = header if header.startswith("Subject") else f"Subject: cantine\n{header}"
    raw = f"From: a@example.org\n{head}\nContent-Type: text/plain; charset=utf-8\n\nok\n"
    assert (parse_mail(raw.encode()).auto_reply is not None) is automatic


# Reducing replies -------------------------------------------------------------------------


def test_a_reply_without_history_is_kept_whole():
    assert (
        reduce_reply("Bonjour,\n\nC'est noté.\n\nSophie\n") == "Bonjour,\n\nC'est noté.\n\nSophie"
    )


def test_an_attribution_without_quotes_below_ends_the_reply():
    text = "Oui.\n\nLe 24/11/2026 à 10:12, X a écrit :\nNouveau message de la famille\n"
    assert reduce_reply(text) == "Oui."


def test_a_sentence_starting_like_an_attribution_is_kept():
    text = "On se voit lundi.\nLe menu change demain.\n"
    assert reduce_reply(text) == "On se voit lundi.\nLe menu change demain."


def test_closing_words_are_kept_and_mobile_footers_removed():
    text = (
        "Merci.\n\nBonne journée,\nSophie\n\n"
        "Envoyé depuis mon Samsung Galaxy\nGet Outlook for Android"
    )
    assert reduce_reply(text) == "Merci.\n\nBonne journée,\nSophie"


def test_the_signature_goes_from_its_delimiter_to_the_end():
    assert reduce_reply("Oui.\n-- \nSophie Martin\n05 61 00 00 00") == "Oui."


def test_format_flowed_lines_are_joined():
    text = "Le dossier est \ncomplet.\n> cit\u00e9 \n> suite\n-- \nSophie"
    assert unflow(text) == "Le dossier est complet.\n> cit\u00e9 suite\n-- \nSophie"


# HTML -------------------------------------------------------------------------------------


def test_html_loses_markup_scripts_and_styles_but_keeps_links_and_quotes():
    html = (
        "<html><head><title>t</title><style>p{color:red}</style></head><body>"
        "<script>alert(1)</script><p>L&#39;inscription est <b>valid&eacute;e</b>.</p>"
        '<p>Voir <a href="https://montclar.example/menus">les menus</a>.</p>'
        "<blockquote>question<br>posée</blockquote><ul><li>un</li><li>deux</li></ul></body></html>"
    )
    assert html_to_text(html) == (
        "L'inscription est validée.\n\nVoir les menus (https://montclar.example/menus).\n\n"
        "> question\n> posée\n- un\n- deux"
    )


# Guesses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "filename", "expected"),
    [
        ("Documents", "Attestation_CAF_2026.pdf", DocumentType.CAF_QUOTIENT),
        ("attestation de quotient familial", None, DocumentType.CAF_QUOTIENT),
        ("Documents", "carnet-de-vaccination.jpg", DocumentType.VACCINATION_RECORD),
        ("Certificat de vaccination", None, DocumentType.VACCINATION_RECORD),
        ("Assurance scolaire 2026", "scan001.pdf", DocumentType.INSURANCE),
        ("justificatif de domicile", "IMG_0001.jpeg", DocumentType.PROOF_OF_ADDRESS),
        ("TR: Votre facture EDF", None, DocumentType.PROOF_OF_ADDRESS),
        ("Certificat médical Lucas", "scan.pdf", DocumentType.MEDICAL_CERTIFICATE),
        ("Fiche sanitaire", None, DocumentType.HEALTH_FORM),
        ("Documents pour l'inscription", "scan.pdf", DocumentType.TO_CLASSIFY),
        ("Certificat médical", "attestation CAF.pdf", DocumentType.CAF_QUOTIENT),
        ("Cafétéria", None, DocumentType.TO_CLASSIFY),
    ],
)
def test_document_type_from_file_name_then_subject(subject, filename, expected):
    assert guess_document_type(subject, filename) is expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Certificat ABS-7KQ9M2", "ABS-7KQ9M2"),
        ("certificat abs-7kq9m2 pour Lucas", "ABS-7KQ9M2"),
        ("Re: [ABS-7KQ9M2]", "ABS-7KQ9M2"),
        ("ABS-7KQ9M", None),
        ("ABS-7KQ9M2X", None),
        ("ABS-7KQ9M1", None),  # 1 is not in the reference alphabet
        ("certificat", None),
    ],
)
def test_absence_reference_in_a_subject(subject, expected):
    assert find_absence_reference(subject) == expected


def test_message_id_is_read_from_headers_only():
    raw = b"From: a@example.org\r\nMessage-ID: <abc@example.org>\r\n\r\nMessage-ID: <body@x>\r\n"
    assert message_id_of(raw) == "<abc@example.org>"
    assert message_id_of(b"From: a@example.org\n\nno id") is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_hostile_bytes_never_raise_anything_but_malformed(raw):
    with contextlib.suppress(MalformedMail):
        parse_mail(raw)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=500))
@example("\ufb2c")
def test_reducing_any_text_never_fails_nor_grows(text):
    # NFC may lengthen a few characters (U+FB2C composes to three code points).
    assert len(reduce_reply(text)) <= len(unicodedata.normalize("NFC", text)) + 1
