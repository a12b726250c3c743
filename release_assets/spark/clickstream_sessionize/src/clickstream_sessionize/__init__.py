"""Session totals from app events."""
