"""Only what the staff member wrote reaches the parent: the corpus of replies to our
notifications (tests/data/replies, written by its `compose.py`), in French, English, German,
Spanish, Italian, Portuguese, Dutch and Polish (and a few client languages we have no markers
for), from every usual client, each reduced exactly; our reply address never in the result;
a staff member's own `>` lines kept; a mail in another charset than it declares readable.
"""

from __future__ import annotations

from collections import Counter

import pytest

from mail.charset import decode_text
from mail.parsing import parse_mail
from mail.reply import Sent, reduce_reply
from tests.reply_corpus import DOMAIN, Reply, replies

REPLIES = replies()
# The share of the corpus reduced exactly, at least (every case is also tested on its own).
EXACT_FLOOR = 0.95
OUR_LANGUAGES = {"fr", "en", "de", "es", "it", "pt", "nl", "pl"}


def reduced(reply: Reply) -> str:
    """The reply reduced knowing what its notification said, as the inbound service does."""
    return reduce_reply(reply.body, reply.sent)


def _name(reply: Reply) -> str:
    return reply.name


# The corpus -----------------------------------------------------------------------------------


def test_the_corpus_covers_the_clients_languages_and_shapes():
    assert len(REPLIES) >= 80
    languages = Counter(reply.language for reply in REPLIES)
    assert set(languages) >= OUR_LANGUAGES
    assert all(languages[language] >= 7 for language in OUR_LANGUAGES - {"fr"})
    clients = {reply.client for reply in REPLIES}
    for client in (
        "Gmail",
        "Outlook desktop",
        "Outlook web",
        "Outlook mobile",
        "Apple Mail iPhone",
        "Apple Mail macOS",
        "Thunderbird",
        "Zimbra",
        "Free webmail",
        "Orange webmail",
        "SFR webmail",
        "La Poste webmail",
        "Roundcube",
    ):
        assert client in clients
    forms = Counter(reply.form for reply in REPLIES)
    assert forms["html"] >= 5 and forms["plain"] >= 20 and forms["plain+html"] >= 20
    layouts = Counter(reply.layout for reply in REPLIES)
    assert layouts["bottom"] >= 3 and layouts["inline"] >= 2


@pytest.mark.parametrize("reply", REPLIES, ids=_name)
def test_each_reply_is_reduced_to_what_the_staff_member_wrote(reply):
    assert reduced(reply) == reply.expected


@pytest.mark.parametrize("reply", REPLIES, ids=_name)
def test_the_reply_address_never_reaches_the_parent(reply):
    body = reply.body
    for text in (
        reduced(reply),
        reduce_reply(body),  # nothing known of the thread
        reduce_reply(body, markers_only=True),  # the second line of defence alone
    ):
        assert reply.token not in text
        assert "reply+" not in text
    # Knowing our addresses, none of our domain's either (our From address included).
    assert f"@{DOMAIN}" not in reduced(reply)


def test_the_corpus_is_reduced_exactly_above_the_floor():
    exact = {reply.name: reduced(reply) == reply.expected for reply in REPLIES}
    assert sum(exact.values()) / len(exact) >= EXACT_FLOOR
    for language in OUR_LANGUAGES:
        cases = [exact[reply.name] for reply in REPLIES if reply.language == language]
        assert sum(cases) / len(cases) >= EXACT_FLOOR


def test_what_we_sent_finds_the_history_markers_miss():
    # Outlook in Swedish, Danish, Czech and Arabic, GroupWise, a lost header block: only the
    # notification's own words tell where its history starts.
    unmarked = [
        reply for reply in REPLIES if reduce_reply(reply.body, markers_only=True) != reply.expected
    ]
    assert {reply.language for reply in unmarked} >= {"sv", "da", "cs", "ar"}
    assert all(reduced(reply) == reply.expected for reply in unmarked)


# Markers, without knowing what we sent --------------------------------------------------------


