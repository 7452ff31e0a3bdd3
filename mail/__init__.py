"""Mail, in and out: the inbound SMTP server with its parsing, authentication and reply
reduction, and the outgoing mail to the services and to senders (writers, worker, SMTP client)."""
