"""The first words of a staff reply that decide a request: OK / ACCEPTÉ, REFUS / NON and the
reason, a document's type after OK; case, accents, punctuation, signatures and quoted history
do not matter (the history is cut by the reply reducer first)."""

from __future__ import annotations

import pytest

from mail.reply import reduce_reply
from store.decision_words import Verdict, read_decision
from store.models.enums import DocumentType

ACCEPTED = ["OK", "ok", "ok merci", "OK.", "Ok !", "Accepté", "ACCEPTE", "accepté, merci",
            "Validé", "oui", "d'accord", "D’accord.", "Bonjour,\n\nOK",
            "  \n\nOK merci\n"]  # fmt: skip
REFUSED = [
    ("refus complet", "complet"),
    ("Non, dossier incomplet", "dossier incomplet"),
    ("NON : dossier incomplet.", "dossier incomplet."),
    ("REFUS\nLe certificat est illisible.", "Le certificat est illisible."),
    ("Refusé – plus de place le lundi", "plus de place le lundi"),
    ("rejeté: pièce expirée", "pièce expirée"),
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepting_words(text):
    assert read_decision(text).verdict is Verdict.ACCEPT


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_refusing_words_and_their_reason(text, reason):
    reading = read_decision(text)
    assert (reading.verdict, reading.reason) == (Verdict.REFUSE, reason)


@pytest.mark.parametrize("text", ["NON", "non.", "REFUS !", "Non\n\nCordialement,\nPaul",
                                  "NON\nCordialement"])  # fmt: skip
def test_a_refusal_needs_a_reason(text):
    assert read_decision(text).verdict is Verdict.REASON_MISSING


@pytest.mark.parametrize(
    ("text", "first"),
    [("Vu, je regarde demain", "Vu"), ("Peut-être", "Peut"), ("", ""), ("Okapi", "Okapi")],
)
def test_an_unknown_first_word_decides_nothing(text, first):
    reading = read_decision(text)
    assert (reading.verdict, reading.first_word) == (Verdict.UNKNOWN, first)


@pytest.mark.parametrize(
    ("text", "doc_type"),
    [
        ("OK fiche sanitaire", DocumentType.HEALTH_FORM),
        ("ok FICHE SANITAIRE merci", DocumentType.HEALTH_FORM),
        ("OK carnet de vaccination", DocumentType.VACCINATION_RECORD),
        ("Accepté, justificatif de domicile", DocumentType.PROOF_OF_ADDRESS),
        ("OK attestation d'assurance", DocumentType.INSURANCE),
        ("OK quotient familial", DocumentType.CAF_QUOTIENT),
        ("OK health_form", DocumentType.HEALTH_FORM),
        ("ok merci", None),
        ("OK", None),
    ],
)
def test_a_document_type_after_ok(text, doc_type):
    reading = read_decision(text)
    assert (reading.verdict, reading.doc_type) == (Verdict.ACCEPT, doc_type)


@pytest.mark.parametrize(
    ("reply", "verdict", "reason"),
    [
        (
            "OK merci\n\n-- \nSophie Martin\nService Dossier famille\n",
            Verdict.ACCEPT,
            "",
        ),
        (
            "REFUS certificat illisible\n\nLe mar. 1 déc. 2026 à 10:02, Portail Famille "
            "<reply+abcdefghijklmnop@portail-famille.example> a écrit :\n> Un certificat "
            "médical attend votre décision.\n> Enfant : Lucas F1\n> Dates : le mercredi\n",
            Verdict.REFUSE,
            "certificat illisible",
        ),
        (
            "Non, dossier incomplet\n\nDe : Portail Famille <noreply@portail-famille.example>\n"
            "Envoyé : mardi 1 décembre 2026 10:02\nÀ : Dossier famille\nObjet : Certificat\n\n"
            "Un certificat médical attend votre décision.\n",
            Verdict.REFUSE,
            "dossier incomplet",
        ),
        (
            "ok\n\nEnvoyé de mon iPhone\n\n> Le 1 déc. 2026 à 10:02, Portail Famille a écrit :\n"
            ">\n> Un certificat médical attend votre décision.\n",
            Verdict.ACCEPT,
            "",
        ),
    ],
)
def test_signatures_and_quoted_history_do_not_matter(reply, verdict, reason):
    reading = read_decision(reduce_reply(reply))
    assert (reading.verdict, reading.reason) == (verdict, reason)
