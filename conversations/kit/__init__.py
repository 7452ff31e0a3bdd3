"""The flows' shared kit: texts and their catalogs, formatting, the typed context, keyboards and
live messages, callback data, file uploads and the outbox's notice registry."""
