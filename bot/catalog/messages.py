"""Messaging texts: writing to a service, attachments, staff replies and the thread history."""

TEXTS: dict[str, dict[str, str]] = {
    # Menu button and command
    "btn.messages": {"fr": "✉️ Écrire à un service", "en": "✉️ Write to a service"},
    "cmd.message": {"fr": "Écrire à un service", "en": "Write to a service"},
    # Writing
    "msg.pick_service": {
        "fr": "<b>Écrire à un service</b>\n\nÀ quel service souhaitez-vous écrire ?",
        "en": "<b>Write to a service</b>\n\nWhich service would you like to write to?",
    },
    "msg.no_service": {
        "fr": "Aucun service ne peut être joint ici pour le moment.",
        "en": "No service can be reached here for now.",
    },
    "msg.ask_body": {
        "fr": "<b>{service}</b>\n\nÉcrivez votre message. Vous pourrez ensuite joindre des photos ou des documents.",
        "en": "<b>{service}</b>\n\nType your message. You can then attach photos or documents.",
    },
    "msg.ask_reply": {
        "fr": "<b>{service}</b>\n\nÉcrivez votre réponse. Vous pourrez ensuite joindre des photos ou des documents.",
        "en": "<b>{service}</b>\n\nType your reply. You can then attach photos or documents.",
    },
    "msg.too_long": {
        "fr": "Ce message est trop long ({length} caractères, {limit} au plus). Raccourcissez-le, ou envoyez la suite dans un autre message.",
        "en": "This message is too long ({length} characters, {limit} at most). Shorten it, or send the rest in another message.",
    },
    "msg.text_expected": {
        "fr": "Écrivez votre message en texte, ou envoyez une photo ou un document PDF, JPG ou PNG.",
        "en": "Type your message as text, or send a photo or a PDF, JPG or PNG document.",
    },
    "msg.now_the_text": {
        "fr": "📎 {name} est joint. Écrivez maintenant votre message.",
        "en": "📎 {name} is attached. Now type your message.",
    },
    "msg.attach_prompt": {
        "fr": "<b>{service}</b>\n\n« {excerpt} »\n\nVous pouvez joindre des photos ou des documents (PDF, JPG, PNG, {limit} au plus chacun), puis touchez « Envoyer ».",
        "en": "<b>{service}</b>\n\n“{excerpt}”\n\nYou can attach photos or documents (PDF, JPG, PNG, {limit} at most each), then tap “Send”.",
    },
    "msg.attached": {
        "fr": "📎 Pièces jointes ({count}) : {names}",
        "en": "📎 Attachments ({count}): {names}",
    },
    "msg.too_many_files": {
        "fr": "{limit} fichiers au plus par message. Touchez « Envoyer », ou ✖ Abandonner.",
        "en": "{limit} files at most per message. Tap “Send”, or ✖ Abort.",
    },
    "btn.send_message": {"fr": "📨 Envoyer", "en": "📨 Send"},
    "msg.sent": {
        "fr": "✅ Message envoyé au service <b>{service}</b>. La réponse arrivera ici.",
        "en": "✅ Message sent to the <b>{service}</b> service. The answer will come here.",
    },
    "msg.gone": {
        "fr": "Cet échange n'est pas accessible depuis votre compte.",
        "en": "This conversation cannot be reached from your account.",
    },
    # Staff replies, delivered through the outbox
    "msg.staff_reply": {
        "fr": "✉️ <b>{service}</b> :\n{body}",
        "en": "✉️ <b>{service}</b>:\n{body}",
    },
    "btn.reply": {"fr": "↩️ Répondre", "en": "↩️ Reply"},
    "btn.history": {"fr": "📜 Historique", "en": "📜 History"},
    # History
    "msg.history_title": {
        "fr": "📜 <b>{service}</b> — derniers messages",
        "en": "📜 <b>{service}</b> — latest messages",
    },
    "msg.history_older": {
        "fr": "<i>(messages plus anciens non affichés)</i>",
        "en": "<i>(older messages not shown)</i>",
    },
    "msg.history_entry": {
        "fr": "<b>{who}</b> · {when}\n{body}",
        "en": "<b>{who}</b> · {when}\n{body}",
    },
    "msg.history_you": {"fr": "Vous", "en": "You"},
    "msg.history_file": {"fr": "📎 {name}", "en": "📎 {name}"},
    "msg.history_cut": {"fr": " […]", "en": " […]"},
}
