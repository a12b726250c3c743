"""Reconciles ledger payments against processor settlements."""

__version__ = "2.0.3"
