"""Models for playbooks; filled in by its issue."""
