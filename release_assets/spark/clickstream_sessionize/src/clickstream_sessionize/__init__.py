"""Sessionizes app events (30 minutes of inactivity ends a session)."""

__version__ = "1.3.0"
