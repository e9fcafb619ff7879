"""Connectors in and out (docs/architecture.md): data from where it lives into cshub, alerts out of it."""
