"""Normalizes vendor FX quotes to one USD rate per currency and day."""

__version__ = "1.2.3"
