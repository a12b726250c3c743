"""Prepares partner settlement extracts."""
