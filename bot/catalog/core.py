"""Core texts: linking, menu, booking, cancelling, refusal reasons, notifications, commands."""

TEXTS: dict[str, dict[str, str]] = {
    # Account linking
    "start.linked": {
        "fr": "Bonjour {name} ! Votre compte Telegram est maintenant relié au Portail Famille.",
        "en": "Hello {name}! Your Telegram account is now linked to the Family Portal.",
    },
    "start.already_linked": {
        "fr": "Bonjour {name} ! Votre compte est déjà relié.",
        "en": "Hello {name}! Your account is already linked.",
    },
    "start.unlinked": {
        "fr": (
            "Bienvenue sur le Portail Famille.\n\nPour réserver, annuler ou suivre vos "
            "factures ici, reliez d'abord votre compte : ouvrez le lien d'invitation envoyé "
            "par votre accueil de loisirs, ou demandez-en un au service Dossier famille."
        ),
        "en": (
            "Welcome to the Family Portal.\n\nTo book, cancel or follow your invoices here, "
            "first link your account: open the invitation link sent by your leisure centre, "
            "or ask the Family file service for one."
        ),
    },
    "start.token_used": {
        "fr": "Ce lien d'invitation a déjà servi. Demandez-en un nouveau au service Dossier famille.",
        "en": "This invitation link was already used. Ask the Family file service for a new one.",
    },
    "start.token_expired": {
        "fr": "Ce lien d'invitation a expiré. Demandez-en un nouveau au service Dossier famille.",
        "en": "This invitation link has expired. Ask the Family file service for a new one.",
    },
    "start.token_invalid": {
        "fr": "Ce lien d'invitation n'est pas valide. Vérifiez qu'il est complet.",
        "en": "This invitation link is not valid. Check that it is complete.",
    },
    "btn.link_email": {
        "fr": "✉️ Relier avec mon adresse e-mail",
        "en": "✉️ Link with my email address",
    },
    "link.ask_email": {
        "fr": "Écrivez l'adresse e-mail connue de votre dossier famille.",
        "en": "Type the email address known to your family file.",
    },
    "link.bad_email": {
        "fr": "Cette adresse ne semble pas valide. Réessayez (ex. prenom.nom@exemple.fr).",
        "en": "This address does not look valid. Try again (e.g. first.last@example.com).",
    },
    "link.code_sent": {
        "fr": "Si cette adresse est connue, un code à 6 chiffres vient d'y être envoyé. Écrivez-le ici (valable 15 minutes).",
        "en": "If this address is known, a 6-digit code was just sent to it. Type it here (valid 15 minutes).",
    },
    "link.wrong_code": {
        "fr": "Code incorrect. Essais restants : {left}.",
        "en": "Wrong code. Tries left: {left}.",
    },
    "link.too_many": {
        "fr": "Trop d'essais. Recommencez avec /start.",
        "en": "Too many tries. Start again with /start.",
    },
    "link.expired": {
        "fr": "Ce code a expiré. Recommencez avec /start.",
        "en": "This code has expired. Start again with /start.",
    },
    "link.mail_failed": {
        "fr": "L'e-mail n'a pas pu être envoyé. Réessayez dans quelques minutes.",
        "en": "The email could not be sent. Please try again in a few minutes.",
    },
    "link.mail_subject": {
        "fr": "Votre code Portail Famille : {code}",
        "en": "Your Family Portal code: {code}",
    },
    "link.mail_body": {
        "fr": "Bonjour {name},\n\nVoici votre code pour relier Telegram au Portail Famille : {code}\nIl est valable 15 minutes.\n\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message.",
        "en": "Hello {name},\n\nHere is your code to link Telegram to the Family Portal: {code}\nIt is valid for 15 minutes.\n\nIf you did not ask for it, ignore this message.",
    },
    "not_linked": {
        "fr": "Votre compte Telegram n'est pas relié au Portail Famille. Envoyez /start.",
        "en": "Your Telegram account is not linked to the Family Portal. Send /start.",
    },
    "unlink.confirm": {
        "fr": "Délier ce compte Telegram du Portail Famille ? Vous pourrez le relier à nouveau.",
        "en": "Unlink this Telegram account from the Family Portal? You can link it again.",
    },
    "unlink.done": {
        "fr": "Ce compte Telegram n'est plus relié. À bientôt !",
        "en": "This Telegram account is no longer linked. See you soon!",
    },
    # Menu and common buttons
    "menu.title": {"fr": "Que souhaitez-vous faire ?", "en": "What would you like to do?"},
    "btn.book": {"fr": "📅 Réserver des jours", "en": "📅 Book days"},
    "btn.cancel_days": {"fr": "🗑 Annuler des jours", "en": "🗑 Cancel days"},
    "btn.unlink": {"fr": "🔌 Délier ce compte", "en": "🔌 Unlink this account"},
    "btn.unlink_yes": {"fr": "Oui, délier", "en": "Yes, unlink"},
    "btn.menu": {"fr": "☰ Menu", "en": "☰ Menu"},
    "btn.abort": {"fr": "✖ Abandonner", "en": "✖ Abort"},
    "btn.all_children": {"fr": "Tous mes enfants", "en": "All my children"},
    "btn.confirm": {"fr": "✅ Confirmer", "en": "✅ Confirm"},
    "btn.change": {"fr": "◀ Modifier", "en": "◀ Change"},
    "btn.review": {"fr": "Valider ({count})", "en": "Continue ({count})"},
    "aborted": {
        "fr": "Démarche abandonnée : rien n'a été modifié.",
        "en": "Aborted: nothing was changed.",
    },
    "timed_out": {
        "fr": "Sans réponse de votre part, j'ai abandonné la démarche en cours. Rien n'a été modifié.",
        "en": "As you did not answer, I dropped the ongoing request. Nothing was changed.",
    },
    "stale": {
        "fr": "Ce bouton n'est plus valide. Voici le menu.",
        "en": "This button is no longer valid. Here is the menu.",
    },
    "forbidden": {
        "fr": "Cette action n'est pas possible depuis votre compte.",
        "en": "This action is not possible from your account.",
    },
    "error": {
        "fr": "Désolé, une erreur est survenue. Réessayez dans un instant.",
        "en": "Sorry, something went wrong. Please try again in a moment.",
    },
    "use_buttons": {
        "fr": "Utilisez les boutons ci-dessus, ou ✖ Abandonner.",
        "en": "Use the buttons above, or ✖ Abort.",
    },
    # Choosing who and what
    "pick.child": {"fr": "Pour quel enfant ?", "en": "For which child?"},
    "pick.activity": {"fr": "Quelle activité ?", "en": "Which activity?"},
    "pick.no_child": {
        "fr": "Aucun enfant n'est inscrit dans votre dossier.",
        "en": "No child is registered in your family file.",
    },
    "pick.no_activity": {
        "fr": "{children} n'a aucune inscription en cours. Contactez le service Dossier famille.",
        "en": "{children} has no current enrollment. Contact the Family file service.",
    },
    # Booking calendar
    "calendar.title": {
        "fr": (
            "<b>{activity_html}</b> — {children}\n{month}\n\nTouchez les jours à réserver, "
            "ou écrivez-les (ex. « les mercredis de janvier », « du 21 au 24 décembre »)."
        ),
        "en": (
            "<b>{activity_html}</b> — {children}\n{month}\n\nTap the days to book, "
            "or type them (e.g. “every Wednesday in January”, “from 21 to 24 December”)."
        ),
    },
    "calendar.legend": {
        "fr": (
            "☑️ choisi · ✅ réservé · 🔒 réservé, non annulable · ⏳ en attente de validation"
            " · 🕒 liste d'attente · 🟡 complet · ⛔ délai dépassé · ✖ fermé"
        ),
        "en": (
            "☑️ selected · ✅ booked · 🔒 booked, not cancellable · ⏳ awaiting validation"
            " · 🕒 waiting list · 🟡 full · ⛔ deadline passed · ✖ closed"
        ),
    },
    "calendar.nothing_selected": {
        "fr": "Choisissez au moins un jour.",
        "en": "Choose at least one day.",
    },
    "calendar.not_selectable": {
        "fr": "{day} : {why}",
        "en": "{day}: {why}",
    },
    "calendar.typed_none": {
        "fr": "Aucun de ces jours n'est ouvert pour cette activité : {days}.",
        "en": "None of these days is open for this activity: {days}.",
    },
    # Recap and outcomes
    "recap.title": {"fr": "<b>Récapitulatif</b>", "en": "<b>Summary</b>"},
    "recap.day": {"fr": "• {day} — {child} : {price}", "en": "• {day} — {child}: {price}"},
    "recap.surcharge": {
        "fr": " (dont majoration tardive {amount})",
        "en": " (including a late surcharge of {amount})",
    },
    "recap.waitlist": {
        "fr": "• {day} — {child} : complet, inscription en liste d'attente",
        "en": "• {day} — {child}: full, added to the waiting list",
    },
    "recap.refused": {
        "fr": "• {day} — {child} : ❌ {reason}",
        "en": "• {day} — {child}: ❌ {reason}",
    },
    "recap.total": {"fr": "<b>Total : {total}</b>", "en": "<b>Total: {total}</b>"},
    "recap.pending_note": {
        "fr": "Ces jours seront confirmés après validation par le service.",
        "en": "These days will be confirmed once the service validates them.",
    },
    "outcome.title": {"fr": "<b>Résultat</b>", "en": "<b>Result</b>"},
    "outcome.confirmed": {
        "fr": "✅ {day} — {child} : réservé ({price})",
        "en": "✅ {day} — {child}: booked ({price})",
    },
    "outcome.pending": {
        "fr": "⏳ {day} — {child} : demande envoyée, en attente de validation",
        "en": "⏳ {day} — {child}: request sent, awaiting validation",
    },
    "outcome.waitlisted": {
        "fr": "🕒 {day} — {child} : complet — vous êtes inscrit en liste d'attente",
        "en": "🕒 {day} — {child}: full — you are on the waiting list",
    },
    "outcome.refused": {
        "fr": "❌ {day} — {child} : {reason}",
        "en": "❌ {day} — {child}: {reason}",
    },
    "outcome.footer": {
        "fr": "Vous recevrez un message ici si une place se libère ou si le service valide.",
        "en": "You will get a message here if a place frees up or the service validates.",
    },
    # Refusal reasons
    "reason.deadline_passed": {
        "fr": "délai dépassé (c'était possible jusqu'au {deadline})",
        "en": "deadline passed (it was possible until {deadline})",
    },
    "reason.next_day": {
        "fr": " — prochain jour possible : {day}",
        "en": " — next day still possible: {day}",
    },
    "reason.past": {"fr": "ce jour est passé", "en": "this day is in the past"},
    "reason.window_not_open": {
        "fr": "réservations ouvertes à partir du {opens}",
        "en": "bookings open on {opens}",
    },
    "reason.window_closed": {
        "fr": "la période de réservation est close",
        "en": "the booking period is closed",
    },
    "reason.no_window": {
        "fr": "hors période de réservation",
        "en": "outside any booking period",
    },
    "reason.frozen": {
        "fr": "le planning de cette période est arrêté",
        "en": "the planning of this period is frozen",
    },
    "reason.full": {"fr": "complet", "en": "full"},
    "reason.closed": {"fr": "fermé ce jour-là", "en": "closed that day"},
    "reason.not_enrolled": {
        "fr": "pas d'inscription à cette activité ce jour-là",
        "en": "not enrolled in this activity that day",
    },
    "reason.not_eligible": {
        "fr": "âge ou niveau scolaire non admis pour cette activité",
        "en": "age or school level not admitted for this activity",
    },
    "reason.document_missing": {
        "fr": "document manquant : {document}",
        "en": "missing document: {document}",
    },
    "reason.already_booked": {"fr": "déjà réservé", "en": "already booked"},
    "reason.no_price": {
        "fr": "tarif non défini, contactez le service",
        "en": "no price set, contact the service",
    },
    "reason.not_cancellable": {
        "fr": "cette réservation n'est plus active",
        "en": "this booking is no longer active",
    },
    # Document types
    "doc.proof_of_address": {"fr": "justificatif de domicile", "en": "proof of address"},
    "doc.caf_quotient": {"fr": "attestation de quotient familial CAF", "en": "CAF quotient"},
    "doc.vaccination_record": {"fr": "carnet de vaccination", "en": "vaccination record"},
    "doc.insurance": {"fr": "attestation d'assurance", "en": "insurance certificate"},
    "doc.medical_certificate": {"fr": "certificat médical", "en": "medical certificate"},
    "doc.health_form": {"fr": "fiche sanitaire", "en": "health form"},
    "doc.other": {"fr": "autre document", "en": "other document"},
    "doc.to_classify": {"fr": "document à classer", "en": "document to classify"},
    # Cancelling
    "cancel.pick": {
        "fr": "<b>Jours réservés à venir</b> — {children}\nTouchez les jours à annuler.",
        "en": "<b>Upcoming booked days</b> — {children}\nTap the days to cancel.",
    },
    "cancel.none": {
        "fr": "Aucun jour réservé à venir pour {children}.",
        "en": "No upcoming booked day for {children}.",
    },
    "cancel.recap_free": {
        "fr": "• {day} — {child}, {activity} : annulation gratuite",
        "en": "• {day} — {child}, {activity}: free cancellation",
    },
    "cancel.recap_late": {
        "fr": "• {day} — {child}, {activity} : annulation tardive, facturée {fee}",
        "en": "• {day} — {child}, {activity}: late cancellation, billed {fee}",
    },
    "cancel.recap_refused": {
        "fr": "• {day} — {child}, {activity} : ❌ {reason}",
        "en": "• {day} — {child}, {activity}: ❌ {reason}",
    },
    "cancel.late_total": {
        "fr": "<b>Facturé malgré l'annulation : {total}</b>",
        "en": "<b>Billed despite the cancellation: {total}</b>",
    },
    "cancel.done_free": {
        "fr": "✅ {day} — {child} : annulé",
        "en": "✅ {day} — {child}: cancelled",
    },
    "cancel.done_late": {
        "fr": "✅ {day} — {child} : annulé, facturé {fee}",
        "en": "✅ {day} — {child}: cancelled, billed {fee}",
    },
    "cancel.done_refused": {
        "fr": "❌ {day} — {child} : {reason}",
        "en": "❌ {day} — {child}: {reason}",
    },
    # Notifications delivered through the outbox
    "notify.waitlist_promoted": {
        "fr": "Bonne nouvelle : une place s'est libérée pour {child} le {day} ({activity}). {state}",
        "en": "Good news: a place freed up for {child} on {day} ({activity}). {state}",
    },
    "notify.state_confirmed": {"fr": "C'est réservé.", "en": "It is booked."},
    "notify.state_pending": {
        "fr": "La demande attend la validation du service.",
        "en": "The request awaits the service's validation.",
    },
    "notify.booking_validated": {
        "fr": "✅ Le service a validé la réservation de {child} le {day} ({activity}).",
        "en": "✅ The service validated {child}'s booking on {day} ({activity}).",
    },
    "notify.booking_refused": {
        "fr": "❌ Le service n'a pas pu accepter la réservation de {child} le {day} ({activity}).",
        "en": "❌ The service could not accept {child}'s booking on {day} ({activity}).",
    },
    # Commands
    "cmd.start": {"fr": "Relier mon compte, accueil", "en": "Link my account, welcome"},
    "cmd.menu": {"fr": "Menu principal", "en": "Main menu"},
    "cmd.reserver": {"fr": "Réserver des jours", "en": "Book days"},
    "cmd.annuler": {"fr": "Annuler des jours réservés", "en": "Cancel booked days"},
    "cmd.abandon": {"fr": "Abandonner la démarche en cours", "en": "Abort the current request"},
    "cmd.langue": {
        "fr": "Changer de langue (français / English)",
        "en": "Change language (français / English)",
    },
    "language.choose": {"fr": "Choisissez votre langue :", "en": "Choose your language:"},
    "language.done": {
        "fr": "C'est noté : je vous parlerai en français.",
        "en": "Done: I will speak English with you.",
    },
    "cmd.deconnexion": {"fr": "Délier ce compte Telegram", "en": "Unlink this Telegram account"},
}
