"""Compacts ledger postings into daily balances."""
