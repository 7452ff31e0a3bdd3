"""One-shot chat handlers: start and linking, menu, help, input outside flows, update kinds,
the flow desk, and the notices rendered from the outbox with their buttons."""
