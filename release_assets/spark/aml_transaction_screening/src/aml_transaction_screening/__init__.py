"""Screens transactions against AML rules (large cash, structuring, high-risk countries)."""

__version__ = "3.0.1"
