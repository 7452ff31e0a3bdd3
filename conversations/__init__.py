"""The multi-step chat flows, one per module, standing on their shared kit (`.kit`)."""
