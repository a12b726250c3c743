"""Days past due and delinquency bucket per loan."""

__version__ = "2.2.0"
