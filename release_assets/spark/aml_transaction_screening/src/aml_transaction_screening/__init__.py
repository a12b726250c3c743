"""Large-transaction screening totals."""
