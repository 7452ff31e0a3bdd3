"""The flows' shared kit: texts and their catalogs, formatting, the typed context, the menu and
keyboards, live messages, drafts and the step decorator, who is talking and in which language,
callback data, file uploads and the outbox's notice registry."""
