"""Models for surveys; filled in by its issue."""
