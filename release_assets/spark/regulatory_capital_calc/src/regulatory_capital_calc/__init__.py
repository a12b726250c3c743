"""Standardised-approach risk-weighted assets and capital requirement per asset class."""

__version__ = "1.1.4"
