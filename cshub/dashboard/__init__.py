"""The manager views that span every app: the home dashboard, portfolio trends and team performance.

They need playbooks' tasks beside metrics and surveys, and an app may only import from its left
(accounts ← surveys ← metrics ← playbooks), so they live in the wiring layer.
"""