@pytest.mark.parametrize(
    ("attribution", "footer"),
    [
        ("Le mar. 24 nov. 2026 à 10:12, Portail Famille <x@portail.example> a écrit :", ""),
        ("On Tue, Nov 24, 2026 at 10:12 AM Portail Famille <x@portail.example> wrote:", ""),
        ("Am Di., 24. Nov. 2026 um 10:12 Uhr schrieb Portail Famille <x@portail.example>:", ""),
        ("El mar, 24 nov 2026 a las 10:12, Portail Famille (<x@portail.example>) escribió:", ""),
        ("Il giorno mar 24 nov 2026 alle ore 10:12 Portail <x@portail.example> ha scritto:", ""),
        ("Em ter., 24 de nov. de 2026 às 10:12, Portail <x@portail.example> escreveu:", ""),
        ("Op di 24 nov 2026 om 10:12 schreef Portail Famille <x@portail.example>:", ""),
        ("W dniu 24.11.2026 o 10:12, Portail Famille pisze:", ""),
        (
            "Le 24 nov. 2026 à 10:12, Portail Famille <x@portail.example> a écrit :",
            "Envoyé de mon iPhone",
        ),
        (
            "Am 24.11.2026 um 10:12 schrieb Portail Famille <x@portail.example>:",
            "Von meinem iPhone gesendet",
        ),
        (
            "El 24 nov 2026, a las 10:12, Portail <x@portail.example> escribió:",
            "Enviado desde mi iPhone",
        ),
        (
            "Il giorno 24 nov 2026, alle ore 10:12, Portail <x@portail.example> ha scritto:",
            "Inviato da iPhone",
        ),
        (
            "Em 24 de nov. de 2026, à(s) 10:12, Portail <x@portail.example> escreveu:",
            "Enviado do meu iPhone",
        ),
        (
            "Op 24 nov. 2026 om 10:12 heeft Portail <x@portail.example> het volgende geschreven:",
            "Verzonden vanaf mijn iPhone",
        ),
        (
            "Wiadomość napisana przez Portail <x@portail.example> w dniu 24.11.2026, o godz. "
            "10:12:",
            "Wysłane z iPhone’a",
        ),
    ],
)
def test_attributions_and_mobile_footers_in_our_languages(attribution, footer):
    history = "Nouveau message de la famille Martin.\nMerci de répondre."
    quoted = "\n".join("> " + line for line in history.split("\n"))
    tail = f"\n\n{footer}" if footer else ""
    for shape in (f"{attribution}\n{quoted}", f"{attribution}\n\n{history}"):
        assert reduce_reply(f"Oui, c'est noté.{tail}\n\n{shape}\n") == "Oui, c'est noté."


@pytest.mark.parametrize(
    "block",
    [
        "De : Portail Famille <x@portail.example>\nEnvoyé : mardi 24 novembre 2026 10:12\n"
        "À : Cantine <c@montclar.example>\nObjet : Lucas",
        "From: Portail <x@portail.example>\nSent: Tuesday, November 24, 2026 10:12 AM\n"
        "To: Canteen\nSubject: Lucas",
        "Von: Portail <x@portail.example>\nGesendet: Dienstag, 24. November 2026 10:12\n"
        "An: Kantine\nBetreff: Lucas",
        "Van: Portail <x@portail.example>\nVerzonden: dinsdag 24 november 2026 10:12\n"
        "Aan: Kantine\nOnderwerp: Lucas",
        "Da: Portail <x@portail.example>\nInviato: martedì 24 novembre 2026 10:12\nA: Mensa\n"
        "Oggetto: Lucas",
        "De: Portail <x@portail.example>\nEnviado el: martes, 24 de noviembre de 2026 10:12\n"
        "Para: Comedor\nAsunto: Lucas",
        "De: Portail <x@portail.example>\nEnviado: terça-feira, 24 de novembro de 2026 10:12\n"
        "Para: Cantina\nAssunto: Lucas",
        "Od: Portail <x@portail.example>\nWysłano: wtorek, 24 listopada 2026 10:12\n"
        "Do: Stołówka\nTemat: Lucas",
        "Date : mardi 24 novembre 2026 à 10:12\nDe : Portail <x@portail.example>\n"
        "À : Cantine\nObjet : Lucas",
        'Message du : 24/11/2026 10:12\nDe : "Portail Famille" <x@portail.example>\n'
        "A : cantine@montclar.example\nCopie à :\nSujet : Lucas",
        "----- Mail original -----\nDe: Portail <x@portail.example>\nÀ: Cantine\n"
        "Envoyé: Mardi 24 Novembre 2026 10:12:00\nObjet: Lucas",
        "-----Ursprüngliche Nachricht-----",
        "-----Wiadomość oryginalna-----",
        "Begin forwarded message:",
    ],
)
def test_header_blocks_and_separators_end_the_reply(block):
    text = f"Oui, c'est noté.\n\nSophie\n\n{block}\n\nCamille Martin écrit au service.\nLucas…\n"
    assert reduce_reply(text) == "Oui, c'est noté.\n\nSophie"


