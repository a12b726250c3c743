"""Outstanding amounts per loan."""
