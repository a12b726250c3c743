"""Capital exposure per asset class."""
