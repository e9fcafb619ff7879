"""Slack: messages to a team's (or the default) incoming webhook (docs/integrations.md#slack)."""
