"""Balance texts: the balance screen, an invoice's detail, its PDF's words, the buttons."""

TEXTS: dict[str, dict[str, str]] = {
    # Entry points
    "cmd.solde": {"fr": "Mon solde et mes factures", "en": "My balance and invoices"},
    "btn.balance": {"fr": "💶 Mon solde", "en": "💶 My balance"},
    # The balance screen
    "balance.title": {"fr": "💶 <b>Mon solde</b>", "en": "💶 <b>My balance</b>"},
    "balance.invoiced": {"fr": "Facturé : {amount}", "en": "Invoiced: {amount}"},
    "balance.paid": {"fr": "Payé : {amount}", "en": "Paid: {amount}"},
    "balance.due": {"fr": "<b>Reste à payer : {amount}</b>", "en": "<b>Left to pay: {amount}</b>"},
    "balance.up_to_date": {
        "fr": "✅ Vous êtes à jour : rien à payer.",
        "en": "✅ You are up to date: nothing to pay.",
    },
    "balance.credit": {
        "fr": "<b>Avoir en votre faveur : {amount}</b>",
        "en": "<b>Credit in your favour: {amount}</b>",
    },
    "balance.uninvoiced": {
        "fr": "Réservé en {month}, pas encore facturé : {amount}",
        "en": "Booked in {month}, not yet invoiced: {amount}",
    },
    "balance.invoices": {
        "fr": "Dernières factures (touchez-en une pour le détail) :",
        "en": "Latest invoices (tap one for its detail):",
    },
    "balance.no_invoices": {
        "fr": "Aucune facture pour le moment.",
        "en": "No invoice yet.",
    },
    "balance.status.paid": {"fr": "payée", "en": "paid"},
    "balance.status.partly_paid": {"fr": "partiellement payée", "en": "partly paid"},
    "balance.status.unpaid": {"fr": "impayée", "en": "unpaid"},
    "balance.status.overdue": {"fr": "en retard", "en": "overdue"},
    # One invoice
    "balance.invoice_title": {
        "fr": "🧾 <b>Facture {number}</b>",
        "en": "🧾 <b>Invoice {number}</b>",
    },
    "balance.invoice_period": {"fr": "Période : {period}", "en": "Period: {period}"},
    "balance.period_range": {"fr": "du {start} au {end}", "en": "{start} to {end}"},
    "balance.invoice_dates": {
        "fr": "Émise le {issued} · à payer avant le {due_on}",
        "en": "Issued {issued} · due by {due_on}",
    },
    "balance.invoice_status": {"fr": "Statut : {status}", "en": "Status: {status}"},
    "balance.line": {
        "fr": "• {label} — {quantity} × {unit_price} = {amount}",
        "en": "• {label} — {quantity} × {unit_price} = {amount}",
    },
    "balance.no_lines": {"fr": "Aucune ligne.", "en": "No line."},
    "balance.more_lines": {
        "fr": "… et {count} autres lignes : voir le PDF.",
        "en": "… and {count} more lines: see the PDF.",
    },
    "balance.total": {"fr": "Total : {amount}", "en": "Total: {amount}"},
    "balance.unavailable": {
        "fr": "Cette facture n'est pas disponible.",
        "en": "This invoice is not available.",
    },
    "balance.pdf_caption": {"fr": "🧾 Facture {number}", "en": "🧾 Invoice {number}"},
    "balance.btn.pdf": {"fr": "📄 PDF", "en": "📄 PDF"},
    "balance.btn.pay": {"fr": "💳 Payer en ligne", "en": "💳 Pay online"},
    "balance.btn.back": {"fr": "◀ Retour", "en": "◀ Back"},
    "balance.btn.close": {"fr": "✖ Fermer", "en": "✖ Close"},
    # The words of the PDF invoice (plain text, no HTML)
    "invoice_pdf.title": {"fr": "Facture", "en": "Invoice"},
    "invoice_pdf.family": {"fr": "Facturé à", "en": "Billed to"},
    "invoice_pdf.period": {"fr": "Période", "en": "Period"},
    "invoice_pdf.issued_on": {"fr": "Date d'émission", "en": "Issue date"},
    "invoice_pdf.due_on": {"fr": "Date d'échéance", "en": "Due date"},
    "invoice_pdf.status": {"fr": "Statut", "en": "Status"},
    "invoice_pdf.designation": {"fr": "Désignation", "en": "Description"},
    "invoice_pdf.quantity": {"fr": "Quantité", "en": "Quantity"},
    "invoice_pdf.unit_price": {"fr": "Prix unitaire", "en": "Unit price"},
    "invoice_pdf.amount": {"fr": "Montant", "en": "Amount"},
    "invoice_pdf.total": {"fr": "Total", "en": "Total"},
    "invoice_pdf.paid": {"fr": "Déjà payé", "en": "Already paid"},
    "invoice_pdf.due": {"fr": "Reste à payer", "en": "Left to pay"},
    "invoice_pdf.footer": {
        "fr": "Document édité par le Portail Famille",
        "en": "Document issued by the Family Portal",
    },
}
