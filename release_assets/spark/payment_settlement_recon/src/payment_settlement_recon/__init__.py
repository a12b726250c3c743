"""Settlement totals per currency."""
