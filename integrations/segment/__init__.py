"""The Segment-spec tracking API: /v1/batch, /v1/track, /v1/identify, /v1/group, /v1/page, /v1/screen
(docs/integrations.md#segment-spec-tracking-api)."""
