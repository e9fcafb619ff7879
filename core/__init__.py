"""The floor every app stands on. It imports no app (docs/architecture.md): API and ingestion building blocks,
UI helpers, CSV exports, customer-page panels, SQL and number helpers, and the project-wide template tags."""
