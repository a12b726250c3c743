"""Chargeback totals per payment."""
