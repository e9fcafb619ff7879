"""Stripe in: the webhook, the MRR rules and `sync_stripe` (docs/integrations.md#stripe)."""
