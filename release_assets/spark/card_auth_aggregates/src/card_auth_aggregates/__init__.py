"""Hourly approval rate and declined volume per merchant from card authorizations."""

__version__ = "1.1.0"
