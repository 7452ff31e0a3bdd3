"""Family-file texts: reporting absences, sending documents, uploads, and their notifications."""

TEXTS: dict[str, dict[str, str]] = {
    # Menu buttons and commands
    "btn.absence": {"fr": "🤒 Signaler une absence", "en": "🤒 Report an absence"},
    "btn.my_absences": {"fr": "📋 Mes absences", "en": "📋 My absences"},
    "btn.documents": {"fr": "📎 Mes documents", "en": "📎 My documents"},
    "cmd.absence": {"fr": "Signaler une absence", "en": "Report an absence"},
    "cmd.mesabsences": {"fr": "Mes absences signalées", "en": "My reported absences"},
    "cmd.documents": {
        "fr": "Mes documents, envoyer un justificatif",
        "en": "My documents, send one",
    },
    # Receiving a file (both flows)
    "upload.megabytes": {"fr": "{number} Mo", "en": "{number} MB"},
    "upload.photo": {"fr": "photo", "en": "photo"},
    "upload.too_large": {
        "fr": "Ce fichier est trop lourd : {limit_html} maximum. Envoyez une photo, ou un PDF plus léger.",
        "en": "This file is too large: {limit_html} at most. Send a photo, or a lighter PDF.",
    },
    "upload.empty": {
        "fr": "Ce fichier est vide. Envoyez-le à nouveau.",
        "en": "This file is empty. Please send it again.",
    },
    "upload.wrong_type": {
        "fr": "Ce fichier n'est ni un PDF, ni une image JPG ou PNG (c'est son contenu qui compte, pas son nom). Envoyez une photo ou un PDF.",
        "en": "This file is neither a PDF nor a JPG or PNG image (its content counts, not its name). Send a photo or a PDF.",
    },
    "upload.not_a_file": {
        "fr": "J'attends un fichier : envoyez une photo prise avec votre téléphone, ou un document PDF, JPG ou PNG ({limit_html} maximum).",
        "en": "I am waiting for a file: send a photo taken with your phone, or a PDF, JPG or PNG document ({limit_html} at most).",
    },
    # Reporting an absence
    "absence.ask_days": {
        "fr": "<b>Signaler une absence</b> — {children}\n\nQuel jour ? Touchez « Aujourd'hui », ou écrivez la date ou la période (ex. « hier », « lundi », « du 7 au 9 décembre »).",
        "en": "<b>Report an absence</b> — {children}\n\nWhich day? Tap “Today”, or type the date or the period (e.g. “yesterday”, “Monday”, “from 7 to 9 December”).",
    },
    "absence.btn_today": {"fr": "Aujourd'hui", "en": "Today"},
    "absence.period_range": {"fr": "du {first} au {last}", "en": "from {first} to {last}"},
    "absence.ask_reason": {
        "fr": "<b>Absence</b> — {children}, {period_html}\n\nPour quelle raison ?",
        "en": "<b>Absence</b> — {children}, {period_html}\n\nWhat is the reason?",
    },
    "absence.btn_illness": {"fr": "🤒 Maladie", "en": "🤒 Illness"},
    "absence.btn_family": {"fr": "👪 Raison familiale", "en": "👪 Family reason"},
    "absence.btn_other": {"fr": "Autre raison", "en": "Other reason"},
    "absence.reason.illness": {"fr": "maladie", "en": "illness"},
    "absence.reason.family": {"fr": "raison familiale", "en": "family reason"},
    "absence.reason.other": {"fr": "autre raison", "en": "other reason"},
    "absence.ask_certificate": {
        "fr": "<b>Certificat médical</b>\n\nEnvoyez-le ici : une photo prise avec votre téléphone, ou un fichier PDF, JPG ou PNG ({limit_html} maximum). Une fois le certificat accepté par le service, les jours d'absence ne sont pas facturés.",
        "en": "<b>Medical certificate</b>\n\nSend it here: a photo taken with your phone, or a PDF, JPG or PNG file ({limit_html} at most). Once the service accepts the certificate, the days of absence are not billed.",
    },
    "absence.btn_later": {"fr": "Je l'enverrai plus tard", "en": "I will send it later"},
    "absence.or_later": {
        "fr": "Ou touchez « Je l'enverrai plus tard ».",
        "en": "Or tap “I will send it later”.",
    },
    "absence.recap_title": {"fr": "<b>Récapitulatif</b>", "en": "<b>Summary</b>"},
    "absence.recap_children": {"fr": "Pour : {children}", "en": "For: {children}"},
    "absence.recap_days": {"fr": "Jours : {period_html}", "en": "Days: {period_html}"},
    "absence.recap_reason": {"fr": "Raison : {reason}", "en": "Reason: {reason}"},
    "absence.recap_certificate": {
        "fr": "Certificat médical : {certificate_html}",
        "en": "Medical certificate: {certificate_html}",
    },
    "absence.certificate_attached": {"fr": "joint ({name})", "en": "attached ({name})"},
    "absence.certificate_later": {
        "fr": "à envoyer plus tard par e-mail à {email}, avec la référence de l'absence (donnée à la confirmation) dans l'objet",
        "en": "to be sent later by email to {email}, with the absence reference (given on confirmation) in the subject",
    },
    "absence.certificate_none": {"fr": "aucun", "en": "none"},
    "absence.billed_note": {
        "fr": "Les jours réservés concernés restent facturés : seule une absence pour maladie avec un certificat médical accepté ne l'est pas.",
        "en": "The booked days concerned are still billed: only an illness with an accepted medical certificate is not.",
    },
    "absence.done": {
        "fr": "✅ Absence de {child} enregistrée ({period_html}) — référence <b>{reference}</b>.",
        "en": "✅ {child}'s absence recorded ({period_html}) — reference <b>{reference}</b>.",
    },
    "absence.done_marked_one": {
        "fr": "1 jour réservé est marqué absent.",
        "en": "1 booked day is marked absent.",
    },
    "absence.done_marked_many": {
        "fr": "{count} jours réservés sont marqués absents.",
        "en": "{count} booked days are marked absent.",
    },
    "absence.done_no_booking": {
        "fr": "Aucun jour réservé à ces dates : l'absence est notée, mais aucune réservation n'est concernée.",
        "en": "No booked day on these dates: the absence is recorded, but no booking is concerned.",
    },
    "absence.done_certificate": {
        "fr": "📎 Le certificat médical est transmis au service. S'il est accepté, les jours concernés ne seront pas facturés ; vous recevrez un message ici.",
        "en": "📎 The medical certificate was sent to the service. If it is accepted, the days concerned will not be billed; you will get a message here.",
    },
    "absence.done_later": {
        "fr": "📧 Envoyez le certificat médical à {email} en indiquant {references} dans l'objet du message. Sans certificat accepté, les jours réservés restent facturés.",
        "en": "📧 Send the medical certificate to {email} with {references} in the subject of the message. Without an accepted certificate, the booked days are still billed.",
    },
    "absence.done_billed": {
        "fr": "Les jours réservés concernés restent facturés.",
        "en": "The booked days concerned are still billed.",
    },
    "absence.list_title": {"fr": "<b>Mes absences</b>", "en": "<b>My absences</b>"},
    "absence.list_none": {"fr": "Aucune absence signalée.", "en": "No absence reported."},
    "absence.list_item": {
        "fr": "• {child}, {period_html} — {reason}{certificate_html} — {status} · {reference}",
        "en": "• {child}, {period_html} — {reason}{certificate_html} — {status} · {reference}",
    },
    "absence.list_certificate": {"fr": ", certificat joint", "en": ", certificate attached"},
    "absence.status.reported": {"fr": "⏳ signalée", "en": "⏳ reported"},
    "absence.status.excused": {"fr": "✅ excusée (non facturée)", "en": "✅ excused (not billed)"},
    "absence.status.refused": {"fr": "❌ refusée (facturée)", "en": "❌ refused (billed)"},
    "absence.notify_accepted": {
        "fr": "✅ L'absence de {child} ({period_html}, référence {reference}) est excusée : le certificat médical est accepté et les jours réservés concernés ne seront pas facturés.",
        "en": "✅ {child}'s absence ({period_html}, reference {reference}) is excused: the medical certificate is accepted and the booked days concerned will not be billed.",
    },
    "absence.notify_refused": {
        "fr": "❌ L'absence de {child} ({period_html}, référence {reference}) n'a pas été excusée : les jours réservés concernés restent facturés.",
        "en": "❌ {child}'s absence ({period_html}, reference {reference}) was not excused: the booked days concerned are still billed.",
    },
    "family_file.note": {"fr": "Note du service : {note}", "en": "Note from the service: {note}"},
    # Documents
    "documents.title": {"fr": "<b>Mes documents</b>", "en": "<b>My documents</b>"},
    "documents.none": {
        "fr": "Aucun document envoyé pour l'instant.",
        "en": "No document sent yet.",
    },
    "documents.item": {
        "fr": "• {document} — {owner} — {status} (envoyé le {day})",
        "en": "• {document} — {owner} — {status} (sent on {day})",
    },
    "documents.family": {"fr": "famille", "en": "family"},
    "documents.status.pending": {"fr": "⏳ en attente", "en": "⏳ awaiting review"},
    "documents.status.accepted": {"fr": "✅ accepté", "en": "✅ accepted"},
    "documents.status.rejected": {"fr": "❌ refusé", "en": "❌ refused"},
    "documents.missing_title": {"fr": "⚠️ <b>À fournir</b>", "en": "⚠️ <b>Missing</b>"},
    "documents.missing_item": {
        "fr": "• {document} pour {child} — bloque : {activities}",
        "en": "• {document} for {child} — blocks: {activities}",
    },
    "documents.missing_pending": {
        "fr": "• {document} pour {child} — envoyé, en cours d'examen (bloque : {activities})",
        "en": "• {document} for {child} — sent, being reviewed (blocks: {activities})",
    },
    "documents.btn_send": {"fr": "➕ Envoyer un document", "en": "➕ Send a document"},
    "documents.ask_type": {
        "fr": "<b>Envoyer un document</b>\n\nQuel document ?",
        "en": "<b>Send a document</b>\n\nWhich document?",
    },
    "documents.ask_owner": {
        "fr": "<b>{document}</b>\n\nPour qui ?",
        "en": "<b>{document}</b>\n\nFor whom?",
    },
    "documents.btn_family": {"fr": "Toute la famille", "en": "The whole family"},
    "documents.ask_file": {
        "fr": "<b>{document}</b> — {owner}\n\nEnvoyez-le ici : une photo prise avec votre téléphone, ou un fichier PDF, JPG ou PNG ({limit_html} maximum).",
        "en": "<b>{document}</b> — {owner}\n\nSend it here: a photo taken with your phone, or a PDF, JPG or PNG file ({limit_html} at most).",
    },
    "documents.received": {
        "fr": "✅ Bien reçu : {document} — {owner} ({name}). Le service va l'examiner ; vous recevrez un message ici.",
        "en": "✅ Received: {document} — {owner} ({name}). The service will review it; you will get a message here.",
    },
    "documents.notify_accepted": {
        "fr": "✅ Le service a accepté votre document : {document}.",
        "en": "✅ The service accepted your document: {document}.",
    },
    "documents.notify_rejected": {
        "fr": "❌ Le service n'a pas accepté votre document : {document}. Vous pouvez en envoyer un autre depuis 📎 Mes documents.",
        "en": "❌ The service did not accept your document: {document}. You can send another one from 📎 My documents.",
    },
}
