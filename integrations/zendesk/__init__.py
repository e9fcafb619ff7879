"""Zendesk: a signed webhook and the incremental export, into tickets (docs/integrations.md#zendesk)."""
