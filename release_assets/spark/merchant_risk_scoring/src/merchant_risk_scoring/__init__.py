"""Merchant volume features for risk tiers."""