def test_an_attribution_on_the_same_line_as_the_text_is_cut_from_it():
    text = (
        "Merci, c'est noté. Le mar. 24 nov. 2026 à 10:12, Portail Famille "
        "<reply+AbCdEfGhIjKlMnOpQrSt@portail.example> a écrit :\n> Lucas sera absent jeudi.\n"
    )
    assert reduce_reply(text) == "Merci, c'est noté."


def test_a_sentence_that_merely_starts_like_an_attribution_is_kept():
    text = "Le directeur a écrit : les inscriptions sont closes.\nOn ferme le 24.\n"
    assert reduce_reply(text) == text.rstrip("\n")


# The staff member's own ">" lines -------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "> 18 ans : pas d'accompagnateur\nLes plus jeunes sont accompagnés.",
        ">>> voir ci-dessous\nLe programme est prêt.",
        "Tarifs :\n> 18 ans : 5 €\n> 12 ans : 3 €\n> 6 ans : 2 €\nMerci.",
    ],
)
def test_lines_starting_with_a_chevron_the_staff_member_wrote_are_kept(text):
    assert reduce_reply(text) == text
    attribution = "Le 24 nov. 2026 à 10:12, Portail Famille <x@portail.example> a écrit :"
    with_history = f"{text}\n\n{attribution}\n> Lucas sera absent.\n> Merci.\n"
    assert reduce_reply(with_history) == text


def test_a_quote_between_answers_is_dropped_and_the_answers_kept():
    text = (
        "Le 24 nov. 2026 à 10:12, Portail Famille <x@portail.example> a écrit :\n"
        "> Lucas sera absent jeudi.\n\nC'est noté.\n\n> Le repas sera-t-il facturé ?\n\nNon.\n"
    )
    assert reduce_reply(text) == "C'est noté.\n\nNon."


# Our address, even unknown -------------------------------------------------------------------


def test_a_reply_address_is_never_kept_even_when_the_thread_is_unknown():
    text = (
        "Bonjour,\nC'est noté.\n\nDe : Portail Famille\n"
        "<reply+Q7hK2mW9xLp4Rt8Vn3Bz5cYd@portail.example>\nEnvoyé : hier\n\nAncien texte\n"
    )
    assert reduce_reply(text) == "Bonjour,\nC'est noté."
    sent = Sent.of(addresses=["reply+Q7hK2mW9xLp4Rt8Vn3Bz5cYd@portail.example"])
    glued = "Oui. Voir ne-pas-repondre@portail.example\nMerci"
    assert "portail.example" not in reduce_reply(glued, sent)


# Charsets ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "written_in", "declared"),
    [
        ("Bonjour, l'accueil sera fermé à Noël – désolé.", "utf-8", "iso-8859-1"),
        ("Bonjour, l'accueil sera fermé à Noël – désolé.", "cp1252", "utf-8"),
        ("Guten Tag, die Betreuung fällt aus. Grüße", "cp1252", "us-ascii"),
        ("Dzień dobry, zajęcia w środę są odwołane. Łukasz", "iso-8859-2", "iso-8859-1"),
        ("Tak, zgoda. Pozdrawiam, Łukasz", "cp1250", "utf-8"),
        ("Bom dia, a inscrição está confirmada. Não há problema.", "cp1252", "iso-8859-2"),
        ("The fee is £5 per day.", "cp1252", "utf-8"),
        ("Ça marche, à jeudi.", "mac_roman", "utf-8"),
        ("Здравствуйте, занятия в среду отменены.", "koi8-r", "iso-8859-1"),
        ("Oui, c'est noté.", "cp1252", "x-unknown-charset"),
        ("Oui, c'est noté.", "cp1252", None),
    ],
)
def test_a_text_in_another_charset_than_declared_is_read(text, written_in, declared):
    assert decode_text(text.encode(written_in), declared) == text


def test_a_mislabelled_mail_reaches_the_parent_readable():
    raw = (
        b"From: Sophie <s@montclar.example>\nTo: reply+AbCdEfGhIjKlMnOpQrSt@portail.example\n"
        b"Subject: Re: cantine\nMIME-Version: 1.0\n"
        b"Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n"
    ) + "Le repas de jeudi ne sera pas facturé. Bonne journée à vous !\n".encode()
    assert parse_mail(raw).reply_text == (
        "Le repas de jeudi ne sera pas facturé. Bonne journée à vous !"
    )
