"""Normalizes FX rates to one row per day and currency."""
