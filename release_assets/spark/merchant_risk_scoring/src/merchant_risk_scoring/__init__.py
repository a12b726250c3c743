"""Merchant risk score and tier from payment outcomes."""

__version__ = "1.6.0"
