"""Rolling 24-hour spend features per account for the fraud models."""

__version__ = "1.4.0"
