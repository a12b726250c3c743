"""Compacts ledger postings into end-of-day balances per account, netting reversals."""

__version__ = "2.1.0"
