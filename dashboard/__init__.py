"""The manager views that span every app: the home dashboard, portfolio trends and team performance.

They read playbooks' tasks beside metrics and surveys, so they sit near the top of the layers
(docs/architecture.md): only the project wiring (`cshub/`) may import them.
"""
