"""Outbound webhooks: admins register endpoints and events; deliveries signed per the Standard Webhooks spec
(docs/integrations.md#outbound-webhooks)."""
