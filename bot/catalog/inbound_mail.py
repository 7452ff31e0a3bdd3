"""Inbound-email texts: what parents are told about the documents they emailed."""

TEXTS: dict[str, dict[str, str]] = {
    "inmail.docs_title": {
        "fr": "📎 <b>Documents reçus par email</b>\n« {subject} »",
        "en": "📎 <b>Documents received by email</b>\n“{subject}”",
    },
    "inmail.no_subject": {"fr": "sans objet", "en": "no subject"},
    "inmail.docs_none": {
        "fr": "Votre email ne contenait aucune pièce jointe. Joignez vos documents (PDF, JPEG ou PNG) à l'email, ou envoyez-les ici.",
        "en": "Your email had no attachment. Attach your documents (PDF, JPEG or PNG) to the email, or send them here.",
    },
    "inmail.doc_received": {
        "fr": "✅ {name} — {type} ({size_html})",
        "en": "✅ {name} — {type} ({size_html})",
    },
    "inmail.doc_refused": {"fr": "❌ {name} — {reason_html}", "en": "❌ {name} — {reason_html}"},
    "inmail.unnamed": {"fr": "pièce jointe sans nom", "en": "unnamed attachment"},
    "inmail.refused.wrong_type": {
        "fr": "non enregistré : ce n'est ni un PDF, ni une image JPEG ou PNG",
        "en": "not filed: it is neither a PDF nor a JPEG or PNG image",
    },
    "inmail.refused.too_large": {
        "fr": "non enregistré : trop lourd ({size_html}, {limit_html} maximum)",
        "en": "not filed: too large ({size_html}, {limit_html} at most)",
    },
    "inmail.refused.empty": {"fr": "non enregistré : fichier vide", "en": "not filed: empty file"},
    "inmail.certificate_attached": {
        "fr": "Le certificat médical est joint à l'absence {reference}.",
        "en": "The medical certificate is attached to absence {reference}.",
    },
    "inmail.unknown_reference": {
        "fr": "La référence {reference} ne correspond à aucune absence de votre famille : le service classera le document.",
        "en": "Reference {reference} matches no absence of your family: the service will file the document.",
    },
    "inmail.review": {
        "fr": "Le service va vérifier vos documents ; vous serez prévenu(e) ici.",
        "en": "The service will check your documents; you will be told here.",
    },
    "inmail.kilobytes": {"fr": "{number} Ko", "en": "{number} KB"},
    "inmail.megabytes": {"fr": "{number} Mo", "en": "{number} MB"},
}
