"""Chargeback win rate and resolution time per merchant."""

__version__ = "1.0.2"
