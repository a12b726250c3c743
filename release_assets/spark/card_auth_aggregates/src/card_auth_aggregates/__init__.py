"""Approval aggregates per merchant."""
